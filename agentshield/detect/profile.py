"""The baseline profile: the world the agent knows, learned from clean recorded runs.

A :class:`Profile` holds, per tool, its schema fingerprints and the structure of what it
returns (formats, key paths with their types and null rates, sizes, error rates and error
kinds, latencies), plus entity-masked query trigrams and the call-sequence bigrams. It is
built from trajectories (:meth:`Profile.from_trajectories`) or from a trace store
(:meth:`Profile.from_traces`) and round-trips through JSON. Its size is bounded: trigram and
path tables are capped, whatever the number of runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentshield.detect import _features as f
from agentshield.detect.toolstats import LATENCY_FLOOR_S, Moments, ToolProfile
from agentshield.errors import ConfigError
from agentshield.trajectory import ToolSpec, Trajectory

FORMAT_VERSION = 1
MAX_TRIGRAMS = 50_000
START = "^"

__all__ = ["FORMAT_VERSION", "LATENCY_FLOOR_S", "Profile", "ToolProfile"]


def has_content(trajectory: Trajectory) -> bool:
    """Whether a run's messages and observations were captured (the trace reader marks a
    run recorded without content with ``metadata["content"] = False``)."""
    return trajectory.metadata.get("content", True) is not False


@dataclass
class Profile:
    """The baseline: tools, their results, query wording and call order of clean runs.

    Build with :meth:`from_trajectories` / :meth:`from_traces`, or incrementally with
    :meth:`add`; save with :meth:`save`, load with :meth:`load`.
    """

    tools: dict[str, ToolProfile] = field(default_factory=dict)
    runs: int = 0
    queries: int = 0
    #: Runs with a final answer, and those whose final answer was a question to the user.
    answers: int = 0
    questions: int = 0
    trigrams: dict[str, int] = field(default_factory=dict)
    transitions: dict[str, int] = field(default_factory=dict)
    #: Query-shift scores above this are out of distribution (set by :meth:`calibrate`).
    query_threshold: float = 0.0
    _query_grams: list[set[str]] = field(default_factory=list, repr=False)

    # Building ---------------------------------------------------------------------------------

    def add(self, trajectory: Trajectory, latencies: Mapping[str, float] | None = None) -> None:
        """Fold one clean run in. ``latencies`` maps tool-call ids to seconds, when known."""
        self.runs += 1
        content = has_content(trajectory)
        for spec in trajectory.tools:
            if spec.name not in self.tools:
                self.tools[spec.name] = ToolProfile(
                    spec, f.structure_fingerprint(spec), f.doc_fingerprint(spec)
                )
        for m in trajectory.messages:
            if m.role == "user" and m.content:
                self._add_query(m.content)
        final = trajectory.final_answer
        if final is not None:
            self.answers += 1
            self.questions += final.strip().endswith("?")
        previous = START
        for obs in trajectory.observations:
            name = obs.call.name
            tool = self.tools.get(name)
            if tool is None:  # called but never defined: keep what we can
                spec = ToolSpec(name)
                tool = self.tools[name] = ToolProfile(
                    spec, f.structure_fingerprint(spec), f.doc_fingerprint(spec)
                )
            latency = None if latencies is None else latencies.get(obs.call.id)
            tool.add_result(obs.content if content else None, obs.is_error, latency)
            key = f"{previous}>{name}"
            self.transitions[key] = self.transitions.get(key, 0) + 1
            previous = name

    def _add_query(self, text: str) -> None:
        self.queries += 1
        grams = f.trigrams(f.mask_query(text))
        for g in grams:
            if g in self.trigrams or len(self.trigrams) < MAX_TRIGRAMS:
                self.trigrams[g] = self.trigrams.get(g, 0) + 1
        if len(self._query_grams) < 4096:
            self._query_grams.append(grams)

    def calibrate(self, *, quantile: float = 0.99, margin: float = 1.5) -> float:
        """Set :attr:`query_threshold` from leave-one-out scores of the baseline's own
        queries: ``margin`` times their ``quantile`` (never below 0.01)."""
        scores = sorted(
            sum(1 for g in grams if self.trigrams.get(g, 0) <= 1) / max(1, len(grams))
            for grams in self._query_grams
        )
        q = scores[min(len(scores) - 1, int(quantile * len(scores)))] if scores else 0.0
        self.query_threshold = max(0.01, margin * q)
        return self.query_threshold

    @classmethod
    def from_trajectories(
        cls,
        trajectories: Iterable[Trajectory],
        *,
        latencies: Mapping[str, float] | None = None,
    ) -> Profile:
        """The profile of clean runs (``latencies``: tool-call id -> seconds, if known)."""
        profile = cls()
        for t in trajectories:
            profile.add(t, latencies)
        profile.calibrate()
        return profile

    @classmethod
    def from_traces(cls, *sources: str | os.PathLike[str]) -> Profile:
        """The profile of every run in trace files / folders (tool latencies from spans).

        Raises:
            ConfigError: No run could be read from ``sources``.
        """
        from agentshield.detect.replay import span_latencies
        from agentshield.tracing.reader import read_runs

        runs, report = read_runs(*sources)
        if not runs:
            raise ConfigError(f"no runs found in {[str(s) for s in sources]}: {report.summary()}")
        profile = cls()
        for run in runs:
            profile.add(run.trajectory, span_latencies(run))
        profile.calibrate()
        return profile

    # Queries ------------------------------------------------------------------------------------

    def pooled_error_rate(self) -> float:
        """Errors per call over every tool, smoothed like :attr:`ToolProfile.error_rate`."""
        calls = sum(t.calls for t in self.tools.values())
        return (sum(t.errors for t in self.tools.values()) + 0.5) / (calls + 1)

    def pooled_latency(self) -> tuple[int, float, float]:
        """``(n, mean, std)`` of clamped log latency over every tool."""
        pooled = Moments()
        for t in self.tools.values():
            m = t.latency
            if not m.n:
                continue
            n = pooled.n + m.n
            delta = m.mean - pooled.mean
            pooled.m2 += m.m2 + delta**2 * pooled.n * m.n / n
            pooled.mean += delta * m.n / n
            pooled.n = n
        return pooled.n, pooled.mean, pooled.std

    def query_score(self, text: str) -> float:
        """The share of the query's masked trigrams the baseline never saw (0 = familiar)."""
        grams = f.trigrams(f.mask_query(text))
        return sum(1 for g in grams if g not in self.trigrams) / max(1, len(grams))

    def transition_count(self, previous: str, tool: str) -> int:
        """How often ``tool`` followed ``previous`` (``"^"``: first call) in the baseline."""
        return self.transitions.get(f"{previous}>{tool}", 0)

    # Persistence --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (see :data:`FORMAT_VERSION`)."""
        return {
            "format": "agentshield.profile",
            "version": FORMAT_VERSION,
            "runs": self.runs,
            "queries": self.queries,
            "answers": self.answers,
            "questions": self.questions,
            "query_threshold": self.query_threshold,
            "tools": {k: v.to_dict() for k, v in sorted(self.tools.items())},
            "trigrams": dict(sorted(self.trigrams.items())),
            "transitions": dict(sorted(self.transitions.items())),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Inverse of :meth:`to_dict`.

        Raises:
            ConfigError: Not a profile, or a version this code cannot read.
        """
        if data.get("format") != "agentshield.profile":
            raise ConfigError("not an AgentShield baseline profile (missing format marker)")
        if data.get("version") != FORMAT_VERSION:
            raise ConfigError(
                f"profile version {data.get('version')!r} is not supported; rebuild it with "
                "`agentshield profile`"
            )
        return cls(
            tools={str(k): ToolProfile.from_dict(v) for k, v in data["tools"].items()},
            runs=int(data["runs"]),
            queries=int(data["queries"]),
            answers=int(data.get("answers", 0)),
            questions=int(data.get("questions", 0)),
            trigrams={str(k): int(v) for k, v in data["trigrams"].items()},
            transitions={str(k): int(v) for k, v in data["transitions"].items()},
            query_threshold=float(data["query_threshold"]),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the profile as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a profile written by :meth:`save`.

        Raises:
            ConfigError: The file is not valid JSON or not a profile.
        """
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read baseline profile {str(path)!r}: {exc}") from None
        return cls.from_dict(data)
