"""Hot-loading an adapter into a running vLLM server, checked at every step.

vLLM (started with ``--enable-lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``) takes
adapters at runtime through ``POST /v1/load_lora_adapter``. It has answered 200 for a path
that did not exist, so a 200 proves nothing. :func:`hot_load`:

1. validates the adapter folder and manifest locally (:func:`verify_adapter`);
2. reads ``GET /v1/models``: the served base models and any adapter already loaded under
   the same name (kept for rollback);
3. unloads that previous adapter, loads the new one, and checks that ``/v1/models`` now
   lists the name *with the new path*;
4. smoke-tests one short completion with the adapter (``POST /v1/completions``);
5. on any failure, unloads the new adapter and loads the previous one back.

Every request is retried with tenacity on connection errors, 429 and 5xx (honouring
``Retry-After``); 4xx answers are final. The report keeps each server answer verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from agentshield_trainer.errors import HotLoadError
from agentshield_trainer.manifest import verify_adapter

__all__ = ["HotLoadReport", "ServerAnswer", "hot_load"]


@dataclass(frozen=True)
class ServerAnswer:
    """One request and the server's real answer."""

    step: str
    status: int
    body: str


@dataclass
class HotLoadReport:
    """What happened, step by step; ``ok`` only when the adapter serves and answered."""

    name: str
    path: str
    ok: bool = False
    previous: str | None = None
    rolled_back: bool = False
    smoke_output: str | None = None
    answers: list[ServerAnswer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Readable lines: the outcome, then each server answer."""
        head = (
            f"adapter {self.name!r} from {self.path} is serving"
            if self.ok
            else f"adapter {self.name!r} was NOT loaded"
            + (f"; previous adapter {self.previous} restored" if self.rolled_back else "")
        )
        lines = [head, *self.notes]
        lines += [f"  {a.step}: HTTP {a.status} {a.body[:300]}" for a in self.answers]
        if self.smoke_output is not None:
            lines.append(f"  smoke test output: {self.smoke_output!r}")
        return "\n".join(lines)


class _Transient(Exception):
    def __init__(self, answer: ServerAnswer, retry_after_s: float | None) -> None:
        super().__init__(f"{answer.step}: HTTP {answer.status} {answer.body[:200]}")
        self.answer = answer
        self.retry_after_s = retry_after_s


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _wait(max_wait_s: float) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential(multiplier=0.5, max=max_wait_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.retry_after_s is not None:
            return min(exc.retry_after_s, max_wait_s)
        return float(backoff(state))

    return wait


class _Server:
    def __init__(
        self, client: httpx.Client, report: HotLoadReport, attempts: int, max_wait_s: float
    ):
        self.client, self.report = client, report
        self.retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=_wait(max_wait_s),
            retry=retry_if_exception(lambda e: isinstance(e, _Transient | httpx.TransportError)),
            reraise=True,
        )

    def call(self, step: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request with retries; records the final answer; returns (status, JSON or text)."""

        def attempt() -> httpx.Response:
            response = self.client.request(method, path, json=body)
            if response.status_code == 429 or response.status_code >= 500:
                answer = ServerAnswer(step, response.status_code, response.text)
                raise _Transient(answer, _retry_after(response))
            return response

        try:
            response = self.retrying(attempt)
        except _Transient as exc:
            self.report.answers.append(exc.answer)
            return exc.answer.status, exc.answer.body
        except httpx.TransportError as exc:
            self.report.answers.append(ServerAnswer(step, 0, f"connection failed: {exc}"))
            return 0, None
        self.report.answers.append(ServerAnswer(step, response.status_code, response.text))
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text

    def adapters(self) -> tuple[dict[str, str], list[str]]:
        """``({adapter name: path}, [base model ids])`` from ``/v1/models``."""
        status, data = self.call("list models", "GET", "/v1/models")
        if status != 200 or not isinstance(data, dict):
            raise HotLoadError(f"GET /v1/models failed: {self.report.summary()}")
        models = [m for m in data.get("data", []) if isinstance(m, dict)]
        loras = {str(m["id"]): str(m.get("root", "")) for m in models if m.get("parent")}
        return loras, [str(m["id"]) for m in models if not m.get("parent")]


def _swap(server: _Server, name: str, path: str, step: str) -> str | None:
    """Load ``path`` as ``name``; return why it failed, or ``None``."""
    status, _ = server.call(
        step, "POST", "/v1/load_lora_adapter", {"lora_name": name, "lora_path": path}
    )
    if status != 200:
        return f"the server refused to load it (HTTP {status})"
    loras, _ = server.adapters()
    if loras.get(name) != path:
        return (
            f"the server answered 200 but /v1/models lists {name!r} with path "
            f"{loras.get(name)!r}, not {path!r}"
        )
    return None


def _smoke(
    server: _Server, client: httpx.Client, name: str, prompt: str, api_key: str | None
) -> str | None:
    """One completion through the OpenAI client; return why it failed, or ``None``."""
    import openai

    root = str(client.base_url).rstrip("/")
    # The OpenAI SDK brings its own HTTP client; retries stay with tenacity.
    api = openai.OpenAI(
        base_url=f"{root}/v1",
        api_key=api_key or "EMPTY",
        max_retries=0,
        timeout=client.timeout.read,
    )
    transient = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)
    retrying = server.retrying.copy(retry=retry_if_exception(lambda e: isinstance(e, transient)))
    try:
        done = retrying(
            api.completions.create, model=name, prompt=prompt, max_tokens=8, temperature=0
        )
    except openai.APIStatusError as exc:
        server.report.answers.append(ServerAnswer("smoke test", exc.status_code, exc.response.text))
        return f"the smoke-test completion failed (HTTP {exc.status_code})"
    except openai.APIConnectionError as exc:
        server.report.answers.append(ServerAnswer("smoke test", 0, f"connection failed: {exc}"))
        return "the smoke-test completion could not connect"
    text = done.choices[0].text if done.choices else None
    server.report.answers.append(ServerAnswer("smoke test", 200, done.model_dump_json()))
    if text is None:
        return "the smoke-test completion returned no choices"
    server.report.smoke_output = text
    return None


