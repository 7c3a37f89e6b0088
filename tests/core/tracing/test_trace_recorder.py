"""The spans the Recorder emits: tree, attributes, provenance, nesting, and never raising."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from agentshield import Outcome, Shield, tool_named
from agentshield.effects import Result
from agentshield.testing import sample_tool_impls, sample_trajectory
from agentshield.tracing import Recorder
from agentshield.tracing import semconv as sc
from agentshield.tracing.testing import SpanCapture, record_trajectory

CONTENT_KEYS = {
    sc.GEN_AI_INPUT_MESSAGES,
    sc.GEN_AI_OUTPUT_MESSAGES,
    sc.GEN_AI_TOOL_DEFINITIONS,
    sc.GEN_AI_TOOL_CALL_ARGUMENTS,
    sc.GEN_AI_TOOL_CALL_RESULT,
    sc.AS_OUTCOME_ANSWER,
}


def execute(name: str, args: Mapping[str, Any]) -> Result:
    return Result(json.dumps(sample_tool_impls()[name](**args)))


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def root_of(capture: SpanCapture) -> ReadableSpan:
    (root,) = capture.by_operation(sc.OP_INVOKE_AGENT)
    return root


def test_clean_run_span_tree(span_capture: SpanCapture, recorder: Recorder) -> None:
    record_trajectory(recorder, sample_trajectory(), agent_name="booker", model="m-1")
    root = root_of(span_capture)
    assert root.name == "invoke_agent booker" and root.parent is None
    kids = span_capture.children(root)
    assert [s.name for s in kids] == [
        "chat m-1",
        "execute_tool search_places",
        "chat m-1",
        "execute_tool check_availability",
        "chat m-1",
        "execute_tool book_table",
        "chat m-1",
    ]
    assert len(span_capture.spans()) == 8
    a = attrs(root)
    assert a[sc.GEN_AI_AGENT_NAME] == "booker" and a[sc.AS_TASK_ID] == "sample"
    assert a[sc.AS_OUTCOME] == "success" and a[sc.AS_CAPTURE_CONTENT] is False
    for span in span_capture.spans():
        assert attrs(span)[sc.AS_RUN_ID] == "run-1"
        assert not CONTENT_KEYS & set(attrs(span)), f"content on {span.name} with capture off"
    chat = kids[0]
    assert chat.kind is SpanKind.CLIENT
    assert attrs(chat)[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs(chat)[sc.GEN_AI_REQUEST_MODEL] == "m-1"
    assert attrs(chat)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert attrs(chat)[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert attrs(chat)[sc.AS_TOOL_NAMES] == ("search_places", "check_availability", "book_table")
    tool = attrs(kids[1])
    assert tool[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert (tool[sc.GEN_AI_TOOL_NAME], tool[sc.GEN_AI_TOOL_CALL_ID]) == ("search_places", "c1")
    assert tool[sc.AS_TOOL_REAL_NAME] == "search_places"


def test_content_attributes(span_capture: SpanCapture, content_recorder: Recorder) -> None:
    record_trajectory(content_recorder, sample_trajectory())
    chats = span_capture.by_operation(sc.OP_CHAT)
    last = attrs(chats[-1])
    inputs = json.loads(last[sc.GEN_AI_INPUT_MESSAGES])
    assert [m["role"] for m in inputs][:3] == ["system", "user", "assistant"]
    call_part = inputs[2]["parts"][0]
    assert call_part == {
        "type": "tool_call",
        "id": "c1",
        "name": "search_places",
        "arguments": {"query": "cafe", "city": "Lyon"},
    }
    assert inputs[3]["parts"][0]["type"] == "tool_call_response"
    outputs = json.loads(last[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["finish_reason"] == "stop"
    tools = json.loads(last[sc.GEN_AI_TOOL_DEFINITIONS])
    assert tools[0]["name"] == "search_places" and "properties" in tools[0]["parameters"]
    tool = attrs(span_capture.by_operation(sc.OP_EXECUTE_TOOL)[0])
    assert json.loads(tool[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"query": "cafe", "city": "Lyon"}
    assert "Cafe Luna" in tool[sc.GEN_AI_TOOL_CALL_RESULT]
    assert attrs(root_of(span_capture))[sc.AS_OUTCOME_ANSWER].startswith("Booked")


def test_perturbed_run_with_injected_error(
    span_capture: SpanCapture, content_recorder: Recorder
) -> None:
    shield = Shield(
        [
            {"name": "tool_rename_noise"},
            {"name": "tool_error", "mode": "raise", "when": tool_named("book_table")},
        ],
        seed=7,
    )
    seen = record_trajectory(content_recorder, sample_trajectory(), shield=shield, execute=execute)
    tools = span_capture.by_operation(sc.OP_EXECUTE_TOOL)
    for span in tools:
        a = attrs(span)
        assert a[sc.AS_TOOL_SHOWN_NAME].startswith("tool_")
        assert a[sc.AS_TOOL_REAL_NAME] in ("search_places", "check_availability", "book_table")
        assert span.name == f"execute_tool {a[sc.AS_TOOL_SHOWN_NAME]}"
    failed = [s for s in tools if s.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1
    a = attrs(failed[0])
    assert a[sc.AS_TOOL_REAL_NAME] == "book_table"
    assert a[sc.ERROR_TYPE] == "InjectedToolError"
    assert a[sc.AS_INJECTED] is True and a[sc.AS_INJECTED_BY] == "tool_error"
    assert a[sc.AS_PERTURBATION_NAME] == ("tool_error",)
    assert a[sc.AS_PERTURBATION_TIER] == (2,)
    assert json.loads(a[sc.AS_PERTURBATION_PARAMS][0])["mode"] == "raise"
    assert int(a[sc.AS_PERTURBATION_SEED][0]) == shield.seed_of(shield.perturbations[1])
    (event,) = failed[0].events
    assert event.name == sc.AS_PERTURBATION_EVENT
    assert (event.attributes or {})[sc.AS_DECISION_ACTION] == "raise"
    root = attrs(root_of(span_capture))
    assert root[sc.AS_PERTURBATION_NAME] == ("tool_rename_noise", "tool_error")
    assert len(root_of(span_capture).events) == len(shield.decisions("run-1"))
    assert seen[-2].is_error and "transient backend error" in seen[-2].content


def test_answered_error_is_marked(span_capture: SpanCapture, recorder: Recorder) -> None:
    fault = {"name": "tool_error", "mode": "observe", "when": tool_named("search_places")}
    shield = Shield([fault])
    record_trajectory(recorder, sample_trajectory(), shield=shield, execute=execute)
    first = span_capture.by_operation(sc.OP_EXECUTE_TOOL)[0]
    assert first.status.status_code is StatusCode.ERROR
    assert attrs(first)[sc.AS_TOOL_IS_ERROR] is True
    assert attrs(first)[sc.ERROR_TYPE] == "tool_error"


def test_parallel_tool_calls_in_threads_nest_under_the_run(
    span_capture: SpanCapture, recorder: Recorder
) -> None:
    def call(i: int) -> None:
        with recorder.tool_call("r", call_id=f"c{i}", shown_name="t", args={"i": i}) as tool:
            tool.set_result("ok")

    with recorder.agent_run("r", agent_name="a"), ThreadPoolExecutor(4) as pool:
        list(pool.map(call, range(8)))  # plain threads: no context propagation
        ctx = contextvars.copy_context()
        pool.submit(ctx.run, call, 99).result()  # LangChain's executor copies the context
    root = root_of(span_capture)
    kids = span_capture.children(root)
    assert sorted(attrs(s)[sc.GEN_AI_TOOL_CALL_ID] for s in kids) == sorted(
        [f"c{i}" for i in range(8)] + ["c99"]
    )
    assert trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.asyncio
async def test_async_parallel_tool_calls(span_capture: SpanCapture, recorder: Recorder) -> None:
    async def call(i: int) -> str:
        with recorder.tool_call("r", call_id=f"c{i}", shown_name="t", args={}) as tool:
            await asyncio.sleep(0.001 * (3 - i))
            tool.set_result(f"r{i}")
            return f"r{i}"

    with recorder.agent_run("r", agent_name="a"):
        with recorder.chat("r", model="m", messages=[{"role": "user", "content": "hi"}]) as chat:
            await asyncio.sleep(0)
            chat.set_output([{"role": "assistant", "content": ""}])
        assert await asyncio.gather(*(call(i) for i in range(3))) == ["r0", "r1", "r2"]
    root = root_of(span_capture)
    kids = span_capture.children(root)
    assert [s.name for s in kids] == ["chat m"] + ["execute_tool t"] * 3
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_nests_under_other_instrumentations(span_capture: SpanCapture, recorder: Recorder) -> None:
    tracer = span_capture.provider.get_tracer("openinference.instrumentation.langchain")
    with (
        tracer.start_as_current_span("LangGraph") as outer,
        recorder.agent_run("r", agent_name="a"),
        tracer.start_as_current_span("tools"),
        recorder.tool_call("r", call_id="c", shown_name="t"),
    ):
        pass
    root = root_of(span_capture)
    assert root.parent is not None and root.parent.span_id == outer.get_span_context().span_id
    (tool,) = span_capture.by_operation(sc.OP_EXECUTE_TOOL)
    (inner,) = [s for s in span_capture.spans() if s.name == "tools"]
    assert tool.parent is not None and inner.context is not None
    assert tool.parent.span_id == inner.context.span_id


class Interrupt(Exception):
    """Stands in for LangGraph's GraphBubbleUp."""


