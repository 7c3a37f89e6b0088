"""Every registered perturbation, with its default targeting, through a real ``create_agent``.

The scripted model calls every tool it is shown (in parallel, with plausible arguments) and
then answers, so every surface — tool view, user message, call, observation — is exercised.
The user's own error middleware turns injected faults into error observations, as it would
real ones. The run must complete, and the decision log must say what was done.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ToolCallRequest, ToolErrorMiddleware
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from agentshield import InjectedFault, Shield, registered
from agentshield.testing import FakeClock
from agentshield_langchain import ShieldMiddleware
from agentshield_langchain.testing import (
    ScriptedChatModel,
    call_every_tool,
    sample_agent_tools,
)
from tests.core.catalogue import build

QUERY = "Find a cafe in Lyon and book a table for 2 people on 2026-12-03."
NAMES = sorted(registered())


def on_error(exc: Exception, request: ToolCallRequest) -> str | None:
    # Injected faults become observations; anything else is a bug and fails the test.
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, InjectedFault) else None


def make_agent(name: str) -> tuple[Shield, ScriptedChatModel, CompiledStateGraph[Any]]:
    clock = FakeClock()
    shield = Shield([build(name)], seed=11, sleep=clock.sleep, asleep=clock.asleep)
    model = ScriptedChatModel(script=[call_every_tool, "Done."])
    agent = create_agent(
        model,
        sample_agent_tools(),
        middleware=[ToolErrorMiddleware(on_error=on_error), ShieldMiddleware(shield)],
    )
    return shield, model, agent


def check(name: str, shield: Shield, model: ScriptedChatModel, out: dict[str, Any]) -> None:
    messages = out["messages"]
    final = messages[-1]
    assert isinstance(final, AIMessage) and final.content == "Done."
    calls = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    assert calls and answered == {c["id"] for c in calls}
    assert len(model.calls) == 2
    assert messages[0].content == QUERY  # query shifts never touch the caller's state
    decisions = shield.decisions(name)
    assert decisions, f"{name} did nothing on a run that exercised every surface"
    assert {d.perturbation for d in decisions} == {name}


@pytest.mark.parametrize("name", NAMES)
def test_each_perturbation_runs_through_a_real_agent(name: str) -> None:
    shield, model, agent = make_agent(name)
    config: RunnableConfig = {"configurable": {"thread_id": name}}
    out = agent.invoke({"messages": [HumanMessage(QUERY)]}, config)
    check(name, shield, model, out)


@pytest.mark.asyncio
@pytest.mark.parametrize("name", NAMES)
async def test_each_perturbation_runs_through_a_real_agent_async(name: str) -> None:
    shield, model, agent = make_agent(name)
    config: RunnableConfig = {"configurable": {"thread_id": name}}
    out = await agent.ainvoke({"messages": [HumanMessage(QUERY)]}, config)
    check(name, shield, model, out)
    # The same seed and run id replay the same decisions, sync or async (parallel calls
    # may log in either order).
    sync_shield, _, sync_agent = make_agent(name)
    sync_agent.invoke({"messages": [HumanMessage(QUERY)]}, config)
    assert sorted(map(repr, sync_shield.decisions(name))) == sorted(
        map(repr, shield.decisions(name))
    )
