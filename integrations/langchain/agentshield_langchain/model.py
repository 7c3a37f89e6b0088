"""``shield_model``: a chat model wrapper that shows the wrapped model the shifted world.

For graphs built by hand (no ``create_agent`` middleware): the wrapper keeps the real tools
it is bound with and, at each call, binds the wrapped model with the tool view of the run and
rewrites the user messages (as new objects), exactly as :class:`ShieldMiddleware` does in its
model hook. Pair it with :func:`~agentshield_langchain.shielded_tool_node` so that calls to
the shown names run the real tools.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agentshield import Shield
from agentshield.tracing import Recorder
from agentshield_langchain._convert import rewrite_queries, shown_tools, to_spec
from agentshield_langchain._runs import current_config, resolve_run_id
from agentshield_langchain._tracing import model_name, set_reply, to_messages, to_specs


class ShieldedChatModel(BaseChatModel):
    """A chat model that shows ``model`` the tool schema and user messages of ``shield``.

    Build it with :func:`shield_model`. ``bind_tools`` records the real tools; binding the
    wrapped model happens per call, because the tool view depends on the run.
    """

    model: BaseChatModel
    """The wrapped chat model (unbound)."""
    shield: Shield
    """The shield whose tool view and query rewrites the model is shown."""
    run_id: str | None = None
    """A fixed run id (default: from the run's config, else the first user message)."""
    bound_tools: list[Any] = Field(default_factory=list)
    """The real tools this model is bound with."""
    bind_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further ``bind_tools`` arguments (``tool_choice``, ...) for the wrapped model."""
    recorder: Recorder | None = None
    """Trace each call as a ``chat`` span (``None``: no tracing)."""

    @property
    def _llm_type(self) -> str:
        return f"agentshield-{self.model._llm_type}"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """A copy bound with the real ``tools``; perturbations naming unknown tools fail now.

        Raises:
            agentshield.ConfigError: A perturbation names a tool that is not in ``tools``.
        """
        specs = [to_spec(t) for t in tools]
        self.shield.bind_tools([s.name for s in specs if s is not None])
        extra = dict(kwargs)
        if tool_choice is not None:
            extra["tool_choice"] = tool_choice
        return self.model_copy(update={"bound_tools": list(tools), "bind_kwargs": extra})

    def with_structured_output(
        self, schema: dict[str, Any] | type, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """The wrapped model's structured output, unshifted: an output schema is not one of
        the agent's tools, and renaming it would only break the output parser."""
        return self.model.with_structured_output(schema, include_raw=include_raw, **kwargs)

    def _chat(self, recorder: Recorder, messages: list[BaseMessage], tools: list[Any]) -> Any:
        """The chat span scope for one call (the messages and tools as the model sees them)."""
        return recorder.chat(
            resolve_run_id(self.run_id, current_config(), messages),
            model=model_name(self.model),
            messages=to_messages(messages),
            tools=to_specs(tools),
        )

    def _target(
        self, messages: list[BaseMessage]
    ) -> tuple[Runnable[Any, Any], list[BaseMessage], list[Any]]:
        """The wrapped model bound as this run should see it, the messages to send and the
        tools shown."""
        tools = self.bound_tools
        kwargs = self.bind_kwargs
        if self.shield.active:
            run_id = resolve_run_id(self.run_id, current_config(), messages)
            specs = [to_spec(t) for t in tools]
            real = [s for s in specs if s is not None]
            if real:
                view = self.shield.view(run_id, real)
                shown = shown_tools(tools, specs, view)
                if shown is not None:
                    tools = shown
                    choice = kwargs.get("tool_choice")
                    if isinstance(choice, str) and choice in view.renames():
                        kwargs = {**kwargs, "tool_choice": view.renames()[choice]}
            messages = rewrite_queries(self.shield, run_id, messages) or messages
        if tools:
            return self.model.bind_tools(tools, **kwargs), messages, tools
        return self.model, messages, tools

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        target, messages, tools = self._target(messages)
        # No config: the wrapped model picks up the caller's (the graph node's) callbacks
        # and configurable from the context, as if it had been called directly.
        if self.recorder is None:
            message = target.invoke(messages, stop=stop, **kwargs)
        else:
            with self._chat(self.recorder, messages, tools) as chat:
                message = target.invoke(messages, stop=stop, **kwargs)
                set_reply(self.recorder, chat, [message])
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        target, messages, tools = self._target(messages)
        if self.recorder is None:
            message = await target.ainvoke(messages, stop=stop, **kwargs)
        else:
            with self._chat(self.recorder, messages, tools) as chat:
                message = await target.ainvoke(messages, stop=stop, **kwargs)
                set_reply(self.recorder, chat, [message])
        return ChatResult(generations=[ChatGeneration(message=message)])


def shield_model(
    model: BaseChatModel,
    shield: Shield,
    *,
    run_id: str | None = None,
    recorder: Recorder | None = None,
) -> ShieldedChatModel:
    """Wrap ``model`` so that it sees the shifted tool schema and user messages.

    Bind tools on the result (``shield_model(model, shield).bind_tools(tools)``), with the
    same tools, in the same order, as the graph's shielded tool node.

    Args:
        model: The chat model to wrap (it must support ``bind_tools`` if tools are bound).
        shield: The shield to apply.
        run_id: A fixed run id (default: derived per run, see
            :class:`~agentshield_langchain.ShieldMiddleware`).
        recorder: Trace each model call as a ``chat`` span (``None``: no tracing); it nests
            under the run's ``invoke_agent`` span when one is open for the run id.
    """
    return ShieldedChatModel(model=model, shield=shield, run_id=run_id, recorder=recorder)