def test_exceptions_pass_through(span_capture: SpanCapture) -> None:
    rec = Recorder(
        tracer_provider=span_capture.provider, capture_content=False, control_flow=(Interrupt,)
    )
    with pytest.raises(Interrupt), rec.agent_run("r", agent_name="a"):
        raise Interrupt("pause")
    with (
        pytest.raises(ValueError, match="secret arg"),
        rec.tool_call("r", call_id="c", shown_name="t"),
    ):
        raise ValueError("secret arg")
    run, tool = root_of(span_capture), span_capture.by_operation(sc.OP_EXECUTE_TOOL)[0]
    assert run.status.status_code is StatusCode.UNSET
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "ValueError"  # no message: capture is off
    assert attrs(tool)[sc.ERROR_TYPE] == "ValueError"


class BrokenTracer:
    def start_span(self, *args: object, **kwargs: object) -> None:
        raise RuntimeError("tracing backend is broken")


class BrokenProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return BrokenTracer()


def test_internal_errors_are_counted_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(tracer_provider=BrokenProvider(), capture_content=True)
    with rec.agent_run("r", agent_name="a") as run, rec.chat("r", model="m", messages=[]) as chat:
        chat.set_output([{"role": "assistant"}])
        run.set_outcome(Outcome("success"))
        assert chat.recording is False
    assert rec.errors == 2
    assert "tracing backend is broken" in caplog.text


