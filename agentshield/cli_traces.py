"""``agentshield traces``: list, show and export recorded runs.

Reads the embedded store (``AGENTSHIELD_TRACE_DIR``, default ``.agentshield/traces``) or any
files / folders given with ``--source``, including an OpenTelemetry Collector's file-exporter
output. Problems found while reading (bad or torn lines) are summarised on stderr; the
commands that report take ``--json``. Heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.tree import Tree

    from agentshield.tracing.reader import ReadReport, Run
    from agentshield.tracing.records import SpanRecord

__all__ = ["app"]

app = typer.Typer(
    name="traces",
    help="List, show and export recorded agent runs (OTLP-JSON trace files).",
    no_args_is_help=True,
    add_completion=False,
)

SourceOpt = Annotated[
    list[Path] | None,
    typer.Option("--source", "-s", help="trace file or folder (repeatable); default: the store"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


class Format(StrEnum):
    """Training-row flavours (see :mod:`agentshield.tracing.export`)."""

    trl = "trl"
    openai = "openai"
    jsonl = "jsonl"


def _load(sources: list[Path] | None) -> tuple[list[Run], ReadReport]:
    from agentshield import settings
    from agentshield.tracing.reader import read_runs

    return read_runs(*(sources or [settings.trace_dir()]))


def _report(report: ReadReport, *, show: int = 5) -> None:
    from rich.console import Console

    err = Console(stderr=True)
    err.print(f"[dim]{report.summary()}[/dim]")
    for problem in report.problems[:show]:
        err.print(f"[yellow]skipped[/yellow] {problem}", highlight=False)
    if len(report.problems) > show:
        err.print(f"[dim]… and {len(report.problems) - show} more[/dim]")


def _summary(run: Run) -> dict[str, Any]:
    t = run.trajectory
    meta = t.metadata
    return {
        "run_id": run.run_id,
        "start": datetime.fromtimestamp(run.start_ns / 1e9).isoformat(timespec="seconds")
        if run.start_ns
        else None,
        "agent": meta.get("agent"),
        "task_id": meta.get("task_id"),
        "outcome": t.outcome.status,
        "perturbations": sorted({p.name for p in t.perturbations}),
        "chats": meta.get("chats", 0),
        "tool_calls": meta.get("tool_calls", 0),
        "tool_errors": meta.get("tool_errors", 0),
        "injected": meta.get("injected", 0),
        "duration_s": round(float(meta.get("duration_s", 0.0)), 3),
        "content": bool(meta.get("content")),
        "dialect": run.dialect,
        "spans": len(run.spans),
    }


@app.command("ls")
def ls_cmd(
    source: SourceOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="show the newest N runs (0: all)")] = 0,
) -> None:
    """List runs: time, agent, outcome, perturbations and call counts."""
    runs, report = _load(source)
    rows = [_summary(r) for r in runs][-limit if limit > 0 else 0 :]
    if as_json:
        typer.echo(json.dumps({"runs": rows, "report": _report_dict(report)}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Recorded runs")
    for col, style in (
        ("run", "cyan"),
        ("start", "dim"),
        ("agent", ""),
        ("task", ""),
        ("outcome", "bold"),
        ("perturbations", "magenta"),
        ("chats", ""),
        ("tools", ""),
        ("errors", "red"),
        ("s", "dim"),
    ):
        table.add_column(
            col,
            style=style or None,
            justify="right" if col in ("chats", "tools", "errors", "s") else "left",
        )
    for r in rows:
        errors = f"{r['tool_errors']}" + (f" ({r['injected']} inj.)" if r["injected"] else "")
        table.add_row(
            r["run_id"],
            r["start"] or "-",
            str(r["agent"] or "-"),
            str(r["task_id"] or "-"),
            r["outcome"],
            ", ".join(r["perturbations"]) or "-",
            str(r["chats"]),
            str(r["tool_calls"]),
            errors,
            f"{r['duration_s']:.2f}",
        )
    Console().print(table)
    _report(report)


def _report_dict(report: ReadReport) -> dict[str, Any]:
    return {
        "files": report.files,
        "lines": report.lines,
        "spans": report.spans,
        "runs": report.runs,
        "problems": [str(p) for p in report.problems],
    }


def _find(runs: list[Run], run_id: str) -> Run:
    exact = [r for r in runs if r.run_id == run_id]
    found = exact or [r for r in runs if r.run_id.startswith(run_id)]
    if len(found) == 1:
        return found[0]
    what = "matches several runs" if found else "matches no run"
    names = ", ".join(r.run_id for r in (found or runs)[:8])
    typer.echo(f"error: {run_id!r} {what}; {'candidates' if found else 'runs'}: {names}", err=True)
    raise typer.Exit(1)


def _clip(text: Any, width: int = 80) -> str:
    s = str(text).replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def _label(span: SpanRecord) -> str:
    from agentshield.tracing import semconv as sc

    a = span.attributes
    bits = [f"[bold]{span.name}[/bold]", f"[dim]{span.duration_s * 1000:.1f} ms[/dim]"]
    if span.is_error:
        bits.append(f"[red]error {a.get(sc.ERROR_TYPE, '')}[/red]")
    real = a.get(sc.AS_TOOL_REAL_NAME)
    if real and real != a.get(sc.GEN_AI_TOOL_NAME):
        bits.append(f"→ real [cyan]{real}[/cyan]")
    if a.get(sc.AS_INJECTED):
        bits.append(f"[magenta]injected by {a.get(sc.AS_INJECTED_BY, '?')}[/magenta]")
    if sc.GEN_AI_USAGE_INPUT_TOKENS in a:
        bits.append(
            f"[dim]{a[sc.GEN_AI_USAGE_INPUT_TOKENS]}→"
            f"{a.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, '?')} tok[/dim]"
        )
    if sc.AS_OUTCOME in a:
        bits.append(f"outcome [bold]{a[sc.AS_OUTCOME]}[/bold]")
    return " ".join(bits)


def _tree(run: Run) -> Tree:
    from rich.markup import escape
    from rich.tree import Tree

    from agentshield.tracing import semconv as sc

    ids = {s.span_id for s in run.spans}
    tree = Tree(f"run [cyan]{escape(run.run_id)}[/cyan] [dim]({run.dialect})[/dim]")
    nodes: dict[str, Tree] = {}
    for span in run.spans:  # start order, so a parent is placed before its children
        parent = nodes.get(span.parent_id or "") if span.parent_id in ids else None
        node = (parent or tree).add(_label(span))
        nodes[span.span_id] = node
        a = span.attributes
        for key in (
            sc.GEN_AI_TOOL_CALL_ARGUMENTS,
            sc.GEN_AI_TOOL_CALL_RESULT,
            sc.AS_OUTCOME_ANSWER,
        ):
            if key in a:
                node.add(f"[dim]{key.rsplit('.', 1)[-1]}:[/dim] {escape(_clip(a[key]))}")
        for e in span.events:
            if e.name == sc.AS_PERTURBATION_EVENT:
                ea = e.attributes
                node.add(
                    f"[magenta]⚡ {ea.get(sc.AS_PERTURBATION_NAME)}[/magenta] "
                    f"{ea.get(sc.AS_DECISION_ACTION)} on {ea.get(sc.AS_DECISION_SURFACE)} "
                    f"{ea.get(sc.AS_DECISION_KEY)} [dim]tier {ea.get(sc.AS_PERTURBATION_TIER)}"
                    f"[/dim]"
                )
            elif e.name == sc.AS_DETECTION_EVENT:
                ea = e.attributes
                node.add(
                    f"[yellow]detector {ea.get(sc.AS_DETECTOR_NAME)}: "
                    f"{ea.get(sc.AS_DETECTOR_VERDICT)}[/yellow]"
                )
    return tree


@app.command("show")
def show_cmd(
    run: Annotated[str, typer.Argument(help="run id (or a unique prefix)")],
    source: SourceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one run as a tree of its spans, with perturbations and errors."""
    runs, report = _load(source)
    found = _find(runs, run)
    if as_json:
        spans = [
            {
                "name": s.name,
                "span_id": s.span_id,
                "parent_id": s.parent_id,
                "start_ns": s.start_ns,
                "end_ns": s.end_ns,
                "status": s.status_code,
                "attributes": dict(s.attributes),
                "events": [{"name": e.name, "attributes": dict(e.attributes)} for e in s.events],
            }
            for s in found.spans
        ]
        doc = {"summary": _summary(found), "trajectory": found.trajectory.to_dict(), "spans": spans}
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    from rich.console import Console

    Console().print(_tree(found))
    _report(report)


