"""Test helpers for tracing: in-memory span fixtures and a scripted run through the Recorder.

Use them in your own tests (``from agentshield.tracing.testing import span_capture`` in a
``conftest.py``, or load the module as a pytest plugin)::

    def test_my_agent_traces(span_capture, recorder):
        run_my_agent(recorder=recorder)
        assert [s.name for s in span_capture.spans()][-1].startswith("invoke_agent")

:func:`record_trajectory` drives a Recorder through a recorded trajectory the way a framework
adapter does (optionally through a Shield, so perturbations, renamed tools and injected
faults show up on the spans), without any framework.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentshield.effects import Result
from agentshield.errors import ConfigError
from agentshield.plan import Execute
from agentshield.shield import Shield
from agentshield.tracing import semconv as sc
from agentshield.tracing.otlp import encode_line, encode_request
from agentshield.tracing.recorder import Recorder
from agentshield.tracing.records import SpanRecord, decode_request
from agentshield.trajectory import Message, ToolCall, Trajectory
from agentshield.view import ToolView

__all__ = ["SpanCapture", "content_recorder", "record_trajectory", "recorder", "span_capture"]


class SpanCapture:
    """A tracer provider whose finished spans stay in memory."""

    def __init__(self, service_name: str = "agentshield-test") -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}), shutdown_on_exit=False
        )
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def by_operation(self, operation: str) -> list[ReadableSpan]:
        """Finished spans whose ``gen_ai.operation.name`` is ``operation``."""
        return [
            s
            for s in self.spans()
            if (s.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) == operation
        ]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """Direct children of ``parent``, in start order."""
        context = parent.get_span_context()
        assert context is not None  # a finished SDK span always has one
        pid = context.span_id
        kids = [s for s in self.spans() if s.parent is not None and s.parent.span_id == pid]
        return sorted(kids, key=lambda s: s.start_time or 0)

    def otlp_bytes(self) -> bytes:
        """Every finished span as the store would write it (one OTLP-JSON line)."""
        return encode_line(self.spans())

    def records(self) -> list[SpanRecord]:
        """Every finished span as the reader sees it."""
        return decode_request(encode_request(self.spans()))[0]

    def clear(self) -> None:
        """Forget the spans captured so far."""
        self.exporter.clear()


def record_trajectory(
    recorder: Recorder,
    trajectory: Trajectory,
    *,
    agent_name: str = "scripted",
    model: str = "scripted-model",
    shield: Shield | None = None,
    execute: Execute | None = None,
) -> list[Message]:
    """Replay ``trajectory`` through ``recorder`` as an adapter would; return what the model saw.

    Each assistant message becomes a ``chat`` span (its input: the history so far), each of its
    tool calls an ``execute_tool`` span. Without a Shield the recorded observations are
    returned. With one, the model sees the Shield's tool view and rewritten queries, calls
    are made in the shown schema, ``execute(real_name, args)`` runs the real tools, injected
    faults are raised through the tool span (and turned into error observations, as a
    framework's error handling would), and every decision is recorded.

    Raises:
        ConfigError: A Shield without ``execute``.
    """
    if shield is not None and execute is None:
        raise ConfigError("record_trajectory(shield=...) needs execute=(name, args) -> Result")
    run_id = trajectory.run_id
    recorded = {m.tool_call_id: m for m in trajectory.messages if m.role == "tool"}
    view = (
        shield.view(run_id, trajectory.tools)
        if shield
        else ToolView.identity(list(trajectory.tools))
    )
    history: list[Message] = []
    task = trajectory.metadata.get("task_id")
    with recorder.agent_run(
        run_id, agent_name=agent_name, task_id=None if task is None else str(task)
    ) as run:
        queries = step = 0
        for m in trajectory.messages:
            if m.role in ("system", "user"):
                if m.role == "user" and shield is not None:
                    m = Message("user", shield.rewrite_query(run_id, queries, m.content))
                queries += m.role == "user"
                history.append(m)
                continue
            if m.role != "assistant":
                continue
            step += 1
            calls = tuple(view.to_shown_call(c) for c in m.tool_calls)
            reply = Message("assistant", m.content, tool_calls=calls)
            with recorder.chat(run_id, model=model, messages=history, tools=view.specs) as chat:
                chat.set_output([reply], finish_reasons=["tool_calls" if calls else "stop"])
                chat.set_usage(input_tokens=10 * len(history), output_tokens=5)
            history.append(reply)
            for index, call in enumerate(calls):
                shown = view.find(call.name)
                real = shown.real if shown is not None and shown.responder is None else None
                result = _run_call(
                    recorder,
                    run_id,
                    call,
                    real,
                    step,
                    index,
                    shield,
                    execute,
                    trajectory,
                    recorded.get(m.tool_calls[index].id),
                )
                history.append(
                    Message(
                        "tool",
                        result.content,
                        tool_call_id=call.id,
                        name=call.name,
                        is_error=result.is_error,
                    )
                )
        if shield is not None:
            run.record_decisions(shield.decisions(run_id))
        run.set_outcome(trajectory.outcome)
    return history


def _run_call(
    recorder: Recorder,
    run_id: str,
    call: ToolCall,
    real: str | None,
    step: int,
    index: int,
    shield: Shield | None,
    execute: Execute | None,
    trajectory: Trajectory,
    recorded: Message | None,
) -> Result:
    try:
        with recorder.tool_call(
            run_id, call_id=call.id, shown_name=call.name, real_name=real, args=call.args
        ) as tool:
            try:
                if shield is None or execute is None:
                    result = Result(
                        recorded.content if recorded else "", bool(recorded and recorded.is_error)
                    )
                else:
                    result = shield.call_tool(
                        run_id, call, trajectory.tools, execute, step=step, index=index
                    )
            finally:
                if shield is not None:
                    key = f"{step}:{index}"
                    tool.record_decisions(d for d in shield.decisions(run_id) if d.key == key)
            tool.set_result(result.content, is_error=result.is_error)
            return result
    except Exception as exc:  # what a framework's tool-error handling does
        return Result(str(exc), is_error=True)


@pytest.fixture
def span_capture() -> Iterator[SpanCapture]:
    """A fresh in-memory :class:`SpanCapture` per test."""
    capture = SpanCapture()
    yield capture
    capture.provider.shutdown()


@pytest.fixture
def recorder(span_capture: SpanCapture) -> Recorder:
    """A Recorder on :func:`span_capture` with content capture off (the default)."""
    return Recorder(tracer_provider=span_capture.provider, capture_content=False)


@pytest.fixture
def content_recorder(span_capture: SpanCapture) -> Recorder:
    """A Recorder on :func:`span_capture` with content capture on and built-in redaction."""
    return Recorder(tracer_provider=span_capture.provider, capture_content=True)
