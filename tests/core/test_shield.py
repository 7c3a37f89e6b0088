"""The Shield's drivers, decision log and determinism, called directly (no framework)."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import agentshield
from agentshield import (
    InjectedFault,
    InjectedRateLimit,
    InjectedTimeout,
    InjectedToolError,
    Result,
    Shield,
    ToolCall,
    tool_named,
)
from agentshield.testing import FakeClock, sample_tool_impls, sample_tools

TOOLS = list(sample_tools())


class Recorder:
    """A real-tool executor that records what actually ran."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.impl = sample_tool_impls()

    def __call__(self, name: str, args: Mapping[str, Any]) -> Result:
        self.calls.append((name, dict(args)))
        return Result(json.dumps(self.impl[name](**args)))

    async def acall(self, name: str, args: Mapping[str, Any]) -> Result:
        return self(name, args)


SEARCH = ToolCall("c1", "search_places", {"query": "cafe", "city": "Lyon"})
BOOK = ToolCall("c3", "book_table", {"place_id": "p1", "date": "2026-12-03", "people": 2})


def test_empty_shield_passes_calls_through() -> None:
    shield, run = Shield(), Recorder()
    out = shield.call_tool("r", SEARCH, TOOLS, run, step=1, index=0)
    assert run.calls == [("search_places", {"query": "cafe", "city": "Lyon"})]
    assert json.loads(out.content)[0]["place_id"] == "p1"
    assert not shield.active and shield.decisions() == []


def test_renamed_tool_runs_the_real_function_with_mapped_back_arguments() -> None:
    shield = Shield(
        [
            agentshield.create("tool_rename_noise"),
            agentshield.create("parameter_rename", style="noise"),
        ],
        seed=4,
    )
    view = shield.view("r", TOOLS)
    shown = view.specs[0]
    assert shown.name.startswith("tool_") and "query" not in shown.properties
    args = dict(zip(shown.properties, ["cafe", "Lyon"], strict=True))
    run = Recorder()
    shield.call_tool("r", ToolCall("c1", shown.name, args), TOOLS, run, step=1, index=0)
    assert run.calls == [("search_places", {"query": "cafe", "city": "Lyon"})]
    # The real name is unknown to the model now.
    out = shield.call_tool("r", SEARCH, TOOLS, run, step=2, index=0)
    assert out.is_error and "is not a valid tool" in out.content and shown.name in out.content


def test_distractor_gets_the_unknown_tool_error() -> None:
    shield = Shield([agentshield.create("distractor_tools", count=2)], seed=1)
    view = shield.view("r", TOOLS)
    decoys = [t for t in view if t.real is None]
    assert len(decoys) == 2 and len(view.names) == 5
    out = shield.call_tool(
        "r", ToolCall("x", decoys[0].name, {}), TOOLS, Recorder(), step=1, index=0
    )
    assert out.is_error
    assert out.content == (
        f"Error: {decoys[0].name} is not a valid tool, try one of [{', '.join(view.names)}]."
    )


@pytest.mark.parametrize(("mode", "error"), [("raise", InjectedToolError), ("observe", None)])
def test_tool_error_fails_once_then_the_retry_works(mode: str, error: type | None) -> None:
    shield, run = Shield([agentshield.create("tool_error", mode=mode)]), Recorder()
    if error is not None:
        with pytest.raises(error) as info:
            shield.call_tool("r", SEARCH, TOOLS, run, step=1, index=0)
        assert isinstance(info.value, InjectedFault) and isinstance(info.value, RuntimeError)
        assert info.value.perturbation == "tool_error"
    else:
        out = shield.call_tool("r", SEARCH, TOOLS, run, step=1, index=0)
        assert out.is_error and "call the tool again" in out.content
    assert run.calls == []
    ok = shield.call_tool("r", SEARCH, TOOLS, run, step=2, index=0)
    assert not ok.is_error and len(run.calls) == 1


def test_timeout_waits_then_raises_a_timeout_error(fake_clock: FakeClock) -> None:
    shield = Shield([agentshield.create("timeout", timeout_s=2.5)], sleep=fake_clock.sleep)
    with pytest.raises(TimeoutError) as info:
        shield.call_tool("r", SEARCH, TOOLS, Recorder(), step=1, index=0)
    assert isinstance(info.value, InjectedTimeout)
    assert fake_clock.sleeps == [2.5]


