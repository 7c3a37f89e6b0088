"""Targeting: which calls, tools or queries a perturbation acts on.

Selectors are small composable predicates over a :class:`Target`, combined with ``&``, ``|``
and ``~``::

    when = tool_named("search_places") & with_probability(0.3)
    when = after_step(2) | ~tool_named("book")

A target is what a perturbation is about to act on: a tool in the schema shown to the model
(``surface="tools"``, no step), a user message (``"query"``), or a tool call (``"call"``, with
the step of the assistant message that made it). Probabilities draw from the target's own
seeded generator, so a decision never depends on call order.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentshield._rng import derive_rng
from agentshield.errors import ConfigError

Surface = Literal["tools", "query", "call"]


@dataclass(frozen=True)
class Target:
    """What a perturbation may act on.

    Attributes:
        surface: ``"tools"`` (one tool of the schema), ``"query"`` (one user message) or
            ``"call"`` (one tool call).
        run_id: The run this target belongs to.
        key: A stable key within the run: the tool name, ``"q<index>"`` or ``"<step>:<index>"``.
        seed: The perturbation's effective seed.
        perturbation: The perturbation's registered name.
        tool: The real tool name, for tool and call targets.
        step: The assistant step (from 1) that made the call, for call targets.
    """

    surface: Surface
    run_id: str
    key: str
    seed: int
    perturbation: str
    tool: str | None = None
    step: int | None = None

    def rng(self, purpose: str = "") -> random.Random:
        """A generator derived from (seed, run id, perturbation, key, purpose)."""
        return derive_rng(
            self.seed, self.run_id, self.perturbation, self.surface, self.key, purpose
        )


class Selector:
    """Base class: a predicate over targets that composes with ``&``, ``|`` and ``~``."""

    def __call__(self, target: Target) -> bool:
        raise NotImplementedError

    def tool_names(self) -> frozenset[str]:
        """Tool names this selector refers to (validated against the agent's tools)."""
        return frozenset()

    def __and__(self, other: Selector) -> Selector:
        return _All((self, other))

    def __or__(self, other: Selector) -> Selector:
        return _Any((self, other))

    def __invert__(self) -> Selector:
        return _Not(self)


@dataclass(frozen=True)
class _All(Selector):
    parts: tuple[Selector, ...]

    def __call__(self, target: Target) -> bool:
        return all(p(target) for p in self.parts)

    def tool_names(self) -> frozenset[str]:
        return frozenset().union(*(p.tool_names() for p in self.parts))

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


@dataclass(frozen=True)
class _Any(Selector):
    parts: tuple[Selector, ...]

    def __call__(self, target: Target) -> bool:
        return any(p(target) for p in self.parts)

    def tool_names(self) -> frozenset[str]:
        return frozenset().union(*(p.tool_names() for p in self.parts))

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


@dataclass(frozen=True)
class _Not(Selector):
    inner: Selector

    def __call__(self, target: Target) -> bool:
        return not self.inner(target)

    def tool_names(self) -> frozenset[str]:
        return self.inner.tool_names()

    def __repr__(self) -> str:
        return f"~{self.inner!r}"


@dataclass(frozen=True)
class _Always(Selector):
    def __call__(self, target: Target) -> bool:
        return True

    def __repr__(self) -> str:
        return "always()"


@dataclass(frozen=True)
class _Never(Selector):
    def __call__(self, target: Target) -> bool:
        return False

    def __repr__(self) -> str:
        return "never()"


@dataclass(frozen=True)
class _ToolNamed(Selector):
    names: frozenset[str]

    def __call__(self, target: Target) -> bool:
        return target.tool is not None and target.tool in self.names

    def tool_names(self) -> frozenset[str]:
        return self.names

    def __repr__(self) -> str:
        return f"tool_named({', '.join(map(repr, sorted(self.names)))})"


@dataclass(frozen=True)
class _Probability(Selector):
    rate: float

    def __call__(self, target: Target) -> bool:
        return target.rng("when").random() < self.rate

    def __repr__(self) -> str:
        return f"with_probability({self.rate})"


@dataclass(frozen=True)
class _Steps(Selector):
    low: int
    high: int | None

    def __call__(self, target: Target) -> bool:
        if target.step is None:
            return False
        return target.step >= self.low and (self.high is None or target.step <= self.high)

    def __repr__(self) -> str:
        if self.high == self.low:
            return f"at_step({self.low})"
        return (
            f"after_step({self.low - 1})"
            if self.high is None
            else f"steps({self.low}, {self.high})"
        )


def always() -> Selector:
    """Select every target (the default)."""
    return _Always()


def never() -> Selector:
    """Select nothing: the perturbation is present but inert."""
    return _Never()


def tool_named(*names: str) -> Selector:
    """Select tools, and calls to tools, with one of these real names."""
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError("tool_named() needs at least one non-empty tool name")
    return _ToolNamed(frozenset(names))


def with_probability(rate: float) -> Selector:
    """Select each target independently with probability ``rate`` (seeded per target)."""
    check_rate("with_probability", rate)
    return _Probability(float(rate))


def at_step(step: int) -> Selector:
    """Select calls made by the ``step``-th assistant message (from 1)."""
    _check_step(step)
    return _Steps(step, step)


def after_step(step: int) -> Selector:
    """Select calls made after the ``step``-th assistant message."""
    _check_step(step, allow_zero=True)
    return _Steps(step + 1, None)


def steps(low: int, high: int) -> Selector:
    """Select calls made by assistant steps ``low`` to ``high`` inclusive."""
    _check_step(low)
    _check_step(high)
    if high < low:
        raise ConfigError(f"steps({low}, {high}): the upper bound is below the lower one")
    return _Steps(low, high)


def check_rate(name: str, rate: object) -> None:
    """Raise :class:`ConfigError` unless ``rate`` is a number in [0, 1]."""
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{name}: rate must be a number in [0, 1], got {rate!r}")


def _check_step(step: object, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if isinstance(step, bool) or not isinstance(step, int) or step < low:
        raise ConfigError(f"step must be an integer >= {low}, got {step!r}")


_SPEC_KEYS = ("tool", "probability", "step", "after_step", "steps", "never")


def selector_from_spec(spec: Selector | Mapping[str, Any] | None) -> Selector:
    """Build a selector from a spec dict (the TOML / dict form); all given keys must hold.

    Keys: ``tool`` (a name or list of names), ``probability``, ``step``, ``after_step``,
    ``steps`` (``[low, high]``), ``never`` (``true``). ``None`` or ``{}`` means always.
    """
    if spec is None:
        return always()
    if isinstance(spec, Selector):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(f"'when' must be a table/dict of {list(_SPEC_KEYS)}, got {spec!r}")
    unknown = sorted(set(spec) - set(_SPEC_KEYS))
    if unknown:
        raise ConfigError(f"unknown 'when' keys {unknown}; valid keys: {list(_SPEC_KEYS)}")
    parts: list[Selector] = []
    if "tool" in spec:
        tools = spec["tool"]
        parts.append(tool_named(*([tools] if isinstance(tools, str) else list(tools))))
    if "probability" in spec:
        parts.append(with_probability(spec["probability"]))
    if "step" in spec:
        parts.append(at_step(spec["step"]))
    if "after_step" in spec:
        parts.append(after_step(spec["after_step"]))
    if "steps" in spec:
        low, high = spec["steps"]
        parts.append(steps(low, high))
    if spec.get("never"):
        parts.append(never())
    if not parts:
        return always()
    return parts[0] if len(parts) == 1 else _All(tuple(parts))


def validate_tools(selector: Selector, known: Iterable[str], *, owner: str) -> None:
    """Raise :class:`ConfigError` if ``selector`` names a tool that is not in ``known``."""
    known_set = set(known)
    missing = sorted(selector.tool_names() - known_set)
    if missing:
        raise ConfigError(
            f"{owner}: unknown tool {missing[0]!r} in a selector; valid tools: {sorted(known_set)}"
        )
