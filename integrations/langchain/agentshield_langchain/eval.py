"""LangChain / LangGraph agents under ``agentshield eval``.

:class:`GraphAgent` evaluates an agent built by a factory taking the sandbox's tools (as
LangChain tools; its one required parameter is named ``tools``): ``factory(tools)`` or
``factory(tools, middleware=[...])``. A factory that
takes ``middleware`` (as ``langchain.agents.create_agent`` does) gets a
:class:`~agentshield_langchain.ShieldMiddleware`, so every shift applies — the model sees the
shifted tools and query. One that does not gets its tools through
:func:`~agentshield_langchain.shield_tools`, which applies call and observation shifts only;
the report's config says which. ``agentshield eval --agent my_module:build_agent`` finds this
through :func:`resolve_agent`, registered in the ``agentshield.agents`` entry-point group::

    def build_agent(tools, middleware=()):
        return create_agent(my_model, tools, middleware=list(middleware))

:func:`sandbox_tools` turns an environment's tools into LangChain tools, and
:class:`PolicyChatModel` drives any sandbox policy (the oracle, the brittle agent) as a chat
model, so a real LangGraph agent can be evaluated with a deterministic "model".
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.errors import GraphRecursionError
from pydantic import ConfigDict, Field

from agentshield import Shield, ToolSpec, Trajectory
from agentshield.sandbox import SYSTEM_PROMPT, Environment, Task
from agentshield.sandbox.episode import episode_from_messages
from agentshield.sandbox.policy import Turn
from agentshield_langchain._tracing import to_messages
from agentshield_langchain.middleware import ShieldMiddleware
from agentshield_langchain.tools import shield_tools

if TYPE_CHECKING:
    from agentshield.tracing import Recorder

__all__ = ["GraphAgent", "PolicyChatModel", "resolve_agent", "sandbox_tools"]

Factory = Callable[..., Any]


def sandbox_tools(env: Environment) -> list[BaseTool]:
    """The environment's tools as LangChain tools: the same names and JSON schemas; an
    error observation is raised as a ``ToolException`` (so ``ToolNode`` marks it an error)."""

    def make(spec: ToolSpec) -> BaseTool:
        def run(**kwargs: Any) -> str:
            result = env.execute(spec.name, kwargs)
            if result.is_error:
                raise ToolException(result.content)
            return result.content

        return StructuredTool(
            name=spec.name,
            description=spec.description,
            args_schema=dict(spec.parameters),
            func=run,
            handle_tool_error=True,
        )

    return [make(spec) for spec in env.tools]


class PolicyChatModel(BaseChatModel):
    """A chat model whose replies come from a sandbox policy (``(messages, tools) ->
    message``), so real LangChain agents run deterministic scripted "models"."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    policy: Any = Field(description="the policy answering each call")
    ids: Any = Field(default_factory=lambda: itertools.count(1), exclude=True)

    @property
    def _llm_type(self) -> str:
        return "agentshield-policy"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools in the OpenAI format (``tool_choice`` is the policy's own business)."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        specs = [ToolSpec.from_dict(t) for t in kwargs.get("tools") or ()]
        reply = self.policy(to_messages(messages), specs)
        message = reply.message if isinstance(reply, Turn) else reply
        out = AIMessage(
            content=message.content,
            tool_calls=[
                {"name": c.name, "args": dict(c.args), "id": c.id, "type": "tool_call"}
                for c in message.tool_calls
            ],
            id=f"policy-{next(self.ids)}",
        )
        return ChatResult(generations=[ChatGeneration(message=out)])


def _takes_middleware(factory: Factory) -> bool:
    try:
        return "middleware" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


class GraphAgent:
    """A LangGraph / LangChain agent built per episode by ``factory`` (see the module
    docstring).

    Args:
        factory: ``factory(tools)`` or ``factory(tools, middleware=[...])`` returning a
            runnable that takes ``{"messages": [...]}`` and returns the final state.
        name: The agent's name in reports and traces.
    """

    def __init__(self, factory: Factory, *, name: str = "langgraph") -> None:
        self.factory = factory
        self.name = name
        self.full_shifts = _takes_middleware(factory)

    async def arun(
        self,
        env: Environment,
        task: Task,
        *,
        shield: Shield | None,
        run_id: str,
        max_steps: int,
        recorder: Recorder | None,
        timeout_s: float | None,
    ) -> Trajectory:
        tools = sandbox_tools(env)
        shield = shield or Shield()
        if self.full_shifts:
            middleware = ShieldMiddleware(
                shield, run_id=run_id, recorder=recorder, agent_name=self.name
            )
            graph = self.factory(tools, middleware=[middleware])
        else:
            graph = self.factory(shield_tools(tools, shield))
        inputs = {"messages": [SystemMessage(SYSTEM_PROMPT), HumanMessage(task.query)]}
        config = {"recursion_limit": 2 * max_steps + 1, "configurable": {"thread_id": run_id}}
        detail = None
        messages: list[BaseMessage] = []
        limit = asyncio.timeout(timeout_s)
        try:
            async with limit:
                state = await graph.ainvoke(inputs, config=config)
            messages = list(state["messages"])
        except TimeoutError:
            if not limit.expired():
                raise  # the agent's own (an injected tool timeout it does not handle)
            detail = f"episode timed out after {timeout_s:g} s"
        except GraphRecursionError:
            detail = f"step limit reached ({max_steps} steps)"
        core = to_messages(messages)
        answer = next(
            (m.content for m in reversed(core) if m.role == "assistant" and not m.tool_calls),
            None,
        )
        return episode_from_messages(
            env, task, shield, run_id, core, answer=answer, detail=detail, max_steps=max_steps
        )


def resolve_agent(target: object, **options: Any) -> GraphAgent | None:
    """The ``agentshield.agents`` resolver: a factory whose one required parameter is named
    ``tools`` (optionally also taking ``middleware``) becomes a :class:`GraphAgent`; anything
    else, and any option (an adapter is a local model's), is left to other resolvers."""
    if options or isinstance(target, str) or not callable(target) or hasattr(target, "arun"):
        return None
    try:
        params = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return None
    if [p.name for p in params] != ["tools"]:
        return None
    return GraphAgent(target, name=getattr(target, "__name__", "langgraph"))
