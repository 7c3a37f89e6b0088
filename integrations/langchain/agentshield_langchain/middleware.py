"""``ShieldMiddleware``: AgentShield as a LangChain v1 agent middleware.

Drop it into ``create_agent(model, tools, middleware=[..., ShieldMiddleware(shield)])``. The
model hook shows the model the shifted tool schema and rewritten user messages (new objects,
the agent's state is never touched); the tool hook runs each call through the Shield's
drivers, mapping shown names and arguments back to the real tool.

Put it *last* in the middleware list (innermost) so that your own error handling and retry
middleware wrap it and meet injected faults exactly where real tool failures surface.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain.agents.middleware import (
    AgentMiddleware,
    AgentState,
    ModelRequest,
    ModelResponse,
    ToolCallRequest,
)
from langchain_core.messages import AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from agentshield import Shield
from agentshield_langchain._convert import rewrite_queries, shown_tools, to_spec
from agentshield_langchain._runs import RunRegistry, current_config, resolve_run_id, state_messages
from agentshield_langchain._tool_calls import ashield_call, shield_call


class ShieldMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Applies a :class:`~agentshield.Shield` to every model and tool call of an agent.

    With an inert shield (no perturbations, or none selecting anything) every request,
    message and tool message passes through as the very same object.

    Args:
        shield: The shield to apply.
        run_id: A fixed run id; by default each run's id comes from its config
            (``configurable["agentshield_run_id"]``, then ``thread_id``) or, failing
            both, a hash of its first user message.

    Raises:
        agentshield.errors.InjectedFault: From the tool hook, when a perturbation injects
            a fault (a ``RuntimeError`` or ``TimeoutError`` subclass).
    """

    def __init__(self, shield: Shield, *, run_id: str | None = None) -> None:
        super().__init__()
        self.shield = shield
        self.run_id = run_id
        self._runs = RunRegistry()

    # Model calls ------------------------------------------------------------------------------

    def _shift(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        """The request as the model should see it (``request`` itself if unchanged)."""
        if not self.shield.active:
            return request
        messages = state_messages(request.state) or list(request.messages)
        run_id = resolve_run_id(self.run_id, current_config(), messages)
        shifted = request
        # Only BaseTools run in the tool node; dicts are provider-side tools, left alone.
        specs = [to_spec(t) if isinstance(t, BaseTool) else None for t in request.tools]
        real = [t for t in request.tools if isinstance(t, BaseTool)]
        real_specs = [s for s in specs if s is not None]
        if real_specs:
            self._runs.remember(run_id, real_specs, real)
            view = self.shield.view(run_id, real_specs)
            tools = shown_tools(request.tools, specs, view)
            if tools is not None:
                shifted = shifted.override(tools=tools)
                choice = request.tool_choice
                if isinstance(choice, str) and choice in view.renames():
                    shifted = shifted.override(tool_choice=view.renames()[choice])
        new_messages = rewrite_queries(self.shield, run_id, request.messages)
        if new_messages is not None:
            shifted = shifted.override(messages=cast("list[AnyMessage]", new_messages))
        return shifted

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        """Show the model the shifted tools and user messages."""
        return handler(self._shift(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        """Async twin of :meth:`wrap_model_call`."""
        return await handler(self._shift(request))

    # Tool calls -------------------------------------------------------------------------------

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        """Run the call through the Shield; Commands from tools pass through unchanged."""
        return shield_call(self.shield, request, handler, registry=self._runs, run_id=self.run_id)

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Async twin of :meth:`wrap_tool_call`."""
        return await ashield_call(
            self.shield, request, handler, registry=self._runs, run_id=self.run_id
        )
