"""Test helpers for LangChain / LangGraph agents, shipped as a pytest plugin.

Test your own agent under AgentShield the way this package tests itself: a scripted
tool-calling chat model (langchain-core's fakes cannot bind tools) that records what it was
shown, the core's sample tools as LangChain tools, and a transcript to compare runs with::

    model = ScriptedChatModel(script=[ai(call("search_places", {...}, "c1")), "Done."])
    agent = create_agent(model, sample_agent_tools(), middleware=[ShieldMiddleware(shield)])
    agent.invoke({"messages": [HumanMessage("...")]})
    assert model.calls[0].tool_names == [...]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages import ToolCall as LCToolCall
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

from agentshield.testing import sample_tool_impls, sample_tools


@dataclass(frozen=True)
class ModelCall:
    """What the scripted model was shown in one call."""

    messages: tuple[BaseMessage, ...]
    tools: tuple[dict[str, Any], ...]
    """The bound tools, in OpenAI format (``{"type": "function", "function": {...}}``)."""

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools shown."""
        return [str(t.get("function", t).get("name")) for t in self.tools]

    def tool(self, name: str) -> dict[str, Any]:
        """The function part (name, description, parameters) of the tool shown as ``name``."""
        for t in self.tools:
            fn: dict[str, Any] = t.get("function", t)
            if fn.get("name") == name:
                return fn
        raise KeyError(f"no tool {name!r} was shown; shown: {self.tool_names}")

    @property
    def human_texts(self) -> list[str]:
        """The text of each user message shown."""
        return [m.text for m in self.messages if isinstance(m, HumanMessage)]

    @property
    def tool_messages(self) -> list[ToolMessage]:
        """The observations shown."""
        return [m for m in self.messages if isinstance(m, ToolMessage)]


#: One turn of a script: a message, a text answer, or a function of what the model is shown.
Step = AIMessage | str | Callable[[ModelCall], AIMessage | str]


class ScriptExhaustedError(AssertionError):
    """The agent called the scripted model more often than the script has turns."""


class ScriptedChatModel(FakeMessagesListChatModel):
    """A scripted tool-calling chat model that records every call it gets.

    ``bind_tools`` works (it binds OpenAI-format tools, as real chat models do), and each
    call is recorded in :attr:`calls` with the messages and tools it was shown. Turns without
    an id get ``"scripted-<n>"``, so two runs of one script produce identical messages.
    """

    responses: list[BaseMessage] = Field(default_factory=list)
    """Unused (the parent's fixed responses); see :attr:`script`."""
    script: list[Any] = Field(default_factory=list)
    """The turns, in order (:data:`Step` values)."""
    _calls: list[ModelCall] = PrivateAttr(default_factory=list)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "agentshield-scripted"

    @property
    def calls(self) -> list[ModelCall]:
        """Every call so far, in order."""
        with self._lock:
            return list(self._calls)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (recorded with each call; ``tool_choice`` is accepted and ignored)."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = ModelCall(tuple(messages), tuple(kwargs.get("tools") or ()))
        with self._lock:
            turn = len(self._calls)
            self._calls.append(call)
        if turn >= len(self.script):
            raise ScriptExhaustedError(
                f"the script has {len(self.script)} turns; the agent asked for turn {turn + 1}"
            )
        step = self.script[turn]
        out = step(call) if callable(step) else step
        message = AIMessage(content=out) if isinstance(out, str) else out.model_copy()
        if message.id is None:
            message.id = f"scripted-{turn + 1}"
        return ChatResult(generations=[ChatGeneration(message=message)])


def call(name: str, args: Mapping[str, Any], id: str) -> LCToolCall:
    """One tool call of an assistant turn."""
    return LCToolCall(name=name, args=dict(args), id=id, type="tool_call")


def ai(*calls: LCToolCall, content: str = "") -> AIMessage:
    """An assistant turn making ``calls`` (in parallel when several)."""
    return AIMessage(content=content, tool_calls=list(calls))


def sample_agent_tools(log: list[tuple[str, dict[str, Any]]] | None = None) -> list[BaseTool]:
    """The core's sample tools (``agentshield.testing.sample_tools``) as LangChain tools.

    Each keeps its JSON schema as is and returns its result as a JSON string; with ``log``,
    each real execution appends ``(name, arguments)`` to it.
    """
    impls = sample_tool_impls()
    out: list[BaseTool] = []
    for spec in sample_tools():

        def run(_name: str = spec.name, **kwargs: Any) -> str:
            if log is not None:
                log.append((_name, kwargs))
            return json.dumps(impls[_name](**kwargs))

        out.append(
            StructuredTool(
                name=spec.name,
                description=spec.description,
                args_schema=dict(spec.parameters),
                func=run,
            )
        )
    return out


def sample_value(key: str, schema: Mapping[str, Any]) -> Any:
    """A plausible value for one parameter of the sample domain, from its type, name and
    description (so it still works when a shift renamed the parameter)."""
    if schema.get("type") == "integer":
        return 2
    hint = f"{key} {schema.get('description', '')}".lower()
    for word, value in (("date", "2026-12-03"), ("city", "Lyon"), ("id", "p1")):
        if word in hint:
            return value
    return "cafe"


def call_every_tool(model_call: ModelCall) -> AIMessage:
    """A script turn that calls every tool shown, in parallel, with :func:`sample_value`
    arguments (call ids ``every-<n>``): exercises each shown tool once."""
    calls = []
    for i, name in enumerate(model_call.tool_names):
        props: Mapping[str, Any] = model_call.tool(name).get("parameters", {}).get("properties", {})
        args = {k: sample_value(k, v) for k, v in props.items()}
        calls.append(call(name, args, f"every-{i + 1}"))
    return ai(*calls)


def transcript(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """What a run said, for comparing runs: per message its type, content, tool calls,
    call id, name and status, and its id unless the graph made one up (tool messages)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        row: dict[str, Any] = {"type": m.type, "content": m.content}
        if isinstance(m, AIMessage):
            row["tool_calls"] = [
                {"name": c["name"], "args": c["args"], "id": c["id"]} for c in m.tool_calls
            ]
        if isinstance(m, ToolMessage):
            row.update(tool_call_id=m.tool_call_id, name=m.name, status=m.status)
        else:
            row["id"] = m.id
        out.append(row)
    return out


@pytest.fixture
def agent_tools() -> list[BaseTool]:
    """Fresh :func:`sample_agent_tools`."""
    return sample_agent_tools()
