"""Spans of real LangGraph agent runs through the adapters' ``recorder=`` (in-memory exporter)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import ToolRetryMiddleware
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphBubbleUp
from opentelemetry.sdk.trace import ReadableSpan

from agentshield import Shield, create
from agentshield.tracing import Recorder, read_trajectories, setup_tracing
from agentshield.tracing import semconv as sc
from agentshield.tracing.testing import SpanCapture, content_recorder, recorder, span_capture
from agentshield_langchain import ShieldMiddleware, shield_model, shielded_tool_node
from agentshield_langchain.testing import ScriptedChatModel, Step, ai, call, sample_agent_tools
from tests.integrations.conftest import ShieldFactory
from tests.integrations.helpers import build_graph

__all__ = ["content_recorder", "recorder", "span_capture"]  # pytest fixtures

QUERY = "Find a cafe in Lyon and book a table for 2 people on 2026-12-03."
CONFIG: RunnableConfig = {"configurable": {"thread_id": "run-1"}}


def script() -> list[Step]:
    return [
        ai(
            call("search_places", {"query": "cafe", "city": "Lyon"}, "c1"),
            call("check_availability", {"place_id": "p1", "date": "2026-12-03"}, "c2"),
        ),
        "Done.",
    ]


def run(
    shield: Shield, rec: Recorder, steps: list[Step], *, outer: Any = (), aio: bool = False
) -> Any:
    model = ScriptedChatModel(script=steps)
    agent = create_agent(
        model,
        sample_agent_tools(),
        middleware=[*outer, ShieldMiddleware(shield, recorder=rec, agent_name="booker")],
    )
    inputs: Any = {"messages": [HumanMessage(QUERY, id="h1")]}
    if aio:
        return asyncio.run(agent.ainvoke(inputs, CONFIG))
    return agent.invoke(inputs, CONFIG)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def check_tree(capture: SpanCapture) -> tuple[ReadableSpan, list[ReadableSpan], list[ReadableSpan]]:
    (root,) = capture.by_operation(sc.OP_INVOKE_AGENT)
    assert root.parent is None and root.name == "invoke_agent booker"
    assert attrs(root)[sc.AS_RUN_ID] == "run-1"
    chats = capture.by_operation(sc.OP_CHAT)
    tools = capture.by_operation(sc.OP_EXECUTE_TOOL)
    root_id = root.get_span_context().span_id  # type: ignore[union-attr]
    for span in [*chats, *tools]:
        assert span.parent is not None and span.parent.span_id == root_id
        assert span.context.trace_id == root.context.trace_id
    assert len(capture.spans()) == 1 + len(chats) + len(tools)
    return root, chats, tools


def test_sync_run_span_tree_and_attributes(
    shield_factory: ShieldFactory, span_capture: SpanCapture, recorder: Recorder
) -> None:
    run(Shield(), recorder, script())
    _, chats, tools = check_tree(span_capture)
    assert [attrs(c)[sc.GEN_AI_REQUEST_MODEL] for c in chats] == ["ScriptedChatModel"] * 2
    assert attrs(chats[0])[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert attrs(chats[1])[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert "search_places" in attrs(chats[0])[sc.AS_TOOL_NAMES]
    # Parallel calls of one AIMessage: both traced under the run.
    by_id = {attrs(t)[sc.GEN_AI_TOOL_CALL_ID]: attrs(t) for t in tools}
    assert set(by_id) == {"c1", "c2"}
    assert by_id["c1"][sc.GEN_AI_TOOL_NAME] == "search_places"
    assert by_id["c1"][sc.AS_TOOL_REAL_NAME] == "search_places"
    assert by_id["c2"][sc.GEN_AI_OPERATION_NAME] == sc.OP_EXECUTE_TOOL
    # Capture off: no content anywhere.
    for span in span_capture.spans():
        assert not {sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_TOOL_CALL_ARGUMENTS} & set(attrs(span))
    assert recorder.errors == 0


def test_async_run_span_tree(span_capture: SpanCapture, content_recorder: Recorder) -> None:
    run(Shield(), content_recorder, script(), aio=True)
    _, chats, tools = check_tree(span_capture)
    assert len(chats) == 2 and len(tools) == 2
    assert "cafe" in attrs(chats[0])[sc.GEN_AI_INPUT_MESSAGES]
    assert all(sc.GEN_AI_TOOL_CALL_RESULT in attrs(t) for t in tools)
    assert content_recorder.errors == 0


def test_perturbed_run_shows_shown_and_real_names(
    shield_factory: ShieldFactory, span_capture: SpanCapture, recorder: Recorder
) -> None:
    shield = shield_factory([create("tool_rename_noise")])

    def renamed_call(model_call: Any) -> Any:
        return ai(call(model_call.tool_names[0], {"query": "cafe", "city": "Lyon"}, "c1"))

    run(shield, recorder, [renamed_call, "Done."])
    _, chats, (tool,) = check_tree(span_capture)
    a = attrs(tool)
    assert a[sc.AS_TOOL_SHOWN_NAME] == a[sc.GEN_AI_TOOL_NAME] != a[sc.AS_TOOL_REAL_NAME]
    assert a[sc.AS_TOOL_REAL_NAME] in {t.name for t in sample_agent_tools()}
    assert a[sc.GEN_AI_TOOL_NAME] in attrs(chats[0])[sc.AS_TOOL_NAMES]
    (root,) = span_capture.by_operation(sc.OP_INVOKE_AGENT)
    assert "tool_rename_noise" in attrs(root)[sc.AS_PERTURBATION_NAME]
    assert any(e.name == sc.AS_PERTURBATION_EVENT for e in root.events)


def test_injected_error_is_marked_on_the_tool_span(
    shield_factory: ShieldFactory, span_capture: SpanCapture, recorder: Recorder
) -> None:
    shield = shield_factory([create("tool_error", mode="raise")])
    retry = ToolRetryMiddleware(max_retries=2, initial_delay=0.0, jitter=False)
    steps: list[Step] = [
        ai(call("search_places", {"query": "cafe", "city": "Lyon"}, "c1")),
        "Done.",
    ]
    run(shield, recorder, steps, outer=[retry])
    _, _, tools = check_tree(span_capture)
    assert len(tools) == 2  # the injected failure, then the retry that succeeded
    failed, ok = sorted(tools, key=lambda s: s.start_time or 0)
    assert attrs(failed)[sc.AS_INJECTED] is True
    assert attrs(failed)[sc.AS_INJECTED_BY] == "tool_error"
    assert not failed.status.is_ok
    assert sc.AS_INJECTED not in attrs(ok)
    assert any(e.name == sc.AS_PERTURBATION_EVENT for e in failed.events)


def test_hand_built_graph_shows_chat_and_tool_spans(
    span_capture: SpanCapture, recorder: Recorder
) -> None:
    tools = sample_agent_tools()
    shield = Shield()
    model = shield_model(ScriptedChatModel(script=script()), shield, recorder=recorder)
    graph = build_graph(
        model.bind_tools(tools), shielded_tool_node(tools, shield, recorder=recorder)
    )
    with recorder.agent_run("run-1", agent_name="booker"):
        graph.invoke({"messages": [HumanMessage(QUERY, id="h1")]}, CONFIG)
    _, chats, tools_spans = check_tree(span_capture)
    assert len(chats) == 2 and len(tools_spans) == 2


def test_traces_read_back_as_a_trajectory(shield_factory: ShieldFactory, tmp_path: Path) -> None:
    handle = setup_tracing(store=tmp_path, capture_content=True, control_flow=(GraphBubbleUp,))
    shield = shield_factory([create("tool_rename_noise")])
    try:
        steps: list[Step] = [
            lambda c: ai(call(c.tool_names[0], {"query": "cafe", "city": "Lyon"}, "c1")),
            "Done.",
        ]
        run(shield, handle.recorder, steps)
    finally:
        handle.shutdown()
    (trajectory,), _report = read_trajectories(tmp_path)
    assert trajectory.run_id == "run-1"
    assert trajectory.tools
    calls = [c for m in trajectory.messages for c in m.tool_calls]
    assert [c.id for c in calls] == ["c1"]
    observations = [m for m in trajectory.messages if m.role == "tool"]
    assert len(observations) == 1 and observations[0].tool_call_id == "c1"
    assert "tool_rename_noise" in [p.name for p in trajectory.perturbations]
