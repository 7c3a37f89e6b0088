"""Shift detection in production: a real ``create_agent`` agent behind ``ShieldMiddleware``
with injection off and a detection monitor on. The baseline is learned from the agent's own
traces; then the order service's real implementation starts answering in another format
mid-run, and exactly that is reported — on the call where it happened, as a span event, in
the Shield's log and through the callback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool

from agentshield import Shield
from agentshield.detect import Detection, Monitor, Profile
from agentshield.tracing import Recorder, setup_tracing
from agentshield.tracing import semconv as sc
from agentshield.tracing.testing import SpanCapture
from agentshield_langchain import ShieldMiddleware
from agentshield_langchain.testing import ScriptedChatModel, ai, call


class OrderService:
    """The real tool behind ``get_order_status``; after ``flip_after`` calls its new
    version answers in ``key: value`` text instead of JSON (a real API change)."""

    def __init__(self, flip_after: int | None = None) -> None:
        self.calls = 0
        self.flip_after = flip_after

    def tool(self) -> BaseTool:
        def get_order_status(order_id: str) -> str:
            """Look up an order: its status and the days until delivery."""
            self.calls += 1
            data = {"order_id": order_id, "status": "shipped", "eta_days": 2}
            if self.flip_after is not None and self.calls > self.flip_after:
                return "\n".join(f"{k}: {v}" for k, v in data.items())
            return json.dumps(data)

        return StructuredTool.from_function(get_order_status)


def _run(middleware: ShieldMiddleware, service: OrderService, i: int) -> list[Any]:
    first, second = f"ORD-{1000 + i}", f"ORD-{2000 + i}"
    model = ScriptedChatModel(
        script=[
            ai(call("get_order_status", {"order_id": first}, f"a{i}")),
            ai(call("get_order_status", {"order_id": second}, f"b{i}")),
            f"Orders {first} and {second} have shipped; both arrive in 2 days.",
        ]
    )
    agent = create_agent(model, [service.tool()], middleware=[middleware])
    config: RunnableConfig = {"configurable": {"thread_id": f"run-{i}"}}
    query = HumanMessage(f"Where are my orders {first} and {second}?")
    out = agent.invoke({"messages": [query]}, config)
    return list(out["messages"])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    """The agent's normal traffic, traced (content on), learned as a profile."""
    store: Path = tmp_path_factory.mktemp("traces")
    with setup_tracing(store=store, capture_content=True) as handle:
        middleware = ShieldMiddleware(Shield(), recorder=handle.recorder, agent_name="orders")
        service = OrderService()
        for i in range(25):
            _run(middleware, service, i)
    return Profile.from_traces(store)


def test_a_format_change_mid_run_raises_exactly_that_detection(baseline: Profile) -> None:
    capture = SpanCapture()
    recorder = Recorder(tracer_provider=capture.provider)
    seen: list[Detection] = []
    monitor = Monitor(baseline, recorder=recorder, on_detection=seen.append)
    shield = Shield(detectors=monitor)  # production: no perturbation at all
    middleware = ShieldMiddleware(shield, recorder=recorder, agent_name="orders")

    _run(middleware, OrderService(), 100)  # the familiar world: nothing to report
    assert shield.detections() == []

    messages = _run(middleware, OrderService(flip_after=1), 101)
    assert messages[-1].content.startswith("Orders ORD-1101")  # the agent itself carried on
    (found,) = shield.detections()
    assert (found.run_id, found.key) == ("run-101", "2:0")  # the second call, not the first
    assert (found.detector, found.tier, found.verdict) == ("observation_drift", 2, "format_changed")
    assert found.detail == {"tool": "get_order_status", "format": "text", "was": ["object"]}
    assert seen == [found]
    assert monitor.errors == 0
    (span,) = [
        s
        for s in capture.by_operation(sc.OP_EXECUTE_TOOL)
        if (s.attributes or {}).get(sc.GEN_AI_TOOL_CALL_ID) == "b101"
    ]
    (event,) = [e for e in span.events if e.name == sc.AS_DETECTION_EVENT]
    assert (event.attributes or {})[sc.AS_DETECTOR_VERDICT] == "format_changed"


def test_a_fabricated_final_answer_is_reported(baseline: Profile) -> None:
    shield = Shield(detectors=Monitor(baseline))
    model = ScriptedChatModel(
        script=[
            ai(call("get_order_status", {"order_id": "ORD-7"}, "x1")),
            "Your refund RF-88213 has been issued.",
        ]
    )
    agent = create_agent(model, [OrderService().tool()], middleware=[ShieldMiddleware(shield)])
    agent.invoke(
        {"messages": [HumanMessage("Where are my orders ORD-7 and ORD-8?")]},
        {"configurable": {"thread_id": "fab"}},
    )
    assert [(d.detector, d.detail) for d in shield.detections("fab")] == [
        ("ungrounded_answer", {"cited": ["RF-88213"]})
    ]
