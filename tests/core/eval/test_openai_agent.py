"""OpenAIPolicy against a real HTTP server on 127.0.0.1 that answers like a model would."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from agentshield.errors import (
    AgentShieldError,
    ConfigError,
    EndpointError,
    EndpointUnreachableError,
)
from agentshield.eval.openai_agent import LOCAL_API_KEY, OpenAIPolicy
from agentshield.sandbox import OracleAgent, Turn, arun_episode, generate_tasks, make_environment
from agentshield.trajectory import Message, ToolCall, ToolSpec
from tests.core.eval.openai_server import Reply, completion, error, scripted_server

SEARCH = ToolSpec(
    "search_places",
    "Find places in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "category": {"type": "string"}},
        "required": ["city"],
    },
)
BOOK = ToolSpec(
    "book",
    "Hold a table.",
    {"type": "object", "properties": {"place_id": {"type": "string"}}, "required": ["place_id"]},
)
CONVERSATION = (
    Message("system", "Be helpful."),
    Message("user", "Book a cafe in Lyon."),
    Message("assistant", "", tool_calls=(ToolCall("c1", "search_places", {"city": "Lyon"}),)),
    Message("tool", '{"results": []}', tool_call_id="c1", name="search_places", is_error=False),
    Message("tool", "Error: no such place", tool_call_id="c1", name="book", is_error=True),
)


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def ask(policy: OpenAIPolicy, messages: Any = CONVERSATION, tools: Any = (SEARCH, BOOK)) -> Turn:
    async def go() -> Turn:
        async with policy:
            return await policy(messages, tools)

    return asyncio.run(go())


def test_round_trip_of_messages_tools_and_tool_calls() -> None:
    reply = completion(
        content="Searching.",
        tool_calls=[
            call("r1", "search_places", '{"city": "Lyon", "category": "cafe"}'),
            call("r2", "book", '{"place_id": "p-1"}'),
        ],
        usage=(123, 45),
        model="served/tiny",
    )
    with scripted_server([Reply(reply)]) as server:
        policy = OpenAIPolicy(base_url=server.url + "/", model="tiny", max_tokens=64)
        turn = ask(policy)
    assert turn == Turn(
        Message(
            "assistant",
            "Searching.",
            tool_calls=(
                ToolCall("r1", "search_places", {"city": "Lyon", "category": "cafe"}),
                ToolCall("r2", "book", {"place_id": "p-1"}),
            ),
        ),
        input_tokens=123,
        output_tokens=45,
        model="served/tiny",
    )
    (sent,) = server.requests
    assert sent["model"] == "tiny" and sent["temperature"] == 0.0 and sent["max_tokens"] == 64
    assert sent["tools"] == [SEARCH.to_dict(), BOOK.to_dict()]
    assert sent["messages"] == [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "Book a cafe in Lyon."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "search_places", "arguments": '{"city": "Lyon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"results": []}'},
        {"role": "tool", "tool_call_id": "c1", "content": "Error: no such place"},
    ]
    assert server.headers[0]["authorization"] == f"Bearer {LOCAL_API_KEY}"
    assert policy.malformed_calls == 0


def test_final_answer_without_usage_and_no_tools() -> None:
    reply = completion(content="Booked: BK-1.", usage=None, model="")
    with scripted_server([Reply(reply)]) as server:
        turn = ask(OpenAIPolicy(base_url=server.url, model="m"), tools=())
    assert turn == Turn(Message("assistant", "Booked: BK-1."))
    assert "tools" not in server.requests[0]


def test_api_key_comes_from_the_named_environment_variable() -> None:
    replies = [Reply(completion(content="ok")), Reply(completion(content="ok"))]
    with scripted_server(replies) as server:
        ask(OpenAIPolicy(base_url=server.url, model="m", api_key_env="MY_KEY", environ={}))
        ask(
            OpenAIPolicy(
                base_url=server.url, model="m", api_key_env="MY_KEY", environ={"MY_KEY": "sk-1"}
            )
        )
    assert [h["authorization"] for h in server.headers] == [
        f"Bearer {LOCAL_API_KEY}",
        "Bearer sk-1",
    ]


def test_malformed_arguments_become_empty_arguments_and_are_counted() -> None:
    reply = completion(
        tool_calls=[
            call("a", "search_places", '{"city": "Lyon"'),  # cut off
            call("b", "search_places", '["Lyon"]'),  # not an object
            call("", "book", ""),  # no id, no arguments: well-formed
        ]
    )
    with scripted_server([Reply(reply)]) as server:
        policy = OpenAIPolicy(base_url=server.url, model="m")
        turn = ask(policy)
    assert turn.message.tool_calls == (
        ToolCall("a", "search_places", {}),
        ToolCall("b", "search_places", {}),
        ToolCall(f"call_{len(CONVERSATION)}_2", "book", {}),
    )
    assert policy.malformed_calls == 2
    # The environment answers an empty-argument call with its own error: an invalid call.
    result = make_environment("poi").execute("search_places", turn.message.tool_calls[0].args)
    assert result.is_error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_connection_refused_names_the_url_and_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EndpointUnreachableError) as info:
        ask(OpenAIPolicy(base_url=url, model="m", max_retries=0))
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, AgentShieldError)
    assert info.value.url == url and info.value.status_code is None
    assert url in str(info.value) and "start the server" in str(info.value)


def test_timeout_is_unreachable_and_says_what_to_raise() -> None:
    slow = Reply(completion(content="late"), delay_s=1.0)
    with (
        scripted_server([slow]) as server,
        pytest.raises(EndpointUnreachableError, match=r"within 0.2 s .*raise timeout_s"),
    ):
        ask(OpenAIPolicy(base_url=server.url, model="m", timeout_s=0.2, max_retries=0))


@pytest.mark.parametrize(
    ("status", "hint"),
    [(404, "serves a model named 'nope'"), (401, "API key"), (400, "server's log")],
)
def test_error_answers_name_status_url_and_fix(status: int, hint: str) -> None:
    with (
        scripted_server([error(status, "went wrong")]) as server,
        pytest.raises(EndpointError) as info,
    ):
        ask(OpenAIPolicy(base_url=server.url, model="nope", max_retries=0))
    assert not isinstance(info.value, EndpointUnreachableError)
    assert isinstance(info.value, RuntimeError) and info.value.status_code == status
    assert f"{server.url} answered HTTP {status}" in str(info.value)
    assert "went wrong" in str(info.value) and hint in str(info.value)


def test_rate_limit_is_retried_after_the_servers_retry_after() -> None:
    replies = [error(429, "slow down", **{"Retry-After": "0"}), Reply(completion(content="ok"))]
    with scripted_server(replies) as server:
        turn = ask(OpenAIPolicy(base_url=server.url, model="m", max_retries=1))
    assert turn.message.content == "ok" and len(server.requests) == 2


def test_no_choices_is_an_endpoint_error() -> None:
    no_choices = Reply({**completion(content="x"), "choices": []})
    with scripted_server([no_choices]) as server, pytest.raises(EndpointError, match="choice"):
        ask(OpenAIPolicy(base_url=server.url, model="m"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": " ", "model": "m"},
        {"base_url": "http://x/v1", "model": ""},
        {"base_url": "http://x/v1", "model": "m", "max_tokens": 0},
        {"base_url": "http://x/v1", "model": "m", "timeout_s": 0},
        {"base_url": "http://x/v1", "model": "m", "max_retries": -1},
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        OpenAIPolicy(**kwargs)


def oracle_reply(body: dict[str, Any]) -> Reply:
    """Answer as the scripted oracle would, reading the request the way a model server does."""
    messages = [Message.from_dict(m) for m in body["messages"]]
    tools = [ToolSpec.from_dict(t) for t in body.get("tools", ())]
    out = OracleAgent()(messages, tools)
    calls = [c.to_dict() for c in out.tool_calls]
    return Reply(completion(content=out.content or None, tool_calls=calls, model="oracle"))


def test_whole_episodes_through_the_endpoint_match_the_in_process_oracle() -> None:
    tasks = generate_tasks("poi", "test", n=6)

    async def go(url: str) -> list[Any]:
        async with OpenAIPolicy(base_url=url, model="oracle") as policy:
            return await asyncio.gather(
                *(arun_episode(make_environment(t.domain), t, policy) for t in tasks)
            )

    with scripted_server(oracle_reply) as server:
        served = asyncio.run(go(server.url))
    for task, trajectory in zip(tasks, served, strict=True):
        local = asyncio.run(arun_episode(make_environment(task.domain), task, OracleAgent()))
        assert trajectory.outcome.status == task.expected
        assert trajectory.tool_calls == local.tool_calls
        assert trajectory.metadata["models"] == ["oracle"]
        assert trajectory.metadata["input_tokens"] == 11 * trajectory.metadata["steps"]
    assert json.dumps(server.requests)  # every request was plain JSON
