"""Metrics of an evaluation, per clean run, per tier and per shift, each with a 95 % interval
and its drop against clean.

- ``success``: the outcome is the right one (the task done, the refusal when it cannot be
  done, the question back when a detail is missing), over episodes.
- ``tool_error``: the agent's invalid calls (unknown tools, bad arguments; not injected
  faults) over its calls.
- ``refusal``: refusals over episodes whose right outcome is a refusal.
- ``false_refusal``: refusals over episodes whose right outcome is not one.
- ``recovery``: right outcomes over episodes that met an injected error.
- ``pass_k``: (task, shift) pairs right in every one of k repeats, when k > 1.
- ``steps`` and ``tokens``: means per episode (tokens when the model reports them).

Rates carry Wilson score intervals; a drop (clean minus shifted) carries Newcombe's hybrid
score interval for a difference of two proportions (treated as independent, which is
conservative for the paired tasks); means carry a normal-approximation interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentshield.eval.runner import CLEAN, EpisodeResult
from agentshield.perturbations import Tier

__all__ = ["Diff", "GroupMetrics", "Mean", "Rate", "Summary", "summarize", "wilson"]

_Z = 1.959964  # 95 %
RATES = ("success", "tool_error", "refusal", "false_refusal", "recovery", "pass_k")


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n`` with a Wilson 95 % interval (``value`` is ``None`` when ``n == 0``)."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def wilson(k: int, n: int, z: float = _Z) -> Rate:
    """The Wilson score interval of ``k`` successes in ``n`` trials."""
    if n == 0:
        return Rate(k, n, None, None, None)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Rate(k, n, p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Mean:
    """A mean with a normal-approximation 95 % interval."""

    n: int
    value: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _mean(values: Sequence[float]) -> Mean:
    n = len(values)
    if n == 0:
        return Mean(0, None, None, None)
    mu = sum(values) / n
    if n == 1:
        return Mean(1, mu, mu, mu)
    sd = math.sqrt(sum((v - mu) ** 2 for v in values) / (n - 1))
    half = _Z * sd / math.sqrt(n)
    return Mean(n, mu, mu - half, mu + half)


@dataclass(frozen=True)
class Diff:
    """``base - other`` of two rates (a drop when positive), with Newcombe's 95 % interval."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def newcombe(base: Rate, other: Rate) -> Diff | None:
    """The difference ``base - other`` with Newcombe's hybrid score interval."""
    if base.value is None or other.value is None:
        return None
    assert base.low is not None and base.high is not None
    assert other.low is not None and other.high is not None
    d = base.value - other.value
    low = d - math.sqrt((base.value - base.low) ** 2 + (other.high - other.value) ** 2)
    high = d + math.sqrt((base.high - base.value) ** 2 + (other.value - other.low) ** 2)
    return Diff(d, max(-1.0, low), min(1.0, high))


@dataclass(frozen=True)
class GroupMetrics:
    """The metrics of one group of episodes: clean, a tier, or one shift."""

    name: str
    group: str  # "clean", "tier" or "perturbation"
    tier: int
    episodes: int
    rates: dict[str, Rate]
    steps: Mean
    tokens: Mean
    drops: dict[str, Diff | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "tier": self.tier,
            "episodes": self.episodes,
            **{k: r.to_dict() for k, r in self.rates.items()},
            "steps": self.steps.to_dict(),
            "tokens": self.tokens.to_dict(),
            "drop": {k: (d.to_dict() if d else None) for k, d in self.drops.items()},
        }


def _group(name: str, group: str, tier: int, results: Sequence[EpisodeResult]) -> GroupMetrics:
    refuse = [r for r in results if r.expected == "refused"]
    other = [r for r in results if r.expected != "refused"]
    met_fault = [r for r in results if r.injected_errors > 0]
    by_pair: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in results:
        by_pair[(r.task_id, r.perturbation)].append(r.correct)
    repeated = [v for v in by_pair.values() if len(v) > 1]
    rates = {
        "success": wilson(sum(r.correct for r in results), len(results)),
        "tool_error": wilson(
            sum(r.invalid_calls for r in results), sum(r.tool_calls for r in results)
        ),
        "refusal": wilson(sum(r.status == "refused" for r in refuse), len(refuse)),
        "false_refusal": wilson(sum(r.status == "refused" for r in other), len(other)),
        "recovery": wilson(sum(r.correct for r in met_fault), len(met_fault)),
        "pass_k": wilson(sum(all(v) for v in repeated), len(repeated)),
    }
    tokens = [
        float((r.input_tokens or 0) + (r.output_tokens or 0))
        for r in results
        if r.input_tokens is not None or r.output_tokens is not None
    ]
    return GroupMetrics(
        name,
        group,
        tier,
        len(results),
        rates,
        _mean([float(r.steps) for r in results]),
        _mean(tokens),
    )


def _with_drops(g: GroupMetrics, clean: GroupMetrics | None) -> GroupMetrics:
    if clean is None:
        return g
    drops = {k: newcombe(clean.rates[k], g.rates[k]) for k in ("success", "refusal")}
    # For an error rate a rise is the damage: report shifted minus clean.
    drops["tool_error"] = newcombe(g.rates["tool_error"], clean.rates["tool_error"])
    return GroupMetrics(g.name, g.group, g.tier, g.episodes, g.rates, g.steps, g.tokens, drops)


@dataclass(frozen=True)
class Summary:
    """Every group's metrics: ``clean``, ``tiers`` (in tier order), ``perturbations``."""

    clean: GroupMetrics | None
    tiers: list[GroupMetrics]
    perturbations: list[GroupMetrics]
    overall: GroupMetrics

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean.to_dict() if self.clean else None,
            "tiers": [g.to_dict() for g in self.tiers],
            "perturbations": [g.to_dict() for g in self.perturbations],
            "overall": self.overall.to_dict(),
        }

    def groups(self, *, shifts: bool = True) -> list[GroupMetrics]:
        """Clean (when run), then each tier, then (with ``shifts``) each shift."""
        found = [self.clean] if self.clean is not None else []
        return [*found, *self.tiers, *(self.perturbations if shifts else ())]

    def group(self, name: str) -> GroupMetrics | None:
        """The group called ``name`` (``clean``, a tier label, a shift, ``overall``)."""
        return next((g for g in (*self.groups(), self.overall) if g.name == name), None)

    def success(self, name: str) -> float | None:
        """The success rate of the group called ``name`` (``clean``, a tier label, a shift)."""
        g = self.group(name)
        if g is None:
            raise KeyError(name)
        return g.rates["success"].value


def summarize(results: Iterable[EpisodeResult]) -> Summary:
    """The metrics of an evaluation's results (see the module docstring)."""
    results = list(results)
    clean_runs = [r for r in results if r.perturbation == CLEAN]
    clean = _group(CLEAN, "clean", 0, clean_runs) if clean_runs else None
    by_tier: dict[int, list[EpisodeResult]] = defaultdict(list)
    by_label: dict[str, list[EpisodeResult]] = {}
    for r in results:
        if r.perturbation != CLEAN:
            by_tier[r.tier].append(r)
            by_label.setdefault(r.perturbation, []).append(r)
    tiers = [
        _with_drops(_group(Tier(t).label, "tier", t, by_tier[t]), clean) for t in sorted(by_tier)
    ]
    shifts = [
        _with_drops(_group(label, "perturbation", rs[0].tier, rs), clean)
        for label, rs in by_label.items()
    ]
    overall = _group("overall", "overall", -1, results)
    return Summary(clean, tiers, shifts, overall)
