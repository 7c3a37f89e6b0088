"""One tool call's plan: what a Shield's driver will do with it (run the real tool, answer
without running it, or raise an injected fault), and the executor signatures drivers take."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentshield.effects import Raise, Respond, Result
from agentshield.perturbations.base import CallContext, Perturbation
from agentshield.trajectory import ToolCall
from agentshield.view import ToolView

__all__ = ["UNKNOWN_TOOL_TEMPLATE", "AExecute", "CallPlan", "Execute"]

#: LangGraph's wording for a call to a tool that does not exist (the adapters may pass their
#: framework's own template); a call to a distractor or a removed tool gets exactly this.
UNKNOWN_TOOL_TEMPLATE = (
    "Error: {requested_tool} is not a valid tool, try one of [{available_tools}]."
)

Execute = Callable[[str, Mapping[str, Any]], Result]
AExecute = Callable[[str, Mapping[str, Any]], Awaitable[Result]]


@dataclass(frozen=True)
class CallPlan:
    """What the driver will do with one tool call.

    ``outcome`` is ``None`` to run the real tool ``tool`` with ``args``; a :class:`Respond`
    to answer without running it; a :class:`Raise` to raise an injected fault.
    """

    run_id: str
    call: ToolCall
    step: int
    index: int
    tool: str | None
    args: Mapping[str, Any]
    view: ToolView
    delay_s: float = 0.0
    outcome: Respond | Raise | None = None
    failed_by: Perturbation | None = None
    failed_ctx: CallContext | None = None
    selected: tuple[tuple[Perturbation, CallContext], ...] = ()
    started_s: float | None = None

    @property
    def key(self) -> str:
        """The call's key within the run."""
        return f"{self.step}:{self.index}"
