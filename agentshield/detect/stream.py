"""Tier-2 detectors of the tools' behaviour over time: error kinds, error rate, latency.

The two streaming detectors are one-sided CUSUM tests (Page's test; Page-Hinkley with a
log-likelihood-ratio increment) per tool, against the baseline's rate or latency. With the
threshold ``h = ln(1/alpha)`` a CUSUM of likelihood-ratio increments raises a false alarm
on in-control data at most once per ``1/alpha`` calls on average (Lorden's bound,
``ARL0 >= e^h``), so ``alpha`` *is* the stated false-alarm rate per call and tool; it holds
for the error rate exactly (Bernoulli model, the baseline's smoothed rate) and for latency
under the baseline's log-normal model. After an alarm the statistic restarts from zero.
State is one float per tool, for at most ``max_tools`` tools.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from agentshield.detect import _features as f
from agentshield.detect.base import CallEvent, DetectContext, Detector, Finding
from agentshield.detect.profile import LATENCY_FLOOR_S
from agentshield.detect.registry import register
from agentshield.errors import ConfigError
from agentshield.perturbations.base import Tier

__all__ = ["ErrorKind", "ErrorRateShift", "LatencyShift"]


def _check_alpha(owner: str, alpha: float) -> None:
    if not 0 < alpha < 0.5:
        raise ConfigError(f"{owner}.alpha must be in (0, 0.5), got {alpha!r}")


#: The key of the statistic pooled over every tool (a shift spread thinly over many
#: tools, one call each, shows there first).
POOLED = "*"


#: Per statistic of a tool, the constants its increments need.
_Models = tuple[tuple[Any, ...], ...]


class _Cusum:
    """Per-tool CUSUM statistics plus the pooled one, bounded, with the threshold ``h`` and
    each tool's models (the constants its increments need, derived from the profile once)."""

    __slots__ = ("h", "max_tools", "models", "pooled", "stats")

    def __init__(self, max_tools: int, alpha: float) -> None:
        self.stats: dict[str, float] = {}
        self.max_tools = max_tools
        self.h = math.log(1 / alpha)
        self.pooled: tuple[int, float, float] | None = None
        self.models: dict[str, _Models] = {}

    def remember(self, tool: str, models: _Models) -> _Models:
        """Keep a tool's models (for at most ``max_tools`` tools) and return them."""
        if len(self.models) < self.max_tools:
            self.models[tool] = models
        return models

    def step(self, tool: str, increment: float) -> float | None:
        """Add one increment; the statistic when it crosses ``h`` (then reset), else None."""
        s = self.stats.get(tool)
        if s is None and len(self.stats) >= self.max_tools:
            return None
        s = max(0.0, (s or 0.0) + increment)
        if s > self.h:
            self.stats[tool] = 0.0
            return s
        self.stats[tool] = s
        return None


@register
@dataclass(frozen=True, kw_only=True)
class ErrorKind(Detector):
    """An error whose message has a shape the baseline never saw from that tool (a new
    status code, a rate limit, a timeout, a new validation rule)."""

    name: ClassVar[str] = "error_kind"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "an error of a kind the baseline never saw from the tool"

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        if not event.is_error or not event.has_content:
            return ()
        name = event.call.name
        tool = ctx.profile.tools.get(name)
        sig = f.error_signature(event.content)
        if tool is not None and sig in tool.error_kinds:
            return ()
        return (
            Finding(
                "new_error_kind", 1.0, {"tool": name, "signature": sig}, subject=f"{name}:{sig}"
            ),
        )