def test_handle_errors_are_counted(span_capture: SpanCapture, content_recorder: Recorder) -> None:
    with content_recorder.chat("r", model="m", messages=[]) as chat:
        chat.set_output([{"role": "wizard", "content": "x"}])  # not a chat role
    assert content_recorder.errors == 1
    assert len(span_capture.spans()) == 1


def test_no_provider_configured_is_a_cheap_no_op() -> None:
    rec = Recorder(capture_content=True)  # the global provider: a no-op unless set up
    with (
        rec.agent_run("r", agent_name="a") as run,
        rec.tool_call("r", call_id="c", shown_name="t", args={"a": 1}) as tool,
    ):
        tool.set_result("x")
        assert run.recording is False
    assert rec.errors == 0


def test_detections_and_late_outcomes(span_capture: SpanCapture, recorder: Recorder) -> None:
    with recorder.agent_run("r", agent_name="a"):
        with recorder.tool_call("r", call_id="c", shown_name="t"):
            recorder.record_detection(
                "r",
                detector="error_rate",
                verdict="shift",
                tier=2,
                score=0.9,
                detail={"window": 20},
            )
        recorder.record_detection("r", detector="schema", verdict="ok")
        recorder.set_outcome("r", Outcome("failure"))
    recorder.set_outcome("r", Outcome("success"))  # the run is over: ignored
    tool, root = span_capture.by_operation(sc.OP_EXECUTE_TOOL)[0], root_of(span_capture)
    (event,) = tool.events
    assert event.name == sc.AS_DETECTION_EVENT
    assert (event.attributes or {})[sc.AS_DETECTOR_SCORE] == 0.9
    assert [e.name for e in root.events] == [sc.AS_DETECTION_EVENT]
    assert attrs(root)[sc.AS_OUTCOME] == "failure"
    assert recorder.errors == 0
