"""Tier 2, interaction faults: calls fail, time out, are rate limited, slowed, or redirected.

Faults either *respond* with an error observation (``mode="observe"``, what a tool that
handles its own errors returns) or *raise* an :class:`~agentshield.errors.InjectedFault` where
the tool's own exception would surface (``mode="raise"``), so the user's error handling deals
with it like a real one. ``times`` bounds how often one tool fails in a run: the right agent
retries and the retry goes through.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

from agentshield.effects import Delay, Effect, Prepare, Raise, Respond, Result, Retry
from agentshield.errors import InjectedRateLimit, InjectedTimeout, InjectedToolError
from agentshield.perturbations.base import (
    CallContext,
    Perturbation,
    RunContext,
    Tier,
    require_choice,
    require_positive,
)
from agentshield.perturbations.registry import register
from agentshield.trajectory import ToolCall
from agentshield.view import ToolView

_MODES = ("observe", "raise")


def _failures_so_far(ctx: CallContext, owner: str) -> int:
    return sum(1 for h in ctx.history if h.injected_by == owner and h.tool == ctx.tool)


@dataclass(frozen=True, kw_only=True)
class _RepeatedFault(Perturbation):
    """A fault that hits the first ``times`` selected calls of each tool in a run."""

    times: int = field(default=1, metadata={"help": "failures per tool per run before it works"})
    mode: str = field(default="observe", metadata={"help": "observe (error result) or raise"})

    def __post_init__(self) -> None:
        require_positive(self.name, "times", self.times)
        require_choice(self.name, "mode", self.mode, _MODES)

    def _due(self, ctx: CallContext) -> bool:
        return ctx.tool is not None and _failures_so_far(ctx, self.name) < self.times

    def recover(self, ctx: CallContext, result: Result) -> Retry:
        # The right behaviour after a transient fault: make the same call again.
        return Retry(ctx.call)


@register
@dataclass(frozen=True, kw_only=True)
class ToolError(_RepeatedFault):
    """The call fails with a runtime error; with ``guidance`` the message says how to recover."""

    name: ClassVar[str] = "tool_error"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "the call fails with a runtime error, with or without guidance"

    guidance: bool = field(default=True, metadata={"help": "the error message says what to do"})

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        if not self._due(ctx):
            return ()
        if self.guidance:
            msg = (
                f"Error: {ctx.call.name} failed with a transient backend error (503 Service "
                "Unavailable). Nothing was changed; call the tool again with the same arguments."
            )
        else:
            msg = f"Error: {ctx.call.name} failed: internal error."
        if self.mode == "raise":
            return (Raise(InjectedToolError(msg, perturbation=self.name)),)
        return (Respond(msg),)


@register
@dataclass(frozen=True, kw_only=True)
class RateLimit(_RepeatedFault):
    """HTTP 429 with a retry-after; the right agent waits and retries."""

    name: ClassVar[str] = "rate_limit"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "429 Too Many Requests with a retry-after"

    retry_after_s: float = field(default=1.0, metadata={"help": "the retry-after it announces"})

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self.name, "retry_after_s", self.retry_after_s, allow_zero=True)

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        if not self._due(ctx):
            return ()
        msg = (
            f"Error 429 Too Many Requests: rate limit exceeded for {ctx.call.name}. "
            f"Retry after {self.retry_after_s:g} seconds."
        )
        if self.mode == "raise":
            err = InjectedRateLimit(msg, perturbation=self.name, retry_after_s=self.retry_after_s)
            return (Raise(err),)
        return (Respond(msg),)


@register
@dataclass(frozen=True, kw_only=True)
class Timeout(_RepeatedFault):
    """The call hangs for ``timeout_s`` and then times out."""

    name: ClassVar[str] = "timeout"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "the call times out after a wait"

    timeout_s: float = field(default=0.05, metadata={"help": "how long the call hangs first"})
    mode: str = field(default="raise", metadata={"help": "raise (TimeoutError) or observe"})

    def __post_init__(self) -> None:
        super().__post_init__()
        require_positive(self.name, "timeout_s", self.timeout_s, allow_zero=True)

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        if not self._due(ctx):
            return ()
        msg = f"Error: {ctx.call.name} timed out after {self.timeout_s:g} s. Try again."
        effect: Effect = (
            Raise(InjectedTimeout(msg, perturbation=self.name))
            if self.mode == "raise"
            else Respond(msg)
        )
        return (Delay(self.timeout_s), effect)


@register
@dataclass(frozen=True, kw_only=True)
class Latency(Perturbation):
    """The call is slowed by ``delay_s`` (plus up to ``jitter_s``); it still succeeds."""

    name: ClassVar[str] = "latency"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "extra latency on the call"

    delay_s: float = field(default=0.2, metadata={"help": "added delay in seconds"})
    jitter_s: float = field(default=0.0, metadata={"help": "extra uniform random delay, seconds"})

    def __post_init__(self) -> None:
        require_positive(self.name, "delay_s", self.delay_s, allow_zero=True)
        require_positive(self.name, "jitter_s", self.jitter_s, allow_zero=True)

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        jitter = ctx.rng("jitter").uniform(0, self.jitter_s) if self.jitter_s else 0.0
        return (Delay(self.delay_s + jitter),)


@register
@dataclass(frozen=True, kw_only=True)
class ToolRedirect(Perturbation):
    """The selected tools are deprecated: calling the old name answers with a pointer to the
    new one (``<name><suffix>``), which runs the real tool."""

    name: ClassVar[str] = "tool_redirect"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "tool deprecated; the observation points to its replacement"

    suffix: str = field(default="_v2", metadata={"help": "appended to make the new tool's name"})

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        for tool in [t for t in view if t.real is not None and t.responder is None]:
            if not self.when(ctx.tool_target(tool.real or "")):
                continue
            new_name = tool.name + self.suffix
            old_name = tool.name

            def moved(_args: object, old: str = old_name, new: str = new_name) -> Respond:
                return Respond(
                    json.dumps(
                        {
                            "error": "deprecated",
                            "message": f"{old} is deprecated and no longer served. "
                            f"Use {new} instead; it takes the same arguments.",
                            "replacement": new,
                        }
                    )
                )

            old = replace(tool, real=None, responder=moved, owner=self.name)
            new = replace(tool.with_spec(name=new_name), owner=self.name)
            view = view.replace_tool(tool, old, new)
        return view

    def prepare(self, ctx: CallContext) -> Prepare | None:
        # The right agent first tries the name it knows, then follows the redirection; once
        # redirected in this run it uses the new name directly.
        if not ctx.call.name.endswith(self.suffix):
            return None
        old = ctx.call.name[: -len(self.suffix)]
        if ctx.view.find(old) is None or any(h.shown == old for h in ctx.history):
            return None
        return Prepare(ToolCall(ctx.call.id, old, ctx.call.args))

    def recover(self, ctx: CallContext, result: Result) -> Retry | None:
        new = ctx.call.name + self.suffix
        if ctx.view.find(new) is None:
            return None
        return Retry(ToolCall(ctx.call.id, new, ctx.call.args))
