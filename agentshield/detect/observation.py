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

#: The redirection pattern's alternatives, each with the lower-case literals it can start
#: with: a match begins only where one of those occurs.
_REDIRECT_ALTERNATIVES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("deprecated",), r"\bdeprecated\b"),
    (("no longer ",), r"\bno longer (?:served|supported|available|maintained)\b"),
    (("has been ", "was "), r"\b(?:has been|was) (?:moved|replaced|renamed|retired)\b"),
    (("use ",), r"\buse [\w.-]+ instead\b"),
    (('"replacement"',), r"\"replacement\"\s*:"),
    (("301 moved", "308 moved"), r"\b(?:301|308) moved permanently\b"),
    (("410 gone",), r"\b410 gone\b"),
    (("sunset",), r"\bsunset\b"),
)
_REDIRECT = re.compile("|".join(p for _, p in _REDIRECT_ALTERNATIVES), re.IGNORECASE)
_REDIRECT_STARTS = tuple(start for starts, _ in _REDIRECT_ALTERNATIVES for start in starts)

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
#: Every keyword of every injection pattern (a clean observation is rejected on these).
_INJECTION_KEYS = tuple(k for keys, _ in _INJECTION for k in keys)
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


def _any_in(low: str, keys: tuple[str, ...]) -> bool:
    """Whether any keyword occurs in ``low``: a few dozen substring scans cost about half
    of one search with a regex alternation of the same keywords (which re tries branch by
    branch at every position)."""
    for k in keys:  # noqa: SIM110 (any() over a generator costs more than the scans)
        if k in low:
            return True
    return False


def _redirect(text: str, low: str | None = None) -> re.Match[str] | None:
    """The first redirection notice in ``text`` (``low``: its lower-case form, if known)."""
    low = text.lower() if low is None else low
    if not text.isascii():  # case folding may shift or merge characters: search plainly
        return _REDIRECT.search(text) if _any_in(low, _REDIRECT_KEYS) else None
    # A search tries every alternative at every position (~0.1 ms on a long observation
    # that merely says "has been"); trying only where an alternative can start finds the
    # same first match.
    starts: list[int] = []
    for literal in _REDIRECT_STARTS:
        if literal in low:  # the usual answer is no, and ``in`` is cheaper than ``find``
            i = low.find(literal)
            while i >= 0:
                starts.append(i)
                i = low.find(literal, i + 1)
    for i in sorted(starts):
        match = _REDIRECT.match(text, i)
        if match is not None:
            return match
    return None


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
        # One pass over the paths found (``kinds`` has every known path as a key).
        kinds, never_null = expected.kinds, expected.never_null
        new: list[str] = []
        nulled: list[str] = []
        retyped: list[str] = []
        for p, k in found.items():
            allowed = kinds.get(p)
            if allowed is None:
                new.append(p)
            elif k == "null":
                if p in never_null:
                    nulled.append(p)
            elif k not in allowed:
                retyped.append(p)
        missing = [
            p
            for p, parent in expected.required
            if p not in found and (not parent or found.get(parent, "null") != "null")
        ]
        out: list[Finding] = []
        if new or missing or nulled or retyped:
            for verdict, paths in (
                ("unexpected_fields", new),
                ("missing_fields", missing),
                ("null_values", nulled),
                ("type_changed", retyped),
            ):
                if paths:
                    score = min(1.0, len(paths) / max(1, len(kinds)) * 4)
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
    required: tuple[tuple[str, str], ...]
    never_null: frozenset[str]
    #: Every known path with the types it had.
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
        if not _any_in(low, _INJECTION_KEYS):
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
