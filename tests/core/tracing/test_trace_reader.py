"""The reader: Collector-format files, other GenAI instrumentations, and malformed input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from agentshield.testing import sample_tools, sample_trajectory
from agentshield.tracing import Recorder, read_runs, read_spans, read_trajectories
from agentshield.tracing import semconv as sc
from agentshield.tracing.otlp import encode_any_value
from agentshield.tracing.reader import group_runs
from agentshield.tracing.records import decode_any_value, decode_request
from agentshield.tracing.testing import SpanCapture, record_trajectory
from agentshield.trajectory import Message, ToolCall

T1, T2 = "5b8efff798038103d269b633813fc60c", "0af7651916cd43dd8448eb211c80319c"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def value(v: Any) -> dict[str, Any]:
    return encode_any_value(v)


def span(
    trace: str,
    sid: str,
    parent: str | None,
    name: str,
    start: int,
    attrs: dict[str, Any],
    *,
    kind: int = 1,
    events: list[dict[str, Any]] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One span exactly as the Collector's file exporter writes it."""
    out: dict[str, Any] = {"traceId": trace, "spanId": sid}
    if parent:
        out["parentSpanId"] = parent
    out.update(
        {
            "flags": 256,
            "name": name,
            "kind": kind,
            "startTimeUnixNano": str(1_700_000_000_000_000_000 + start * 1_000_000),
            "endTimeUnixNano": str(1_700_000_000_000_000_000 + start * 1_000_000 + 500_000),
            "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
        }
    )
    if events:
        out["events"] = events
    out["status"] = status or {}
    return out


def line(spans: list[dict[str, Any]], service: str, scope: str) -> str:
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [{"scope": {"name": scope, "version": "0.52b0"}, "spans": spans}],
                "schemaUrl": "https://opentelemetry.io/schemas/1.28.0",
            }
        ]
    }
    return json.dumps(doc, separators=(",", ":")) + "\n"


def genai_run() -> list[dict[str, Any]]:
    """A run traced by OTel GenAI instrumentations (not ours), in two batches."""
    first_in = [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
    first_out = [
        {
            "role": "assistant",
            "finish_reason": "tool_calls",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
        }
    ]
    second_in = [
        *first_in,
        first_out[0],
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "18C, cloudy"}],
        },
    ]
    second_out = [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [{"type": "text", "content": "It is 18C and cloudy."}],
        }
    ]
    system = json.dumps([{"type": "text", "content": "Be brief."}])
    details = {
        "name": sc.GEN_AI_OPERATION_DETAILS_EVENT,
        "timeUnixNano": "1700000000030000000",
        "attributes": [
            {"key": sc.GEN_AI_SYSTEM_INSTRUCTIONS, "value": value(system)},
            {"key": sc.GEN_AI_INPUT_MESSAGES, "value": value(json.dumps(second_in))},
            {"key": sc.GEN_AI_OUTPUT_MESSAGES, "value": value(json.dumps(second_out))},
        ],
    }
    return [
        span(
            T1,
            "a000000000000001",
            None,
            "invoke_agent weather-bot",
            0,
            {sc.GEN_AI_OPERATION_NAME: "invoke_agent", sc.GEN_AI_AGENT_NAME: "weather-bot"},
        ),
        span(
            T1,
            "a000000000000002",
            "a000000000000001",
            "chat gpt-4o",
            10,
            {
                sc.GEN_AI_OPERATION_NAME: "chat",
                sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
                sc.GEN_AI_SYSTEM_INSTRUCTIONS: system,
                sc.GEN_AI_INPUT_MESSAGES: json.dumps(first_in),
                sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(first_out),
                sc.GEN_AI_TOOL_DEFINITIONS: json.dumps([WEATHER]),
                sc.GEN_AI_USAGE_INPUT_TOKENS: 50,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 9,
            },
            kind=3,
        ),
        span(
            T1,
            "a000000000000003",
            "a000000000000001",
            "execute_tool get_weather",
            20,
            {
                sc.GEN_AI_OPERATION_NAME: "execute_tool",
                sc.GEN_AI_TOOL_NAME: "get_weather",
                sc.GEN_AI_TOOL_CALL_ID: "call_1",
                sc.GEN_AI_TOOL_CALL_ARGUMENTS: '{"city": "Paris"}',
                sc.GEN_AI_TOOL_CALL_RESULT: "18C, cloudy",
            },
        ),
        span(
            T1,
            "a000000000000004",
            "a000000000000001",
            "chat gpt-4o",
            30,
            {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "gpt-4o"},
            kind=3,
            events=[details],
        ),
    ]


