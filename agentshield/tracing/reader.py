"""Read stored spans back: files to spans, spans to runs, runs to trajectories.

Sources are files or folders (searched for ``*.jsonl`` / ``*.json``): our store's files,
files written by an OpenTelemetry Collector's ``file`` exporter, or OTLP-JSON documents from
anything else. Every line that cannot be read — bad JSON, not OTLP, a torn last line left by
a killed writer — and every span without valid ids is reported as a :class:`Problem` with
its file and line, and skipped; :meth:`ReadReport.summary` says how many.

Runs are found in this order: our ``invoke_agent`` spans (with every span below them or
carrying the same ``agentshield.run_id``); our spans whose run span is missing (a crashed
run); then, per trace, the outermost agent span of another instrumentation (GenAI
``invoke_agent`` or OpenInference ``AGENT``), else the whole trace when it holds model or
tool calls. An id used by several runs gets ``#2``, ``#3`` … appended.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from agentshield.tracing import semconv as sc
from agentshield.tracing.convert import build_trajectory
from agentshield.tracing.dialects import span_role
from agentshield.tracing.records import SpanRecord, decode_request
from agentshield.tracing.store import store_files
from agentshield.trajectory import Trajectory

Source = str | os.PathLike[str]

__all__ = [
    "Problem",
    "ReadReport",
    "Run",
    "Source",
    "group_runs",
    "read_runs",
    "read_spans",
    "read_trajectories",
]


@dataclass(frozen=True)
class Problem:
    """A line or span that was skipped, and why."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class ReadReport:
    """What a read found: counts, and every problem with its place."""

    files: int = 0
    lines: int = 0
    spans: int = 0
    runs: int = 0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        """One line, e.g. ``3 runs, 41 spans from 2 files (12 lines); 1 problem skipped``."""
        text = (
            f"{_n(self.runs, 'run')}, {_n(self.spans, 'span')} from "
            f"{_n(self.files, 'file')} ({_n(self.lines, 'line')})"
        )
        n = len(self.problems)
        return text + (f"; {_n(n, 'problem')} skipped" if n else "")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Run:
    """One run: its root span (``None`` when it was lost), its spans, its trajectory."""

    run_id: str
    root: SpanRecord | None
    spans: tuple[SpanRecord, ...]
    trajectory: Trajectory
    dialect: str

    @property
    def start_ns(self) -> int:
        """When the run started (its earliest span)."""
        return min((s.start_ns for s in self.spans), default=0)


def _lines(path: Path, report: ReadReport) -> Iterator[tuple[int, object]]:
    """Decoded JSON documents of one file, with their line numbers; problems are reported."""
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            doc = json.loads(data)
        except ValueError:
            pass  # not one document: read it line by line
        else:
            report.lines += 1
            yield from ((1, d) for d in (doc if isinstance(doc, list) else [doc]))
            return
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        report.lines += 1
        try:
            yield number, json.loads(raw)
        except ValueError as exc:
            torn = number == len(lines) and not data.endswith(b"\n")
            why = "torn last line (the writer stopped mid-write)" if torn else f"bad JSON: {exc}"
            report.problems.append(Problem(str(path), number, why))


def read_spans(*sources: Source) -> tuple[list[SpanRecord], ReadReport]:
    """Every readable span under ``sources`` (duplicates dropped), and the report."""
    report = ReadReport()
    spans: list[SpanRecord] = []
    seen: set[tuple[str, str]] = set()
    for source in sources:
        files = store_files(source)
        if not files and not Path(source).exists():
            report.problems.append(Problem(str(source), 0, "no such file or folder"))
        for path in files:
            report.files += 1
            for number, doc in _lines(path, report):
                try:
                    found, problems = decode_request(doc, f"{path}:{number}")
                except ValueError as exc:
                    report.problems.append(Problem(str(path), number, str(exc)))
                    continue
                report.problems.extend(Problem(str(path), number, p) for p in problems)
                for span in found:
                    if (span.trace_id, span.span_id) not in seen:
                        seen.add((span.trace_id, span.span_id))
                        spans.append(span)
    report.spans = len(spans)
    return spans, report


