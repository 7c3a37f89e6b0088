"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for tests of code that calls one.

It stands in for a model, not for our code: it speaks real HTTP, records what it was sent, and
answers ``POST /v1/chat/completions`` with whatever a script returns for each request — fixed
replies, errors with headers, slow replies, or the next step of a scripted agent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedServer", "completion", "error", "scripted_server"]


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, JSON body, extra headers, and a delay before it is sent."""

    body: Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def completion(
    *,
    content: str | None = None,
    tool_calls: Sequence[Mapping[str, Any]] = (),
    usage: tuple[int, int] | None = (11, 7),
    model: str = "scripted-model",
) -> dict[str, Any]:
    """A Chat Completions response body with one choice."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [dict(c) for c in tool_calls]
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    return body


def error(status: int, message: str, **headers: str) -> Reply:
    """An OpenAI-style error answer."""
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return Reply(body, status=status, headers=headers)


Script = Callable[[dict[str, Any]], Reply]


class ScriptedServer:
    """The server; ``requests`` and ``headers`` hold what each request carried, in order."""

    def __init__(self, script: Script | Sequence[Reply]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._script = script if callable(script) else self._sequence(list(script))
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The API root, ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def _sequence(self, replies: list[Reply]) -> Script:
        def next_reply(_: dict[str, Any]) -> Reply:
            if not replies:
                return error(500, "the script has no more replies")
            return replies.pop(0)

        return next_reply

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                reply = (
                    server._script(body)
                    if self.path.endswith("/chat/completions")
                    else error(404, f"no route {self.path}")
                )
                time.sleep(reply.delay_s)
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


@contextmanager
def scripted_server(script: Script | Sequence[Reply]) -> Iterator[ScriptedServer]:
    """Run a :class:`ScriptedServer` for the duration of the ``with`` block."""
    server = ScriptedServer(script).start()
    try:
        yield server
    finally:
        server.stop()
