"""Conversions between LangChain objects and the core's framework-free values.

Everything here is pure: tools become :class:`~agentshield.ToolSpec` values, a tool view
becomes the tool list a chat model is bound with, user messages are rewritten into *new*
message objects, and tool messages become :class:`~agentshield.Result` values and back.
Each function returns its input itself when nothing changes, so an inert shield leaves
every object the caller passed identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as make_tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentshield import Result, Shield, ToolSpec, ToolView

#: What LangChain accepts as a tool: a BaseTool, an OpenAI-style dict, a function or a
#: pydantic class.
ToolLike = BaseTool | Mapping[str, Any] | Callable[..., Any] | type


def as_tools(tools: Sequence[BaseTool | Callable[..., Any]]) -> list[BaseTool]:
    """Functions become tools as ``ToolNode`` would make them; tools stay as they are."""
    return [t if isinstance(t, BaseTool) else make_tool(t) for t in tools]


def to_spec(tool: ToolLike) -> ToolSpec | None:
    """The schema a model is shown for ``tool``, or ``None`` for a non-function tool.

    Provider-side tools (``{"type": "web_search"}`` and the like) have no function schema
    and never reach a tool node, so they are not the shield's to shift.
    """
    if isinstance(tool, Mapping) and not _is_function_dict(tool):
        return None
    data = convert_to_openai_tool(tool)
    if not _is_function_dict(data):
        return None
    return ToolSpec.from_dict(data)


def _is_function_dict(data: Mapping[str, Any]) -> bool:
    fn = data.get("function", data)
    return isinstance(fn, Mapping) and "name" in fn and data.get("type", "function") == "function"


def shown_tools(
    tools: Sequence[Any], specs: Sequence[ToolSpec | None], view: ToolView
) -> list[Any] | None:
    """The tool list to bind for ``view``, or ``None`` when it shows the tools as they are.

    ``tools`` and ``specs`` are parallel (``None`` marks a tool the shield leaves alone).
    A shown tool identical to a real one keeps the caller's object (so provider options
    such as ``strict`` survive); a shifted or synthetic one becomes an OpenAI-format dict.
    Tools the shield leaves alone are kept, after the shown ones.
    """
    pairs = list(zip(tools, specs, strict=True))
    real_specs = [s for _, s in pairs if s is not None]
    if view.specs == real_specs and all(t.real == t.name and t.responder is None for t in view):
        return None
    real = {s.name: (t, s) for t, s in pairs if s is not None}
    out: list[Any] = []
    for shown in view:
        original = real.get(shown.real or "") if shown.responder is None else None
        if original is not None and shown.spec == original[1]:
            out.append(original[0])
        else:
            out.append(shown.spec.to_dict())
    out.extend(t for t, s in pairs if s is None)
    return out


def rewrite_queries(
    shield: Shield, run_id: str, messages: Sequence[BaseMessage]
) -> list[BaseMessage] | None:
    """The messages with each user message rewritten, or ``None`` if none changed.

    The ``i``-th :class:`HumanMessage` (from 0) is the shield's query ``i``; rewritten ones
    are new objects (``model_copy``), so the caller's state is never mutated.
    """
    out: list[BaseMessage] = []
    changed = False
    index = 0
    for message in messages:
        if isinstance(message, HumanMessage):
            new = _rewrite_one(shield, run_id, index, message)
            index += 1
            changed = changed or new is not message
            message = new
        out.append(message)
    return out if changed else None


def _rewrite_one(shield: Shield, run_id: str, index: int, message: HumanMessage) -> HumanMessage:
    content = message.content
    if isinstance(content, str):
        new = shield.rewrite_query(run_id, index, content)
        return message if new == content else message.model_copy(update={"content": new})
    # Multimodal content: the request is the first text part; images and files stay as
    # they are.
    for i, part in enumerate(content):
        text = _part_text(part)
        if text is None:
            continue
        new = shield.rewrite_query(run_id, index, text)
        if new == text:
            return message
        parts = list(content)
        parts[i] = new if isinstance(part, str) else {**part, "text": new}
        return message.model_copy(update={"content": parts})
    return message


def _part_text(part: str | dict[Any, Any]) -> str | None:
    if isinstance(part, str):
        return part
    text = part.get("text") if part.get("type") == "text" else None
    return text if isinstance(text, str) else None


def content_text(content: str | list[Any]) -> str:
    """A message content as text: strings as they are, text blocks joined, others as JSON."""
    if isinstance(content, str):
        return content
    if all(
        isinstance(p, str) or (isinstance(p, dict) and p.get("type") == "text") for p in content
    ):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    return json.dumps(content, default=str)


def to_result(message: ToolMessage) -> Result:
    """A tool message as the core's result."""
    return Result(content_text(message.content), is_error=message.status == "error")


def to_message(
    result: Result, *, call: Mapping[str, Any], original: ToolMessage | None
) -> ToolMessage:
    """The tool message the model sees for ``result``.

    Returns ``original`` itself when the result, status and name are what it already says;
    otherwise a copy (keeping its id and artifact) or a new message, named with the name
    the model called (``call["name"]``) and answering the model's call id.
    """
    status = "error" if result.is_error else "success"
    name = call["name"]
    if original is None:
        return ToolMessage(
            content=result.content, name=name, tool_call_id=call["id"], status=status
        )
    if to_result(original) == result and original.name == name:
        return original
    update: dict[str, Any] = {"name": name, "status": status, "tool_call_id": call["id"]}
    if content_text(original.content) != result.content:
        update["content"] = result.content
    return original.model_copy(update=update)
