"""A policy backed by any OpenAI-compatible chat endpoint (vLLM, ``transformers serve``, a
hosted API): the agent under evaluation when it is a model behind a URL.

:class:`OpenAIPolicy` is an :class:`~agentshield.sandbox.AsyncPolicy`: it sends the episode's
messages and shown tools to ``POST {base_url}/chat/completions`` with
:class:`openai.AsyncOpenAI` and turns the reply into a :class:`~agentshield.sandbox.Turn`
(the assistant message, token usage and the model the server says answered)::

    policy = OpenAIPolicy(base_url="http://127.0.0.1:8000/v1", model="my-model")
    trajectory = await arun_episode(env, task, policy)

Conversions (our :class:`~agentshield.trajectory.Message` follows the OpenAI shape):

* assistant tool calls go out with their arguments as a JSON string; an observation goes out
  as a ``tool`` message with its ``tool_call_id`` (our ``is_error`` flag has no OpenAI field:
  the error text is the content);
* a reply's tool call whose ``arguments`` are not a JSON object (malformed JSON, a list, a
  string) is kept as a call with empty arguments, so the environment answers it with its
  missing-argument error and the episode counts it as an invalid call, as it would any call
  the model got wrong; :attr:`OpenAIPolicy.malformed_calls` counts them and each is logged.
  A call without an id gets ``call_<message index>_<call index>``, unique in the episode.

Retries of 408 / 409 / 429 / 5xx answers and of dropped connections are the OpenAI SDK's own
(exponential back-off honouring ``Retry-After``), ``max_retries`` times. What still fails is
raised as :class:`~agentshield.errors.EndpointUnreachableError` (no answer) or
:class:`~agentshield.errors.EndpointError` (an error answer), each naming the URL and the fix.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agentshield import settings
from agentshield.errors import ConfigError, EndpointError, EndpointUnreachableError
from agentshield.sandbox.policy import Turn
from agentshield.trajectory import Message, ToolCall, ToolSpec

if TYPE_CHECKING:
    import openai

__all__ = ["LOCAL_API_KEY", "OpenAIPolicy", "from_openai_message", "to_openai_messages"]

#: The key sent when none is configured: local servers ignore it, but the SDK needs one.
LOCAL_API_KEY = "not-needed"

_log = logging.getLogger(__name__)


def to_openai_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Our messages in the Chat Completions request shape."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append(
                {
                    "role": "assistant",
                    "content": m.content or None,
                    "tool_calls": [c.to_dict() for c in m.tool_calls],
                }
            )
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def from_openai_message(
    message: Mapping[str, Any], *, id_prefix: str = "call"
) -> tuple[Message, list[str]]:
    """A reply's assistant message as ours, and one problem line per malformed tool call.

    Args:
        message: The reply's ``choices[0].message`` as a dict.
        id_prefix: Prefix of the ids given to calls that arrive without one.
    """
    calls: list[ToolCall] = []
    problems: list[str] = []
    for i, raw in enumerate(message.get("tool_calls") or ()):
        fn = raw.get("function") or {}
        name = str(fn.get("name") or "")
        call_id = str(raw.get("id") or f"{id_prefix}_{i}")
        args, problem = _arguments(fn.get("arguments"))
        if problem is not None:
            problems.append(f"tool call {name!r} ({call_id}): {problem}")
        calls.append(ToolCall(call_id, name, args))
    content = str(message.get("content") or "")
    return Message("assistant", content, tool_calls=tuple(calls)), problems


def _arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None
    if isinstance(raw, Mapping):
        return dict(raw), None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return {}, f"arguments are not valid JSON ({exc}): {str(raw)[:200]!r}"
    if not isinstance(value, dict):
        return {}, f"arguments are not a JSON object: {str(raw)[:200]!r}"
    return value, None


class OpenAIPolicy:
    """The agent under test as a model behind an OpenAI-compatible endpoint.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: The model name the server serves.
        api_key: The key to send; default: the variable named by ``api_key_env``, else
            :data:`LOCAL_API_KEY` (a local server needs none).
        api_key_env: Where to read the key from when ``api_key`` is not given.
        temperature: Sampling temperature (0: greedy, reproducible evaluations).
        max_tokens: Longest reply, in tokens.
        timeout_s: Seconds one request may take before it counts as failed.
        max_retries: Retries of a failed request (the SDK's back-off, ``Retry-After`` honoured).
        environ: Read ``api_key_env`` from this mapping instead of the process environment.

    Raises:
        ConfigError: An empty URL or model, or a non-positive limit.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        api_key_env: str = settings.OPENAI_API_KEY_ENV,
        temperature: float = 0.0,
        max_tokens: int = 512,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not base_url.strip():
            raise ConfigError("base_url is empty; give the API root, e.g. http://127.0.0.1:8000/v1")
        if not model.strip():
            raise ConfigError("model is empty; give the name the server serves the model under")
        if max_tokens < 1 or timeout_s <= 0 or max_retries < 0:
            raise ConfigError(
                f"max_tokens={max_tokens}, timeout_s={timeout_s}, max_retries={max_retries}: "
                "max_tokens and timeout_s must be positive and max_retries at least 0"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._api_key = api_key or settings.api_key(api_key_env, environ) or LOCAL_API_KEY
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Tool calls whose arguments were not a JSON object (kept with empty arguments).
        self.malformed_calls = 0

    def __repr__(self) -> str:
        return f"OpenAIPolicy(base_url={self.base_url!r}, model={self.model!r})"

    def _client_for_loop(self) -> openai.AsyncOpenAI:
        """The SDK client, made in the running loop (its connection pool belongs to one)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import openai

            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            )
            self._loop = loop
        return self._client

    async def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Turn:
        """Ask the model for the next assistant message.

        Raises:
            EndpointUnreachableError: No answer (refused, timed out) after the retries.
            EndpointError: The server answered with an error, or with no choices.
        """
        import openai

        request: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if tools:
            request["tools"] = [t.to_dict() for t in tools]
        try:
            # The request body is already in the API's shape: post it as is. The typed
            # ``chat.completions.create`` re-walks every message and tool schema against its
            # TypedDicts, which costs more CPU than the rest of an episode step together.
            completion = await self._client_for_loop().post(
                "/chat/completions", cast_to=dict[str, Any], body=request
            )
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        return self._turn(completion, len(messages))

    def _turn(self, completion: Any, index: int) -> Turn:
        choices = completion.get("choices") if isinstance(completion, dict) else None
        if not choices or not isinstance(choices[0].get("message"), dict):
            raise EndpointError(
                f"the model endpoint at {self.base_url} answered without a chat completion "
                f"choice ({str(completion)[:200]!r}); check that it serves chat completions "
                f"for {self.model!r}",
                url=self.base_url,
            )
        message, problems = from_openai_message(choices[0]["message"], id_prefix=f"call_{index}")
        for problem in problems:
            self.malformed_calls += 1
            _log.warning("%s returned a malformed %s", self.model, problem)
        usage = completion.get("usage") or {}
        return Turn(
            message,
            input_tokens=_int(usage.get("prompt_tokens")),
            output_tokens=_int(usage.get("completion_tokens")),
            model=str(completion.get("model") or "") or None,
        )

    def _unreachable(self, exc: openai.APIConnectionError) -> EndpointUnreachableError:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            why = (
                f"did not answer within {self.timeout_s:g} s ({self.max_retries} retries); "
                "raise timeout_s or lower the concurrency"
            )
        else:
            why = (
                f"cannot be reached ({exc.__cause__ or exc}); start the server, or fix the URL "
                "(the API root, usually ending in /v1)"
            )
        return EndpointUnreachableError(
            f"the model endpoint at {self.base_url} {why}", url=self.base_url
        )

    def _status_error(self, exc: openai.APIStatusError) -> EndpointError:
        status = exc.status_code
        if status in (401, 403):
            fix = "set the right API key (api_key=, or the environment variable api_key_env names)"
        elif status == 404:
            fix = (
                f"check that the server serves a model named {self.model!r} and that the URL "
                "is the API root (usually ending in /v1)"
            )
        else:
            fix = "see the server's log"
        return EndpointError(
            f"the model endpoint at {self.base_url} answered HTTP {status}: {exc.message}; {fix}",
            url=self.base_url,
            status_code=status,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.close()
            self._client = None
            self._loop = None

    async def __aenter__(self) -> OpenAIPolicy:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