def test_rate_limit_raises_with_retry_after() -> None:
    shield = Shield([agentshield.create("rate_limit", mode="raise", retry_after_s=3)])
    with pytest.raises(InjectedRateLimit) as info:
        shield.call_tool("r", SEARCH, TOOLS, Recorder(), step=1, index=0)
    assert info.value.retry_after_s == 3


@pytest.mark.asyncio
async def test_async_driver_matches_the_sync_driver(fake_clock: FakeClock) -> None:
    catalogue = [
        agentshield.create("latency", delay_s=0.5, when=tool_named("search_places")),
        agentshield.create("observation_format", format="xml"),
    ]
    sync = Shield(catalogue, seed=2, sleep=fake_clock.sleep)
    asyn = Shield(catalogue, seed=2, asleep=fake_clock.asleep)
    a = sync.call_tool("r", SEARCH, TOOLS, Recorder(), step=1, index=0)
    b = await asyn.acall_tool("r", SEARCH, TOOLS, Recorder().acall, step=1, index=0)
    assert a == b and a.content.startswith("<result>")
    assert fake_clock.sleeps == [0.5, 0.5]
    assert [d.action for d in sync.decisions("r")] == [d.action for d in asyn.decisions("r")]


def test_new_prerequisite_needs_the_token() -> None:
    shield, run = (
        Shield([agentshield.create("new_prerequisite", tool="book_table")], seed=1),
        Recorder(),
    )
    view = shield.view("r", TOOLS)
    assert "access_token" in view.find("book_table").spec.required  # type: ignore[union-attr]
    denied = shield.call_tool("r", BOOK, TOOLS, run, step=1, index=0)
    assert denied.is_error and "get_access_token" in denied.content and run.calls == []
    token = json.loads(
        shield.call_tool(
            "r",
            ToolCall("t", "get_access_token", {"tool": "book_table"}),
            TOOLS,
            run,
            step=2,
            index=0,
        ).content
    )["access_token"]
    ok = shield.call_tool(
        "r",
        ToolCall("c", "book_table", {**BOOK.args, "access_token": token}),
        TOOLS,
        run,
        step=3,
        index=0,
    )
    assert not ok.is_error
    assert run.calls == [("book_table", dict(BOOK.args))]  # the token never reaches the real tool


def test_rule_change_rejects_the_old_format_and_converts_the_new_one() -> None:
    shield = Shield([agentshield.create("rule_change", tool="book_table", param="date")])
    run = Recorder()
    old = shield.call_tool("r", BOOK, TOOLS, run, step=1, index=0)
    assert old.is_error and "DD/MM/YYYY" in old.content and "03/12/2026" in old.content
    new = ToolCall("c", "book_table", {**BOOK.args, "date": "03/12/2026"})
    assert not shield.call_tool("r", new, TOOLS, run, step=2, index=0).is_error
    assert run.calls == [("book_table", dict(BOOK.args))]


def test_dependency_inversion_enforces_the_new_order() -> None:
    shield = Shield(
        [agentshield.create("dependency_inversion", first="check_availability", then="book_table")]
    )
    run = Recorder()
    check = ToolCall("c2", "check_availability", {"place_id": "p1", "date": "2026-12-03"})
    first = shield.call_tool("r", check, TOOLS, run, step=1, index=0)
    assert first.is_error and "requires a prior call to book_table" in first.content
    shield.call_tool("r", BOOK, TOOLS, run, step=2, index=0)
    assert not shield.call_tool("r", check, TOOLS, run, step=3, index=0).is_error


def test_redirect_points_to_the_replacement() -> None:
    shield = Shield([agentshield.create("tool_redirect", when=tool_named("search_places"))])
    run = Recorder()
    out = shield.call_tool("r", SEARCH, TOOLS, run, step=1, index=0)
    assert out.is_error and json.loads(out.content)["replacement"] == "search_places_v2"
    ok = shield.call_tool(
        "r", ToolCall("c", "search_places_v2", SEARCH.args), TOOLS, run, step=2, index=0
    )
    assert not ok.is_error and run.calls == [("search_places", dict(SEARCH.args))]


