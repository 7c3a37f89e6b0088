"""What the wrapper adds to one tool call: bare ToolNode vs shielded pass-through vs shielded
with several perturbations active vs shielded with every registered detector on (production
monitoring, no perturbation). Median over many calls, variants interleaved in rounds in one
process (these machines are noisy). Prints µs per call and ratios, then the detectors' own
cost per call (``Monitor.observe_call`` timed alone); asserts nothing.

Run: ``python benchmarks/overhead.py [--calls N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolRuntime

import agentshield
from agentshield.detect import Monitor, Profile
from agentshield.trajectory import Message, Trajectory
from agentshield.trajectory import ToolCall as CoreCall
from agentshield_langchain import shielded_tool_node
from agentshield_langchain._convert import to_spec


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


def _output(call: Any, runtime: ToolRuntime) -> str:
    """The tool's real output, as ToolNode renders it."""
    message = ToolNode([search_places])._run_one(call, "dict", runtime)
    assert isinstance(message, ToolMessage)
    return str(message.content)


def _profile() -> Profile:
    """A baseline of 50 runs of the benchmark's tool, with its real output."""
    spec = to_spec(search_places)
    assert spec is not None
    call, runtime = _job(0, "baseline")
    content = _output(call, runtime)
    runs = [
        Trajectory(
            f"b{i}",
            (
                Message("user", "Find a cafe in Lyon."),
                Message("assistant", tool_calls=(CoreCall(f"c{i}", spec.name, call["args"]),)),
                Message("tool", content, tool_call_id=f"c{i}", name=spec.name),
                Message("assistant", "Cafe Luna (p1) in Lyon."),
            ),
            tools=(spec,),
        )
        for i in range(50)
    ]
    return Profile.from_trajectories(runs, latencies={f"c{i}": 0.001 for i in range(50)})


def _detectors_alone(profile: Profile, calls: int) -> float:
    """Median µs of ``Monitor.observe_call`` with every detector, on the tool's real output."""
    monitor = Monitor(profile)
    call, runtime = _job(0, "alone")
    content = _output(call, runtime)
    times = []
    for i in range(calls):
        core = CoreCall(f"c{i}", "search_places", {"query": "cafe", "city": "Lyon"})
        start = time.perf_counter_ns()
        monitor.observe_call(f"run-{i // 10}", core, content, latency_s=0.001, key=f"{i}:0")
        times.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(times[calls // 10 :])


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
    profile = _profile()
    variants: dict[str, Callable[[], ToolNode]] = {
        "bare ToolNode": lambda: ToolNode(tools),
        "shielded, pass-through": lambda: shielded_tool_node(tools, agentshield.Shield()),
        "shielded, 6 inert (never)": lambda: shielded_tool_node(tools, _active_shield(inert=True)),
        "shielded, 6 perturbations": lambda: shielded_tool_node(tools, _active_shield()),
        "shielded, all detectors": lambda: shielded_tool_node(
            tools, agentshield.Shield(detectors=Monitor(profile))
        ),
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
    alone = _detectors_alone(profile, args.calls * args.rounds)
    print(f"\nMonitor.observe_call alone, every detector: {alone:.1f} µs / call (median)")


if __name__ == "__main__":
    main()
