"""Shared helpers of the integration tests: an interrupting tool, the inert catalogue and a
hand-built graph. (The scripted model and sample tools ship in
:mod:`agentshield_langchain.testing`.)"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import interrupt

from agentshield import Shield
from agentshield_langchain.testing import sample_agent_tools
from tests.core.catalogue import NAMES, build


@tool
def ask_human(question: str) -> str:
    """Ask the user a question and wait for the answer."""
    return str(interrupt(question))


def tools_with_interrupt(log: list[tuple[str, dict[str, Any]]] | None = None) -> list[BaseTool]:
    """The sample tools plus :func:`ask_human`."""
    return [*sample_agent_tools(log), ask_human]


def inert_shield(**kwargs: Any) -> Shield:
    """Every registered perturbation, each with ``when=never()``."""
    return Shield([build(name, when={"never": True}) for name in NAMES], **kwargs)


def build_graph(model: Runnable[Any, Any], tool_node: ToolNode) -> CompiledStateGraph[Any]:
    """The classic hand-built agent: model node, ToolNode, ``tools_condition``; with a
    checkpointer so interrupts can resume."""

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", RunnableLambda(agent, afunc=aagent))
    graph.add_node("tools", tool_node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition, ["tools", END])
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=InMemorySaver())
