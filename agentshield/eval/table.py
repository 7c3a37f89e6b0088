"""The terminal view of an evaluation: the per-tier table (and, on request, per shift)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.table import Table

from agentshield.eval.metrics import Rate

if TYPE_CHECKING:
    from agentshield.eval.report import Report

__all__ = ["compare_table", "summary_table"]


def _pct(r: Rate | None, *, ci: bool = True) -> str:
    if r is None or r.value is None:
        return "–"
    text = f"{100 * r.value:.1f}%"
    if ci and r.low is not None and r.high is not None:
        text += f" [dim][{100 * r.low:.0f}–{100 * r.high:.0f}][/dim]"
    return text


def summary_table(report: Report, *, per_shift: bool = False) -> Table:
    """Clean and each tier (and each shift with ``per_shift``): success with its 95 %
    interval and drop against clean, tool errors, refusals on unsolvable tasks, recovery
    after injected errors, pass^k (with repeats) and mean steps. The HTML report has more."""
    s = report.summary
    groups = s.groups(shifts=per_shift)
    with_k = any(g.rates["pass_k"].n for g in groups)
    table = Table(
        title=f"AgentShield evaluation: {report.agent}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    columns = ["group", "n", "success", "95% CI", "Δ clean", "tool err", "refusal", "recovery"]
    columns += ["pass^k"] * with_k + ["steps"]
    for col in columns:
        table.add_column(col, justify="left" if col == "group" else "right", no_wrap=True)
    for g in groups:
        success = g.rates["success"]
        drop = g.drops.get("success")
        drop_text = "–"
        if drop is not None:
            colour = "red" if drop.low > 0 else "default"
            drop_text = f"[{colour}]{0.0 - 100 * drop.value:+.1f}[/{colour}]"
        ci = "–"
        if success.low is not None and success.high is not None:
            ci = f"{100 * success.low:.0f}–{100 * success.high:.0f}"
        cells = [
            g.name,
            str(g.episodes),
            _pct(success, ci=False),
            ci,
            drop_text,
            _pct(g.rates["tool_error"], ci=False),
            _pct(g.rates["refusal"], ci=False),
            _pct(g.rates["recovery"], ci=False),
        ]
        cells += [_pct(g.rates["pass_k"], ci=False)] * with_k
        cells.append("–" if g.steps.value is None else f"{g.steps.value:.1f}")
        style = "bold" if g.group == "clean" else "dim" if g.group == "perturbation" else None
        if (
            g is not groups[0]
            and g.group == "perturbation"
            and groups[groups.index(g) - 1].group == "tier"
        ):
            table.add_section()
        table.add_row(*cells, style=style)
    return table


def compare_table(a: Report, b: Report) -> Table:
    """Two reports side by side: success (and tool errors) per group, with B − A."""
    from agentshield.eval.report import compare_rows

    table = Table(
        title=f"A: {a.agent}  vs  B: {b.agent}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in ("group", "success A", "success B", "B − A", "tool errors A", "tool errors B"):
        table.add_column(col, justify="left" if col == "group" else "right", no_wrap=True)
    for row in compare_rows(a, b):
        ra, rb = row["a"], row["b"]
        sa = None if ra is None else ra["success"]
        sb = None if rb is None else rb["success"]
        delta = "–"
        if sa is not None and sb is not None:
            d = 100 * (sb - sa)
            colour = "green" if d > 0 else "red" if d < 0 else "default"
            delta = f"[{colour}]{d:+.1f} pt[/{colour}]"
        table.add_row(
            row["name"],
            _fmt(sa),
            _fmt(sb),
            delta,
            _fmt(None if ra is None else ra["tool_error"]),
            _fmt(None if rb is None else rb["tool_error"]),
            style="bold" if row["name"] == "clean" else None,
        )
    return table


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"
