"""Tier-2 and security detectors that read observations: format drift, redirection and
deprecation notices, and instructions planted in tool output."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from agentshield.detect import _features as f
from agentshield.detect.base import CallEvent, DetectContext, Detector, Finding
from agentshield.detect.registry import register
from agentshield.errors import ConfigError
from agentshield.perturbations.base import Tier

__all__ = ["InjectionContent", "ObservationDrift", "Redirection", "looks_like_redirect"]

_REDIRECT = re.compile(
    r"\bdeprecated\b|\bno longer (?:served|supported|available|maintained)\b|"
    r"\b(?:has been|was) (?:moved|replaced|renamed|retired)\b|\buse [\w.-]+ instead\b|"
    r"\"replacement\"\s*:|\b(?:301|308) moved permanently\b|\b410 gone\b|\bsunset\b",
    re.IGNORECASE,
)

#: (cheap lower-case keywords, pattern): a pattern is only tried when one of its keywords
#: occurs, so clean observations cost a few substring scans, not a dozen regex searches.
_INJECTION: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (keys, re.compile(p, re.IGNORECASE))
    for keys, p in (
        (
            ("ignore", "disregard", "forget"),
            r"\b(?:ignore|disregard|forget)\b.{0,20}\b(?:previous|prior|above|earlier|all)\b"
            r".{0,20}\b(?:instructions?|messages?|rules|prompts?)\b",
        ),
        (
            ("notice", "message", "override", "prompt"),
            r"\b(?:system|admin|developer)\s+(?:notice|message|override|prompt)\b",
        ),
        (("[admin]", "[system]", "[developer]"), r"\[(?:admin|system|developer)\]"),
        (("note to the",), r"\bnote to the (?:ai|assistant|agent|llm|model)\b"),
        (("assistant:", "assistant :", "agent:"), r"(?:^|[<\-\s])(?:assistant|ai agent)\s*:\s"),
        (("new policy", "new instruction"), r"\bnew (?:policy|instructions?)\s*:"),
        (
            ("send", "forward", "email", "upload", "exfiltrate"),
            r"\b(?:send|forward|email|upload|exfiltrate)\b.{0,40}\b(?:conversation|history|"
            r"password|credentials?|api key|secrets?)\b",
        ),
        (("authori",), r"\bpre-?authori[sz]ed\b"),
        (("always",), r"\balways (?:recommend|reply|answer|say)\b"),
        (
            ("the user",),
            r"\b(?:do not|don't|never) (?:tell|inform|mention (?:this )?to) the user\b",
        ),
        (("you must now", "you should now"), r"\byou (?:must|should) now\b"),
    )
)
#: Any keyword of any injection pattern, as one scan.
_INJECTION_ANY = re.compile("|".join(re.escape(k) for keys, _ in _INJECTION for k in keys))
_REDIRECT_KEYS = (
    "deprecat",
    "no longer",
    "has been",
    "was ",
    "instead",
    "replacement",
    "moved",
    "410",
    "sunset",
)


_REDIRECT_ANY = re.compile("|".join(re.escape(k) for k in _REDIRECT_KEYS))


def _redirect(text: str, low: str | None = None) -> re.Match[str] | None:
    low = text.lower() if low is None else low
    if _REDIRECT_ANY.search(low) is None:
        return None
    return _REDIRECT.search(text)


def looks_like_redirect(text: str) -> bool:
    """Whether an observation announces a deprecation or points to another tool."""
    return _redirect(text) is not None


@register
@dataclass(frozen=True, kw_only=True)
class ObservationDrift(Detector):
    """A tool's result no longer looks like the baseline's: another format (JSON became
    text, XML, CSV …), fields never seen, fields always present now missing or null, values
    of a new type, or a size far outside the baseline's. Needs ``min_results`` baseline
    results of the tool; error results are left to the error detectors."""

    name: ClassVar[str] = "observation_drift"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "observation format, fields, types or missing values changed"

    min_results: int = 5
    presence: float = 0.99
    size_z: float = 6.0

    def __post_init__(self) -> None:
        if not 0.5 <= self.presence <= 1:
            raise ConfigError(f"observation_drift.presence must be in [0.5, 1]: {self.presence}")
        if self.min_results < 1:
            raise ConfigError("observation_drift.min_results must be >= 1")

    def new_state(self) -> Any:
        return {}

    def _expect(self, ctx: DetectContext, name: str) -> _Expected | None:
        """The tool's expected shape, derived from the profile once and cached."""
        cache: dict[str, _Expected | None] = ctx.state
        if name in cache:
            return cache[name]
        tool = ctx.profile.tools.get(name)
        expected = None
        if tool is not None and tool.results >= self.min_results:
            n = tool.results
            expected = _Expected(
                formats=frozenset(k for k, v in tool.formats.items() if v),
                known=frozenset(tool.paths),
                required=tuple(
                    (p, f.parent_of(p)) for p, e in tool.paths.items() if e[0] / n >= self.presence
                ),
                never_null=frozenset(
                    p for p, e in tool.paths.items() if e[1] / max(1, e[0]) <= 1 - self.presence
                ),
                kinds={p: frozenset(e[2]) for p, e in tool.paths.items()},
                size=(tool.size.n, tool.size.mean, tool.size.std),
            )
        if len(cache) < 4096:
            cache[name] = expected
        return expected

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        if event.is_error or not event.has_content:
            return ()
        name = event.call.name
        expected = self._expect(ctx, name)
        if expected is None:
            return ()
        fmt, value = event.parsed
        if fmt not in expected.formats:
            detail = {"tool": name, "format": fmt, "was": sorted(expected.formats)}
            return (Finding("format_changed", 1.0, detail, subject=name),)
        found = f.shape(value)
        new = [p for p in found if p not in expected.known]
        missing = [
            p
            for p, parent in expected.required
            if p not in found and (not parent or found.get(parent, "null") != "null")
        ]
        nulled = [p for p, k in found.items() if k == "null" and p in expected.never_null]
        retyped = [
            p
            for p, k in found.items()
            if k != "null" and p in expected.kinds and k not in expected.kinds[p]
        ]
        out: list[Finding] = []
        for verdict, paths in (
            ("unexpected_fields", new),
            ("missing_fields", missing),
            ("null_values", nulled),
            ("type_changed", retyped),
        ):
            if paths:
                score = min(1.0, len(paths) / max(1, len(expected.known)) * 4)
                detail = {"tool": name, "fields": sorted(paths)[:10]}
                out.append(Finding(verdict, score, detail, subject=name))
        n, mean, std = expected.size
        if n >= 20:
            z = (math.log1p(len(event.content)) - mean) / max(std, 0.25)
            if abs(z) > self.size_z:
                size = {"tool": name, "z": round(z, 2)}
                out.append(
                    Finding(
                        "size_changed", min(1.0, abs(z) / (2 * self.size_z)), size, subject=name
                    )
                )
        return out


