"""Benchmark: what tracing costs per tool call, and how many spans/s the embedded store takes.

Run with ``python benchmarks/tracing.py [--calls N] [--rounds R]``. Everything runs in one
process so the ratios compare like with like; no assertions, a table is printed.

Per-call cost (median over rounds of the mean per call, in µs):

* ``bare``: the tool function alone;
* ``off``: wrapped by the Recorder with no tracing configured (the API's no-op provider);
* ``SDK spans only``: real SDK spans with no processor (the OpenTelemetry SDK's own cost);
* ``on``: spans into the embedded store through the bounded queue, content off;
* ``on + content``: the same with content capture and the built-in redaction.

Sustained throughput: agent-like runs (one run span, a chat and three tool calls each) as
fast as one thread can make them, until every span is on disk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from rich.console import Console
from rich.table import Table

from agentshield.tracing import Recorder, setup_tracing

ARGS = {"place_id": "p1", "date": "2026-12-03", "people": 2, "note": "call me at a@b.io"}


def tool(args: dict[str, Any]) -> str:
    """A stand-in tool: cheap, deterministic, returns a JSON observation."""
    return json.dumps({"status": "booked", "code": f"BK-{args['place_id']}-{args['people']}"})


def bare(n: int) -> None:
    for _ in range(n):
        tool(ARGS)


def traced(recorder: Recorder) -> Callable[[int], None]:
    def run(n: int) -> None:
        for i in range(n):
            with recorder.tool_call(
                "bench", call_id=f"c{i}", shown_name="book_table", real_name="book_table", args=ARGS
            ) as span:
                span.set_result(tool(ARGS))

    return run


def per_call_us(fn: Callable[[int], None], calls: int, rounds: int) -> float:
    fn(calls // 10)  # warm up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(calls)
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def per_call_table(calls: int, rounds: int) -> Table:
    table = Table(title=f"Per tool call ({calls} calls x {rounds} rounds, median)")
    for col in ("mode", "µs / call", "x bare", "overhead µs", "dropped"):
        table.add_column(col, justify="left" if col == "mode" else "right")
    base = per_call_us(bare, calls, rounds)
    table.add_row("bare", f"{base:.2f}", "1.0", "-", "-")
    table.add_row(
        "off (no provider)",
        *_row(traced(Recorder(capture_content=False)), base, calls, rounds, None),
    )
    sdk_only = TracerProvider(shutdown_on_exit=False)  # spans made, then discarded
    table.add_row(
        "SDK spans only, no export",
        *_row(
            traced(Recorder(tracer_provider=sdk_only, capture_content=False)),
            base,
            calls,
            rounds,
            None,
        ),
    )
    for label, capture in (("on", False), ("on + content + redaction", True)):
        with tempfile.TemporaryDirectory() as tmp:
            # A queue large enough that nothing is dropped: we measure the work, not drops.
            handle = setup_tracing(
                store=tmp,
                capture_content=capture,
                fsync="never",
                max_queue_size=calls * 2,
                max_export_batch_size=512,
            )
            cells = _row(traced(handle.recorder), base, calls, rounds, handle)
            handle.shutdown(30)
            table.add_row(label, *cells)
    return table


def _row(fn: Callable[[int], None], base: float, calls: int, rounds: int, handle: Any) -> list[str]:
    us = per_call_us(fn, calls, rounds)
    if handle is not None:
        handle.force_flush(30)
    dropped = "-" if handle is None else str(handle.stats().dropped)
    return [f"{us:.2f}", f"{us / base:.1f}", f"{us - base:.2f}", dropped]


def throughput_table(runs: int) -> Table:
    table = Table(title=f"Sustained throughput into the embedded store ({runs} runs)")
    for col in ("content", "spans", "seconds", "spans / s", "MB written", "dropped", "failed"):
        table.add_column(col, justify="right")
    for capture in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            handle = setup_tracing(
                store=tmp,
                capture_content=capture,
                fsync="flush",
                max_queue_size=runs * 5 + 10,
                max_export_batch_size=512,
            )
            rec = handle.recorder
            messages = [{"role": "user", "content": "Book a table for 2 at p1, a@b.io"}]
            start = time.perf_counter()
            for r in range(runs):
                run_id = f"run-{r}"
                with rec.agent_run(run_id, agent_name="bench"):
                    with rec.chat(run_id, model="m", messages=messages) as chat:
                        chat.set_output([{"role": "assistant", "content": "ok"}])
                    traced(rec)(3)
            handle.force_flush(120)
            elapsed = time.perf_counter() - start
            stats = handle.shutdown(30)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
            table.add_row(
                "on" if capture else "off",
                str(stats.exported),
                f"{elapsed:.2f}",
                f"{stats.exported / elapsed:,.0f}",
                f"{size:.1f}",
                str(stats.dropped),
                str(stats.failed),
            )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=4000)
    args = parser.parse_args()
    console = Console()
    console.print(per_call_table(args.calls, args.rounds))
    console.print(throughput_table(args.runs))


if __name__ == "__main__":
    main()
