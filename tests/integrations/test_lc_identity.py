"""With injection off, a shielded agent behaves exactly like the agent itself.

One scripted conversation — two parallel tool calls, a tool that interrupts (resumed with
``Command(resume=...)``), a third call and an answer — runs through ``create_agent`` and a
hand-built StateGraph + ToolNode, sync and async, bare and wrapped with an empty Shield and
with every registered perturbation set to ``when=never()``. Messages, tool calls, ids, names,
statuses, interrupts and what the model was shown must all be the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command

from agentshield import Shield
from agentshield_langchain import ShieldMiddleware, shield_model, shielded_tool_node
from agentshield_langchain.testing import ScriptedChatModel, Step, ai, call, transcript
from tests.integrations.helpers import build_graph, inert_shield, tools_with_interrupt

QUERY = "Find a cafe in Lyon and book a table for 2 people on 2026-12-03."


def script() -> list[Step]:
    return [
        ai(
            call("search_places", {"query": "cafe", "city": "Lyon"}, "c1"),
            call("check_availability", {"place_id": "p1", "date": "2026-12-03"}, "c2"),
        ),
        ai(call("ask_human", {"question": "Book for 2 people at 19:00?"}, "c3")),
        ai(call("book_table", {"place_id": "p1", "date": "2026-12-03", "people": 2}, "c4")),
        "Booked Cafe Luna for 2 on 2026-12-03; your code is BK-p1-2.",
    ]


Outcome = tuple[list[dict[str, Any]], list[Any], list[list[dict[str, Any]]], list[list[str]]]


def build(
    kind: str, shield: Shield | None, model: ScriptedChatModel, tools: list[BaseTool]
) -> CompiledStateGraph[Any]:
    if kind == "agent":
        middleware = [] if shield is None else [ShieldMiddleware(shield)]
        return create_agent(model, tools, middleware=middleware, checkpointer=InMemorySaver())
    bound = (model if shield is None else shield_model(model, shield)).bind_tools(tools)
    node = ToolNode(tools) if shield is None else shielded_tool_node(tools, shield)
    return build_graph(bound, node)


def outcome(model: ScriptedChatModel, state: dict[str, Any], interrupts: list[Any]) -> Outcome:
    return (
        transcript(state["messages"]),
        [i.value for i in interrupts],
        [transcript(c.messages) for c in model.calls],
        [c.tool_names for c in model.calls],
    )


def run_sync(graph: CompiledStateGraph[Any], model: ScriptedChatModel) -> Outcome:
    config: RunnableConfig = {"configurable": {"thread_id": "identity"}}
    first = graph.invoke({"messages": [HumanMessage(QUERY, id="h1")]}, config)
    assert "__interrupt__" in first
    final = graph.invoke(Command(resume="yes, 19:00"), config)
    return outcome(model, final, first["__interrupt__"])


async def run_async(graph: CompiledStateGraph[Any], model: ScriptedChatModel) -> Outcome:
    config: RunnableConfig = {"configurable": {"thread_id": "identity"}}
    first = await graph.ainvoke({"messages": [HumanMessage(QUERY, id="h1")]}, config)
    assert "__interrupt__" in first
    final = await graph.ainvoke(Command(resume="yes, 19:00"), config)
    return outcome(model, final, first["__interrupt__"])


SHIELDS = ["empty", "inert"]
KINDS = ["agent", "graph"]


def make_shield(which: str) -> Shield:
    return Shield() if which == "empty" else inert_shield()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", SHIELDS)
def test_injection_off_is_identity_sync(kind: str, which: str) -> None:
    bare_model = ScriptedChatModel(script=script())
    bare = run_sync(build(kind, None, bare_model, tools_with_interrupt()), bare_model)
    shield = make_shield(which)
    model = ScriptedChatModel(script=script())
    wrapped = run_sync(build(kind, shield, model, tools_with_interrupt()), model)

    assert wrapped == bare
    assert [m["type"] for m in bare[0]] == [
        "human",
        "ai",
        "tool",
        "tool",
        "ai",
        "tool",
        "ai",
        "tool",
        "ai",
    ]
    assert bare[1] == ["Book for 2 people at 19:00?"]
    assert shield.decisions() == []


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", SHIELDS)
async def test_injection_off_is_identity_async(kind: str, which: str) -> None:
    bare_model = ScriptedChatModel(script=script())
    bare = await run_async(build(kind, None, bare_model, tools_with_interrupt()), bare_model)
    shield = make_shield(which)
    model = ScriptedChatModel(script=script())
    wrapped = await run_async(build(kind, shield, model, tools_with_interrupt()), model)

    assert wrapped == bare
    assert bare[0][-1]["content"].startswith("Booked Cafe Luna")
    assert shield.decisions() == []
