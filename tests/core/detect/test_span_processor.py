"""Detection without the wrapper: the span processor on an existing tracer provider, reading
our GenAI spans and OpenInference's."""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode

from agentshield import Shield, create
from agentshield.detect import DetectionSpanProcessor, Monitor, Profile
from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode
from agentshield.tracing import Recorder
from agentshield.tracing import semconv as sc
from agentshield.tracing.testing import record_trajectory


def _provider(profile: Profile) -> tuple[TracerProvider, Monitor]:
    monitor = Monitor(profile)
    provider = TracerProvider()
    provider.add_span_processor(DetectionSpanProcessor(monitor))
    return provider, monitor


def test_genai_spans_of_an_instrumented_agent(profile: Profile) -> None:
    provider, monitor = _provider(profile)
    recorder = Recorder(tracer_provider=provider, capture_content=True)
    tasks = generate_tasks("poi", "test", n=4, seed=5)
    for i, task in enumerate(tasks):
        shield = Shield([create("observation_noise")], seed=i) if i == 3 else None
        run = run_episode(
            make_environment(task.domain), task, OracleAgent(), shield=shield, run_id=f"r{i}"
        )
        record_trajectory(recorder, run)
    found = monitor.detections()
    assert {d.run_id for d in found} == {"r3"}
    assert {(d.detector, d.verdict) for d in found} == {("observation_drift", "unexpected_fields")}
    assert monitor.errors == 0


def test_without_content_only_order_errors_and_latency_count(profile: Profile) -> None:
    provider, monitor = _provider(profile)
    recorder = Recorder(tracer_provider=provider, capture_content=False)
    task = generate_tasks("poi", "test", n=1, seed=5)[0]
    shield = Shield([create("observation_format", format="csv")], seed=1)
    run = run_episode(make_environment(task.domain), task, OracleAgent(), shield=shield)
    record_trajectory(recorder, run)
    assert monitor.detections() == []  # the format change is invisible without content
    tracer = provider.get_tracer("other")
    for i in range(6):
        with tracer.start_as_current_span(
            "execute_tool search_places",
            attributes={
                sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                sc.GEN_AI_TOOL_NAME: "search_places",
                sc.GEN_AI_TOOL_CALL_ID: f"e{i}",
                sc.GEN_AI_CONVERSATION_ID: "conv-9",
            },
        ) as span:
            span.set_status(Status(StatusCode.ERROR, "upstream 503"))
    found = {(d.run_id, d.detector, d.verdict) for d in monitor.detections()}
    assert found == {
        ("conv-9", "error_rate", "error_rate_up"),  # the CUSUM, after a few errors
        ("conv-9", "error_kind", "new_error_kind"),  # the status message is the error text
        ("conv-9", "order_violation", "loop"),  # the same call again and again
    }


def test_openinference_spans(profile: Profile) -> None:
    provider, monitor = _provider(profile)
    tracer = provider.get_tracer("openinference.instrumentation.langchain")
    schema = {
        "type": "function",
        "function": {"name": "web_search", "parameters": {"type": "object", "properties": {}}},
    }
    with tracer.start_as_current_span("agent", attributes={sc.OI_SPAN_KIND: sc.OI_KIND_AGENT}):
        with tracer.start_as_current_span(
            "ChatOpenAI",
            attributes={
                sc.OI_SPAN_KIND: sc.OI_KIND_LLM,
                sc.OI_SESSION_ID: "sess-1",
                f"{sc.OI_LLM_INPUT_MESSAGES}.0.{sc.OI_MESSAGE_ROLE}": "user",
                f"{sc.OI_LLM_INPUT_MESSAGES}.0.{sc.OI_MESSAGE_CONTENT}": "What time is it?",
                f"{sc.OI_LLM_TOOLS}.0.{sc.OI_TOOL_JSON_SCHEMA}": json.dumps(schema),
            },
        ):
            pass
        with tracer.start_as_current_span(
            "search_places",
            attributes={
                sc.OI_SPAN_KIND: sc.OI_KIND_TOOL,
                sc.OI_SESSION_ID: "sess-1",
                sc.OI_TOOL_NAME: "search_places",
                sc.OI_INPUT_VALUE: json.dumps({"city": "Lyon"}),
                sc.OI_OUTPUT_VALUE: "<results><place>Cafe Luna</place></results>",
            },
        ):
            pass
    verdicts = {(d.detector, d.verdict) for d in monitor.detections("sess-1")}
    assert ("schema_drift", "tool_set_replaced") in verdicts
    assert ("observation_drift", "format_changed") in verdicts
    assert ("invalid_call", "unknown_tool") in verdicts  # search_places is not in its tool list
