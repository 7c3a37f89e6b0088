"""``agentshield eval``: run the sandbox's task suite clean and under a perturbation suite
against an agent, print the per-tier table, write the report and record the traces.

``agentshield eval --compare A B`` puts two runs' reports side by side instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentshield.errors import AgentShieldError

if TYPE_CHECKING:
    from rich.console import Console

_DOMAINS = ("poi", "medical", "all")
#: Episodes at once, model steps and the time limit per episode when not given, and
#: (``_EMBEDDED``) tasks per domain and the same three for the embedded model: its default
#: suite is then 50 episodes (6 min 34 s on a 2-core CPU with the shipped baseline, against a
#: 10-minute goal; README "Hardening loop"). The oracle needs at most 5 steps clean, 7 when a
#: shift adds a call or a retry: the embedded model gets exactly that many, where a lost model
#: that keeps calling tools would otherwise run 20 (its last steps are the longest prompts).
#: 16 episodes at once: 32 saved at most 5 % at nearly twice the memory (11 GB peak). An
#: episode waits for the batches of the others, hence the long time limit.
_DEFAULTS: dict[str, Any] = {"concurrency": 8, "timeout_s": 120.0, "max_steps": 20}
_EMBEDDED: dict[str, Any] = {"tasks": 1, "concurrency": 16, "timeout_s": 600.0, "max_steps": 7}


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"agentshield eval: {message}", err=True)
    return typer.Exit(code)


def eval_cmd(
    agent: Annotated[
        str | None,
        typer.Option(
            help="oracle | brittle | embedded | module:attr (a graph factory build(tools, "
            "middleware=()), a policy, or an object with arun); default: embedded, the "
            "embedded baseline model"
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="evaluate a model behind this OpenAI-compatible endpoint")
    ] = None,
    model: Annotated[str | None, typer.Option(help="the model name (with --base-url)")] = None,
    api_key_env: Annotated[
        str, typer.Option(help="environment variable holding the endpoint's API key")
    ] = "OPENAI_API_KEY",
    max_tokens: Annotated[
        int, typer.Option(help="longest model reply, in tokens (with --base-url)", min=1)
    ] = 512,
    adapter: Annotated[
        Path | None,
        typer.Option(
            help="a LoRA adapter folder for the embedded model (default: the shipped "
            "baseline; none: the untuned model)"
        ),
    ] = None,
    base_model: Annotated[
        Path | None,
        typer.Option(
            help="with --agent embedded: a local model folder to run instead of the embedded "
            "SmolLM2 (no adapter unless --adapter)"
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="the agent's name in reports")] = None,
    suite: Annotated[
        str,
        typer.Option(
            help="default | smoke | tier1 | tier2 | tier3 | tier4 | security | clean, "
            "or a TOML file of [[perturbation]] tables"
        ),
    ] = "default",
    domain: Annotated[str, typer.Option(help="poi | medical | all")] = "all",
    split: Annotated[str, typer.Option(help="task split: test | train")] = "test",
    tasks: Annotated[
        int | None,
        typer.Option(
            help=f"tasks per domain (default: the whole split; {_EMBEDDED['tasks']} for the "
            "embedded model)",
            min=1,
        ),
    ] = None,
    repeats: Annotated[int, typer.Option(help="runs per task and shift (pass^k)", min=1)] = 1,
    concurrency: Annotated[
        int | None,
        typer.Option(
            help=f"episodes at once (default: {_DEFAULTS['concurrency']}; "
            f"{_EMBEDDED['concurrency']} for the embedded model)",
            min=1,
        ),
    ] = None,
    timeout_s: Annotated[
        float | None,
        typer.Option(
            help=f"limit per episode, seconds (default: {_DEFAULTS['timeout_s']:.0f}; "
            f"{_EMBEDDED['timeout_s']:.0f} for the embedded model)",
            min=0.1,
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(
            help=f"model steps per episode (default: {_DEFAULTS['max_steps']}; "
            f"{_EMBEDDED['max_steps']} for the embedded model)",
            min=1,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="evaluation seed", min=0)] = 0,
    out: Annotated[
        Path, typer.Option(help="folder for report.json, junit.xml and report.html")
    ] = Path("agentshield-report"),
    traces: Annotated[
        Path | None,
        typer.Option(help="trace store folder (default: AGENTSHIELD_TRACE_DIR or .agentshield)"),
    ] = None,
    no_traces: Annotated[bool, typer.Option("--no-traces", help="record no traces")] = False,
    fail_under: Annotated[
        float | None,
        typer.Option(
            help="exit 1 when the success rate under shift (all shifted episodes) is below "
            "this fraction, e.g. 0.8",
            min=0.0,
            max=1.0,
        ),
    ] = None,
    per_shift: Annotated[bool, typer.Option(help="also print one row per shift")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(help="compare two reports (report.json or their folders): A B"),
    ] = None,
) -> None:
    """Evaluate an agent on the sandbox, clean and under every shift of a suite."""
    try:
        if compare is not None:
            _compare(compare, out, as_json)
            return
        code = _evaluate(locals())
    except AgentShieldError as exc:
        raise _fail(str(exc)) from None
    if code:
        raise typer.Exit(code)


def _evaluate(opts: dict[str, Any]) -> int:
    from agentshield.eval.agents import EMBEDDED, resolve_agent
    from agentshield.eval.report import Report
    from agentshield.eval.runner import run_suite
    from agentshield.eval.suite import load_suite
    from agentshield.eval.table import summary_table
    from agentshield.sandbox import DOMAINS, generate_tasks

    if opts["domain"] not in _DOMAINS:
        raise _fail(f"--domain must be one of {list(_DOMAINS)}, not {opts['domain']!r}")
    agent = resolve_agent(
        opts["agent"],
        base_url=opts["base_url"],
        model=opts["model"],
        api_key_env=opts["api_key_env"],
        name=opts["name"],
        adapter=None if opts["adapter"] is None else str(opts["adapter"]),
        base_model=None if opts["base_model"] is None else str(opts["base_model"]),
        max_tokens=opts["max_tokens"],
    )
    entries = load_suite(opts["suite"])
    embedded = opts["agent"] in (None, EMBEDDED) and opts["base_url"] is None
    for key, value in {**_DEFAULTS, **(_EMBEDDED if embedded else {})}.items():
        opts[key] = opts[key] or value
    domains = DOMAINS if opts["domain"] == "all" else (opts["domain"],)
    task_list = [t for d in domains for t in generate_tasks(d, opts["split"], n=opts["tasks"])]
    tracing = None
    if not opts["no_traces"]:
        from agentshield import settings
        from agentshield.tracing import setup_tracing

        store = opts["traces"] or settings.trace_dir()
        tracing = setup_tracing(store=store, capture_content=True)
    started = time.perf_counter()
    try:
        results = run_suite(
            agent,
            task_list,
            entries,
            progress=opts["progress"] and not opts["as_json"],
            repeats=opts["repeats"],
            concurrency=opts["concurrency"],
            timeout_s=opts["timeout_s"],
            max_steps=opts["max_steps"],
            seed=opts["seed"],
            recorder=tracing.recorder if tracing is not None else None,
            run_prefix=f"eval-{int(time.time())}/{agent.name}/",
        )
    finally:
        if tracing is not None:
            tracing.shutdown()
    report = Report(
        agent=agent.name,
        episodes=results,
        config={
            "suite": opts["suite"],
            "domains": list(domains),
            "split": opts["split"],
            "tasks": len(task_list),
            "repeats": opts["repeats"],
            "seed": opts["seed"],
            "concurrency": opts["concurrency"],
            "timeout_s": opts["timeout_s"],
            "max_steps": opts["max_steps"],
            "traces": None if tracing is None else str(opts["traces"] or "default"),
        },
        suite=[e.to_dict() for e in entries],
        duration_s=round(time.perf_counter() - started, 2),
    )
    paths = report.write(opts["out"])
    summary = report.summary
    shifted = [e for e in results if e.tier > 0]
    rate = sum(e.correct for e in shifted) / len(shifted) if shifted else None
    if opts["as_json"]:
        typer.echo(json.dumps({"summary": summary.to_dict(), "files": _strs(paths)}, indent=1))
    else:
        console = _console()
        console.print(summary_table(report, per_shift=opts["per_shift"]))
        console.print(
            f"{len(results)} episodes in {report.duration_s:.1f} s · report: {paths['html']}"
            + ("" if tracing is None else " · traces recorded")
        )
    threshold = opts["fail_under"]
    if threshold is not None and rate is not None and rate < threshold:
        typer.echo(
            f"agentshield eval: success under shift {100 * rate:.1f}% is below "
            f"--fail-under {100 * threshold:.1f}%",
            err=True,
        )
        return 1
    return 0


def _console() -> Console:
    """A console at least 120 columns wide when the output is not a terminal (CI logs)."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    return console


def _strs(paths: dict[str, Path]) -> dict[str, str]:
    return {k: str(v) for k, v in paths.items()}


def _compare(pair: tuple[Path, Path], out: Path, as_json: bool) -> None:
    from agentshield.eval.html import render_html
    from agentshield.eval.report import compare_rows, load_report, write_atomic
    from agentshield.eval.table import compare_table

    a, b = (load_report(p) for p in pair)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "compare.html"
    write_atomic(page, render_html(a, b))
    if as_json:
        typer.echo(json.dumps({"rows": compare_rows(a, b), "html": str(page)}, indent=1))
        return
    console = _console()
    console.print(compare_table(a, b))
    console.print(f"side by side: {page}")
