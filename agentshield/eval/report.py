"""An evaluation's report: ``report.json`` (everything, reloadable), ``junit.xml`` (one test
case per task × shift, for CI) and ``report.html`` (see :mod:`agentshield.eval.html`).

Files are written atomically (a temporary file, then a rename), so a crash never leaves a
half report where CI would read it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from agentshield.errors import ConfigError
from agentshield.eval.metrics import GroupMetrics, Summary, summarize
from agentshield.eval.runner import CLEAN, EpisodeResult

__all__ = ["REPORT_SCHEMA", "Report", "load_report", "write_atomic"]

REPORT_SCHEMA = "agentshield.eval/1"


@dataclass
class Report:
    """One evaluation: who was evaluated, how, every episode, and the metrics."""

    agent: str
    episodes: list[EpisodeResult]
    config: dict[str, Any] = field(default_factory=dict)
    suite: list[dict[str, Any]] = field(default_factory=list)
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    duration_s: float | None = None

    @property
    def summary(self) -> Summary:
        """The metrics of the episodes."""
        return summarize(self.episodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REPORT_SCHEMA,
            "agent": self.agent,
            "created": self.created,
            "duration_s": self.duration_s,
            "config": self.config,
            "suite": self.suite,
            "summary": self.summary.to_dict(),
            "episodes": [e.to_dict() for e in self.episodes],
        }

    def write(self, out: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``report.json``, ``junit.xml`` and ``report.html`` into folder ``out``."""
        from agentshield.eval.html import render_html

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "json": folder / "report.json",
            "junit": folder / "junit.xml",
            "html": folder / "report.html",
        }
        write_atomic(paths["json"], json.dumps(self.to_dict(), indent=1) + "\n")
        write_atomic(paths["junit"], junit_xml(self))
        write_atomic(paths["html"], render_html(self))
        return paths


def load_report(path: str | os.PathLike[str]) -> Report:
    """Read a ``report.json`` (or the folder holding one).

    Raises:
        ConfigError: The file is missing, not JSON, or not an AgentShield report.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"no report at {p}; give a report.json or the --out folder of `agentshield eval`"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{p} is not JSON ({exc}); was it written by `agentshield eval`?"
        ) from None
    if not isinstance(data, Mapping) or data.get("schema") != REPORT_SCHEMA:
        raise ConfigError(f"{p} is not an AgentShield evaluation report ({REPORT_SCHEMA})")
    return Report(
        agent=str(data["agent"]),
        episodes=[EpisodeResult.from_dict(e) for e in data["episodes"]],
        config=dict(data.get("config", {})),
        suite=list(data.get("suite", [])),
        created=str(data.get("created", "")),
        duration_s=data.get("duration_s"),
    )


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def junit_xml(report: Report) -> str:
    """JUnit XML: a test suite per shift (``clean`` first), a test case per task (and
    repeat), failed when the outcome was not the right one."""
    groups: dict[str, list[EpisodeResult]] = {}
    for e in report.episodes:
        groups.setdefault(e.perturbation, []).append(e)
    root = ET.Element("testsuites", name=f"agentshield eval {report.agent}")
    total = failures = 0
    seconds = 0.0
    for label, episodes in groups.items():
        suite = ET.SubElement(root, "testsuite", name=label)
        bad = 0
        for e in episodes:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"agentshield.{_tier_name(e)}.{label}",
                name=e.task_id if e.repeat == 0 else f"{e.task_id}[{e.repeat}]",
                time=f"{e.duration_s:.3f}",
            )
            if not e.correct:
                bad += 1
                failure = ET.SubElement(
                    case, "failure", message=f"expected {e.expected}, got {e.status}", type=e.status
                )
                failure.text = _failure_text(e)
        took = sum(e.duration_s for e in episodes)
        suite.set("tests", str(len(episodes)))
        suite.set("failures", str(bad))
        suite.set("errors", "0")
        suite.set("time", f"{took:.3f}")
        total, failures, seconds = total + len(episodes), failures + bad, seconds + took
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _tier_name(e: EpisodeResult) -> str:
    return CLEAN if e.tier == 0 else f"tier{e.tier}"


def _failure_text(e: EpisodeResult) -> str:
    lines = [f"run {e.run_id} (seed {e.seed}): {e.steps} steps, {e.tool_calls} calls"]
    if e.detail:
        lines.append(f"detail: {e.detail}")
    if e.answer:
        lines.append(f"answer: {e.answer}")
    return "\n".join(lines)


def compare_rows(a: Report, b: Report) -> list[dict[str, Any]]:
    """Group by group success (and tool-error) rates of two reports, for side-by-side views."""
    sa, sb = a.summary, b.summary
    names = dict.fromkeys(g.name for s in (sa, sb) for g in s.groups())
    return [{"name": n, "a": _rates(sa.group(n)), "b": _rates(sb.group(n))} for n in names]


def _rates(g: GroupMetrics | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {
        "group": g.group,
        "episodes": g.episodes,
        "success": g.rates["success"].value,
        "tool_error": g.rates["tool_error"].value,
        "refusal": g.rates["refusal"].value,
    }
