"""Effect values: what a perturbation asks the driver to do with one tool call.

Perturbations are pure; they return effects and the Shield's two drivers (sync and async,
side by side in ``shield.py``) carry them out. Writing a perturbation never needs async code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentshield.errors import InjectedFault
from agentshield.trajectory import ToolCall


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` before going on (latency, the wait before a timeout)."""

    seconds: float


@dataclass(frozen=True)
class Respond:
    """Do not run the tool: answer with this observation instead."""

    content: str
    is_error: bool = True


@dataclass(frozen=True)
class Raise:
    """Raise this injected fault where the tool's own exception would surface."""

    error: InjectedFault


@dataclass(frozen=True)
class Rewrite:
    """Run the tool with these (real-space) arguments instead."""

    args: Mapping[str, Any]


Effect = Delay | Respond | Raise | Rewrite


@dataclass(frozen=True)
class Result:
    """A tool's observation as text and whether it is an error."""

    content: str
    is_error: bool = False


# Offline recovery: what the right agent does next (used to build augmented trajectories).


@dataclass(frozen=True)
class Retry:
    """Make this call next (the same call again, or a corrected / redirected one), after
    making ``before`` in a step of their own."""

    call: ToolCall
    before: tuple[ToolCall, ...] = field(default=())


@dataclass(frozen=True)
class Refuse:
    """Stop and answer with this refusal (the task cannot be done as asked)."""

    message: str


@dataclass(frozen=True)
class Prepare:
    """Before a call: first make ``before`` (in one step), then make ``call``."""

    call: ToolCall
    before: tuple[ToolCall, ...] = field(default=())


Recovery = Retry | Refuse
