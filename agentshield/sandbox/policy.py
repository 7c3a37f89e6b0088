"""What an agent is to the sandbox: a policy that, shown the conversation and the tools,
returns the next assistant message — sync (:class:`Policy`) or async (:class:`AsyncPolicy`),
optionally with what the model reports about the reply (:class:`Turn`)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agentshield.trajectory import Message, ToolSpec

__all__ = ["AsyncPolicy", "Policy", "Turn"]


@dataclass(frozen=True)
class Turn:
    """A policy's reply with what the model reports about it (all optional)."""

    message: Message
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None


class Policy(Protocol):
    """Anything that, given the conversation and the tools shown, returns the next assistant
    message (with tool calls, or the final answer), optionally as a :class:`Turn`."""

    def __call__(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> Message | Turn: ...


class AsyncPolicy(Protocol):
    """The async form of :class:`Policy` (a model behind an endpoint, a batched local model)."""

    def __call__(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> Awaitable[Message | Turn]: ...
