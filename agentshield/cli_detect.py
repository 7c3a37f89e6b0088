"""``agentshield profile`` and ``agentshield detect``: baselines and shift detection over
recorded runs.

``profile`` learns a baseline from trace files / folders (runs you trust: the agent's
training or staging traffic) and writes it as JSON; ``detect`` replays stored runs through
every detector (or those named with ``--detector``) against that baseline and prints a
per-tier summary and the worst runs, or JSON with ``--json``. Heavy imports stay inside the
commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from agentshield.detect import DetectionReport

__all__ = ["detect_cmd", "profile_cmd"]

TracesOpt = Annotated[
    list[Path],
    typer.Option("--traces", "-t", help="trace file or folder (repeatable)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"agentshield: {message}", err=True)
    return typer.Exit(2)


def profile_cmd(
    traces: TracesOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write the JSON")],
    as_json: JsonOpt = False,
) -> None:
    """Learn a baseline profile (tools, observations, queries, call order) from traces."""
    from agentshield.detect import Profile
    from agentshield.errors import ConfigError

    try:
        profile = Profile.from_traces(*traces)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    profile.save(output)
    summary: dict[str, Any] = {
        "output": str(output),
        "runs": profile.runs,
        "queries": profile.queries,
        "tools": sorted(profile.tools),
        "tool_calls": sum(t.calls for t in profile.tools.values()),
        "query_threshold": round(profile.query_threshold, 4),
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(
        f"baseline of {summary['runs']} runs, {len(summary['tools'])} tools, "
        f"{summary['tool_calls']} tool calls, {summary['queries']} queries -> {output}"
    )


def detect_cmd(
    traces: TracesOpt,
    baseline: Annotated[Path, typer.Option("--baseline", "-b", help="profile JSON")],
    detector: Annotated[
        list[str] | None,
        typer.Option("--detector", "-d", help="only these detectors (repeatable)"),
    ] = None,
    worst: Annotated[int, typer.Option(help="how many of the worst runs to show")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Replay stored runs through the detectors: per-tier summary and the worst runs."""
    from agentshield.detect import Monitor, Profile, detect_traces
    from agentshield.errors import ConfigError

    try:
        monitor = Monitor(Profile.load(baseline), detector or None)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    report, read = detect_traces(*traces, monitor=monitor)
    if not report.runs:
        raise _fail(f"no runs found in {[str(t) for t in traces]}: {read.summary()}")
    if as_json:
        typer.echo(json.dumps(report.to_dict(worst=worst), indent=2))
        return
    _print(report, worst)


def _print(report: DetectionReport, worst: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from agentshield.detect import tier_label

    console = Console()
    table = Table(title=f"Shifts detected in {report.runs} runs ({report.read})")
    for col in ("tier", "runs flagged", "detections", "detectors"):
        table.add_column(col, justify="right" if col != "detectors" and col != "tier" else "left")
    tiers: dict[int, dict[str, Any]] = report.by_tier()
    for tier, row in tiers.items():
        names = sorted(row["detectors"].items(), key=lambda kv: -kv[1])
        table.add_row(
            tier_label(tier),
            f"{row['runs']} ({row['runs'] / report.runs:.0%})",
            str(row["detections"]),
            ", ".join(f"{k} {v}" for k, v in names),
        )
    if not tiers:
        table.add_row("-", "0", "0", "no shift detected")
    console.print(table)
    rows = report.worst_runs(worst)
    if rows:
        runs = Table(title="Worst runs")
        for col in ("run", "score", "tiers", "verdicts"):
            runs.add_column(col)
        for r in rows:
            runs.add_row(
                r["run_id"],
                f"{r['score']:.2f}",
                ", ".join(tier_label(t) for t in r["tiers"]),
                ", ".join(r["verdicts"]),
            )
        console.print(runs)
    if report.errors:
        console.print(f"[yellow]{report.errors} detector failures (logged, skipped)[/yellow]")