def hot_load(
    url: str,
    name: str,
    path: str | Path,
    *,
    server_path: str | None = None,
    api_key: str | None = None,
    smoke_prompt: str = "Hello",
    attempts: int = 4,
    timeout_s: float = 60.0,
    max_wait_s: float = 10.0,
) -> HotLoadReport:
    """Load the adapter at ``path`` into the vLLM server at ``url`` under ``name``.

    Args:
        url: The server's base URL (``http://host:8000``).
        name: The adapter name clients will request as ``model``.
        path: The adapter folder on this machine (validated here).
        server_path: The same folder as the server sees it (default: ``path`` resolved).
        api_key: Sent as a bearer token when the server requires one.
        smoke_prompt: The prompt of the one-completion smoke test.
        attempts: Tries per request on connection errors, 429 and 5xx.
        timeout_s: Per-request timeout.
        max_wait_s: The longest wait between tries.

    Raises:
        CorruptAdapterError: The local folder or manifest is invalid (nothing is sent).
        HotLoadError: The server did not take the adapter; the message holds the report,
            and the previous adapter has been restored where there was one.
    """
    manifest = verify_adapter(path)
    target = server_path or str(Path(path).resolve())
    report = HotLoadReport(name=name, path=target)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout_s) as client:
        server = _Server(client, report, attempts, max_wait_s)
        loras, bases = server.adapters()
        base_name = manifest.base_model.name
        if not any(b == base_name or Path(base_name).name == Path(b).name for b in bases):
            report.notes.append(
                f"note: the server's base models {bases} do not include the "
                f"adapter's base {base_name!r} by name; check they are the same"
            )
        report.previous = loras.get(name)
        if report.previous is not None:
            server.call("unload previous", "POST", "/v1/unload_lora_adapter", {"lora_name": name})
        failure = _swap(server, name, target, "load")
        if failure is None:
            failure = _smoke(server, client, name, smoke_prompt, api_key)
            if failure is None:
                report.ok = True
                return report
        server.call("unload new", "POST", "/v1/unload_lora_adapter", {"lora_name": name})
        if report.previous is not None:
            report.rolled_back = _swap(server, name, report.previous, "restore previous") is None
        raise HotLoadError(f"hot-load of {name!r} failed: {failure}.\n{report.summary()}")
