"""Detectors of the run as a whole: call order and loops (tier 3), and how the run ended
(tier 4): refusal or forced completion when a needed tool is missing, and answers that cite
what no tool returned."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from agentshield.detect import _features as f
from agentshield.detect.base import CallEvent, DetectContext, Detector, Finding
from agentshield.detect.registry import register
from agentshield.errors import ConfigError
from agentshield.perturbations.base import Tier

__all__ = ["MissingTool", "OrderViolation", "UngroundedAnswer"]

_DEPENDENCY = re.compile(
    r"\brequires? (?:a )?(?:prior|previous|preceding) call\b|\bcall [\w.-]+ first\b|"
    r"\bmust (?:first )?call\b|\bneeds? [\w.-]+ (?:to be called|first)\b|"
    r"\bbefore (?:calling )?this tool\b|\bout of order\b",
    re.IGNORECASE,
)


@register
@dataclass(frozen=True, kw_only=True)
class OrderViolation(Detector):
    """Dependency and order trouble: a call transition the baseline never made between two
    known tools, an observation saying a prerequisite call is missing, and loops (the same
    call with the same arguments ``loop_threshold`` times in a run)."""

    name: ClassVar[str] = "order_violation"
    tier: ClassVar[Tier] = Tier.REASONING
    description: ClassVar[str] = "unseen call order, missing-prerequisite errors, loops"

    loop_threshold: int = 3
    min_runs: int = 20

    def __post_init__(self) -> None:
        if self.loop_threshold < 2:
            raise ConfigError("order_violation.loop_threshold must be >= 2")

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        out: list[Finding] = []
        name = event.call.name
        previous = ctx.run.last_tool
        profile = ctx.profile
        known = name in profile.tools and (previous == "^" or previous in profile.tools)
        last = ctx.run.calls[-1] if ctx.run.calls else None
        retry = last is not None and last.is_error and last.call.name == name
        if (
            profile.runs >= self.min_runs
            and known
            and not retry
            and profile.transition_count(previous, name) == 0
        ):
            transition = f"{previous}>{name}"
            if not ctx.reported(self.name, "unseen_transition", transition):
                out.append(
                    Finding(
                        "unseen_transition", 0.5, {"from": previous, "to": name}, subject=transition
                    )
                )
        if event.is_error and _DEPENDENCY.search(event.content):
            out.append(Finding("missing_prerequisite", 1.0, {"tool": name}, subject=name))
        sig = event.signature
        repeats = ctx.run.repeats.get(sig, 0) + 1
        # A loop goes on firing with every further repeat; the run reported it once already.
        if repeats >= self.loop_threshold and not ctx.reported(self.name, "loop", sig):
            out.append(
                Finding(
                    "loop",
                    min(1.0, repeats / (2 * self.loop_threshold)),
                    {"tool": name, "repeats": repeats},
                    subject=sig,
                )
            )
        return out


@register
@dataclass(frozen=True, kw_only=True)
class MissingTool(Detector):
    """At the end of a run whose tool set lacks tools the baseline had (renames aside):
    ``refused_missing_tool`` when the agent declined (the right behaviour, still a shift),
    ``completed_without_tool`` when it answered as if it had done the task anyway."""

    name: ClassVar[str] = "missing_tool"
    tier: ClassVar[Tier] = Tier.INTERNALIZATION
    description: ClassVar[str] = "refusal vs forced completion when a needed tool is missing"

    def on_answer(self, ctx: DetectContext, text: str) -> Sequence[Finding]:
        diff = ctx.run.diff
        if diff is None or not diff.removed:
            return ()
        missing = sorted(diff.removed)
        if f.is_refusal(text):
            return (Finding("refused_missing_tool", 0.5, {"missing": missing}),)
        if text.strip().endswith("?"):
            return ()
        return (Finding("completed_without_tool", 1.0, {"missing": missing}),)


@register
@dataclass(frozen=True, kw_only=True)
class UngroundedAnswer(Detector):
    """The final answer cites identifiers, codes or numbers (three or more digits, or with
    a decimal part) that appear in no observation and no user message of the run: under
    shift, a statically trained agent tends to invent a confident confirmation."""

    name: ClassVar[str] = "ungrounded_answer"
    tier: ClassVar[Tier] = Tier.INTERNALIZATION
    description: ClassVar[str] = "the answer cites ids / codes / numbers no tool returned"

    def on_answer(self, ctx: DetectContext, text: str) -> Sequence[Finding]:
        cited = f.identifiers(text)
        if not cited:
            return ()
        grounded = ctx.run.grounded_text()
        missing = sorted(c for c in cited if c.lower() not in grounded)
        if not missing:
            return ()
        return (
            Finding(
                "ungrounded_answer", min(1.0, len(missing) / len(cited)), {"cited": missing[:10]}
            ),
        )
