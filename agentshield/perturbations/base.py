"""The perturbation base class, its tiers, and the contexts hooks receive.

A perturbation is a frozen, keyword-only dataclass: its fields are its validated parameters
(their ``metadata["help"]`` is shown by ``agentshield list``), ``when`` says what it targets,
and a handful of pure hooks say what it does. Every hook has a no-op default; a perturbation
overrides the ones for the surfaces it acts on:

==================  ======================================================================
``shape_tools``     runtime + offline: change the tool view (schema shifts)
``rewrite_query``   runtime + offline: rewrite one user message (query shifts)
``before_call``     runtime + offline: effects for one tool call (faults, argument checks)
``after_call``      runtime + offline: rewrite one observation (observation shifts)
``prepare``         offline only: what the right agent does *before* a call (use a token, …)
``recover``         offline only: what the right agent does after this perturbation's error
``refusal``         offline only: the refusal the right agent gives instead of a call
``reply``           offline only: the right answer to a rewritten query (ask, refuse)
==================  ======================================================================

Randomness comes only from ``target.rng(...)`` / ``ctx.rng(...)``, derived from
(seed, run id, key), never from a global generator.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from enum import IntEnum
from typing import Any, ClassVar

from agentshield._rng import derive_rng
from agentshield.effects import Effect, Prepare, Recovery, Result
from agentshield.errors import ConfigError
from agentshield.selectors import Selector, Target, always, check_rate, validate_tools
from agentshield.trajectory import ToolCall
from agentshield.view import ToolView


class Tier(IntEnum):
    """The four tiers of the open-world taxonomy, plus the security row."""

    PERCEPTION = 1
    INTERACTION = 2
    REASONING = 3
    INTERNALIZATION = 4
    SECURITY = 5

    @property
    def label(self) -> str:
        """A short human label: ``"1 perception"`` … ``"security"``."""
        return "security" if self is Tier.SECURITY else f"{int(self)} {self.name.lower()}"


@dataclass(frozen=True)
class HistoryEntry:
    """A tool call made earlier in the run (used for order and retry rules)."""

    step: int
    index: int
    shown: str
    tool: str | None
    is_error: bool
    injected_by: str | None = None


@dataclass(frozen=True)
class RunContext:
    """What a schema hook knows about the run."""

    run_id: str
    seed: int
    perturbation: str
    real_tools: tuple[str, ...]

    def tool_target(self, tool: str) -> Target:
        """The target for one real tool of the schema."""
        return Target("tools", self.run_id, tool, self.seed, self.perturbation, tool=tool)

    def rng(self, *keys: object) -> random.Random:
        """A generator for this run and perturbation, keyed further by ``keys``."""
        return derive_rng(self.seed, self.run_id, self.perturbation, *keys)


@dataclass(frozen=True)
class CallContext:
    """What a call hook knows about one tool call.

    Attributes:
        target: The call's target (key ``"<step>:<index>"``, real tool, step).
        call: The call as the model made it (shown name and shown argument keys).
        tool: The real tool behind the shown name (``None`` for synthetic / unknown tools).
        args: The arguments mapped to the real tool's keys (after earlier rewrites).
        view: The tool view of the run.
        history: Calls made in earlier steps of the run.
    """

    target: Target
    call: ToolCall
    tool: str | None
    args: Mapping[str, Any]
    view: ToolView
    history: tuple[HistoryEntry, ...] = ()

    @property
    def step(self) -> int:
        """The assistant step (from 1) that made this call."""
        assert self.target.step is not None
        return self.target.step

    def rng(self, purpose: str = "") -> random.Random:
        """The call's own seeded generator."""
        return self.target.rng(purpose)