@app.command("export")
def export_cmd(
    source: SourceOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="row flavour")] = Format.trl,
    out: Annotated[str, typer.Option("--out", "-o", help="output file ('-': stdout)")] = "-",
    status: Annotated[
        list[str] | None, typer.Option("--status", help="only runs with this outcome (repeatable)")
    ] = None,
    include_empty: Annotated[
        bool, typer.Option(help="also export runs recorded without content")
    ] = False,
    redact: Annotated[
        bool, typer.Option(help="apply the built-in redaction to every row once more")
    ] = False,
) -> None:
    """Export runs as chat-format training rows ({"messages", "tools"}), one per line."""
    from agentshield.tracing.capture import Redactor
    from agentshield.tracing.export import write_rows

    runs, report = _load(source)
    chosen, skipped = [], 0
    for run in runs:
        t = run.trajectory
        if status and t.outcome.status not in status:
            continue
        if t.metadata.get("content") or include_empty:
            chosen.append(t)
        else:
            skipped += 1
    redactor = Redactor() if redact else None
    if out == "-":
        n = write_rows(chosen, sys.stdout, fmt.value, redactor=redactor)
    else:
        with Path(out).open("w", encoding="utf-8") as fh:
            n = write_rows(chosen, fh, fmt.value, redactor=redactor)
    note = f"; skipped {skipped} runs recorded without content" if skipped else ""
    typer.echo(f"wrote {n} {fmt.value} rows to {out if out != '-' else 'stdout'}{note}", err=True)
    _report(report)
