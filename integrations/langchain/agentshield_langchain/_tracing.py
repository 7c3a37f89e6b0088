"""What the LangChain adapters hand the AgentShield :class:`~agentshield.tracing.Recorder`.

LangChain messages become core :class:`~agentshield.Message` objects, tools become
:class:`~agentshield.ToolSpec` objects, and the Shield's decisions for one call are attached to
its tool span. Every helper here swallows its own errors (counted on the Recorder): tracing
never raises into the agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage

from agentshield import Decision, Message, Shield, ToolCall, ToolSpec
from agentshield.tracing import ChatHandle, Recorder, ToolHandle
from agentshield.tracing.messages import as_role
from agentshield_langchain._convert import content_text, to_spec


def to_messages(messages: Sequence[Any], system: Any = None) -> list[Message]:
    """LangChain messages (and the request's system message) as core messages."""
    out: list[Message] = []
    for m in [system, *messages] if system is not None else messages:
        if not isinstance(m, BaseMessage):
            continue
        text = content_text(m.content)
        if isinstance(m, AIMessage):
            calls = tuple(
                ToolCall(id=c.get("id") or "", name=c["name"], args=dict(c.get("args") or {}))
                for c in m.tool_calls
            )
            out.append(Message("assistant", text, tool_calls=calls))
        elif isinstance(m, ToolMessage):
            out.append(
                Message(
                    "tool",
                    text,
                    tool_call_id=m.tool_call_id,
                    name=m.name,
                    is_error=m.status == "error",
                )
            )
        elif isinstance(m, SystemMessage):
            out.append(Message("system", text))
        else:
            out.append(Message(as_role(m.type), text))
    return out


def to_specs(tools: Sequence[Any]) -> list[ToolSpec]:
    """The tool definitions among ``tools`` (BaseTools, functions, OpenAI dicts)."""
    specs: list[ToolSpec] = []
    for t in tools:
        try:
            spec = to_spec(t)
        except Exception:
            spec = None
        if spec is not None:
            specs.append(spec)
    return specs


def model_name(model: Any) -> str:
    """The model's name: ``model_name`` / ``model`` / ``model_id`` when set, else its class."""
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def set_reply(recorder: Recorder, chat: ChatHandle, messages: Sequence[Any]) -> None:
    """The model's reply, finish reason and token usage on its chat span."""
    try:
        reply = [m for m in messages if isinstance(m, AIMessage)]
        if not reply:
            return
        last = reply[-1]
        chat.set_output(
            to_messages(reply), finish_reasons=["tool_calls" if last.tool_calls else "stop"]
        )
        usage = last.usage_metadata
        if usage:
            chat.set_usage(
                input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens")
            )
        name = (last.response_metadata or {}).get("model_name")
        if isinstance(name, str) and name:
            chat.set_response_model(name)
    except Exception:
        recorder._error("could not record a model reply")


def real_name(shield: Shield, run_id: str, name: str, specs: Sequence[ToolSpec]) -> str | None:
    """The real tool behind the shown ``name`` (``None``: none runs, e.g. a distractor)."""
    if not shield.active:
        return name
    try:
        shown = shield.view(run_id, specs).find(name)
    except Exception:
        return name
    if shown is None or shown.responder is not None:
        return None
    return shown.real


def _for_call(decisions: Sequence[Decision], key: str) -> list[Decision]:
    return [d for d in decisions if d.key == key and d.surface in ("call", "observation")]


def decisions_before(shield: Shield, run_id: str, key: str) -> int:
    """How many decisions call ``key`` has so far (earlier attempts, e.g. by retry middleware)."""
    try:
        return len(_for_call(shield.decisions(run_id), key)) if shield.active else 0
    except Exception:
        return 0


def record_call(
    recorder: Recorder, tool: ToolHandle, shield: Shield, run_id: str, key: str, skip: int = 0
) -> None:
    """The Shield's decisions for this attempt of call ``key`` (those after the ``skip``
    earlier ones) on its tool span, an injected outcome marked, and all of the run's decisions
    so far on the run span (each once)."""
    try:
        decisions = shield.decisions(run_id)
        mine = _for_call(decisions, key)[skip:]
        tool.record_decisions(mine)
        for d in mine:
            if d.action in ("raise", "respond"):
                tool.set_injected(d.perturbation)
        recorder.record_decisions(run_id, decisions)
    except Exception:
        recorder._error("could not record the decisions of call %r", key)