@dataclass(frozen=True, kw_only=True)
class Perturbation:
    """Base class of every perturbation. Subclasses are frozen keyword-only dataclasses."""

    name: ClassVar[str] = ""
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = ""

    when: Selector = field(
        default_factory=always,
        metadata={"help": "which tools / calls / queries it acts on (default: all)"},
    )
    seed: int | None = field(
        default=None, metadata={"help": "own seed (default: derived from the Shield's seed)"}
    )

    # Runtime and offline hooks -------------------------------------------------------------

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        """Return the tool view after this perturbation (schema shifts)."""
        return view

    def rewrite_query(self, text: str, target: Target) -> str:
        """Return the user message after this perturbation (query shifts)."""
        return text

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        """Return effects for one selected tool call (faults, argument checks)."""
        return ()

    def after_call(self, ctx: CallContext, result: Result) -> Result:
        """Return the observation after this perturbation (observation shifts)."""
        return result

    # Offline-only hooks: the right behaviour, for augmented trajectories --------------------

    def prepare(self, ctx: CallContext) -> Prepare | None:
        """What the right agent does before this call, knowing the shifted schema."""
        return None

    def recover(self, ctx: CallContext, result: Result) -> Recovery | None:
        """What the right agent does after an error this perturbation caused."""
        return None

    def refusal(self, view: ToolView, call: ToolCall) -> str | None:
        """The refusal the right agent gives instead of making ``call`` (a real-space call
        expressed in the shown schema), when the task cannot be done."""
        return None

    def reply(self, original: str, rewritten: str, target: Target) -> str | None:
        """The right answer to a rewritten user message, when it is not the task's answer."""
        return None

    # Introspection --------------------------------------------------------------------------

    @property
    def surfaces(self) -> frozenset[str]:
        """The runtime surfaces this perturbation acts on."""
        base = Perturbation
        out = set()
        if type(self).shape_tools is not base.shape_tools:
            out.add("tools")
        if type(self).rewrite_query is not base.rewrite_query:
            out.add("query")
        if type(self).before_call is not base.before_call:
            out.add("call")
        if type(self).after_call is not base.after_call:
            out.add("observation")
        return frozenset(out)

    def params(self) -> dict[str, Any]:
        """The perturbation's own parameters (everything but ``when`` and ``seed``)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("when", "seed")
        }

    def tool_names(self) -> frozenset[str]:
        """Tool names referred to by parameters or the selector (validated against the agent)."""
        return self.when.tool_names() | frozenset(self._named_tools())

    def _named_tools(self) -> Sequence[str]:
        """Tool names among this perturbation's parameters (override when there are any)."""
        return ()

    def validate_tools(self, known: Sequence[str]) -> None:
        """Raise :class:`ConfigError` if a parameter or selector names an unknown tool."""
        owner = f"perturbation {self.name!r}"
        validate_tools(self.when, known, owner=owner)
        missing = sorted(set(self._named_tools()) - set(known))
        if missing:
            raise ConfigError(f"{owner}: unknown tool {missing[0]!r}; valid tools: {sorted(known)}")

    @classmethod
    def param_info(cls) -> list[dict[str, Any]]:
        """Name, type, default and help of each parameter (for ``agentshield list``)."""
        out = []
        for f in fields(cls):
            default: Any
            if f.default is not MISSING:
                default = f.default
            elif f.default_factory is not MISSING:
                default = f.default_factory()
            else:
                default = None
            if isinstance(default, Selector):
                default = repr(default)
            out.append(
                {
                    "name": f.name,
                    "type": str(f.type),
                    "default": default,
                    "required": f.default is MISSING and f.default_factory is MISSING,
                    "help": f.metadata.get("help", ""),
                }
            )
        return out


# Validation helpers shared by the catalogue -------------------------------------------------


def require_rate(owner: str, name: str, value: object) -> None:
    """Raise unless ``value`` is a number in [0, 1]."""
    check_rate(f"{owner}.{name}", value)


def require_positive(owner: str, name: str, value: object, *, allow_zero: bool = False) -> None:
    """Raise unless ``value`` is a positive (or non-negative) number."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or value < 0 or (value == 0 and not allow_zero):  # type: ignore[operator]
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{owner}.{name} must be a number {bound}, got {value!r}")


def require_choice(owner: str, name: str, value: object, choices: Sequence[str]) -> None:
    """Raise unless ``value`` is one of ``choices`` (listed in the message)."""
    if value not in choices:
        raise ConfigError(f"{owner}.{name}={value!r} is not valid; choose one of {list(choices)}")


def require_name(owner: str, name: str, value: object) -> None:
    """Raise unless ``value`` is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{owner}.{name} must be a non-empty tool name, got {value!r}")


def as_mapping(value: object) -> Mapping[str, Any]:
    """Return ``value`` if it is a mapping, else an empty dict."""
    return value if isinstance(value, Mapping) else {}


__all__ = [
    "CallContext",
    "HistoryEntry",
    "Perturbation",
    "RunContext",
    "Tier",
    "as_mapping",
    "require_choice",
    "require_name",
    "require_positive",
    "require_rate",
]