@dataclass(frozen=True)
class _Expected:
    """What a tool's results look like in the baseline, ready for per-call checks."""

    formats: frozenset[str]
    known: frozenset[str]
    required: tuple[tuple[str, str], ...]
    never_null: frozenset[str]
    kinds: dict[str, frozenset[str]]
    size: tuple[int, float, float]


@register
@dataclass(frozen=True, kw_only=True)
class Redirection(Detector):
    """An observation announces that the tool is deprecated, moved or replaced (when the
    baseline never saw such a notice from that tool)."""

    name: ClassVar[str] = "redirection"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "deprecation / redirection notices in observations"

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        match = _redirect(event.content, event.lower)
        if match is None:
            return ()
        tool = ctx.profile.tools.get(event.call.name)
        if tool is not None and tool.redirects:
            return ()
        name = event.call.name
        return (Finding("redirected", 1.0, {"tool": name, "match": match.group(0)}, subject=name),)


@register
@dataclass(frozen=True, kw_only=True)
class InjectionContent(Detector):
    """Instructions addressed to the agent inside tool output (AgentDojo-style prompt
    injection): override phrases, fake system / admin notices, requests to exfiltrate."""

    name: ClassVar[str] = "injection_content"
    tier: ClassVar[Tier] = Tier.SECURITY
    description: ClassVar[str] = "instructions planted in an observation"

    min_matches: int = 1

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        text = event.content
        low = event.lower
        if _INJECTION_ANY.search(low) is None:
            return ()
        hits = [
            p.pattern[:40]
            for keys, p in _INJECTION
            if any(k in low for k in keys) and p.search(text)
        ]
        if len(hits) < self.min_matches:
            return ()
        name = event.call.name
        return (
            Finding(
                "instructions_in_observation",
                min(1.0, len(hits) / 2),
                {"tool": name, "patterns": len(hits)},
                subject=name,
            ),
        )
