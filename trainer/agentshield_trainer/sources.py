"""Where training trajectories come from, and which of them are kept.

Inputs are files or folders. A ``.jsonl`` / ``.json`` file whose first record is a
trajectory (``Trajectory.to_json()`` lines, e.g. ``agentshield traces export --format
jsonl``) is read directly; any other such file is taken as stored OTLP spans (the embedded
trace store, an OpenTelemetry Collector's file exporter) and read through
:mod:`agentshield.tracing.reader`, which keeps tool definitions. Unreadable lines are
reported and skipped, never silently.

:func:`select` then applies the filters of :class:`~agentshield_trainer.config.DataConfig`
(outcome, agent, time range) and an optional weighted sample that favours runs with tool
errors and runs recorded under perturbations. Runs without content (recorded with content
capture off) are dropped; if nothing but such runs exists the error says how to turn capture on.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agentshield.trajectory import Trajectory
from agentshield_trainer.config import DataConfig
from agentshield_trainer.errors import CONTENT_HINT, NoContentError, NoTrajectoriesError
from agentshield_trainer.seeds import train_rng

__all__ = ["Selection", "has_content", "load_trajectories", "select"]

_SUFFIXES = (".jsonl", ".json")


def _files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
    return [source] if source.is_file() else []


def _first_record(path: Path) -> object:
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    return json.loads(raw)
                except ValueError:
                    return None
    return None


def _is_trajectory_file(path: Path) -> bool:
    first = _first_record(path)
    return isinstance(first, dict) and "run_id" in first and "messages" in first


def _read_jsonl(path: Path, problems: list[str]) -> list[Trajectory]:
    out: list[Trajectory] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            out.append(Trajectory.from_json(raw))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{path}:{number}: not a trajectory: {exc}")
    return out


def load_trajectories(inputs: Sequence[str | Path]) -> tuple[list[Trajectory], list[str]]:
    """Read every trajectory under ``inputs``; return them and the problems skipped.

    Raises:
        NoTrajectoriesError: No input was given, or an input does not exist.
        NoContentError: Span files were found but the tracing reader is not installed.
    """
    if not inputs:
        raise NoTrajectoriesError(
            "no inputs: pass trace store folders, collector files or trajectory JSONL files"
        )
    problems: list[str] = []
    trajectories: list[Trajectory] = []
    span_files: list[Path] = []
    for raw in inputs:
        source = Path(raw)
        if not source.exists():
            raise NoTrajectoriesError(f"input {str(source)!r} does not exist")
        for path in _files(source):
            if _is_trajectory_file(path):
                trajectories.extend(_read_jsonl(path, problems))
            else:
                span_files.append(path)
    if span_files:
        try:
            from agentshield.tracing.reader import read_trajectories
        except ImportError as exc:  # the tracing extra (opentelemetry-sdk) is missing
            raise NoTrajectoriesError(
                f"{len(span_files)} span files need the tracing reader, which failed to "
                f"import ({exc}); install opentelemetry-sdk or export trajectories as JSONL"
            ) from None
        read, report = read_trajectories(*span_files)
        trajectories.extend(read)
        problems.extend(str(p) for p in report.problems)
    return trajectories, problems


def has_content(trajectory: Trajectory) -> bool:
    """Whether a run carries what training needs: a user request, an assistant turn, and
    the tool definitions when it called tools."""
    if trajectory.metadata.get("content") is False:
        return False
    user = any(m.role == "user" and m.content.strip() for m in trajectory.messages)
    assistant = any(m.role == "assistant" for m in trajectory.messages)
    tools_ok = bool(trajectory.tools) or not trajectory.tool_calls
    return user and assistant and tools_ok


@dataclass(frozen=True)
class Selection:
    """The kept trajectories and why the others were dropped.

    Attributes:
        kept: The trajectories to build rows from, in input order.
        total: How many were read.
        dropped: Reason -> count.
    """

    kept: list[Trajectory]
    total: int
    dropped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line, e.g. ``kept 40 of 52 runs (dropped: 12 outcome failure)``."""
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.dropped.items()))
        return f"kept {len(self.kept)} of {self.total} runs" + (f" (dropped: {why})" if why else "")


def _time(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise NoTrajectoriesError(f"data.{name}={text!r} is not an ISO date or time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1e9)


def _reason(t: Trajectory, cfg: DataConfig, since: int | None, until: int | None) -> str | None:
    if not has_content(t):
        return "without content"
    if cfg.outcomes and t.outcome.status not in cfg.outcomes:
        return f"outcome {t.outcome.status}"
    if cfg.agents and str(t.metadata.get("agent")) not in cfg.agents:
        return "other agent"
    if since is not None or until is not None:
        start = t.metadata.get("start_ns")
        if not isinstance(start, int):
            return "without start time"
        if (since is not None and start < since) or (until is not None and start >= until):
            return "outside time range"
    return None


def _weight(t: Trajectory, cfg: DataConfig) -> float:
    weight = 1.0
    if any(o.is_error for o in t.observations):
        weight *= cfg.error_weight
    if t.perturbations:
        weight *= cfg.perturbed_weight
    return max(weight, 1e-9)


def select(trajectories: Sequence[Trajectory], cfg: DataConfig, *, seed: int) -> Selection:
    """Filter and sample ``trajectories`` by ``cfg``; deterministic for ``seed``.

    Sampling (``cfg.max_trajectories``) is weighted without replacement (Efraimidis-Spirakis),
    each run's key drawn from a generator of its own run id, so the result does not depend
    on input order.

    Raises:
        NoTrajectoriesError: Nothing was read, or every run was filtered out.
        NoContentError: Every run lacks content (recorded with content capture off).
    """
    if not trajectories:
        raise NoTrajectoriesError(
            "no runs found in the inputs; record agent runs with setup_tracing(store=...) "
            "(or export trajectory JSONL) and point the trainer at them. " + CONTENT_HINT
        )
    since, until = _time(cfg.since, "since"), _time(cfg.until, "until")
    dropped: Counter[str] = Counter()
    kept: list[Trajectory] = []
    for t in trajectories:
        reason = _reason(t, cfg, since, until)
        if reason is None:
            kept.append(t)
        else:
            dropped[reason] += 1
    if dropped["without content"] == len(trajectories):
        raise NoContentError(
            f"all {len(trajectories)} runs were recorded without content (no messages or tool "
            f"definitions), so there is nothing to train on. {CONTENT_HINT}"
        )
    if not kept:
        why = ", ".join(f"{n} {r}" for r, n in sorted(dropped.items()))
        raise NoTrajectoriesError(
            f"every one of the {len(trajectories)} runs was filtered out ({why}); "
            "loosen data.outcomes / agents / since / until"
        )
    limit = cfg.max_trajectories
    if limit is not None and len(kept) > limit:
        keys = {
            id(t): math.log(train_rng(seed, "sample", t.run_id).random() + 1e-300) / _weight(t, cfg)
            for t in kept
        }
        chosen = {id(t) for t in sorted(kept, key=lambda t: keys[id(t)], reverse=True)[:limit]}
        dropped["not sampled"] += len(kept) - len(chosen)
        kept = [t for t in kept if id(t) in chosen]
    return Selection(kept, len(trajectories), dict(dropped))
