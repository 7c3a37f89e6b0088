"""The GenAI dialects the reader understands: which span is what, and what it says.

* ours and the OTel GenAI conventions: ``gen_ai.operation.name`` (``invoke_agent``, ``chat``
  and the other model-call operations, ``execute_tool``), messages in
  ``gen_ai.input.messages`` / ``gen_ai.output.messages`` on the span or on its
  ``gen_ai.client.inference.operation.details`` event, ``gen_ai.tool.definitions``;
* OpenInference: ``openinference.span.kind`` (``AGENT`` / ``LLM`` / ``TOOL``), the flattened
  ``llm.input_messages.N.message.*`` lists, ``llm.tools.N.tool.json_schema``, and TOOL spans'
  ``input.value`` / ``output.value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agentshield.tracing import semconv as sc
from agentshield.tracing.messages import as_role, from_genai_messages, from_genai_tools, parse_json
from agentshield.tracing.records import SpanRecord
from agentshield.trajectory import Message, ToolCall, ToolSpec

SpanRole = Literal["agent", "chat", "tool"]

__all__ = ["ChatRecord", "SpanRole", "ToolRecord", "span_role"]


def span_role(span: SpanRecord) -> SpanRole | None:
    """Whether a span is an agent run, a model call, a tool call, or none of these."""
    op = span.attributes.get(sc.GEN_AI_OPERATION_NAME)
    if op == sc.OP_INVOKE_AGENT:
        return "agent"
    if op in sc.MODEL_CALL_OPERATIONS:
        return "chat"
    if op == sc.OP_EXECUTE_TOOL:
        return "tool"
    kind = span.attributes.get(sc.OI_SPAN_KIND)
    if kind == sc.OI_KIND_LLM:
        return "chat"
    if kind == sc.OI_KIND_TOOL:
        return "tool"
    if kind == sc.OI_KIND_AGENT:
        return "agent"
    return None


def _indexed(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """OpenInference's flattened lists: ``{prefix.N.rest: v}`` as ``[{rest: v}, ...]``."""
    groups: dict[int, dict[str, Any]] = {}
    head = prefix + "."
    for key, value in attrs.items():
        if key.startswith(head):
            index, _, rest = key[len(head) :].partition(".")
            if index.isdigit() and rest:
                groups.setdefault(int(index), {})[rest] = value
    return [groups[i] for i in sorted(groups)]


def _oi_message(g: Mapping[str, Any]) -> Message:
    content = g.get(sc.OI_MESSAGE_CONTENT)
    if content is None:
        parts = _indexed(g, sc.OI_MESSAGE_CONTENTS)
        content = "".join(str(p.get(sc.OI_MESSAGE_CONTENT_TEXT) or "") for p in parts)
    calls = tuple(
        ToolCall(
            str(tc.get(sc.OI_TOOL_CALL_ID) or ""),
            str(tc.get(sc.OI_TOOL_CALL_FUNCTION_NAME)),
            _args(tc.get(sc.OI_TOOL_CALL_FUNCTION_ARGUMENTS)),
        )
        for tc in _indexed(g, sc.OI_MESSAGE_TOOL_CALLS)
    )
    return Message(
        as_role(g.get(sc.OI_MESSAGE_ROLE)),
        str(content or ""),
        tool_calls=calls,
        tool_call_id=g.get(sc.OI_MESSAGE_TOOL_CALL_ID),
        name=g.get(sc.OI_MESSAGE_NAME),
    )


def _args(value: Any) -> dict[str, Any]:
    parsed = parse_json(value) if isinstance(value, str) else value
    return dict(parsed) if isinstance(parsed, Mapping) else {}


@dataclass(frozen=True)
class ChatRecord:
    """One model call as read: ``None`` where the content was not captured."""

    span: SpanRecord
    inputs: list[Message] | None
    outputs: list[Message] | None
    tools: list[ToolSpec] | None
    model: str | None

    @classmethod
    def of(cls, span: SpanRecord) -> ChatRecord:
        """Read a chat span of any dialect."""
        a: dict[str, Any] = dict(span.attributes)
        for event in span.events:  # some instrumentations put the content on an event
            if event.name == sc.GEN_AI_OPERATION_DETAILS_EVENT:
                a.update(event.attributes)
        model = a.get(sc.GEN_AI_REQUEST_MODEL) or a.get(sc.OI_LLM_MODEL_NAME)
        if sc.OI_SPAN_KIND in a and sc.GEN_AI_INPUT_MESSAGES not in a:
            ins = [_oi_message(g) for g in _indexed(a, sc.OI_LLM_INPUT_MESSAGES)]
            outs = [_oi_message(g) for g in _indexed(a, sc.OI_LLM_OUTPUT_MESSAGES)]
            schemas = [
                parse_json(t.get(sc.OI_TOOL_JSON_SCHEMA)) for t in _indexed(a, sc.OI_LLM_TOOLS)
            ]
            specs = [ToolSpec.from_dict(s) for s in schemas if isinstance(s, Mapping)]
            return cls(
                span,
                ins or None,
                outs or None,
                specs or None,
                None if model is None else str(model),
            )
        inputs = _messages(a.get(sc.GEN_AI_INPUT_MESSAGES))
        system = a.get(sc.GEN_AI_SYSTEM_INSTRUCTIONS)
        if inputs is not None and system is not None and all(m.role != "system" for m in inputs):
            inputs.insert(0, Message("system", _system_text(system)))
        tools_raw = a.get(sc.GEN_AI_TOOL_DEFINITIONS)
        tools = from_genai_tools(tools_raw) if tools_raw is not None else None
        return cls(
            span,
            inputs,
            _messages(a.get(sc.GEN_AI_OUTPUT_MESSAGES)),
            tools,
            None if model is None else str(model),
        )


def _system_text(value: Any) -> str:
    parsed = parse_json(value)
    if isinstance(parsed, list):
        return "".join(str(p.get("content") or "") for p in parsed if isinstance(p, Mapping))
    return str(value if parsed is None else parsed)


def _messages(value: Any) -> list[Message] | None:
    return None if value is None else from_genai_messages(value)


@dataclass(frozen=True)
class ToolRecord:
    """One tool call as read: ``args`` / ``result`` are ``None`` where not captured."""

    span: SpanRecord
    call_id: str
    name: str
    real_name: str | None
    args: dict[str, Any] | None
    result: str | None
    is_error: bool
    injected: bool

    @classmethod
    def of(cls, span: SpanRecord) -> ToolRecord:
        """Read a tool span of any dialect."""
        a = span.attributes
        name = a.get(sc.GEN_AI_TOOL_NAME) or a.get(sc.OI_TOOL_NAME) or span.name.split(" ")[-1]
        call_id = a.get(sc.GEN_AI_TOOL_CALL_ID) or a.get(sc.OI_TOOL_CALL_ID) or ""
        raw_args = a.get(sc.GEN_AI_TOOL_CALL_ARGUMENTS, a.get(sc.OI_INPUT_VALUE))
        result = a.get(sc.GEN_AI_TOOL_CALL_RESULT, a.get(sc.OI_OUTPUT_VALUE))
        message = span.status_message
        plain = ("", "tool_error", a.get(sc.ERROR_TYPE))
        if result is None and span.is_error and message not in plain:
            result = message  # a raised error's (captured) message
        return cls(
            span,
            str(call_id),
            str(name),
            a.get(sc.AS_TOOL_REAL_NAME),
            None if raw_args is None else _args(raw_args),
            None if result is None else str(result),
            span.is_error or bool(a.get(sc.AS_TOOL_IS_ERROR)),
            bool(a.get(sc.AS_INJECTED)),
        )
