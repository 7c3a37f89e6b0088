"""Shifts through a real ``create_agent`` agent with ``ShieldMiddleware``.

The scripted model reads what it was shown (tool names, parameter keys) and calls tools the
way a model would; assertions check the model's view, the real executions, the observations
and the Shield's decision log.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    ToolCallRequest,
    ToolErrorMiddleware,
    ToolRetryMiddleware,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt.tool_node import INVALID_TOOL_NAME_ERROR_TEMPLATE
from langgraph.types import Command

from agentshield import InjectedFault, InjectedTimeout, InjectedToolError, Shield, tool_named
from agentshield.perturbations import create
from agentshield.testing import FakeClock
from agentshield_langchain import ShieldMiddleware
from agentshield_langchain.testing import (
    ModelCall,
    ScriptedChatModel,
    Step,
    ai,
    call,
    sample_agent_tools,
)
from tests.integrations.conftest import ShieldFactory
from tests.integrations.helpers import tools_with_interrupt

QUERY = "Find a cafe in Lyon and book a table for 2 people on 2026-12-03."
CONFIG: RunnableConfig = {"configurable": {"thread_id": "run-1"}}
REAL = ["search_places", "check_availability", "book_table"]


def run_agent(
    shield: Shield,
    script: list[Step],
    *,
    log: list[tuple[str, dict[str, Any]]] | None = None,
    outer: list[AgentMiddleware[Any, Any, Any]] | None = None,
) -> tuple[ScriptedChatModel, list[Any], HumanMessage]:
    model = ScriptedChatModel(script=script)
    agent = create_agent(
        model, sample_agent_tools(log), middleware=[*(outer or []), ShieldMiddleware(shield)]
    )
    query = HumanMessage(QUERY, id="h1")
    out = agent.invoke({"messages": [query]}, CONFIG)
    return model, out["messages"], query


def tool_messages(messages: list[Any]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_renamed_tool_and_parameters_are_transparent(shield_factory: ShieldFactory) -> None:
    shield = shield_factory(
        [
            create("tool_rename_noise", when=tool_named("search_places")),
            create("parameter_rename", style="noise", when=tool_named("search_places")),
        ]
    )

    def first(c: ModelCall) -> AIMessage:
        shown = c.tool_names[0]  # renames keep the tool's position
        query_key, city_key = c.tool(shown)["parameters"]["properties"]
        return ai(call(shown, {query_key: "cafe", city_key: "Lyon"}, "c1"))

    log: list[tuple[str, dict[str, Any]]] = []
    model, messages, _ = run_agent(shield, [first, "Found two."], log=log)

    shown = model.calls[0].tool_names
    assert shown[0].startswith("tool_") and shown[1:] == REAL[1:]
    params = model.calls[0].tool(shown[0])["parameters"]
    assert all(k.startswith("arg_") for k in params["properties"])
    assert sorted(params["required"]) == sorted(params["properties"])
    # The real function ran with the real argument keys; the observation has the shown name.
    assert log == [("search_places", {"query": "cafe", "city": "Lyon"})]
    (observation,) = tool_messages(messages)
    assert observation.name == shown[0]
    assert observation.tool_call_id == "c1"
    assert observation.status == "success"
    assert "Cafe Luna" in str(observation.content)
    assert model.calls[1].tool_messages[0].name == shown[0]
    actions = {(d.perturbation, d.action) for d in shield.decisions("run-1")}
    assert actions == {("tool_rename_noise", "shape_tools"), ("parameter_rename", "shape_tools")}


def test_semantic_rename_and_the_old_name_is_unknown(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("tool_rename_semantic", when=tool_named("search_places"))])
    args = {"query": "cafe", "city": "Lyon"}

    def first(c: ModelCall) -> AIMessage:
        # An agent anchored on the memorised name, and one that reads the schema.
        return ai(call("search_places", args, "old"), call(c.tool_names[0], args, "new"))

    log: list[tuple[str, dict[str, Any]]] = []
    model, messages, _ = run_agent(shield, [first, "Done."], log=log)

    shown = model.calls[0].tool_names
    assert shown[0] != "search_places" and "search_places" not in shown
    old, new = tool_messages(messages)
    assert old.status == "error"
    assert old.content == INVALID_TOOL_NAME_ERROR_TEMPLATE.format(
        requested_tool="search_places", available_tools=", ".join(shown)
    )
    assert (new.name, new.status) == (shown[0], "success")
    assert log == [("search_places", args)]


def test_distractor_call_gets_langgraphs_unknown_tool_error(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("distractor_tools", count=2)])

    def first(c: ModelCall) -> AIMessage:
        decoy = next(n for n in c.tool_names if n not in REAL)
        return ai(call(decoy, {"query": "cafe", "city": "Lyon"}, "c1"))

    log: list[tuple[str, dict[str, Any]]] = []
    model, messages, _ = run_agent(shield, [first, "Done."], log=log)

    shown = model.calls[0].tool_names
    assert len(shown) == 5 and set(REAL) <= set(shown)
    (observation,) = tool_messages(messages)
    decoy = next(m for m in messages if isinstance(m, AIMessage)).tool_calls[0]["name"]
    assert observation.status == "error"
    assert observation.content == INVALID_TOOL_NAME_ERROR_TEMPLATE.format(
        requested_tool=decoy, available_tools=", ".join(shown)
    )
    assert log == []
    assert [d.perturbation for d in shield.decisions("run-1")] == ["distractor_tools"]


def search_then_answer() -> list[Step]:
    return [ai(call("search_places", {"query": "cafe", "city": "Lyon"}, "c1")), "Done."]


def test_injected_fault_is_handled_by_the_users_error_middleware(
    shield_factory: ShieldFactory,
) -> None:
    shield = shield_factory([create("tool_error", mode="raise")])
    seen: list[BaseException] = []

    def on_error(exc: Exception, request: ToolCallRequest) -> str | None:
        seen.append(exc)
        return f"handled: {exc}" if isinstance(exc, InjectedFault) else None

    log: list[tuple[str, dict[str, Any]]] = []
    _, messages, _ = run_agent(
        shield, search_then_answer(), log=log, outer=[ToolErrorMiddleware(on_error=on_error)]
    )

    (observation,) = tool_messages(messages)
    assert observation.status == "error"
    assert str(observation.content).startswith("handled: Error: search_places failed")
    assert len(seen) == 1 and isinstance(seen[0], InjectedToolError | RuntimeError)
    assert log == []
    assert [d.action for d in shield.decisions("run-1")] == ["raise"]


def test_retry_middleware_recovers_from_a_transient_injected_fault(
    shield_factory: ShieldFactory,
) -> None:
    shield = shield_factory([create("tool_error", mode="raise")])
    retry = ToolRetryMiddleware(max_retries=2, initial_delay=0.0, jitter=False)
    _, messages, _ = run_agent(shield, search_then_answer(), outer=[retry])
    (observation,) = tool_messages(messages)
    assert observation.status == "success"
    assert [d.action for d in shield.decisions("run-1")] == ["raise"]


def test_injected_fault_without_handling_fails_the_run_like_a_real_one(
    shield_factory: ShieldFactory,
) -> None:
    shield = shield_factory([create("timeout", timeout_s=3.0)])
    with pytest.raises(TimeoutError) as info:
        run_agent(shield, search_then_answer())
    assert isinstance(info.value, InjectedTimeout)
    assert info.value.perturbation == "timeout"


def test_observed_error_becomes_an_error_tool_message(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("tool_error")])  # mode="observe": an error result
    _, messages, _ = run_agent(shield, search_then_answer())
    (observation,) = tool_messages(messages)
    assert (observation.name, observation.status) == ("search_places", "error")
    assert "call the tool again" in str(observation.content)


def test_query_shift_changes_what_the_model_sees_not_the_state(
    shield_factory: ShieldFactory,
) -> None:
    shield = shield_factory([create("query_typos", rate=0.5)])
    model, messages, query = run_agent(shield, search_then_answer())

    assert model.calls[0].human_texts != [QUERY]
    assert model.calls[1].human_texts == model.calls[0].human_texts  # same rewrite each time
    assert query.content == QUERY
    assert messages[0].content == QUERY and messages[0].id == "h1"
    assert {d.action for d in shield.decisions("run-1")} == {"rewrite_query"}


def test_unsolvable_task_removes_the_tool(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("unsolvable_task", tool="book_table")])
    script: list[Step] = [
        ai(call("book_table", {"place_id": "p1", "date": "2026-12-03", "people": 2}, "c1")),
        "I can't book a table with the tools I have.",
    ]
    log: list[tuple[str, dict[str, Any]]] = []
    model, messages, _ = run_agent(shield, script, log=log)

    assert model.calls[0].tool_names == REAL[:2]
    (observation,) = tool_messages(messages)
    assert observation.status == "error"
    assert "book_table is not a valid tool" in str(observation.content)
    assert log == []
    (decision,) = shield.decisions("run-1")
    assert (decision.perturbation, decision.detail["after"]) == ("unsolvable_task", REAL[:2])


def test_observation_shift_rewrites_the_tool_message(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("observation_format", format="xml")])
    model, messages, _ = run_agent(shield, search_then_answer())
    (observation,) = tool_messages(messages)
    assert str(observation.content).startswith("<result>")
    assert model.calls[1].tool_messages[0].content == observation.content


@pytest.mark.asyncio
async def test_async_agent_renames_and_latency(
    shield_factory: ShieldFactory, clock: FakeClock
) -> None:
    shield = shield_factory([create("tool_rename_noise"), create("latency", delay_s=0.5)], seed=3)
    args = {"place_id": "p1", "date": "2026-12-03"}
    model = ScriptedChatModel(
        script=[
            lambda c: ai(
                call(c.tool_names[0], {"query": "cafe", "city": "Lyon"}, "c1"),
                call(c.tool_names[1], args, "c2"),
            ),
            "Done.",
        ]
    )
    log: list[tuple[str, dict[str, Any]]] = []
    agent = create_agent(model, sample_agent_tools(log), middleware=[ShieldMiddleware(shield)])
    out = await agent.ainvoke({"messages": [HumanMessage(QUERY, id="h1")]}, CONFIG)

    shown = model.calls[0].tool_names
    assert sorted(log, key=str) == sorted(
        [("search_places", {"query": "cafe", "city": "Lyon"}), ("check_availability", args)],
        key=str,
    )
    names = [m.name for m in out["messages"] if isinstance(m, ToolMessage)]
    assert names == shown[:2]
    delays = [d for d in shield.decisions("run-1") if d.action == "delay"]
    assert sorted(d.key for d in delays) == ["1:0", "1:1"]
    assert clock.sleeps == [0.5, 0.5]


def test_interrupt_passes_through_an_active_shield(
    shield_factory: ShieldFactory, clock: FakeClock
) -> None:
    shield = shield_factory([create("tool_rename_noise"), create("latency", delay_s=0.25)])
    model = ScriptedChatModel(
        script=[
            lambda c: ai(call(c.tool_names[-1], {"question": "Book it?"}, "q1")),
            "Booked.",
        ]
    )
    agent = create_agent(
        model,
        tools_with_interrupt(),
        middleware=[ShieldMiddleware(shield)],
        checkpointer=InMemorySaver(),
    )
    first = agent.invoke({"messages": [HumanMessage(QUERY, id="h1")]}, CONFIG)
    assert [i.value for i in first["__interrupt__"]] == ["Book it?"]
    final = agent.invoke(Command(resume="yes"), CONFIG)

    shown = model.calls[0].tool_names[-1]
    assert shown.startswith("tool_")
    (answer,) = tool_messages(final["messages"])
    assert (answer.content, answer.name, answer.status) == ("yes", shown, "success")
    # The interrupted attempt and the resumed one are the same call: same key, same delay.
    assert [d.key for d in shield.decisions("run-1") if d.action == "delay"] == ["1:0", "1:0"]
    assert clock.sleeps == [0.25, 0.25]
