"""Detection without the wrapper: a span processor for an existing tracer provider.

:class:`DetectionSpanProcessor` reads the ``chat`` and ``execute_tool`` spans that any GenAI
instrumentation emits — the OTel GenAI conventions (``gen_ai.*``) or OpenInference
(``openinference.span.kind``, ``llm.*``, ``tool.*``) — as they end, and feeds a
:class:`~agentshield.detect.Monitor`::

    provider.add_span_processor(DetectionSpanProcessor(Monitor(Profile.load("baseline.json"))))

Tool definitions, messages, arguments and results are read where the instrumentation
captured them; without content only the call sequence, errors and latencies are judged.
The run is ``agentshield.run_id``, else ``gen_ai.conversation.id``, else OpenInference's
``session.id``, else the trace id. A span cannot take events once ended, so detections go
to the monitor's log, counter and callback (and to its recorder, if it has one). Never
raises into the application. Give it a monitor of its own: a monitor that a Shield already
feeds would see every call twice (its streaming statistics would count double).
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from agentshield.detect.monitor import Monitor
from agentshield.tracing import semconv as sc
from agentshield.tracing.dialects import ChatRecord, ToolRecord, span_role
from agentshield.tracing.records import EventRecord, SpanRecord
from agentshield.trajectory import ToolCall

__all__ = ["DetectionSpanProcessor", "to_record"]


def to_record(span: ReadableSpan) -> SpanRecord:
    """An SDK span as the reader's :class:`SpanRecord`."""
    ctx = span.context
    parent = span.parent
    return SpanRecord(
        trace_id=format(ctx.trace_id, "032x") if ctx else "",
        span_id=format(ctx.span_id, "016x") if ctx else "",
        parent_id=format(parent.span_id, "016x") if parent else None,
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes=dict(span.attributes or {}),
        events=tuple(
            EventRecord(e.name, e.timestamp or 0, dict(e.attributes or {})) for e in span.events
        ),
        status_code=span.status.status_code.value,
        status_message=span.status.description or "",
    )


def _run_id(record: SpanRecord) -> str:
    a = record.attributes
    for key in (sc.AS_RUN_ID, sc.GEN_AI_CONVERSATION_ID, sc.OI_SESSION_ID):
        if a.get(key):
            return str(a[key])
    return record.trace_id


class DetectionSpanProcessor(SpanProcessor):
    """Feeds ended GenAI / OpenInference spans to a :class:`Monitor`; see the module doc."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Judge one ended span (model call or tool call); other spans are ignored."""
        try:
            record = to_record(span)
            role = span_role(record)
            if role == "chat":
                self._chat(record)
            elif role == "tool":
                self._tool(record)
        except Exception:
            self.monitor._failed("span_processor")

    def _chat(self, record: SpanRecord) -> None:
        chat = ChatRecord.of(record)
        run_id = _run_id(record)
        if chat.tools:
            self.monitor.observe_tools(run_id, chat.tools)
        users = [m for m in chat.inputs or () if m.role == "user"]
        for index, message in enumerate(users):
            self.monitor.observe_query(run_id, index, message.content)
        outputs = chat.outputs or []
        final = [m for m in outputs if m.role == "assistant" and not m.tool_calls and m.content]
        if final and not any(m.tool_calls for m in outputs):
            self.monitor.observe_answer(run_id, final[-1].content)

    def _tool(self, record: SpanRecord) -> None:
        tool = ToolRecord.of(record)
        self.monitor.observe_call(
            _run_id(record),
            ToolCall(tool.call_id, tool.name, tool.args or {}),
            tool.result,
            is_error=tool.is_error,
            latency_s=record.duration_s or None,
            key=tool.call_id,
        )

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Detection is synchronous: nothing is pending."""
        return True
