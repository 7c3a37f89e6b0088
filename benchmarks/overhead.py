"""What the wrapper adds to one tool call: bare ToolNode vs shielded pass-through vs shielded
with several perturbations active. Median over many calls, variants interleaved in rounds in
one process (these machines are noisy). Prints µs per call and ratios; asserts nothing.

Run: ``python benchmarks/overhead.py [--calls N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, ToolCall
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolRuntime

import agentshield
from agentshield_langchain import shielded_tool_node


@tool
def search_places(query: str, city: str) -> dict[str, Any]:
    """Search places by free-text query in a city."""
    return {"place_id": "p1", "name": "Cafe Luna", "city": city, "query": query}


def _job(i: int, run_id: str) -> tuple[Any, ToolRuntime]:
    """One tool call and the runtime ToolNode builds for it inside a graph."""
    call = ToolCall(name="search_places", args={"query": "cafe", "city": "Lyon"}, id=f"c{i}")
    state = {"messages": [AIMessage("", tool_calls=[call])]}
    config = RunnableConfig(configurable={"agentshield_run_id": run_id})
    runtime = ToolRuntime(
        state=state,
        context=None,
        config=config,
        stream_writer=lambda _: None,
        tool_call_id=call["id"],
        store=None,
    )
    return call, runtime


def _active_shield(*, inert: bool = False) -> agentshield.Shield:
    # Several perturbations that all act on every call without failing it; ``inert`` keeps
    # them configured but never selected (the driver still plans every call).
    when = {"when": agentshield.never()} if inert else {}
    return agentshield.Shield(
        [
            agentshield.create("observation_noise", **when),
            agentshield.create("observation_format", format="text", **when),
            agentshield.create("latency", delay_s=0.0, **when),
            agentshield.create("instruction_injection", **when),
            agentshield.create("missing_values", rate=0.0, **when),
            agentshield.create("tool_error", when=agentshield.never()),
        ],
        seed=1,
    )


def _time(node: ToolNode, jobs: list[tuple[Any, ToolRuntime]]) -> list[float]:
    # ToolNode's own per-call path (what it runs for each call of an AIMessage, in a thread
    # pool); timing it directly keeps graph scheduling noise out of a microsecond figure.
    out = []
    for call, runtime in jobs:
        start = time.perf_counter_ns()
        node._run_one(call, "dict", runtime)
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    tools = [search_places]
    variants: dict[str, Callable[[], ToolNode]] = {
        "bare ToolNode": lambda: ToolNode(tools),
        "shielded, pass-through": lambda: shielded_tool_node(tools, agentshield.Shield()),
        "shielded, 6 inert (never)": lambda: shielded_tool_node(tools, _active_shield(inert=True)),
        "shielded, 6 perturbations": lambda: shielded_tool_node(tools, _active_shield()),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds + 1):
        for name, make in variants.items():
            node = make()
            # Ten calls per run, as in an agent episode.
            jobs = [_job(i, f"bench-{r}-{i // 10}") for i in range(args.calls)]
            gc.collect()
            times = _time(node, jobs)
            if r:  # round 0 warms up imports and caches
                samples[name].extend(times)
    base = statistics.median(samples["bare ToolNode"])
    print(f"{'variant':28} {'median µs/call':>15} {'added µs':>10} {'ratio':>7}")
    for name, times in samples.items():
        med = statistics.median(times)
        print(f"{name:28} {med:15.1f} {med - base:10.1f} {med / base:7.2f}")


if __name__ == "__main__":
    main()