def group_runs(
    spans: Iterable[SpanRecord],
) -> list[tuple[str, SpanRecord | None, list[SpanRecord], str]]:
    """Split spans into runs: ``(run_id, root, spans, dialect)``, oldest first.

    A run's spans are its root's subtree, less the subtrees of other runs nested in it (a
    sub-agent is a run of its own); a span belongs to at most one run.
    """
    spans = list(spans)
    index = {(s.trace_id, s.span_id): s for s in spans}
    children: dict[tuple[str, str], list[SpanRecord]] = defaultdict(list)
    for s in spans:
        if s.parent_id:
            children[(s.trace_id, s.parent_id)].append(s)
    claimed: set[tuple[str, str]] = set()

    def below(root: SpanRecord, stop: set[tuple[str, str]]) -> list[SpanRecord]:
        out: dict[tuple[str, str], SpanRecord] = {}
        stack = [root]
        while stack:
            node = stack.pop()
            key = (node.trace_id, node.span_id)
            # Stop at other runs' roots, spans already taken, and parent cycles.
            if key in out or key in claimed or (node is not root and key in stop):
                continue
            out[key] = node
            stack.extend(children.get(key, ()))
        claimed.update(out)
        return list(out.values())

    def run_id_of(s: SpanRecord) -> str | None:
        value = s.attributes.get(sc.AS_RUN_ID)
        return None if value is None else str(value)

    runs: list[tuple[str, SpanRecord | None, list[SpanRecord], str]] = []
    ours = [s for s in spans if span_role(s) == "agent" and sc.AS_RUN_ID in s.attributes]
    roots = {(s.trace_id, s.span_id): run_id_of(s) for s in ours}
    for root in ours:  # a re-entered run (same id nested in itself) counts once
        rid = run_id_of(root)
        if not any(run_id_of(a) == rid for a in _agent_ancestors(root, index)):
            others = {key for key, other in roots.items() if other != rid}
            runs.append((str(rid), root, below(root, others), "agentshield"))
    orphans: dict[str, list[SpanRecord]] = defaultdict(list)
    for s in spans:  # our spans whose run span never arrived (a crashed run)
        if sc.AS_RUN_ID in s.attributes and (s.trace_id, s.span_id) not in claimed:
            orphans[str(run_id_of(s))].append(s)
    for run_id, members in orphans.items():
        claimed.update((m.trace_id, m.span_id) for m in members)
        runs.append((run_id, None, members, "agentshield"))
    by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
    for s in spans:
        if (s.trace_id, s.span_id) not in claimed:
            by_trace[s.trace_id].append(s)
    for trace_id, group in by_trace.items():
        dialect = (
            "openinference" if any(sc.OI_SPAN_KIND in s.attributes for s in group) else "genai"
        )
        agents = [a for a in group if span_role(a) == "agent"]
        outer = [a for a in agents if not _agent_ancestors(a, index)]
        keys = {(a.trace_id, a.span_id) for a in agents}
        for agent in outer:
            run_id = trace_id if len(outer) == 1 else f"{trace_id}:{agent.span_id}"
            members = below(agent, keys)
            if any(span_role(m) in ("chat", "tool") for m in members):
                runs.append((run_id, agent, members, dialect))
        rest = [s for s in group if (s.trace_id, s.span_id) not in claimed]
        if not outer and any(span_role(s) in ("chat", "tool") for s in rest):
            ids = {s.span_id for s in rest}
            tops = [s for s in rest if not s.parent_id or s.parent_id not in ids]
            runs.append(
                (trace_id, min(tops, key=lambda s: s.start_ns) if tops else None, rest, dialect)
            )
    runs.sort(key=lambda r: min(s.start_ns for s in r[2]))
    return runs


def _agent_ancestors(
    span: SpanRecord, index: dict[tuple[str, str], SpanRecord]
) -> list[SpanRecord]:
    """The agent spans above ``span``, nearest first (parent cycles are cut)."""
    out, seen = [], {span.span_id}
    parent = index.get((span.trace_id, span.parent_id or ""))
    while parent is not None and parent.span_id not in seen:
        if span_role(parent) == "agent":
            out.append(parent)
        seen.add(parent.span_id)
        parent = index.get((parent.trace_id, parent.parent_id or ""))
    return out


def read_runs(*sources: Source) -> tuple[list[Run], ReadReport]:
    """Every run under ``sources`` with its spans and trajectory, and the report."""
    spans, report = read_spans(*sources)
    runs = []
    seen: dict[str, int] = {}
    for run_id, root, members, dialect in group_runs(spans):
        seen[run_id] = seen.get(run_id, 0) + 1
        if seen[run_id] > 1:  # the same id reused by another run: keep both, told apart
            run_id = f"{run_id}#{seen[run_id]}"
        try:
            trajectory = build_trajectory(run_id, root, members, dialect)
        except (ValueError, TypeError, KeyError) as exc:
            where = (root or members[0]).source
            file, _, line = where.rpartition(":")
            report.problems.append(Problem(file, int(line or 0), f"run {run_id}: {exc}"))
            continue
        ordered = tuple(sorted(members, key=lambda s: (s.start_ns, s.end_ns)))
        runs.append(Run(run_id, root, ordered, trajectory, dialect))
    report.runs = len(runs)
    return runs, report


def read_trajectories(*sources: Source) -> tuple[list[Trajectory], ReadReport]:
    """Every run under ``sources`` as a trajectory, and the report."""
    runs, report = read_runs(*sources)
    return [r.trajectory for r in runs], report