def test_unsolvable_removes_the_tool() -> None:
    shield = Shield([agentshield.create("unsolvable_task", tool="book_table")])
    assert shield.view("r", TOOLS).names == ["search_places", "check_availability"]
    out = shield.call_tool("r", BOOK, TOOLS, Recorder(), step=1, index=0)
    assert out.is_error and "not a valid tool" in out.content


def test_observations_speak_the_shifted_names() -> None:
    shield = Shield([agentshield.create("tool_rename_semantic")], seed=3)
    shown = shield.view("r", TOOLS).names

    def echo(name: str, args: Mapping[str, Any]) -> Result:
        return Result(f"{name} done; next call check_availability")

    out = shield.call_tool("r", ToolCall("c", shown[0], SEARCH.args), TOOLS, echo, step=1, index=0)
    assert out.content == f"{shown[0]} done; next call {shown[1]}"


def test_decision_log_records_every_decision() -> None:
    shield = Shield(
        [
            agentshield.create("tool_rename_noise"),
            agentshield.create("query_typos"),
            agentshield.create("tool_error", mode="raise"),
        ],
        seed=8,
    )
    shield.view("run-9", TOOLS)
    shield.rewrite_query("run-9", 0, "please find a cafe in Lyon")
    with pytest.raises(InjectedFault):
        shield.call_tool(
            "run-9",
            ToolCall("c", shield.view("run-9", TOOLS).names[0], SEARCH.args),
            TOOLS,
            Recorder(),
            step=1,
            index=0,
        )
    log = shield.decisions("run-9")
    assert [(d.perturbation, d.surface, d.action) for d in log] == [
        ("tool_rename_noise", "tools", "shape_tools"),
        ("query_typos", "query", "rewrite_query"),
        ("tool_error", "call", "raise"),
    ]
    assert all(d.run_id == "run-9" for d in log)
    assert log[-1].key == "1:0" and log[-1].tier == 2 and log[-1].params["times"] == 1
    json.dumps([d.to_dict() for d in log])
    shield.reset("run-9")
    assert shield.decisions("run-9") == []


def test_parallel_calls_replay_exactly_under_concurrency() -> None:
    """Many runs with parallel calls, executed in random thread order, decide identically."""
    catalogue: list[dict[str, Any]] = [
        {"name": "tool_error", "when": {"probability": 0.5}},
        {"name": "missing_values", "rate": 0.5},
        {"name": "observation_format", "format": "random"},
    ]
    jobs = [(f"run-{r}", step, index) for r in range(20) for step in (1, 2) for index in range(3)]

    def run_all(order_seed: int) -> dict[tuple[str, int, int], tuple[str, bool]]:
        shield = Shield(catalogue, seed=99)
        order = jobs[:]
        random.Random(order_seed).shuffle(order)

        def one(job: tuple[str, int, int]) -> tuple[tuple[str, int, int], tuple[str, bool]]:
            run_id, step, index = job
            call = ToolCall(f"{step}-{index}", "search_places", SEARCH.args)
            try:
                out = shield.call_tool(run_id, call, TOOLS, Recorder(), step=step, index=index)
                return job, (out.content, out.is_error)
            except InjectedFault as exc:
                return job, (str(exc), True)

        with ThreadPoolExecutor(8) as pool:
            return dict(pool.map(one, order))

    first = run_all(1)
    # Step-2 outcomes may depend on step-1 history, which is complete only when ordered; keep
    # the comparison to step 1, where every call is independent of order by construction.
    second = run_all(2)
    assert {k: v for k, v in first.items() if k[1] == 1} == {
        k: v for k, v in second.items() if k[1] == 1
    }
    assert len(set(first.values())) > 3


def test_runs_are_bounded() -> None:
    shield = Shield([agentshield.create("query_typos")], max_runs=3)
    for i in range(10):
        shield.rewrite_query(f"r{i}", 0, "please find a cafe")
    assert shield.runs() == ["r7", "r8", "r9"]


def test_descriptions_speak_the_shifted_names() -> None:
    shield = Shield([agentshield.create("tool_rename_noise")], seed=3)
    view = shield.view("r", TOOLS)
    search = view.names[0]
    place_id = view.specs[1].properties["place_id"]["description"]
    assert place_id == f"id from {search}"
    assert all("search_places" not in str(s.to_dict()) for s in view.specs)
