"""``shield_tools``: BaseTool wrappers for code that calls tools directly.

When neither a ``create_agent`` middleware nor a ToolNode is in play (plain ``tool.invoke``
/ ``tool.ainvoke``), wrap the tools themselves. Callers keep calling the real names; each call
is expressed in the run's shifted schema and run through the Shield's drivers, so **call and
observation shifts** (faults, latency, argument rules, rewritten observations) apply. Schema
shifts can't be *shown* without a model wrapper: a renamed tool still answers to its real
name, but a removed tool (``unsolvable_task``) answers with the unknown-tool error. Steps are
counted per run, one per call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import ToolCall as LCToolCall
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool

from agentshield import Result, Shield, ToolCall
from agentshield_langchain._convert import as_tools, to_message, to_result, to_spec
from agentshield_langchain._runs import RunRegistry, current_config, resolve_run_id
from agentshield_langchain._tool_calls import PassThrough


class _ToolGroup:
    """What the wrappers of one ``shield_tools`` call share: the real tools, their specs
    (so every wrapper sees one tool view per run) and the per-run step counter."""

    def __init__(self, shield: Shield, tools: Sequence[BaseTool], run_id: str | None) -> None:
        self.shield = shield
        self.tools = {t.name: t for t in tools}
        self.specs = tuple(s for s in (to_spec(t) for t in tools) if s is not None)
        self.run_id = run_id
        self.runs = RunRegistry()

    def resolve(self, config: RunnableConfig | None) -> str:
        return resolve_run_id(self.run_id, config or current_config(), [], fallback="default")


def _text(output: Any) -> str:
    if isinstance(output, ToolMessage):
        return to_result(output).content
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output)
    except (TypeError, ValueError):
        return str(output)


class ShieldedTool(BaseTool):
    """A tool whose calls run through a :class:`~agentshield.Shield` (build with
    :func:`shield_tools`).

    ``invoke`` with a tool call (``{"type": "tool_call", ...}``) returns a ToolMessage, as
    LangChain tools do; with plain arguments it returns the tool's own output, or the
    shifted observation as text. Injected faults are raised.
    """

    tool: BaseTool
    """The real tool."""
    group: _ToolGroup
    """Shared state of the wrapped tool set."""

    def _call_parts(
        self, input: str | dict[str, Any] | LCToolCall, config: RunnableConfig | None
    ) -> tuple[str, ToolCall, str | None, dict[str, Any]]:
        """``(run_id, shown call, tool call id or None, real args)`` for one input."""
        group = self.group
        call_id: str | None = None
        if isinstance(input, dict) and input.get("type") == "tool_call":
            call_id = str(input.get("id") or "")
            args = dict(input.get("args") or {})
        elif isinstance(input, dict):
            args = dict(input)
        else:
            spec = next((s for s in group.specs if s.name == self.name), None)
            keys = list(spec.properties) if spec is not None else []
            if len(keys) != 1:
                raise ValueError(f"tool {self.name!r} takes {keys}: invoke it with a dict")
            args = {keys[0]: input}
        run_id = group.resolve(config)
        view = group.shield.view(run_id, group.specs)
        call = view.to_shown_call(ToolCall(call_id or f"{self.name}-call", self.name, args))
        return run_id, call, call_id, args

    def _real_input(
        self, input: Any, call_id: str | None, name: str, args: Mapping[str, Any], same: bool
    ) -> Any:
        if same:
            return input
        if call_id is not None:
            return {"type": "tool_call", "id": call_id, "name": name, "args": dict(args)}
        return dict(args)

    def _finish(self, result: Result, call_id: str | None, seen: list[Any]) -> Any:
        original = seen[-1] if seen else None
        if call_id is not None:
            message = original if isinstance(original, ToolMessage) else None
            return to_message(result, call={"name": self.name, "id": call_id}, original=message)
        if seen and result == Result(_text(original)):
            return original
        return result.content

    def invoke(
        self,
        input: str | dict[str, Any] | LCToolCall,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the call through the shield (sync driver)."""
        group = self.group
        if not group.shield.active:
            return self.tool.invoke(input, config, **kwargs)
        run_id, call, call_id, args = self._call_parts(input, config)
        seen: list[Any] = []

        def execute(name: str, real_args: Mapping[str, Any]) -> Result:
            same = name == self.name and dict(real_args) == args
            inner = self._real_input(input, call_id, name, real_args, same)
            out = group.tools[name].invoke(inner, config, **kwargs)
            return _observed(out, seen, call_id)

        try:
            result = group.shield.call_tool(
                run_id, call, group.specs, execute, step=group.runs.next_step(run_id), index=0
            )
        except PassThrough as passed:
            return passed.output
        return self._finish(result, call_id, seen)

    async def ainvoke(
        self,
        input: str | dict[str, Any] | LCToolCall,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the call through the shield (async driver)."""
        group = self.group
        if not group.shield.active:
            return await self.tool.ainvoke(input, config, **kwargs)
        run_id, call, call_id, args = self._call_parts(input, config)
        seen: list[Any] = []

        async def execute(name: str, real_args: Mapping[str, Any]) -> Result:
            same = name == self.name and dict(real_args) == args
            inner = self._real_input(input, call_id, name, real_args, same)
            out = await group.tools[name].ainvoke(inner, config, **kwargs)
            return _observed(out, seen, call_id)

        try:
            result = await group.shield.acall_tool(
                run_id, call, group.specs, execute, step=group.runs.next_step(run_id), index=0
            )
        except PassThrough as passed:
            return passed.output
        return self._finish(result, call_id, seen)

    def _run(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> Any:
        # Reached only through ``.run()``: go through the shield like ``invoke`` does.
        return self.invoke(kwargs if kwargs or not args else args[0])

    async def _arun(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> Any:
        return await self.ainvoke(kwargs if kwargs or not args else args[0])


def _observed(output: Any, seen: list[Any], call_id: str | None) -> Result:
    if call_id is not None and not isinstance(output, ToolMessage):
        raise PassThrough(output)  # a Command (or list of them): returned unchanged
    seen.append(output)
    if isinstance(output, ToolMessage):
        return to_result(output)
    return Result(_text(output))


def shield_tools(
    tools: Sequence[BaseTool | Callable[..., Any]], shield: Shield, *, run_id: str | None = None
) -> list[ShieldedTool]:
    """Wrap ``tools`` so that every direct call runs through ``shield``.

    Args:
        tools: The real tools (functions are turned into tools as ``@tool`` would).
        shield: The shield to apply.
        run_id: A fixed run id; by default ``configurable["agentshield_run_id"]`` or
            ``thread_id`` of the call's config, else ``"default"``.

    Raises:
        agentshield.ConfigError: A perturbation names a tool that is not in ``tools``.
    """
    real = as_tools(tools)
    shield.bind_tools([t.name for t in real])
    group = _ToolGroup(shield, real, run_id)
    return [
        ShieldedTool(
            name=t.name,
            description=t.description,
            args_schema=t.args_schema,
            return_direct=t.return_direct,
            tool=t,
            group=group,
        )
        for t in real
    ]
