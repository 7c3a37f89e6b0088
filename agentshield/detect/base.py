"""Detector base class, the events detectors see, and what they return.

A detector is a frozen, keyword-only dataclass whose fields are its validated parameters,
like a perturbation. It looks at four surfaces of a run, each through one pure hook with a
no-op default; a hook returns :class:`Finding` values and never does I/O:

================  =====================================================================
``on_tools``      the tool set shown to the model (once per run and tool set)
``on_query``      one user message
``on_call``       one tool call and its observation (with latency when known)
``on_answer``     the final answer of the run
================  =====================================================================

Hooks read the baseline and the run so far through a :class:`DetectContext`. A streaming
detector keeps state across runs in the object its :meth:`Detector.new_state` returns (the
:class:`~agentshield.detect.Monitor` owns it); everything it keeps must be bounded.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from agentshield.detect import _features as f
from agentshield.detect.profile import START, Profile
from agentshield.perturbations.base import Tier
from agentshield.trajectory import ToolCall, ToolSpec

__all__ = [
    "CallEvent",
    "DetectContext",
    "Detection",
    "Detector",
    "Finding",
    "RunState",
    "ToolDiff",
    "diff_tools",
]

#: Per-run bounds.
MAX_CALLS = 256
MAX_OBSERVED_CHARS = 65_536


_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class Finding:
    """What a hook reports: a verdict, a score in [0, 1], details, and a ``subject`` (a tool
    name, a path …) that with the verdict identifies it, so it is reported once per run.
    ``tier`` overrides the detector's own for this verdict. (Slotted: a frozen dataclass
    with a ``__dict__`` costs twice as much to build, and hooks build one per finding.)"""

    verdict: str
    score: float = 1.0
    detail: Mapping[str, Any] = field(default_factory=dict)
    subject: str = ""
    tier: Tier | None = None


@dataclass(frozen=True, slots=True)
class Detection:
    """One reported shift: which detector, which tier, on which run and call."""

    run_id: str
    key: str
    detector: str
    tier: int
    verdict: str
    score: float
    detail: Mapping[str, Any] = field(default_factory=dict)
    time_s: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "run_id": self.run_id,
            "key": self.key,
            "detector": self.detector,
            "tier": self.tier,
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "detail": dict(self.detail),
        }


@dataclass(frozen=True)
class ToolDiff:
    """How a run's tool set differs from the baseline's."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: Mapping[str, str] = field(default_factory=dict)  # baseline name -> new name
    swapped: tuple[str, ...] = ()
    params_changed: tuple[str, ...] = ()
    description_changed: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether the tool set is the baseline's."""
        return not (
            self.added
            or self.removed
            or self.renamed
            or self.swapped
            or self.params_changed
            or self.description_changed
        )


def _similarity(a: str, b: str) -> float:
    """Jaccard similarity of two texts' word sets."""
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) / max(1, len(wa | wb))


def diff_tools(profile: Profile, tools: Sequence[ToolSpec]) -> ToolDiff:
    """Compare a tool set with the baseline's: a new name whose parameter structure matches
    a vanished tool's is a rename (ties broken by description similarity); a kept name
    that now has another baseline tool's structure is a swap."""
    known = profile.tools
    current = {t.name: t for t in tools}
    structure = {n: f.structure_fingerprint(t) for n, t in current.items()}
    new = [n for n in current if n not in known]
    gone = [n for n in known if n not in current]
    # Pair vanished and new tools of the same parameter structure, most similar
    # descriptions first (several tools often share a structure, e.g. one ``place_id``).
    pairs = sorted(
        (
            (-_similarity(known[g].spec.description, current[n].description), g, n)
            for n in new
            for g in gone
            if known[g].structure == structure[n]
        ),
    )
    renamed: dict[str, str] = {}
    for _, old, name in pairs:
        if old not in renamed and name not in renamed.values():
            renamed[old] = name
    swapped: list[str] = []
    params: list[str] = []
    docs: list[str] = []
    by_structure: dict[str, list[str]] = {}
    for n, tp in known.items():
        by_structure.setdefault(tp.structure, []).append(n)
    for name, spec in current.items():
        kept = known.get(name)
        if kept is None:
            continue
        if structure[name] != kept.structure:
            others = [o for o in by_structure.get(structure[name], ()) if o != name]
            (swapped if others else params).append(name)
        elif f.doc_fingerprint(spec) != kept.doc:
            docs.append(name)
    return ToolDiff(
        added=tuple(n for n in new if n not in renamed.values()),
        removed=tuple(g for g in gone if g not in renamed),
        renamed=renamed,
        swapped=tuple(swapped),
        params_changed=tuple(params),
        description_changed=tuple(docs),
    )


