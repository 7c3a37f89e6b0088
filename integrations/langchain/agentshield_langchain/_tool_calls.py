"""One tool call through the Shield's drivers, for both the middleware and ToolNode wrappers.

The Shield decides; LangGraph executes. The ``execute`` callback the Shield's driver gets runs
the *real* tool through the framework's own handler (so inner middleware, argument injection,
validation and error handling behave as without AgentShield) and reports its ToolMessage back
as a :class:`~agentshield.Result`. The message that comes back to the model is that very
ToolMessage when the Shield changed nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.messages import ToolCall as LCToolCall
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agentshield import Result, Shield, ToolCall, ToolSpec
from agentshield.tracing import Recorder, SpanScope, ToolHandle
from agentshield_langchain._convert import to_message, to_result, to_spec
from agentshield_langchain._runs import (
    RunRegistry,
    current_config,
    locate_call,
    resolve_run_id,
    state_messages,
)
from agentshield_langchain._tracing import decisions_before, real_name, record_call

ToolOutput = ToolMessage | Command[Any]
Handler = Callable[[ToolCallRequest], ToolOutput]
AHandler = Callable[[ToolCallRequest], Awaitable[ToolOutput]]


class PassThrough(BaseException):
    """Carries a handler's non-message output (a Command) past the Shield's driver.

    A BaseException so that nothing between the callback and :func:`shield_call` can mistake
    it for a tool failure; it never leaves this module.
    """

    def __init__(self, output: Any) -> None:
        super().__init__("pass-through")
        self.output = output


@dataclass(frozen=True)
class _Prepared:
    run_id: str
    call: ToolCall
    specs: tuple[ToolSpec, ...]
    tools: Mapping[str, BaseTool]
    step: int
    index: int


def _prepare(
    request: ToolCallRequest,
    registry: RunRegistry,
    explicit_run_id: str | None,
    specs: Sequence[ToolSpec] | None,
    known: Sequence[BaseTool],
) -> _Prepared:
    messages = state_messages(request.state)
    config = getattr(request.runtime, "config", None) or current_config()
    run_id = resolve_run_id(explicit_run_id, config, messages)
    # ToolNode hands every call its own tool list; a renamed call has no ``request.tool``.
    met: list[BaseTool] = list(getattr(request.runtime, "tools", None) or [])
    if request.tool is not None:
        met.append(request.tool)
    registry.learn(run_id, [*known, *met])
    tools = registry.tools(run_id)
    if specs is None:
        specs = registry.specs(run_id)
    if specs is None:
        source = met or list(tools.values())
        unique = {t.name: t for t in source}.values()
        specs = tuple(s for s in (to_spec(t) for t in unique) if s is not None)
    tc = request.tool_call
    found = locate_call(messages, tc.get("id"))
    step, index = found if found is not None else (registry.next_step(run_id), 0)
    call = ToolCall(id=tc.get("id") or "", name=tc["name"], args=dict(tc.get("args") or {}))
    return _Prepared(run_id, call, tuple(specs), tools, step, index)


def _real_request(
    request: ToolCallRequest, prepared: _Prepared, name: str, args: Mapping[str, Any]
) -> ToolCallRequest:
    """The request for the real tool, or ``request`` itself when nothing needs mapping."""
    tc = request.tool_call
    current = request.tool
    tool = current if current is not None and current.name == name else prepared.tools.get(name)
    same_call = name == tc["name"] and dict(args) == dict(tc.get("args") or {})
    if same_call and tool is current:
        return request
    new_call = tc if same_call else cast(LCToolCall, {**tc, "name": name, "args": dict(args)})
    # ``tool=None`` (a real tool this wrapper has never seen) lets ToolNode answer with its
    # own unknown-tool error rather than run the tool the shown name happened to match.
    return request.override(tool_call=new_call, tool=cast(BaseTool, tool))


def _observe(output: ToolOutput, seen: list[ToolMessage]) -> Result:
    if not isinstance(output, ToolMessage):
        raise PassThrough(output)
    seen.append(output)
    return to_result(output)


def shield_call(
    shield: Shield,
    request: ToolCallRequest,
    handler: Handler,
    *,
    registry: RunRegistry,
    run_id: str | None = None,
    specs: Sequence[ToolSpec] | None = None,
    tools: Sequence[BaseTool] = (),
    recorder: Recorder | None = None,
) -> ToolOutput:
    """Run one tool call through ``shield`` (sync); faults it injects are raised.

    Args:
        shield: The shield.
        request: The framework's request (the call as the model made it).
        handler: Runs a request for real (the next wrapper, or ToolNode itself).
        registry: Per-run memory of the wrapper (tools shown, fallback step counter).
        run_id: A fixed run id, else derived from the run's config and messages.
        specs: The tool list the model is shown (default: the one the model hook recorded
            for this run, else the tool node's tools).
        tools: Real tools known up front, besides those the tool node reports.
        recorder: Trace the call as an ``execute_tool`` span (shown and real name, the
            Shield's decisions, injected outcomes); ``None``: no tracing.
    """
    if recorder is None:
        return _shield_call(shield, request, handler, None, registry, run_id, specs, tools)
    prepared = _prepare(request, registry, run_id, specs, tools)
    skip = decisions_before(shield, prepared.run_id, _key(prepared))
    with _tool_scope(recorder, shield, prepared) as span:
        try:
            output = _shield_call(
                shield, request, handler, prepared, registry, run_id, specs, tools
            )
        finally:
            _record(recorder, span, shield, prepared, skip)
        _set_output(recorder, span, output)
        return output


def _shield_call(
    shield: Shield,
    request: ToolCallRequest,
    handler: Handler,
    prepared: _Prepared | None,
    registry: RunRegistry,
    run_id: str | None,
    specs: Sequence[ToolSpec] | None,
    tools: Sequence[BaseTool],
) -> ToolOutput:
    if not shield.active:
        return handler(request)
    if prepared is None:
        prepared = _prepare(request, registry, run_id, specs, tools)
    seen: list[ToolMessage] = []

    def execute(name: str, args: Mapping[str, Any]) -> Result:
        return _observe(handler(_real_request(request, prepared, name, args)), seen)

    try:
        result = shield.call_tool(
            prepared.run_id,
            prepared.call,
            prepared.specs,
            execute,
            step=prepared.step,
            index=prepared.index,
        )
    except PassThrough as passed:
        return cast(ToolOutput, passed.output)
    return to_message(result, call=request.tool_call, original=seen[-1] if seen else None)


async def ashield_call(
    shield: Shield,
    request: ToolCallRequest,
    handler: AHandler,
    *,
    registry: RunRegistry,
    run_id: str | None = None,
    specs: Sequence[ToolSpec] | None = None,
    tools: Sequence[BaseTool] = (),
    recorder: Recorder | None = None,
) -> ToolOutput:
    """Run one tool call through ``shield`` (async twin of :func:`shield_call`)."""
    if recorder is None:
        return await _ashield_call(shield, request, handler, None, registry, run_id, specs, tools)
    prepared = _prepare(request, registry, run_id, specs, tools)
    skip = decisions_before(shield, prepared.run_id, _key(prepared))
    with _tool_scope(recorder, shield, prepared) as span:
        try:
            output = await _ashield_call(
                shield, request, handler, prepared, registry, run_id, specs, tools
            )
        finally:
            _record(recorder, span, shield, prepared, skip)
        _set_output(recorder, span, output)
        return output


async def _ashield_call(
    shield: Shield,
    request: ToolCallRequest,
    handler: AHandler,
    prepared: _Prepared | None,
    registry: RunRegistry,
    run_id: str | None,
    specs: Sequence[ToolSpec] | None,
    tools: Sequence[BaseTool],
) -> ToolOutput:
    if not shield.active:
        return await handler(request)
    if prepared is None:
        prepared = _prepare(request, registry, run_id, specs, tools)
    seen: list[ToolMessage] = []

    async def execute(name: str, args: Mapping[str, Any]) -> Result:
        return _observe(await handler(_real_request(request, prepared, name, args)), seen)

    try:
        result = await shield.acall_tool(
            prepared.run_id,
            prepared.call,
            prepared.specs,
            execute,
            step=prepared.step,
            index=prepared.index,
        )
    except PassThrough as passed:
        return cast(ToolOutput, passed.output)
    return to_message(result, call=request.tool_call, original=seen[-1] if seen else None)


# Tracing --------------------------------------------------------------------------------------


def _tool_scope(recorder: Recorder, shield: Shield, prepared: _Prepared) -> SpanScope[ToolHandle]:
    call = prepared.call
    return recorder.tool_call(
        prepared.run_id,
        call_id=call.id,
        shown_name=call.name,
        real_name=real_name(shield, prepared.run_id, call.name, prepared.specs),
        args=call.args,
    )


def _key(prepared: _Prepared) -> str:
    return f"{prepared.step}:{prepared.index}"


def _record(
    recorder: Recorder, span: ToolHandle, shield: Shield, prepared: _Prepared, skip: int
) -> None:
    if shield.active:
        record_call(recorder, span, shield, prepared.run_id, _key(prepared), skip)


def _set_output(recorder: Recorder, span: ToolHandle, output: ToolOutput) -> None:
    try:
        if isinstance(output, ToolMessage):
            result = to_result(output)
            span.set_result(result.content, is_error=result.is_error)
    except Exception:
        recorder._error("could not record a tool result")
