"""``ShieldMiddleware``: AgentShield as a LangChain v1 agent middleware.

Drop it into ``create_agent(model, tools, middleware=[..., ShieldMiddleware(shield)])``. The
model hook shows the model the shifted tool schema and rewritten user messages (new objects,
the agent's state is never touched); the tool hook runs each call through the Shield's
drivers, mapping shown names and arguments back to the real tool.

Put it *last* in the middleware list (innermost) so that your own error handling and retry
middleware wrap it and meet injected faults exactly where real tool failures surface.

Tracing: give it a :class:`~agentshield.tracing.Recorder` (``recorder=``) and each run becomes
an ``invoke_agent`` span (opened in ``before_agent``, closed in ``after_agent``) with a ``chat``
span per model call and an ``execute_tool`` span per tool call under it. ``Shield()`` with no
perturbations just traces. Build the Recorder with
``control_flow=(langgraph.errors.GraphBubbleUp,)`` so that interrupts are not recorded as errors.
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
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from agentshield import Shield
from agentshield.tracing import Recorder
from agentshield.trajectory import Outcome
from agentshield_langchain._convert import content_text, rewrite_queries, shown_tools, to_spec
from agentshield_langchain._runs import RunRegistry, current_config, resolve_run_id, state_messages
from agentshield_langchain._tool_calls import ashield_call, shield_call
from agentshield_langchain._tracing import model_name, set_reply, to_messages, to_specs


class ShieldMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Applies a :class:`~agentshield.Shield` to every model and tool call of an agent.

    With an inert shield (no perturbations, or none selecting anything) every request,
    message and tool message passes through as the very same object.

    Args:
        shield: The shield to apply.
        run_id: A fixed run id; by default each run's id comes from its config
            (``configurable["agentshield_run_id"]``, then ``thread_id``) or, failing
            both, a hash of its first user message.
        recorder: Trace each run, model call and tool call through this Recorder (see the
            module docstring); ``None`` (the default) traces nothing and adds no graph nodes.
        agent_name: The agent's name on the ``invoke_agent`` span.

    Raises:
        agentshield.errors.InjectedFault: From the tool hook, when a perturbation injects
            a fault (a ``RuntimeError`` or ``TimeoutError`` subclass).
    """

    def __new__(cls, *args: Any, recorder: Recorder | None = None, **kwargs: Any) -> Any:
        # The agent hooks exist only on the traced subclass: create_agent adds graph nodes
        # for them, and an untraced agent's graph must stay exactly as without tracing.
        if recorder is not None and cls is ShieldMiddleware:
            cls = _TracedShieldMiddleware
        return super().__new__(cls)

    def __init__(
        self,
        shield: Shield,
        *,
        run_id: str | None = None,
        recorder: Recorder | None = None,
        agent_name: str = "agent",
    ) -> None:
        super().__init__()
        self.shield = shield
        self.run_id = run_id
        self.recorder = recorder
        self.agent_name = agent_name
        self._runs = RunRegistry()

    @property
    def name(self) -> str:
        """``ShieldMiddleware`` (also for the traced variant)."""
        return "ShieldMiddleware"

    def _run_id(self, messages: list[Any]) -> str:
        return resolve_run_id(self.run_id, current_config(), messages)

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

    def _chat(self, recorder: Recorder, request: ModelRequest[Any]) -> Any:
        """The chat span scope for the (shifted) request."""
        messages = state_messages(request.state) or list(request.messages)
        return recorder.chat(
            self._run_id(messages),
            model=model_name(request.model),
            messages=to_messages(request.messages, request.system_message),
            tools=to_specs(request.tools),
        )

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        """Show the model the shifted tools and user messages."""
        shifted = self._shift(request)
        if self.recorder is None:
            return self._answered(request, handler(shifted))
        with self._chat(self.recorder, shifted) as chat:
            response = handler(shifted)
            set_reply(self.recorder, chat, getattr(response, "result", None) or [])
            return self._answered(request, response)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        """Async twin of :meth:`wrap_model_call`."""
        shifted = self._shift(request)
        if self.recorder is None:
            return self._answered(request, await handler(shifted))
        with self._chat(self.recorder, shifted) as chat:
            response = await handler(shifted)
            set_reply(self.recorder, chat, getattr(response, "result", None) or [])
            return self._answered(request, response)

    def _answered(
        self, request: ModelRequest[Any], response: ModelResponse[Any]
    ) -> ModelResponse[Any]:
        """Show the Shield's detection monitor a final answer (a reply without tool calls);
        the response passes through unchanged."""
        monitor = self.shield.monitor
        if monitor is None:
            return response
        try:
            result = getattr(response, "result", None) or []
            last = result[-1] if result else None
            if isinstance(last, AIMessage) and not last.tool_calls:
                messages = state_messages(request.state) or list(request.messages)
                self.shield.observe_answer(self._run_id(messages), content_text(last.content))
        except Exception:
            monitor._failed("middleware")
        return response

    # Tool calls -------------------------------------------------------------------------------

    def wrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolMessage | Command[Any]],
    ) -> ToolMessage | Command[Any]:
        """Run the call through the Shield; Commands from tools pass through unchanged."""
        return shield_call(
            self.shield,
            request,
            handler,
            registry=self._runs,
            run_id=self.run_id,
            recorder=self.recorder,
        )

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command[Any]]],
    ) -> ToolMessage | Command[Any]:
        """Async twin of :meth:`wrap_tool_call`."""
        return await ashield_call(
            self.shield,
            request,
            handler,
            registry=self._runs,
            run_id=self.run_id,
            recorder=self.recorder,
        )


class _TracedShieldMiddleware(ShieldMiddleware):
    """A :class:`ShieldMiddleware` with a Recorder: its agent hooks open and close the run's
    ``invoke_agent`` span (``ShieldMiddleware(..., recorder=...)`` builds one)."""

    recorder: Recorder

    def _start(self, state: Any) -> None:
        try:
            messages = state_messages(state)
            config = current_config()
            thread = ((config or {}).get("configurable") or {}).get("thread_id")
            self.recorder.start_run(
                self._run_id(messages),
                agent_name=self.agent_name,
                conversation_id=None if thread is None else str(thread),
            )
        except Exception:
            self.recorder._error("could not start the agent run")

    def _end(self, state: Any) -> None:
        try:
            messages = state_messages(state)
            run_id = self._run_id(messages)
            if self.shield.active:
                self.recorder.record_decisions(run_id, self.shield.decisions(run_id))
            last = messages[-1] if messages else None
            outcome = None
            if isinstance(last, AIMessage) and not last.tool_calls:
                outcome = Outcome("unknown", answer=content_text(last.content))
            self.recorder.end_run(run_id, outcome=outcome)
        except Exception:
            self.recorder._error("could not end the agent run")

    def before_agent(self, state: AgentState[Any], runtime: Any) -> dict[str, Any] | None:
        """Open the run's ``invoke_agent`` span."""
        self._start(state)
        return None

    async def abefore_agent(self, state: AgentState[Any], runtime: Any) -> dict[str, Any] | None:
        """Async twin of :meth:`before_agent`."""
        self._start(state)
        return None

    def after_agent(self, state: AgentState[Any], runtime: Any) -> dict[str, Any] | None:
        """Record the Shield's decisions and the outcome; close the run's span."""
        self._end(state)
        return None

    async def aafter_agent(self, state: AgentState[Any], runtime: Any) -> dict[str, Any] | None:
        """Async twin of :meth:`after_agent`."""
        self._end(state)
        return None
