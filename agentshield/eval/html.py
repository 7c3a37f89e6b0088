"""The self-contained HTML report: tables and inline SVG plots, no scripts, no external files.

One report shows its per-tier success (clean vs shifted), tool-error rates, the per-tier and
per-shift tables and the failed episodes. Two reports (``--compare``) show both runs side by
side with the change per group (e.g. base vs hardened adapter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from agentshield.eval.metrics import GroupMetrics, Rate, Summary

if TYPE_CHECKING:
    from agentshield.eval.report import Report

__all__ = ["render_html"]

_CLEAN_COLOUR, _A_COLOUR, _B_COLOUR = "#9aa5b1", "#d9480f", "#1971c2"
_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1f2933;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.meta{color:#52606d;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.5rem 0}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f5f7fa;border-bottom:2px solid #cbd2d9}
tr.clean td{font-weight:600}
.ci{color:#7b8794;font-size:.8em}.bad{color:#c92a2a}.good{color:#2b8a3e}
.plots{display:flex;flex-wrap:wrap;gap:1.5rem}
figure{margin:0}figcaption{font-size:.85rem;color:#52606d}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.5rem}
code{background:#f5f7fa;padding:0 .25rem;border-radius:3px}
"""


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _rate(r: Rate) -> str:
    if r.value is None:
        return "–"
    return f"{_pct(r.value)} <span class=ci>[{_pct(r.low)}, {_pct(r.high)}] {r.k}/{r.n}</span>"


@dataclass(frozen=True)
class _Series:
    name: str
    colour: str
    rates: Sequence[Rate | None]


