"""Offline: replay recorded runs through a :class:`Monitor` and summarise what it found.

:func:`replay` feeds one :class:`~agentshield.Trajectory` (tools, user messages, each tool
call with its observation, the final answer); :func:`detect_traces` replays every run of a
trace store in start order through one monitor (so the streaming detectors see the traffic
as it happened) and returns a :class:`DetectionReport`: per-tier and per-detector counts and
the worst runs.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentshield.detect.base import Detection
from agentshield.detect.monitor import Monitor
from agentshield.detect.profile import has_content
from agentshield.perturbations.base import Tier
from agentshield.trajectory import Trajectory

if TYPE_CHECKING:
    from agentshield.tracing.reader import ReadReport, Run

__all__ = ["DetectionReport", "detect_traces", "replay", "span_latencies", "tier_label"]


def tier_label(tier: int) -> str:
    """``"1 perception"`` … ``"security"`` (the number itself for an unknown tier)."""
    try:
        return Tier(tier).label
    except ValueError:
        return str(tier)


def replay(
    monitor: Monitor, trajectory: Trajectory, latencies: Mapping[str, float] | None = None
) -> list[Detection]:
    """Feed one recorded run to ``monitor``; return the detections it raised."""
    rid = trajectory.run_id
    content = has_content(trajectory)
    found: list[Detection] = []
    if trajectory.tools:
        found += monitor.observe_tools(rid, trajectory.tools)
    answers = {m.tool_call_id: m for m in trajectory.messages if m.role == "tool"}
    queries = step = 0
    final = trajectory.final_answer
    for m in trajectory.messages:
        if m.role == "user":
            found += monitor.observe_query(rid, queries, m.content)
            queries += 1
        elif m.role == "assistant":
            step += 1
            for index, call in enumerate(m.tool_calls):
                obs = answers.get(call.id)
                if obs is None:
                    continue
                found += monitor.observe_call(
                    rid,
                    call,
                    obs.content if content else None,
                    is_error=obs.is_error,
                    latency_s=None if latencies is None else latencies.get(call.id),
                    key=f"{step}:{index}",
                )
    if final is not None:
        found += monitor.observe_answer(rid, final)
    return found


def span_latencies(run: Run) -> dict[str, float]:
    """Tool-call id -> seconds, from a stored run's tool spans."""
    from agentshield.tracing.dialects import ToolRecord, span_role

    out = {}
    for span in run.spans:
        if span_role(span) == "tool" and span.duration_s:
            record = ToolRecord.of(span)
            if record.call_id:
                out[record.call_id] = span.duration_s
    return out


@dataclass
class DetectionReport:
    """What a replay found: detections per tier and detector, and the runs that scored
    worst (sum of detection scores)."""

    runs: int = 0
    detections: list[Detection] = field(default_factory=list)
    errors: int = 0
    read: str = ""

    @classmethod
    def of(
        cls,
        run_ids: Iterable[str],
        detections: Iterable[Detection],
        *,
        errors: int = 0,
        read: str = "",
    ) -> DetectionReport:
        """A report over ``run_ids`` (runs without detections count as clean)."""
        return cls(len(set(run_ids)), list(detections), errors, read)

    def by_tier(self) -> dict[int, dict[str, Any]]:
        """``{tier: {"detections": n, "runs": flagged runs, "detectors": {name: n}}}``."""
        out: dict[int, dict[str, Any]] = {}
        runs: dict[int, set[str]] = defaultdict(set)
        for d in self.detections:
            entry = out.setdefault(d.tier, {"detections": 0, "runs": 0, "detectors": {}})
            entry["detections"] += 1
            entry["detectors"][d.detector] = entry["detectors"].get(d.detector, 0) + 1
            runs[d.tier].add(d.run_id)
        for tier, entry in out.items():
            entry["runs"] = len(runs[tier])
        return dict(sorted(out.items()))

    def worst_runs(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` runs with the highest total score, with their verdicts."""
        score: dict[str, float] = defaultdict(float)
        verdicts: dict[str, list[str]] = defaultdict(list)
        tiers: dict[str, set[int]] = defaultdict(set)
        for d in self.detections:
            score[d.run_id] += d.score
            verdicts[d.run_id].append(f"{d.detector}:{d.verdict}")
            tiers[d.run_id].add(d.tier)
        ranked = sorted(score, key=lambda r: (-score[r], r))[:n]
        return [
            {
                "run_id": r,
                "score": round(score[r], 3),
                "tiers": sorted(tiers[r]),
                "verdicts": sorted(set(verdicts[r])),
            }
            for r in ranked
        ]

    @property
    def flagged_runs(self) -> int:
        """Runs with at least one detection."""
        return len({d.run_id for d in self.detections})

    def to_dict(self, *, worst: int = 10) -> dict[str, Any]:
        """A JSON-ready summary (and every detection)."""
        return {
            "runs": self.runs,
            "flagged_runs": self.flagged_runs,
            "detector_errors": self.errors,
            "read": self.read,
            "tiers": [
                {"tier": t, "label": tier_label(t), **entry} for t, entry in self.by_tier().items()
            ],
            "worst_runs": self.worst_runs(worst),
            "detections": [d.to_dict() for d in self.detections],
        }


def detect_traces(
    *sources: str | os.PathLike[str], monitor: Monitor
) -> tuple[DetectionReport, ReadReport]:
    """Replay every run under ``sources`` (trace files / folders) through ``monitor``, in
    the order the runs started, with tool latencies from the spans."""
    from agentshield.tracing.reader import read_runs

    runs, read = read_runs(*sources)
    found: list[Detection] = []
    for run in sorted(runs, key=lambda r: r.start_ns):
        found += replay(monitor, run.trajectory, span_latencies(run))
        monitor.forget(run.run_id)
    report = DetectionReport.of(
        (r.run_id for r in runs), found, errors=monitor.errors, read=read.summary()
    )
    return report, read
