"""The middleware hooks called directly, with fake handlers (no graph): object identity,
pass-through of Commands and interrupts, run ids, steps."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

import pytest
from langchain.agents.middleware import ModelRequest, ModelResponse, ToolCallRequest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.errors import GraphInterrupt
from langgraph.types import Command

from agentshield import Shield, tool_named
from agentshield.perturbations import create
from agentshield_langchain import ShieldMiddleware
from agentshield_langchain._convert import to_spec
from agentshield_langchain.testing import ScriptedChatModel, ai, call, sample_agent_tools
from tests.integrations.conftest import ShieldFactory
from tests.integrations.helpers import inert_shield

QUERY = "Find a cafe in Lyon for 2 people on 2026-12-03."
ARGS = {"query": "cafe", "city": "Lyon"}


def model_request(messages: list[AnyMessage]) -> ModelRequest[Any]:
    return ModelRequest(
        model=ScriptedChatModel(),
        messages=messages,
        tools=list(sample_agent_tools()),
        state={"messages": messages},
    )


def tool_request(messages: list[AnyMessage], call_id: str = "c1") -> ToolCallRequest:
    tools = {t.name: t for t in sample_agent_tools()}
    return ToolCallRequest(
        tool_call=call("search_places", ARGS, call_id),
        tool=tools["search_places"],
        state={"messages": messages},
        runtime=cast(Any, None),
    )


class Recorder:
    """A fake handler: records requests, answers with fixed objects."""

    def __init__(self, answer: Any = None) -> None:
        self.requests: list[Any] = []
        self.answer = answer

    def model(self, request: ModelRequest[Any]) -> ModelResponse[Any]:
        self.requests.append(request)
        return ModelResponse(result=[AIMessage("ok")])

    def tool(self, request: ToolCallRequest) -> ToolMessage | Command[Any]:
        self.requests.append(request)
        assert self.answer is not None
        return cast(ToolMessage | Command[Any], self.answer)


@pytest.mark.parametrize("shield", [Shield(), inert_shield()], ids=["empty", "inert"])
def test_inert_shield_passes_the_same_objects(shield: Shield) -> None:
    middleware = ShieldMiddleware(shield)
    messages: list[AnyMessage] = [HumanMessage(QUERY)]
    request = model_request(messages)
    recorder = Recorder()
    middleware.wrap_model_call(request, recorder.model)
    assert recorder.requests == [request] and recorder.requests[0] is request

    answer = ToolMessage("[]", name="search_places", tool_call_id="c1")
    treq = tool_request([*messages, ai(call("search_places", ARGS, "c1"))])
    trec = Recorder(answer)
    assert middleware.wrap_tool_call(treq, trec.tool) is answer
    assert trec.requests[0] is treq


def test_query_rewrite_builds_new_messages(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("query_redundancy", position="after")])
    first, second = HumanMessage(QUERY, id="h1"), HumanMessage("And a second one.", id="h2")
    messages: list[AnyMessage] = [first, AIMessage("Sure.", id="a1"), second]
    request = model_request(messages)
    recorder = Recorder()
    ShieldMiddleware(shield, run_id="r").wrap_model_call(request, recorder.model)

    (shown,) = recorder.requests
    assert shown is not request and request.messages is messages
    assert [m.content for m in messages] == [QUERY, "Sure.", "And a second one."]
    assert shown.messages[1] is messages[1]
    assert str(shown.messages[0].content).startswith(QUERY) and shown.messages[0] is not first
    assert shown.messages[0].id == "h1"
    assert [d.key for d in shield.decisions("r")] == ["q0", "q1"]
    assert shown.tools == request.tools


def test_commands_pass_through_unchanged(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("observation_noise"), create("latency", delay_s=0.0)])
    command: Command[Any] = Command(update={"messages": []})
    messages: list[AnyMessage] = [HumanMessage(QUERY), ai(call("search_places", ARGS, "c1"))]
    out = ShieldMiddleware(shield, run_id="r").wrap_tool_call(
        tool_request(messages), Recorder(command).tool
    )
    assert out is command
    # The call was planned (a delay), but no observation was rewritten.
    assert [d.action for d in shield.decisions("r")] == ["delay"]


def test_interrupts_pass_through_untouched(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("latency", delay_s=1.0), create("observation_noise")])
    interrupt = GraphInterrupt(())

    def handler(request: ToolCallRequest) -> ToolMessage:
        raise interrupt

    messages: list[AnyMessage] = [HumanMessage(QUERY), ai(call("search_places", ARGS, "c1"))]
    with pytest.raises(GraphInterrupt) as info:
        ShieldMiddleware(shield, run_id="r").wrap_tool_call(tool_request(messages), handler)
    assert info.value is interrupt


def test_both_hooks_derive_the_same_run_id_without_config(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("latency", delay_s=0.0)])
    middleware = ShieldMiddleware(shield)
    messages: list[AnyMessage] = [HumanMessage(QUERY)]
    middleware.wrap_model_call(model_request(messages), Recorder().model)
    answer = ToolMessage("[]", name="search_places", tool_call_id="c1")
    tool_messages = [*messages, ai(call("search_places", ARGS, "c1"))]
    middleware.wrap_tool_call(tool_request(tool_messages), Recorder(answer).tool)

    expected = "q-" + hashlib.sha256(json.dumps(QUERY).encode()).hexdigest()[:12]
    assert shield.runs() == [expected]


def test_step_and_index_come_from_the_assistant_message(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("latency", delay_s=0.0)])
    middleware = ShieldMiddleware(shield, run_id="r")
    messages: list[AnyMessage] = [
        HumanMessage(QUERY),
        ai(call("search_places", ARGS, "a")),
        ToolMessage("[]", tool_call_id="a"),
        ai(call("check_availability", {}, "b"), call("search_places", ARGS, "c2")),
    ]
    answer = ToolMessage("[]", name="search_places", tool_call_id="c2")
    middleware.wrap_tool_call(tool_request(messages, "c2"), Recorder(answer).tool)
    # A call no assistant message made falls back to a per-run counter.
    middleware.wrap_tool_call(tool_request(messages, "zz"), Recorder(answer).tool)
    middleware.wrap_tool_call(tool_request(messages, "yy"), Recorder(answer).tool)
    assert [d.key for d in shield.decisions("r")] == ["2:1", "1:0", "2:0"]


def test_schema_shift_replaces_tools_and_a_named_tool_choice(
    shield_factory: ShieldFactory,
) -> None:
    shield = shield_factory([create("tool_rename_noise", when=tool_named("search_places"))])
    request = model_request([HumanMessage(QUERY)]).override(tool_choice="search_places")
    recorder = Recorder()
    ShieldMiddleware(shield, run_id="r").wrap_model_call(request, recorder.model)

    (shown,) = recorder.requests
    renamed = shield.view("r", [t for t in map(to_spec, request.tools) if t]).names[0]
    assert shown.tool_choice == renamed
    assert shown.tools[0] == {
        "type": "function",
        "function": {**shown.tools[0]["function"], "name": renamed},
    }
    # The other tools' parameter docs say "id from search_places": they now speak the new
    # name, so the real name never leaks into what the model sees.
    for tool in shown.tools[1:]:
        assert "search_places" not in str(tool)
        assert renamed in str(tool)
