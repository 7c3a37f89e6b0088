"""Tier-1 query shift: how unfamiliar a user request's wording is to the baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from agentshield.detect.base import DetectContext, Detector, Finding
from agentshield.detect.registry import register
from agentshield.errors import ConfigError
from agentshield.perturbations.base import Tier

__all__ = ["Clarification", "QueryShift"]


@register
@dataclass(frozen=True, kw_only=True)
class QueryShift(Detector):
    """Out-of-distribution score of a user request: the share of its character trigrams
    (names, numbers and dates masked) that no baseline request contained. The threshold is
    the profile's calibrated one (leave-one-out on the baseline) unless given.

    Typos, distracting additions and unfamiliar wording score high; a paraphrase made of
    words the baseline already uses, or a request with a detail removed, can look
    in-distribution: wording alone cannot tell those apart from normal traffic.
    """

    name: ClassVar[str] = "query_shift"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "user request out of the baseline's distribution (char n-grams)"

    threshold: float | None = None
    min_queries: int = 20

    def __post_init__(self) -> None:
        if self.threshold is not None and not 0 < self.threshold <= 1:
            raise ConfigError(f"query_shift.threshold must be in (0, 1], got {self.threshold!r}")

    def on_query(self, ctx: DetectContext, index: int, text: str) -> Sequence[Finding]:
        profile = ctx.profile
        if profile.queries < self.min_queries or not text.strip():
            return ()
        limit = self.threshold if self.threshold is not None else profile.query_threshold
        score = profile.query_score(text)
        if score <= limit:
            return ()
        return (
            Finding(
                "query_ood",
                min(1.0, score),
                {"index": index, "score": round(score, 4), "threshold": round(limit, 4)},
                subject=str(index),
            ),
        )


@register
@dataclass(frozen=True, kw_only=True)
class Clarification(Detector):
    """The agent answered with a question back to the user where the baseline's runs
    almost never did (at most ``max_rate`` of them): the request likely lacks a detail the
    agent needs. It sees the agent's reaction, so it only catches an underspecified request
    the agent handles by asking; one that guesses instead goes unnoticed here."""

    name: ClassVar[str] = "clarification"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "the agent asks the user for a detail the baseline never needed"

    max_rate: float = 0.02
    min_answers: int = 20

    def __post_init__(self) -> None:
        if not 0 <= self.max_rate < 1:
            raise ConfigError(f"clarification.max_rate must be in [0, 1), got {self.max_rate!r}")

    def on_answer(self, ctx: DetectContext, text: str) -> Sequence[Finding]:
        profile = ctx.profile
        if profile.answers < self.min_answers or not text.strip().endswith("?"):
            return ()
        rate = (profile.questions + 0.5) / (profile.answers + 1)
        if rate > self.max_rate:
            return ()
        return (Finding("clarification_requested", 1 - rate, {"baseline_rate": round(rate, 4)}),)
