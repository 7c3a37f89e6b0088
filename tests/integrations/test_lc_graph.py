"""Shifts through a hand-built StateGraph: ``shield_model`` + ``shielded_tool_node``."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import TOOL_CALL_ERROR_TEMPLATE

from agentshield import ConfigError, InjectedToolError, tool_named
from agentshield.perturbations import create
from agentshield_langchain import shield_model, shield_tool_wrappers, shielded_tool_node
from agentshield_langchain.testing import (
    ModelCall,
    ScriptedChatModel,
    ai,
    call,
    sample_agent_tools,
)
from tests.integrations.conftest import ShieldFactory
from tests.integrations.helpers import build_graph

QUERY = "Find a cafe in Lyon and book a table for 2 people on 2026-12-03."
CONFIG: RunnableConfig = {"configurable": {"thread_id": "graph-1"}}


def renamed_calls(c: ModelCall) -> AIMessage:
    search, check = c.tool_names[0], c.tool_names[1]
    query_key, city_key = c.tool(search)["parameters"]["properties"]
    return ai(
        call(search, {query_key: "cafe", city_key: "Lyon"}, "c1"),
        call(check, {"place_id": "p1", "date": "2026-12-03"}, "c2"),
    )


def test_hand_built_graph_shows_and_maps_back_renames(shield_factory: ShieldFactory) -> None:
    shield = shield_factory(
        [
            create("tool_rename_semantic", when=tool_named("search_places")),
            create("parameter_rename", when=tool_named("search_places")),
            create("tool_error", mode="raise", when=tool_named("check_availability")),
        ]
    )
    log: list[tuple[str, dict[str, Any]]] = []
    tools = sample_agent_tools(log)
    model = ScriptedChatModel(script=[renamed_calls, "Done."])
    graph = build_graph(
        shield_model(model, shield).bind_tools(tools),
        shielded_tool_node(tools, shield, handle_tool_errors=True),
    )
    out = graph.invoke({"messages": [HumanMessage(QUERY, id="h1")]}, CONFIG)

    shown = model.calls[0].tool_names
    assert shown[0] != "search_places" and shown[1:] == ["check_availability", "book_table"]
    assert set(model.calls[0].tool(shown[0])["parameters"]["properties"]) != {"query", "city"}
    assert log == [("search_places", {"query": "cafe", "city": "Lyon"})]
    found, failed = (m for m in out["messages"] if isinstance(m, ToolMessage))
    assert (found.name, found.status, found.tool_call_id) == (shown[0], "success", "c1")
    assert (failed.name, failed.status) == ("check_availability", "error")
    assert failed.content == TOOL_CALL_ERROR_TEMPLATE.format(
        error=repr(InjectedToolError(_error_text("check_availability"), perturbation="x"))
    )
    assert out["messages"][0].content == QUERY
    perturbations = [d.perturbation for d in shield.decisions("graph-1")]
    assert perturbations == ["tool_rename_semantic", "parameter_rename", "tool_error"]


def _error_text(tool: str) -> str:
    return (
        f"Error: {tool} failed with a transient backend error (503 Service Unavailable). "
        "Nothing was changed; call the tool again with the same arguments."
    )


@pytest.mark.asyncio
async def test_hand_built_graph_async(shield_factory: ShieldFactory) -> None:
    shield = shield_factory(
        [create("tool_rename_noise"), create("query_typos"), create("missing_values", rate=1.0)]
    )
    log: list[tuple[str, dict[str, Any]]] = []
    tools = sample_agent_tools(log)
    model = ScriptedChatModel(script=[renamed_calls, "Done."])
    graph = build_graph(
        shield_model(model, shield).bind_tools(tools), shielded_tool_node(tools, shield)
    )
    out = await graph.ainvoke({"messages": [HumanMessage(QUERY, id="h1")]}, CONFIG)

    shown = model.calls[0].tool_names
    assert all(n.startswith("tool_") for n in shown)
    assert model.calls[0].human_texts != [QUERY] and out["messages"][0].content == QUERY
    assert sorted(name for name, _ in log) == ["check_availability", "search_places"]
    observations = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in observations] == shown[:2]
    assert all("null" in str(m.content) for m in observations)
    surfaces = {d.surface for d in shield.decisions("graph-1")}
    assert surfaces == {"tools", "query", "observation"}


def test_unknown_tool_names_fail_at_construction(shield_factory: ShieldFactory) -> None:
    tools = sample_agent_tools()
    with pytest.raises(ConfigError, match="nope"):
        shield_tool_wrappers(shield_factory([create("unsolvable_task", tool="nope")]), tools)
    shield = shield_factory([create("tool_error", when=tool_named("nope"))])
    with pytest.raises(ConfigError, match="nope"):
        shield_model(ScriptedChatModel(), shield).bind_tools(tools)


def test_wrappers_plug_into_a_plain_tool_node(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("observation_truncation", keep=0.5)])
    tools = sample_agent_tools()
    wrap, awrap = shield_tool_wrappers(shield, tools)
    node = ToolNode(tools, wrap_tool_call=wrap, awrap_tool_call=awrap)
    model = ScriptedChatModel(
        script=[ai(call("search_places", {"query": "cafe", "city": "Lyon"}, "c1")), "Done."]
    )
    out = build_graph(model.bind_tools(tools), node).invoke(
        {"messages": [HumanMessage(QUERY)]}, CONFIG
    )
    (observation,) = (m for m in out["messages"] if isinstance(m, ToolMessage))
    assert str(observation.content).endswith("… [truncated]")
    assert observation.name == "search_places"
    assert [d.surface for d in shield.decisions("graph-1")] == ["observation"]
