"""AgentShield for a hand-built LangGraph ``StateGraph`` with a ``ToolNode``.

Two pieces, used together::

    model = shield_model(chat_model, shield).bind_tools(tools)    # what the model sees
    tool_node = shielded_tool_node(tools, shield)                  # what its calls do

Give both the same tools in the same order: the tool view shown to the model and the one its
calls are checked against are then the same (the Shield builds one view per run and tool set).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agentshield import Shield
from agentshield.tracing import Recorder
from agentshield_langchain._convert import as_tools, to_spec
from agentshield_langchain._runs import RunRegistry
from agentshield_langchain._tool_calls import ashield_call, shield_call

ToolCallWrapper = Callable[
    [ToolCallRequest, Callable[[ToolCallRequest], ToolMessage | Command[Any]]],
    ToolMessage | Command[Any],
]
AsyncToolCallWrapper = Callable[
    [ToolCallRequest, Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]]],
    Awaitable[ToolMessage | Command[Any]],
]


def shield_tool_wrappers(
    shield: Shield,
    tools: Sequence[BaseTool | Callable[..., Any]],
    *,
    run_id: str | None = None,
    recorder: Recorder | None = None,
) -> tuple[ToolCallWrapper, AsyncToolCallWrapper]:
    """``(wrap_tool_call, awrap_tool_call)`` for ``ToolNode(tools, wrap_tool_call=...,
    awrap_tool_call=...)``.

    Args:
        shield: The shield to apply.
        tools: The graph's real tools, in the order the model is bound with them.
        run_id: A fixed run id (default: from the run's config, see
            :class:`~agentshield_langchain.ShieldMiddleware`).
        recorder: Trace each call as an ``execute_tool`` span (``None``: no tracing). The
            spans nest under the run's ``invoke_agent`` span when one is open for the run id
            (``recorder.agent_run(...)`` around the graph call), else under the current span.

    Raises:
        agentshield.ConfigError: A perturbation names a tool that is not in ``tools``.
    """
    real = as_tools(tools)
    shield.bind_tools([t.name for t in real])
    specs = tuple(s for s in (to_spec(t) for t in real) if s is not None)
    registry = RunRegistry()

    def wrap_tool_call(
        request: ToolCallRequest, execute: Callable[[ToolCallRequest], ToolMessage | Command[Any]]
    ) -> ToolMessage | Command[Any]:
        return shield_call(
            shield,
            request,
            execute,
            registry=registry,
            run_id=run_id,
            specs=specs,
            tools=real,
            recorder=recorder,
        )

    async def awrap_tool_call(
        request: ToolCallRequest,
        execute: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        return await ashield_call(
            shield,
            request,
            execute,
            registry=registry,
            run_id=run_id,
            specs=specs,
            tools=real,
            recorder=recorder,
        )

    return wrap_tool_call, awrap_tool_call


def shielded_tool_node(
    tools: Sequence[BaseTool | Callable[..., Any]],
    shield: Shield,
    *,
    run_id: str | None = None,
    recorder: Recorder | None = None,
    **toolnode_kwargs: Any,
) -> ToolNode:
    """A ``ToolNode`` over ``tools`` whose calls run through ``shield``.

    ``toolnode_kwargs`` go to ``ToolNode`` (``handle_tool_errors``, ``name``, ...);
    ``recorder`` traces each call (see :func:`shield_tool_wrappers`).
    """
    real = as_tools(tools)
    wrap, awrap = shield_tool_wrappers(shield, real, run_id=run_id, recorder=recorder)
    return ToolNode(real, wrap_tool_call=wrap, awrap_tool_call=awrap, **toolnode_kwargs)