@register
@dataclass(frozen=True, kw_only=True)
class ErrorRateShift(Detector):
    """Bernoulli CUSUM per tool: the error rate rose from the baseline's ``p0`` towards
    ``p1 = max(ratio * p0, p0 + min_increase)``; false-alarm rate ``alpha`` per call."""

    name: ClassVar[str] = "error_rate"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "tool error rate above the baseline's (CUSUM, stated alpha)"
    streaming: ClassVar[bool] = True

    alpha: float = 1e-3
    ratio: float = 4.0
    min_increase: float = 0.2
    max_tools: int = 512

    def __post_init__(self) -> None:
        _check_alpha(self.name, self.alpha)
        if self.ratio <= 1 or not 0 < self.min_increase < 1:
            raise ConfigError("error_rate needs ratio > 1 and 0 < min_increase < 1")

    def new_state(self) -> Any:
        return _Cusum(self.max_tools, self.alpha)

    def _models(self, ctx: DetectContext, name: str) -> _Models:
        """``(key, p0, increment on error, increment on success)`` per statistic."""
        state: _Cusum = ctx.state
        if state.pooled is None:
            state.pooled = (0, ctx.profile.pooled_error_rate(), 0.0)
        tool = ctx.profile.tools.get(name)
        rates = ((name, tool.error_rate if tool is not None else None), (POOLED, state.pooled[1]))
        models = []
        for key, p0 in rates:
            if p0 is None:
                continue
            p1 = min(0.99, max(self.ratio * p0, p0 + self.min_increase))
            models.append((key, p0, math.log(p1 / p0), math.log((1 - p1) / (1 - p0))))
        return tuple(models)

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        name = event.call.name
        state: _Cusum = ctx.state
        models = state.models.get(name)
        if models is None:
            models = state.remember(name, self._models(ctx, name))
        out = []
        for key, p0, on_error, on_success in models:
            s = state.step(key, on_error if event.is_error else on_success)
            if s is not None:
                detail = {"tool": key, "baseline_rate": round(p0, 4), "cusum": round(s, 2)}
                out.append(Finding("error_rate_up", 1.0, detail, subject=key))
        return out


@register
@dataclass(frozen=True, kw_only=True)
class LatencyShift(Detector):
    """Gaussian CUSUM (Page-Hinkley) per tool on log latency (latencies under
    ``floor_s`` count as the floor), detecting a rise of ``shift_sd`` baseline standard
    deviations (at least ``min_sd``); false-alarm rate ``alpha`` per call."""

    name: ClassVar[str] = "latency_shift"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "tool latency above the baseline's (Page-Hinkley, stated alpha)"
    streaming: ClassVar[bool] = True

    alpha: float = 1e-3
    shift_sd: float = 2.0
    min_sd: float = 0.25
    floor_s: float = LATENCY_FLOOR_S
    min_samples: int = 10
    max_tools: int = 512

    def __post_init__(self) -> None:
        _check_alpha(self.name, self.alpha)
        if self.shift_sd <= 0 or self.min_sd <= 0 or self.floor_s <= 0:
            raise ConfigError("latency_shift needs shift_sd, min_sd and floor_s > 0")

    def new_state(self) -> Any:
        return _Cusum(self.max_tools, self.alpha)

    def _models(self, ctx: DetectContext, name: str) -> _Models:
        """``(key, mean, scale)`` of log latency per statistic with enough samples."""
        state: _Cusum = ctx.state
        if state.pooled is None:
            state.pooled = ctx.profile.pooled_latency()
        tool = ctx.profile.tools.get(name)
        models = [(POOLED, *state.pooled)]
        if tool is not None:
            models.insert(0, (name, tool.latency.n, tool.latency.mean, tool.latency.std))
        return tuple(
            (key, mean, max(std, self.min_sd))
            for key, n, mean, std in models
            if n >= self.min_samples
        )

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        if event.latency_s is None:
            return ()
        name = event.call.name
        state: _Cusum = ctx.state
        x = f.log_clamped(event.latency_s, self.floor_s)
        drift = self.shift_sd**2 / 2
        models = state.models.get(name)
        if models is None:
            models = state.remember(name, self._models(ctx, name))
        out = []
        for key, mean, scale in models:
            s = state.step(key, self.shift_sd * ((x - mean) / scale) - drift)
            if s is not None:
                detail = {
                    "tool": key,
                    "latency_s": round(event.latency_s, 4),
                    "baseline_s": round(math.exp(mean), 4),
                    "cusum": round(s, 2),
                }
                out.append(Finding("latency_up", 1.0, detail, subject=key))
        return out
