"""The runner: the oracle scores 100 % under the default suite, episodes are independent and
reproducible, concurrency is bounded, timeouts and crashes end one episode, never the run."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from agentshield import Message, ToolSpec
from agentshield.eval import (
    EVAL_SEED_MASK,
    EpisodeResult,
    PolicyAgent,
    arun_suite,
    load_suite,
    run_suite,
    summarize,
)
from agentshield.eval.suite import eval_seed
from agentshield.sandbox import DOMAINS, OracleAgent, Task, Turn, generate_tasks
from agentshield.sandbox.brittle import BrittleAgent

#: Ten test tasks per domain: every kind, unsolvable ones included.
TASKS: list[Task] = [t for d in DOMAINS for t in generate_tasks(d, "test", n=10)]


def test_the_oracle_scores_100_percent_clean_and_under_every_default_shift() -> None:
    suite = load_suite("default")
    results = run_suite(PolicyAgent(OracleAgent(), name="oracle"), TASKS, suite, concurrency=16)
    assert len(results) == len(TASKS) * (len(suite) + 1)
    failures = [(r.run_id, r.expected, r.status, r.answer) for r in results if not r.correct]
    assert failures == []
    summary = summarize(results)
    assert {g.name for g in summary.perturbations} == {e.label for e in suite}
    assert summary.clean is not None
    for group in (summary.clean, *summary.tiers, *summary.perturbations):
        assert group.rates["success"].value == 1.0, group.name
        assert group.rates["tool_error"].value in (0.0, None), group.name


def test_the_brittle_agent_drops_where_a_static_agent_should() -> None:
    results = run_suite(PolicyAgent(BrittleAgent(), name="brittle"), TASKS, load_suite("default"))
    s = summarize(results)
    assert s.clean is not None and s.clean.rates["success"].value == 1.0
    by_name = {g.name: g for g in s.perturbations}
    # It calls the original names, ignores errors and never refuses a task it memorised.
    for broken in ("tool_rename_noise", "parameter_rename", "tool_error", "unsolvable_task"):
        assert (by_name[broken].rates["success"].value or 0.0) < 0.8, broken
    assert by_name["tool_rename_noise"].rates["tool_error"].value == 1.0
    assert (by_name["unsolvable_task"].rates["refusal"].value or 0.0) < 0.5
    # What it never reads cannot hurt it.
    assert by_name["observation_format"].rates["success"].value == 1.0
    for tier in s.tiers[:4]:
        drop = tier.drops["success"]
        assert drop is not None and drop.value > 0, tier.name


def test_results_are_reproducible_and_in_job_order() -> None:
    suite = load_suite("smoke")
    agent = PolicyAgent(BrittleAgent())
    first = run_suite(agent, TASKS[:6], suite, concurrency=5, seed=3)
    again = run_suite(agent, TASKS[:6], suite, concurrency=1, seed=3)
    strip = [(r.run_id, r.seed, r.status, r.tool_calls, r.answer) for r in first]
    assert strip == [(r.run_id, r.seed, r.status, r.tool_calls, r.answer) for r in again]
    assert [r.perturbation for r in first[:6]] == ["clean"] * 6
    other_seed = run_suite(agent, TASKS[:6], suite, seed=4)
    assert [r.seed for r in other_seed] != [r.seed for r in first]


def test_evaluation_seeds_never_have_the_training_bit() -> None:
    seeds = [eval_seed(s, label, t) for s in range(50) for label in ("a", "b") for t in range(20)]
    assert all(0 <= s <= EVAL_SEED_MASK for s in seeds)
    assert len(set(seeds)) == len(seeds)


class _Slow:
    """An async policy that records how many calls are in flight at once."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Turn:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        return Turn(Message("assistant", "I cannot do that."), input_tokens=10, output_tokens=5)


def test_concurrency_is_bounded_and_tokens_are_counted() -> None:
    slow = _Slow(0.02)
    results = asyncio.run(arun_suite(PolicyAgent(slow), TASKS, [], concurrency=4, timeout_s=None))
    assert slow.peak == 4
    assert {(r.input_tokens, r.output_tokens) for r in results} == {(10, 5)}
    assert summarize(results).clean.tokens.value == 15.0  # type: ignore[union-attr]


def test_a_timeout_fails_its_episode_only() -> None:
    slow = _Slow(5.0)
    results = asyncio.run(arun_suite(PolicyAgent(slow), TASKS[:3], [], timeout_s=0.05))
    assert [r.status for r in results] == ["failure"] * 3
    assert all(r.detail == "episode timed out after 0.05 s" for r in results)


def test_an_agent_crash_fails_its_episode_only() -> None:
    def policy(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        if messages[1].content == TASKS[2].query:
            raise RuntimeError("boom")
        return OracleAgent()(messages, tools)

    results = run_suite(PolicyAgent(policy), TASKS, [])
    crashed = [r for r in results if not r.correct]
    assert [r.task_id for r in crashed] == [TASKS[2].id]
    assert crashed[0].status == "failure"
    assert crashed[0].detail == "agent error: RuntimeError: boom"


def test_repeats_give_pass_k() -> None:
    results = run_suite(PolicyAgent(OracleAgent()), TASKS[:4], load_suite("smoke"), repeats=3)
    assert len(results) == 4 * 6 * 3
    s = summarize(results)
    assert s.clean is not None
    assert s.clean.rates["pass_k"].n == 4 and s.clean.rates["pass_k"].value == 1.0


@pytest.mark.parametrize("bad", [{"repeats": 0}, {"concurrency": 0}, {"max_steps": 0}])
def test_bad_options_fail_before_running(bad: dict[str, Any]) -> None:
    from agentshield.errors import ConfigError

    with pytest.raises(ConfigError, match="must be at least 1"):
        run_suite(PolicyAgent(OracleAgent()), TASKS[:1], [], **bad)


def test_episode_results_round_trip() -> None:
    [result] = run_suite(PolicyAgent(OracleAgent()), TASKS[:1], [])
    assert EpisodeResult.from_dict(result.to_dict()) == result
    assert result.to_dict()["correct"] is True


class _Stubborn:
    """An agent that ignores the timeout it is given."""

    name = "stubborn"

    async def arun(self, env: Any, task: Any, **options: Any) -> Any:
        await asyncio.sleep(60)


def test_an_agent_ignoring_its_timeout_is_stopped_by_the_runner() -> None:
    results = asyncio.run(arun_suite(_Stubborn(), TASKS[:2], [], timeout_s=0.01))
    assert [r.status for r in results] == ["failure"] * 2
    assert results[0].detail == "the agent ignored its 0.01 s limit; stopped after 5.015 s"
