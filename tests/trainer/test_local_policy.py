"""LocalPolicy: batched + prefix-cached generation equals one-at-a-time, stop strings, tool
calls into Messages, and concurrent episodes sharing batches (tiny model, CPU, seconds)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agentshield.sandbox import arun_episode, generate_tasks, make_environment
from agentshield.testing import sample_tool_impls, sample_tools, sample_trajectory
from agentshield.trajectory import Message, ToolCall, ToolSpec, Trajectory
from agentshield_trainer.local_policy import Completion, LocalPolicy, load_local_policy
from tests.trainer.conftest import Trained


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> LocalPolicy:
    return load_local_policy(tiny_model_dir, device="cpu", dtype="float32", max_new_tokens=20)


def _policy(
    base: LocalPolicy, *, max_new_tokens: int = 20, stop: Sequence[str] = (), **options: Any
) -> LocalPolicy:
    """Another policy over the same loaded model (no stop strings unless asked)."""
    return LocalPolicy(
        base.model, base.tokenizer, max_new_tokens=max_new_tokens, stop=stop, **options
    )


TOOLS = list(sample_tools())
CONVERSATIONS: list[tuple[list[Message], Sequence[ToolSpec]]] = [
    ([Message("system", "sys"), Message("user", "Find a cafe in Lyon")], TOOLS),
    (
        [
            Message("system", "sys"),
            Message("user", "Book a table for 2 people on 2026-12-03 at a cafe in Lyon, please"),
        ],
        TOOLS,
    ),
    ([Message("user", "hello")], TOOLS),  # the template writes a system turn for the tools
    ([Message("system", "other"), Message("user", "Find")], TOOLS[:1]),  # another prefix
    ([Message("user", "no tools at all")], ()),  # no system turn: nothing to cache
]


def test_batched_prefix_cached_generation_equals_one_at_a_time(tiny: LocalPolicy) -> None:
    batched = _policy(tiny)
    alone = _policy(tiny, prefix_cache_size=0)
    prompts = [batched.render(m, t) for m, t in CONVERSATIONS]
    reference = [alone.generate([p])[0] for p in prompts]
    together = batched.generate(prompts)
    assert [c.text for c in together] == [c.text for c in reference]
    assert [c.output_tokens for c in together] == [c.output_tokens for c in reference]
    assert [c.input_tokens for c in together] == [c.input_tokens for c in reference]
    # Rows 0-3 start with a tools prompt, row 4 has none; 3 distinct prefixes were cached.
    assert all(c.cached_tokens > 0 for c in together[:4]) and together[4].cached_tokens == 0
    assert together[0].cached_tokens == together[1].cached_tokens
    assert batched.stats.batch_sizes == [5] and len(batched.cache.tools) == 3
    # A second batch reuses the cached prefixes and still gives the same answers.
    again = batched.generate(prompts[::-1])
    assert [c.text for c in again] == [c.text for c in reference][::-1]
    assert len(batched.cache.tools) == 3


def test_the_next_step_of_a_conversation_prefills_only_what_was_added(tiny: LocalPolicy) -> None:
    policy, alone = _policy(tiny), _policy(tiny, prefix_cache_size=0)
    messages, tools = CONVERSATIONS[1]
    first = policy.generate([policy.render(messages, tools)])[0]
    call = ToolCall("call_2_0", "search_places", {"query": "cafe", "city": "Lyon"})
    longer = [
        *messages,
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", '{"results": []}', tool_call_id=call.id, name=call.name),
    ]
    prompt = policy.render(longer, tools)
    second = policy.generate([prompt])[0]
    # The whole first prompt came from the conversation cache, not just the tools prompt.
    assert second.cached_tokens == first.input_tokens
    reference = alone.generate([prompt])[0]
    assert (second.text, second.output_tokens) == (reference.text, reference.output_tokens)
    assert second.input_tokens == reference.input_tokens
    # Off when asked: only the tools prompt is reused.
    tools_only = _policy(tiny, conversation_cache_size=0)
    tools_only.generate([tools_only.render(messages, tools)])
    assert tools_only.generate([prompt])[0].cached_tokens < first.input_tokens
    assert not tools_only.cache.conversations


def test_stop_string_cuts_the_answer_and_ends_generation_early(tiny: LocalPolicy) -> None:
    prompt = tiny.render(*CONVERSATIONS[0])
    full = _policy(tiny, max_new_tokens=40).generate([prompt])[0]
    assert full.finish_reason == "length" and full.output_tokens == 40
    word = re.search(r"[A-Za-z]{3,}", full.text[4:])
    assert word is not None, full.text
    stop = word.group(0)[:3]
    cut = _policy(tiny, max_new_tokens=40, stop=(stop,)).generate([prompt])[0]
    assert cut.text == full.text[: full.text.index(stop)]
    assert cut.finish_reason == "stop"
    assert cut.output_tokens < full.output_tokens


def test_completion_becomes_a_turn_with_tool_calls(tiny: LocalPolicy) -> None:
    text = (
        "Let me look.\n"
        '<tool_call>{"name": "search_places", "arguments": {"query": "cafe", "city": "Lyon"}}'
        "</tool_call>\n"
        '<tool_call>{"name": "book_table", "arguments": "{\\"people\\": 2}"}</tool_call>'
        "<tool_call>{not json}</tool_call>"
    )
    turn = tiny.to_turn(Completion(text, 120, 40, 100, "stop"), step=3)
    message = turn.message
    assert message.role == "assistant"
    assert [(c.id, c.name, dict(c.args)) for c in message.tool_calls] == [
        ("call_3_0", "search_places", {"query": "cafe", "city": "Lyon"}),
        ("call_3_1", "book_table", {"people": 2}),
    ]
    # The malformed block is not dropped: the episode sees what the model wrote.
    assert message.content == "Let me look.\n<tool_call>{not json}</tool_call>"
    assert (turn.input_tokens, turn.output_tokens, turn.model) == (120, 40, tiny.name)


def _episodes_concurrently(policy: LocalPolicy, n: int) -> list[Trajectory]:
    tasks = generate_tasks("poi", "test", n=n)

    async def run() -> list[Trajectory]:
        return await asyncio.gather(
            *(arun_episode(make_environment(t.domain), t, policy, max_steps=3) for t in tasks)
        )

    return asyncio.run(run())


def test_concurrent_sandbox_episodes_share_batches_and_match_sequential(
    tiny: LocalPolicy,
) -> None:
    batched = _policy(tiny, max_batch=4)
    sequential = _policy(tiny, max_batch=1, prefix_cache_size=0)
    together = _episodes_concurrently(batched, 6)
    alone = _episodes_concurrently(sequential, 6)
    assert [t.messages for t in together] == [t.messages for t in alone]
    assert [t.outcome for t in together] == [t.outcome for t in alone]
    assert sequential.stats.batch_sizes == [1] * sequential.stats.requests
    assert max(batched.stats.batch_sizes) == 4
    assert batched.stats.requests == sequential.stats.requests
    assert batched.stats.batches < sequential.stats.batches
    assert batched.stats.cached_tokens > 0
    usage = together[0].metadata
    assert usage.get("input_tokens", 0) > 0 and usage.get("output_tokens", 0) > 0


async def _book(policy: LocalPolicy, request: str) -> list[Message]:
    """A small agent loop over the sample tools (what the trained adapter learned)."""
    impls = sample_tool_impls()
    messages = [Message("system", "You are a booking assistant."), Message("user", request)]
    for _ in range(5):
        turn = await policy(messages, TOOLS)
        messages.append(turn.message)
        if not turn.message.tool_calls:
            break
        for call in turn.message.tool_calls:
            impl = impls.get(call.name)
            reply = impl(**call.args) if impl else {"error": f"unknown tool {call.name!r}"}
            result = json.dumps(reply)
            messages.append(Message("tool", result, tool_call_id=call.id, name=call.name))
    return messages


def test_trained_adapter_calls_tools_through_concurrent_batches(trained: Trained) -> None:
    policy = load_local_policy(
        trained.base,
        trained.result.adapter_dir,
        device="cpu",
        dtype="float32",
        max_new_tokens=96,
        max_batch=3,
    )
    request = next(m.content for m in sample_trajectory().messages if m.role == "user")

    async def run() -> list[list[Message]]:
        return await asyncio.gather(*(_book(policy, request) for _ in range(3)))

    runs = asyncio.run(run())
    expected = [(c.name, dict(c.args)) for c in sample_trajectory().tool_calls]
    for messages in runs:
        calls = [(c.name, dict(c.args)) for m in messages for c in m.tool_calls]
        assert calls == expected
        assert "BK-p1-2" in messages[-1].content
    assert policy.stats.batch_sizes == [3, 3, 3, 3]  # every step of the 3 runs in one batch


def test_the_next_step_reuses_the_keys_and_values_of_the_answer(trained: Trained) -> None:
    policy = load_local_policy(
        trained.base, trained.result.adapter_dir, device="cpu", dtype="float32"
    )
    alone = _policy(policy, max_new_tokens=policy.max_new_tokens, prefix_cache_size=0)
    request = next(m.content for m in sample_trajectory().messages if m.role == "user")
    messages = [Message("system", "You are a booking assistant."), Message("user", request)]
    first = policy.generate([policy.render(messages, TOOLS)])[0]
    turn = policy.to_turn(first, step=len(messages))
    assert turn.message.tool_calls, first.text  # the trained adapter calls a tool
    call = turn.message.tool_calls[0]
    result = json.dumps(sample_tool_impls()[call.name](**call.args))
    observation = Message("tool", result, tool_call_id=call.id, name=call.name)
    prompt = policy.render([*messages, turn.message, observation], TOOLS)
    second = policy.generate([prompt])[0]
    # The answer re-rendered is what the model wrote: all of it but its end-of-turn token
    # (never fed to the model) came from the cache.
    assert second.cached_tokens == first.input_tokens + first.output_tokens - 1
    reference = alone.generate([prompt])[0]
    assert (second.text, second.output_tokens) == (reference.text, reference.output_tokens)