class CallEvent:
    """One tool call as the model made it and the observation it got back.

    A plain slotted class (it is built on every tool call); the parsed observation, its
    lower-cased text and the call's signature are computed once, on first use, and shared
    by every detector.
    """

    __slots__ = (
        "_lower",
        "_parsed",
        "_signature",
        "call",
        "content",
        "has_content",
        "is_error",
        "key",
        "latency_s",
    )

    def __init__(
        self,
        call: ToolCall,
        content: str,
        is_error: bool = False,
        latency_s: float | None = None,
        key: str = "",
        has_content: bool = True,
    ) -> None:
        self.call = call
        self.content = content
        self.is_error = is_error
        self.latency_s = latency_s
        self.key = key
        self.has_content = has_content
        self._parsed: tuple[str, Any] | None = None
        self._lower: str | None = None
        self._signature: str | None = None

    def __repr__(self) -> str:
        return f"CallEvent({self.call!r}, is_error={self.is_error}, key={self.key!r})"

    @property
    def signature(self) -> str:
        """The call's identity for loop detection: tool name and canonical arguments."""
        if self._signature is None:
            args = self.call.args
            flat = True
            for v in args.values():  # a plain loop: ~4x cheaper than all() over a generator
                if not isinstance(v, _SCALARS):
                    flat = False
                    break
            # Flat arguments (the usual case): a sorted repr is canonical and ~4x cheaper than
            # JSON on the per-call path.
            canon = (
                repr(sorted(args.items()))
                if flat
                else json.dumps(args, sort_keys=True, default=str)
            )
            self._signature = f"{self.call.name}:{canon}"
        return self._signature

    @property
    def lower(self) -> str:
        """The observation, lower-cased (for keyword prefilters)."""
        if self._lower is None:
            self._lower = self.content.lower()
        return self._lower

    @property
    def parsed(self) -> tuple[str, Any]:
        """``(format, value)`` of the observation (parsed once, shared by every detector)."""
        if self._parsed is None:
            self._parsed = f.parse_observation(self.content)
        return self._parsed


class RunState:
    """What the monitor remembers of one run, bounded: tool set, calls, observed text."""

    __slots__ = (
        "answered",
        "calls",
        "diff",
        "fired",
        "last_tool",
        "observed",
        "observed_chars",
        "queries",
        "repeats",
        "tools",
    )

    def __init__(self) -> None:
        self.tools: dict[str, ToolSpec] | None = None
        self.diff: ToolDiff | None = None
        self.calls: deque[CallEvent] = deque(maxlen=MAX_CALLS)
        self.last_tool = START
        self.repeats: dict[str, int] = {}
        self.queries: list[str] = []
        self.observed: list[str] = []
        self.observed_chars = 0
        self.fired: set[tuple[str, str, str]] = set()
        self.answered = False

    def remember_call(self, event: CallEvent) -> None:
        """Record a call after the detectors saw it."""
        signature = event.signature
        self.calls.append(event)
        self.last_tool = event.call.name
        if len(self.repeats) < MAX_CALLS or signature in self.repeats:
            self.repeats[signature] = self.repeats.get(signature, 0) + 1
        room = MAX_OBSERVED_CHARS - self.observed_chars
        if room > 0:
            text = event.content[:room]
            self.observed.append(text)
            self.observed_chars += len(text)

    def grounded_text(self) -> str:
        """Everything the run's answer may legitimately quote: queries and observations."""
        return "\n".join([*self.queries, *self.observed]).lower()


class DetectContext:
    """What a hook knows: the baseline, the run so far, and the detector's own state.

    The monitor builds one per event and sets :attr:`state` for each detector in turn (one
    object instead of one per detector: this is on every tool call's path)."""

    __slots__ = ("profile", "run", "run_id", "state")

    def __init__(self, profile: Profile, run_id: str, run: RunState, state: Any = None) -> None:
        self.profile = profile
        self.run_id = run_id
        self.run = run
        self.state = state

    def reported(self, detector: str, verdict: str, subject: str) -> bool:
        """Whether the run already reported this finding of ``detector`` (the monitor drops
        repeats, so a hook may skip building a finding that fires on every call)."""
        return (detector, verdict, subject) in self.run.fired


@dataclass(frozen=True, kw_only=True)
class Detector:
    """Base class of every detector. Subclasses are frozen keyword-only dataclasses."""

    name: ClassVar[str] = ""
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = ""
    #: Whether the detector keeps a statistic across runs (reports a detection delay).
    streaming: ClassVar[bool] = False

    def new_state(self) -> Any:
        """A fresh cross-run state (``None`` for detectors without one)."""
        return None

    def on_tools(self, ctx: DetectContext, tools: Sequence[ToolSpec]) -> Sequence[Finding]:
        """Findings about the tool set shown to the model."""
        return ()

    def on_query(self, ctx: DetectContext, index: int, text: str) -> Sequence[Finding]:
        """Findings about one user message."""
        return ()

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        """Findings about one tool call and its observation."""
        return ()

    def on_answer(self, ctx: DetectContext, text: str) -> Sequence[Finding]:
        """Findings about the run's final answer."""
        return ()

    def params(self) -> dict[str, Any]:
        """The detector's parameters."""
        return {fl.name: getattr(self, fl.name) for fl in fields(self)}
