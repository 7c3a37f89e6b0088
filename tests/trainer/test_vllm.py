"""``hot_load`` against a stub server on 127.0.0.1 that speaks vLLM's LoRA endpoints.

The stub is ours, not vLLM: it implements the documented behaviour of ``GET /v1/models``,
``POST /v1/load_lora_adapter`` / ``unload_lora_adapter`` and ``POST /v1/completions``, plus
the failure modes we must survive — a 200 for a path it never loaded (vLLM has done this),
a 503 with ``Retry-After``, a broken adapter that fails generation. Real vLLM needs a GPU
and its own environment; this checks our side of the protocol over real HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentshield_trainer.errors import HotLoadError
from agentshield_trainer.vllm import hot_load
from tests.trainer.conftest import Trained

BASE = "tiny-base"


@dataclass
class StubVLLM:
    """State and failure switches of the stub server."""

    url: str = ""
    loras: dict[str, str] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    acknowledged_only: set[str] = field(default_factory=set)
    failing_loads: int = 0
    broken_paths: set[str] = field(default_factory=set)


def handler(stub: StubVLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, message: str) -> None:
            self.reply(status, {"object": "error", "message": message, "code": status})

        def do_GET(self) -> None:
            stub.hits.append(f"GET {self.path}")
            models = [{"id": BASE, "object": "model", "root": BASE, "parent": None}]
            models += [
                {"id": n, "object": "model", "root": p, "parent": BASE}
                for n, p in stub.loras.items()
            ]
            self.reply(200, {"object": "list", "data": models})

        def do_POST(self) -> None:
            stub.hits.append(f"POST {self.path}")
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/v1/load_lora_adapter":
                self.load(body["lora_name"], body["lora_path"])
            elif self.path == "/v1/unload_lora_adapter":
                if stub.loras.pop(body["lora_name"], None) is None:
                    self.error(404, f"The lora adapter '{body['lora_name']}' cannot be found.")
                else:
                    self.reply(200, "Success: LoRA adapter unloaded successfully.")
            elif self.path == "/v1/completions":
                self.complete(body["model"])
            else:
                self.error(404, "not found")

        def load(self, name: str, path: str) -> None:
            if stub.failing_loads:
                stub.failing_loads -= 1
                self.reply(503, "busy", {"Retry-After": "0"})
            elif name in stub.loras:
                self.error(400, f"The lora adapter '{name}' has already been loaded.")
            else:
                if path not in stub.acknowledged_only:  # vLLM once said 200 for a bad path
                    stub.loras[name] = path
                self.reply(200, f"Success: LoRA adapter '{name}' added successfully.")

        def complete(self, model: str) -> None:
            if model != BASE and model not in stub.loras:
                self.error(404, f"The model `{model}` does not exist.")
            elif stub.loras.get(model) in stub.broken_paths:
                self.error(500, "CUDA error: an illegal memory access")
            else:
                choice = {"index": 0, "text": " OK", "finish_reason": "length", "logprobs": None}
                usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                self.reply(
                    200,
                    {
                        "id": "cmpl-1",
                        "object": "text_completion",
                        "created": 0,
                        "model": model,
                        "choices": [choice],
                        "usage": usage,
                    },
                )

    return Handler


@pytest.fixture
def stub() -> Iterator[StubVLLM]:
    state = StubVLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def adapter(trained: Trained) -> Path:
    return trained.result.adapter_dir


def test_load_verify_and_smoke_test(stub: StubVLLM, trained: Trained) -> None:
    report = hot_load(stub.url, "hardened", adapter(trained), server_path="/srv/hardened")
    assert report.ok and report.previous is None and report.smoke_output == " OK"
    assert stub.loras == {"hardened": "/srv/hardened"}
    assert [a.step for a in report.answers] == ["list models", "load", "list models", "smoke test"]
    assert "added successfully" in report.answers[1].body
    assert any("do not include the adapter's base" in n for n in report.notes)


def test_replacing_keeps_the_previous_for_rollback(stub: StubVLLM, trained: Trained) -> None:
    stub.loras["hardened"] = "/srv/old"
    report = hot_load(stub.url, "hardened", adapter(trained), server_path="/srv/new")
    assert report.ok and report.previous == "/srv/old"
    assert stub.loras == {"hardened": "/srv/new"}


def test_a_200_that_loaded_nothing_is_caught_and_rolled_back(
    stub: StubVLLM, trained: Trained
) -> None:
    stub.loras["hardened"] = "/srv/old"
    stub.acknowledged_only.add("/srv/missing")
    with pytest.raises(HotLoadError, match="answered 200 but /v1/models lists") as err:
        hot_load(stub.url, "hardened", adapter(trained), server_path="/srv/missing")
    assert "load: HTTP 200 Success" in str(err.value)
    assert "previous adapter /srv/old restored" in str(err.value)
    assert stub.loras == {"hardened": "/srv/old"}


def test_failed_smoke_test_restores_the_previous_adapter(stub: StubVLLM, trained: Trained) -> None:
    stub.loras["hardened"] = "/srv/old"
    stub.broken_paths.add("/srv/broken")
    with pytest.raises(HotLoadError, match="smoke-test completion failed") as err:
        hot_load(stub.url, "hardened", adapter(trained), server_path="/srv/broken", max_wait_s=0)
    assert stub.loras == {"hardened": "/srv/old"}
    assert "previous adapter /srv/old restored" in str(err.value)
    assert stub.hits.count("POST /v1/completions") == 4  # retried: a 500 may be transient


def test_transient_503_is_retried_honouring_retry_after(stub: StubVLLM, trained: Trained) -> None:
    stub.failing_loads = 2
    report = hot_load(stub.url, "hardened", adapter(trained), server_path="/srv/a")
    assert report.ok and stub.hits.count("POST /v1/load_lora_adapter") == 3
