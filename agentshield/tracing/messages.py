"""Chat messages and tool definitions in the OTel GenAI JSON shapes, both ways.

``gen_ai.input.messages`` / ``gen_ai.output.messages`` hold a JSON list of
``{"role", "parts": [...], "name"?, "finish_reason"?}`` where a part is ``{"type": "text",
"content"}``, ``{"type": "tool_call", "id", "name", "arguments"}`` or ``{"type":
"tool_call_response", "id", "response"}``. ``gen_ai.tool.definitions`` holds
``[{"type": "function", "name", "description", "parameters"}]``.

Reading is lenient: OpenAI-shaped messages, ``result`` instead of ``response``, arguments as
a JSON string, and tool responses inside user messages (Anthropic style) are all accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentshield.trajectory import Message, Role, ToolCall, ToolSpec

MessageLike = Message | Mapping[str, Any]
ToolLike = ToolSpec | Mapping[str, Any]

__all__ = [
    "MessageLike",
    "ToolLike",
    "as_message",
    "as_role",
    "as_tool",
    "fill_tool_names",
    "from_genai_messages",
    "from_genai_tools",
    "parse_json",
    "to_genai_messages",
    "to_genai_tools",
]


def as_message(message: MessageLike) -> Message:
    """A :class:`Message` from a Message or an OpenAI-shaped dict."""
    return message if isinstance(message, Message) else Message.from_dict(message)


_ROLE_ALIASES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "model": "assistant",
    "ai": "assistant",
    "tool": "tool",
    "function": "tool",
    "ipython": "tool",
}


def as_role(value: object) -> Role:
    """A chat role from the names other producers use (``model``, ``human``, ...); ``user``
    when unknown."""
    return _ROLE_ALIASES.get(str(value or "").lower(), "user")


def as_tool(tool: ToolLike) -> ToolSpec:
    """A :class:`ToolSpec` from a ToolSpec or an OpenAI-shaped / flat dict."""
    return tool if isinstance(tool, ToolSpec) else ToolSpec.from_dict(tool)


def to_genai_messages(
    messages: Iterable[MessageLike], finish_reason: str | None = None
) -> list[dict[str, Any]]:
    """Messages in the GenAI shape (``finish_reason`` goes on each, for output messages)."""
    out: list[dict[str, Any]] = []
    for raw in messages:
        m = as_message(raw)
        parts: list[dict[str, Any]] = []
        if m.role == "tool":
            parts.append(
                {"type": "tool_call_response", "id": m.tool_call_id, "response": m.content}
            )
        elif m.content:
            parts.append({"type": "text", "content": m.content})
        parts.extend(
            {"type": "tool_call", "id": c.id, "name": c.name, "arguments": dict(c.args)}
            for c in m.tool_calls
        )
        item: dict[str, Any] = {"role": m.role, "parts": parts}
        if m.name is not None and m.role != "tool":
            item["name"] = m.name
        if finish_reason is not None:
            item["finish_reason"] = finish_reason
        out.append(item)
    return out


def to_genai_tools(tools: Iterable[ToolLike]) -> list[dict[str, Any]]:
    """Tool definitions in the GenAI shape."""
    out = []
    for raw in tools:
        t = as_tool(raw)
        out.append(
            {
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": json.loads(json.dumps(t.parameters, default=str)),
            }
        )
    return out


def parse_json(value: Any) -> Any:
    """``value`` decoded when it is a JSON string, else unchanged (``None`` on bad JSON)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, Mapping) for p in value):
        # a list of text parts, e.g. [{"type": "text", "content": "..."}]
        return "".join(str(p.get("content") or p.get("text") or "") for p in value)
    return json.dumps(value, ensure_ascii=False)


def _args(value: Any) -> dict[str, Any]:
    parsed = parse_json(value) if isinstance(value, str) else value
    return dict(parsed) if isinstance(parsed, Mapping) else {}


def _one(raw: Mapping[str, Any]) -> list[Message]:
    if "parts" not in raw:  # an OpenAI-shaped message
        return [Message.from_dict(raw)]
    role = str(raw.get("role") or "user")
    texts: list[str] = []
    calls: list[ToolCall] = []
    responses: list[Message] = []
    for part in raw.get("parts") or ():
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "tool_call":
            calls.append(
                ToolCall(
                    str(part.get("id") or ""),
                    str(part.get("name") or ""),
                    _args(part.get("arguments")),
                )
            )
        elif kind == "tool_call_response":
            body = part.get("response", part.get("result"))
            responses.append(Message("tool", _text(body), tool_call_id=part.get("id")))
        elif "content" in part or "text" in part:
            texts.append(_text(part.get("content", part.get("text"))))
    out: list[Message] = []
    if role == "tool" or (responses and not texts and not calls):
        return responses
    out.append(
        Message(
            as_role(role),
            "".join(texts),
            tool_calls=tuple(calls),
            name=raw.get("name"),
        )
    )
    return out + responses


def from_genai_messages(value: Any) -> list[Message]:
    """Messages from a ``gen_ai.*.messages`` value (JSON string or already decoded).

    Tool messages get ``name`` filled from the call they answer when it is in ``value``.

    Raises:
        ValueError: The value is not a list of messages.
    """
    data = parse_json(value)
    if not isinstance(data, list):
        raise ValueError("GenAI messages must be a JSON list")
    out = [m for raw in data if isinstance(raw, Mapping) for m in _one(raw)]
    return fill_tool_names(out)


def fill_tool_names(messages: Sequence[Message]) -> list[Message]:
    """Give tool messages the name of the call they answer, when they lack one."""
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    return [
        Message(m.role, m.content, m.tool_calls, m.tool_call_id, names[m.tool_call_id], m.is_error)
        if m.role == "tool" and m.name is None and m.tool_call_id in names
        else m
        for m in messages
    ]


def from_genai_tools(value: Any) -> list[ToolSpec]:
    """Tool definitions from ``gen_ai.tool.definitions`` (flat or OpenAI-nested entries)."""
    data = parse_json(value)
    if not isinstance(data, list):
        raise ValueError("GenAI tool definitions must be a JSON list")
    return [ToolSpec.from_dict(t) for t in data if isinstance(t, Mapping)]