def openinference_run() -> list[dict[str, Any]]:
    """A LangGraph run traced by OpenInference's LangChain instrumentor."""

    def msg(
        prefix: str, i: int, role: str, content: str | None = None, **extra: str
    ) -> dict[str, Any]:
        out: dict[str, Any] = {f"{prefix}.{i}.message.role": role}
        if content is not None:
            out[f"{prefix}.{i}.message.content"] = content
        out.update({f"{prefix}.{i}.message.{k}": v for k, v in extra.items()})
        return out

    call = {
        "tool_calls.0.tool_call.id": "call_9",
        "tool_calls.0.tool_call.function.name": "get_weather",
        "tool_calls.0.tool_call.function.arguments": '{"city": "Oslo"}',
    }
    tools = {
        "llm.tools.0.tool.json_schema": json.dumps(
            {"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}
        )
    }
    llm1 = {
        sc.OI_SPAN_KIND: "LLM",
        sc.OI_LLM_MODEL_NAME: "gpt-4o-mini",
        **tools,
        **msg("llm.input_messages", 0, "system", "Be brief."),
        **msg("llm.input_messages", 1, "user", "Weather in Oslo?"),
        **msg("llm.output_messages", 0, "assistant", **call),
        sc.OI_LLM_PROMPT_TOKENS: 40,
        sc.OI_LLM_COMPLETION_TOKENS: 7,
    }
    llm2 = {
        sc.OI_SPAN_KIND: "LLM",
        sc.OI_LLM_MODEL_NAME: "gpt-4o-mini",
        **tools,
        **msg("llm.input_messages", 0, "system", "Be brief."),
        **msg("llm.input_messages", 1, "user", "Weather in Oslo?"),
        **msg("llm.input_messages", 2, "assistant", **call),
        **msg("llm.input_messages", 3, "tool", "-2C, snow", tool_call_id="call_9"),
        **msg("llm.output_messages", 0, "assistant", "It is -2C with snow."),
    }
    tool = {
        sc.OI_SPAN_KIND: "TOOL",
        sc.OI_TOOL_NAME: "get_weather",
        sc.OI_INPUT_VALUE: '{"city": "Oslo"}',
        sc.OI_OUTPUT_VALUE: "-2C, snow",
    }
    chain = {sc.OI_SPAN_KIND: "CHAIN", sc.OI_INPUT_VALUE: '{"messages": ["Weather in Oslo?"]}'}
    return [
        span(T2, "b000000000000001", None, "LangGraph", 0, chain),
        span(T2, "b000000000000002", "b000000000000001", "agent", 1, chain),
        span(T2, "b000000000000003", "b000000000000002", "ChatOpenAI", 2, llm1),
        span(T2, "b000000000000004", "b000000000000001", "tools", 5, chain),
        span(T2, "b000000000000005", "b000000000000004", "get_weather", 6, tool),
        span(T2, "b000000000000006", "b000000000000001", "ChatOpenAI", 9, llm2),
    ]


def write_collector_files(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    g, o = genai_run(), openinference_run()
    # The Collector batches by time: a run's spans can be spread over lines and files.
    (folder / "otel-2025-01-01.json").write_text(
        line(g[:2], "weather", "opentelemetry.instrumentation.openai_v2")
        + line(o, "graph", "openinference.instrumentation.langchain")
    )
    (folder / "otel-2025-01-02.json").write_text(
        line(g[2:], "weather", "opentelemetry.instrumentation.openai_v2")
    )


def expected(city: str, answer: str, result: str, call_id: str) -> list[Message]:
    return [
        Message("system", "Be brief."),
        Message("user", f"Weather in {city}?"),
        Message("assistant", "", tool_calls=(ToolCall(call_id, "get_weather", {"city": city}),)),
        Message("tool", result, tool_call_id=call_id, name="get_weather"),
        Message("assistant", answer),
    ]


def test_collector_files_from_other_instrumentations(tmp_path: Path) -> None:
    write_collector_files(tmp_path)
    runs, report = read_runs(tmp_path)
    assert not report.problems and report.files == 2 and report.spans == 10
    by_dialect = {r.dialect: r for r in runs}
    genai, oi = by_dialect["genai"], by_dialect["openinference"]
    assert genai.run_id == T1 and oi.run_id == T2
    assert list(genai.trajectory.messages) == expected(
        "Paris", "It is 18C and cloudy.", "18C, cloudy", "call_1"
    )
    assert list(oi.trajectory.messages) == expected(
        "Oslo", "It is -2C with snow.", "-2C, snow", "call_9"
    )
    for run in (genai, oi):
        (tool,) = run.trajectory.tools
        assert tool.name == "get_weather" and tool.required == ["city"]
    assert genai.trajectory.metadata["agent"] == "weather-bot"
    assert genai.trajectory.metadata["input_tokens"] == 50
    assert oi.trajectory.metadata["models"] == ["gpt-4o-mini"]
    assert oi.trajectory.metadata["input_tokens"] == 40
    assert oi.root is not None and oi.root.name == "LangGraph"


def test_our_store_round_trips(tmp_path: Path) -> None:
    from agentshield.tracing import setup_tracing

    original = sample_trajectory()
    with setup_tracing(store=tmp_path, capture_content=True) as handle:
        record_trajectory(handle.recorder, original)
    (trajectory,), report = read_trajectories(tmp_path)
    assert trajectory.messages == original.messages and trajectory.tools == original.tools
    assert trajectory.outcome == original.outcome
    assert trajectory.metadata["task_id"] == "sample" and report.runs == 1


def test_without_content_the_structure_remains(
    span_capture: SpanCapture, recorder: Recorder
) -> None:
    record_trajectory(recorder, sample_trajectory())
    ((run_id, root, spans, dialect),) = group_runs(span_capture.records())
    from agentshield.tracing.convert import build_trajectory

    t = build_trajectory(run_id, root, spans, dialect)
    assert [c.name for c in t.tool_calls] == ["search_places", "check_availability", "book_table"]
    assert [m.role for m in t.messages] == ["assistant", "tool"] * 3
    assert all(m.content == "" for m in t.messages) and t.metadata["content"] is False
    assert t.outcome.status == "success" and t.outcome.answer is None


def test_a_crashed_run_without_its_run_span(
    span_capture: SpanCapture, content_recorder: Recorder
) -> None:
    record_trajectory(content_recorder, sample_trajectory())
    records = [r for r in span_capture.records() if not r.name.startswith("invoke_agent")]
    ((run_id, root, spans, _),) = group_runs(records)
    assert run_id == "run-1" and root is None and len(spans) == 7


def test_our_spans_win_over_a_second_instrumentation(
    span_capture: SpanCapture, content_recorder: Recorder
) -> None:
    tracer = span_capture.provider.get_tracer("openinference")
    other = {
        sc.OI_SPAN_KIND: "LLM",
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "other",
    }
    with (
        content_recorder.agent_run("r", agent_name="a"),
        tracer.start_as_current_span("ChatOpenAI", attributes=other),
        content_recorder.chat("r", model="m", messages=[Message("user", "ours")]),
    ):
        pass
    ((run_id, root, spans, dialect),) = group_runs(span_capture.records())
    from agentshield.tracing.convert import build_trajectory

    assert build_trajectory(run_id, root, spans, dialect).messages == (Message("user", "ours"),)


def test_malformed_input_is_reported_with_file_and_line(tmp_path: Path) -> None:
    good = line(genai_run(), "weather", "x")
    bad_span = line([span("zz", "a1", None, "x", 0, {})], "weather", "x")
    path = tmp_path / "mixed.jsonl"
    path.write_text(good + "not json\n" + '{"resourceLogs": []}\n\n' + bad_span + good[:40])
    spans, report = read_spans(path, tmp_path / "missing")
    assert len(spans) == 4
    problems = [(Path(p.file).name, p.line) for p in report.problems]
    assert problems == [
        ("mixed.jsonl", 2),
        ("mixed.jsonl", 3),
        ("mixed.jsonl", 5),
        ("mixed.jsonl", 6),
        ("missing", 0),
    ]
    assert "torn" in report.problems[3].message
    assert "traceId" in report.problems[2].message
    assert report.summary().endswith("5 problems skipped")


def test_one_pretty_printed_document(tmp_path: Path) -> None:
    doc = json.loads(line(openinference_run(), "graph", "oi"))
    (tmp_path / "export.json").write_text(json.dumps(doc, indent=2))
    (trajectory,), report = read_trajectories(tmp_path)
    assert len(trajectory.messages) == 5 and not report.problems


def test_decoding_is_lenient_where_producers_differ() -> None:
    raw = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": base64.b64encode(bytes.fromhex(T1)).decode(),
                                "spanId": base64.b64encode(
                                    bytes.fromhex("a000000000000001")
                                ).decode(),
                                "name": "n",
                                "kind": "SPAN_KIND_CLIENT",
                                "startTimeUnixNano": 5,
                                "status": {"code": "STATUS_CODE_ERROR", "message": "bad"},
                                "attributes": [
                                    {"key": "i", "value": {"intValue": 3}},
                                    {"key": "d", "value": {"doubleValue": "NaN"}},
                                    {
                                        "key": "kv",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [
                                                    {"key": "a", "value": {"boolValue": True}}
                                                ]
                                            }
                                        },
                                    },
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    (record,), problems = decode_request(raw)
    assert not problems
    assert (record.trace_id, record.kind, record.status_code) == (T1, 3, 2)
    assert record.attributes["i"] == 3 and record.attributes["kv"] == {"a": True}
    assert record.is_error and record.start_ns == 5
    for v in ("s", 1, 2.5, True, b"\x00", [1, 2], {"k": "v"}):
        assert decode_any_value(encode_any_value(v)) == ([1, 2] if v == [1, 2] else v)


def test_sample_tools_survive_the_store(tmp_path: Path) -> None:
    from agentshield.tracing import setup_tracing

    with setup_tracing(store=tmp_path, capture_content=True) as handle:
        record_trajectory(handle.recorder, sample_trajectory())
    (t,), _ = read_trajectories(tmp_path)
    assert t.tools == sample_tools()


def test_sub_agents_and_reused_run_ids(span_capture: SpanCapture, recorder: Recorder) -> None:
    tracer = span_capture.provider.get_tracer("openinference")
    with (
        tracer.start_as_current_span("Agent", attributes={sc.OI_SPAN_KIND: "AGENT"}),
        recorder.agent_run("outer", agent_name="planner"),
    ):
        with (
            recorder.tool_call("outer", call_id="c1", shown_name="delegate"),
            recorder.agent_run("inner", agent_name="worker"),
            recorder.tool_call("inner", call_id="c2", shown_name="search"),
        ):
            pass
        with recorder.agent_run("outer", agent_name="planner"):  # re-entered: one run
            pass
    with (
        recorder.agent_run("outer", agent_name="planner"),
        recorder.tool_call("outer", call_id="c3", shown_name="again"),
    ):
        pass  # another run that reuses the id
    runs = group_runs(span_capture.records())
    shape = sorted(
        (run_id, dialect, sorted(s.name for s in spans)) for run_id, _, spans, dialect in runs
    )
    assert shape == [
        ("inner", "agentshield", ["execute_tool search", "invoke_agent worker"]),
        ("outer", "agentshield", ["execute_tool again", "invoke_agent planner"]),
        (
            "outer",
            "agentshield",
            ["execute_tool delegate", "invoke_agent planner", "invoke_agent planner"],
        ),
    ]  # the OpenInference AGENT span wrapping them holds no calls of its own: no run


def test_reused_run_ids_are_told_apart(tmp_path: Path) -> None:
    from agentshield.tracing import setup_tracing

    with setup_tracing(store=tmp_path, capture_content=True) as handle:
        record_trajectory(handle.recorder, sample_trajectory("same"))
        record_trajectory(handle.recorder, sample_trajectory("same"))
    runs, _ = read_runs(tmp_path)
    assert [r.run_id for r in runs] == ["same", "same#2"]
    assert runs[1].trajectory.run_id == "same#2"