def _bars(title: str, labels: Sequence[str], series: Sequence[_Series]) -> str:
    """A grouped bar chart of rates (0–100 %) with 95 % interval whiskers, as inline SVG."""
    width, height, left, bottom, top = 520, 260, 44, 58, 28
    plot_w, plot_h = width - left - 10, height - bottom - top
    group_w = plot_w / max(1, len(labels))
    bar_w = min(34.0, group_w * 0.8 / max(1, len(series)))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for tick in range(0, 101, 25):
        y = top + plot_h * (1 - tick / 100)
        out.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{tick}%</text>'
        )
    for gi, label in enumerate(labels):
        gx = left + gi * group_w + (group_w - bar_w * len(series)) / 2
        for si, s in enumerate(series):
            r = s.rates[gi]
            if r is None or r.value is None:
                continue
            x = gx + si * bar_w
            h = plot_h * r.value
            y = top + plot_h - h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{s.colour}"><title>{escape(s.name)} {escape(label)}: '
                f"{_pct(r.value)} ({r.k}/{r.n})</title></rect>"
            )
            if r.low is not None and r.high is not None:
                cx = x + (bar_w - 2) / 2
                y1, y2 = top + plot_h * (1 - r.low), top + plot_h * (1 - r.high)
                out.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" '
                    'stroke="#1f2933" stroke-width="1.2"/>'
                )
        cx = left + gi * group_w + group_w / 2
        words = label.split(" ") if len(label) > 12 else [label]
        lines = "".join(
            f'<tspan x="{cx:.1f}" dy="{0 if i == 0 else 12}">{escape(w)}</tspan>'
            for i, w in enumerate(words[:2] if len(words) <= 2 else [words[0], " ".join(words[1:])])
        )
        out.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 14}" font-size="10.5" '
            f'text-anchor="middle">{lines}</text>'
        )
    for si, s in enumerate(series):
        x = left + si * 150
        out.append(
            f'<rect x="{x}" y="{height - 18}" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{x + 16}" y="{height - 8}" font-size="11">{escape(s.name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _table(groups: Sequence[GroupMetrics], caption: str) -> str:
    head = (
        "<tr><th>group</th><th>episodes</th><th>success</th><th>Δ vs clean</th>"
        "<th>tool errors</th><th>refusal (unsolvable)</th><th>false refusal</th>"
        "<th>recovery</th><th>pass^k</th><th>steps</th><th>tokens</th></tr>"
    )
    rows = []
    for g in groups:
        drop = g.drops.get("success")
        drop_cell = (
            "–"
            if drop is None
            else f"<span class={'bad' if drop.low > 0 else ''}>{0.0 - 100 * drop.value:+.1f} pt"
            f"</span> <span class=ci>[{0.0 - 100 * drop.high:+.1f}, "
            f"{0.0 - 100 * drop.low:+.1f}]</span>"
        )
        steps = "–" if g.steps.value is None else f"{g.steps.value:.2f}"
        tokens = "–" if g.tokens.value is None else f"{g.tokens.value:.0f}"
        rows.append(
            f"<tr class={escape(g.group)}><td>{escape(g.name)}</td><td>{g.episodes}</td>"
            f"<td>{_rate(g.rates['success'])}</td><td>{drop_cell}</td>"
            f"<td>{_rate(g.rates['tool_error'])}</td><td>{_rate(g.rates['refusal'])}</td>"
            f"<td>{_rate(g.rates['false_refusal'])}</td><td>{_rate(g.rates['recovery'])}</td>"
            f"<td>{_rate(g.rates['pass_k'])}</td><td>{steps}</td><td>{tokens}</td></tr>"
        )
    return (
        f"<table><caption hidden>{escape(caption)}</caption><thead>{head}</thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _meta(report: Report) -> str:
    c = report.config
    bits = [f"created {escape(report.created)}"]
    for key in ("suite", "domains", "split", "tasks", "repeats", "seed", "concurrency"):
        if key in c:
            value = ", ".join(map(str, c[key])) if isinstance(c[key], list) else str(c[key])
            bits.append(f"{key} <code>{escape(value)}</code>")
    if report.duration_s is not None:
        bits.append(f"took {report.duration_s:.1f} s")
    return f'<p class="meta">{" · ".join(bits)}</p>'


def _single(report: Report) -> str:
    s = report.summary
    groups = s.groups(shifts=False)
    labels = [g.name for g in s.tiers]
    clean = s.clean.rates["success"] if s.clean else None
    plots = [
        _bars(
            "Success rate per tier: clean vs shifted",
            labels,
            [
                _Series("clean (same tasks)", _CLEAN_COLOUR, [clean] * len(labels)),
                _Series("shifted", _A_COLOUR, [g.rates["success"] for g in s.tiers]),
            ],
        ),
        _bars(
            "Tool-error rate (invalid calls / calls)",
            [g.name for g in groups],
            [_Series("tool errors", _B_COLOUR, [g.rates["tool_error"] for g in groups])],
        ),
    ]
    cards = [f"<div class=card>clean success<b>{_pct(clean.value if clean else None)}</b></div>"]
    for g in s.tiers:
        cards.append(
            f"<div class=card>{escape(g.name)}<b>{_pct(g.rates['success'].value)}</b></div>"
        )
    failed = [e for e in report.episodes if not e.correct][:100]
    fail_rows = "".join(
        f"<tr><td>{escape(e.run_id)}</td><td>{escape(e.expected)}</td><td>{escape(e.status)}</td>"
        f"<td style='text-align:left'>{escape((e.detail or e.answer or '')[:200])}</td></tr>"
        for e in failed
    )
    return (
        f"<h1>AgentShield evaluation: {escape(report.agent)}</h1>{_meta(report)}"
        f"<div class=cards>{''.join(cards)}</div>"
        f"<div class=plots>{''.join(f'<figure>{p}</figure>' for p in plots)}</div>"
        f"<h2>Per tier</h2>{_table(groups, 'per tier')}"
        f"<h2>Per shift</h2>{_table(s.perturbations, 'per shift')}"
        f"<h2>Failed episodes ({sum(not e.correct for e in report.episodes)})</h2>"
        "<table><thead><tr><th>run</th><th>expected</th><th>got</th>"
        f"<th style='text-align:left'>detail / answer</th></tr></thead><tbody>{fail_rows}"
        "</tbody></table>"
    )


def _compare(a: Report, b: Report) -> str:
    sa, sb = a.summary, b.summary
    names = [g.name for g in sa.groups(shifts=False)]
    names += [g.name for g in sb.groups(shifts=False) if g.name not in names]

    def pick(s: Summary, name: str, metric: str) -> Rate | None:
        g = s.group(name)
        return None if g is None else g.rates[metric]

    plots = [
        _bars(
            f"Success rate: {a.agent} vs {b.agent}",
            names,
            [
                _Series(a.agent, _A_COLOUR, [pick(sa, n, "success") for n in names]),
                _Series(b.agent, _B_COLOUR, [pick(sb, n, "success") for n in names]),
            ],
        ),
        _bars(
            "Tool-error rate",
            names,
            [
                _Series(a.agent, _A_COLOUR, [pick(sa, n, "tool_error") for n in names]),
                _Series(b.agent, _B_COLOUR, [pick(sb, n, "tool_error") for n in names]),
            ],
        ),
    ]
    all_names = names + [g.name for g in sa.perturbations + sb.perturbations]
    rows = []
    for n in dict.fromkeys(all_names):
        ra, rb = pick(sa, n, "success"), pick(sb, n, "success")
        delta = (
            None
            if ra is None or rb is None or ra.value is None or rb.value is None
            else rb.value - ra.value
        )
        cls = "" if delta is None or delta == 0 else ("good" if delta > 0 else "bad")
        d = "–" if delta is None else f"{100 * delta:+.1f} pt"
        ea, eb = pick(sa, n, "tool_error"), pick(sb, n, "tool_error")
        rows.append(
            f"<tr><td>{escape(n)}</td><td>{_rate(ra) if ra else '–'}</td>"
            f"<td>{_rate(rb) if rb else '–'}</td><td class={cls}>{d}</td>"
            f"<td>{_pct(ea.value if ea else None)}</td>"
            f"<td>{_pct(eb.value if eb else None)}</td></tr>"
        )
    return (
        f"<h1>AgentShield comparison: {escape(a.agent)} vs {escape(b.agent)}</h1>"
        f"<p class=meta>A: {escape(a.agent)} ({escape(a.created)}) · "
        f"B: {escape(b.agent)} ({escape(b.created)})</p>"
        f"<div class=plots>{''.join(f'<figure>{p}</figure>' for p in plots)}</div>"
        f"<h2>Side by side</h2><table><thead><tr><th>group</th><th>success A</th>"
        f"<th>success B</th><th>B − A</th><th>tool errors A</th><th>tool errors B</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        f"<h2>A: {escape(a.agent)}</h2>{_table(sa.groups(shifts=False), 'A')}"
        f"<h2>B: {escape(b.agent)}</h2>{_table(sb.groups(shifts=False), 'B')}"
    )


def render_html(report: Report, other: Report | None = None) -> str:
    """The HTML page of one report, or of two side by side when ``other`` is given."""
    if other is None:
        return _page(f"AgentShield evaluation: {report.agent}", _single(report))
    return _page(f"AgentShield: {report.agent} vs {other.agent}", _compare(report, other))
