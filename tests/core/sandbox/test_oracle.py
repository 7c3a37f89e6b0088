"""The scripted oracle scores 100 % clean and under every registered perturbation.

100 % means: success on solvable tasks (by the shortest path when clean), a refusal on
unsolvable ones (and when a shift removes a tool the task needs), and a question back when a
query shift removed a detail the task needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

import agentshield
from agentshield import Message, Shield, ToolSpec, Trajectory
from agentshield.perturbations import Perturbation
from agentshield.sandbox import (
    DOMAINS,
    SPLITS,
    OracleAgent,
    Task,
    classify_answer,
    generate_tasks,
    make_environment,
    run_episode,
)

#: Ten tasks per domain, one of each kind (train and test mixed).
REPRESENTATIVE: tuple[Task, ...] = tuple(
    t for d in DOMAINS for t in (*generate_tasks(d, "train", n=5), *generate_tasks(d, "test")[5:10])
)
NAMES = sorted(agentshield.registered())
#: Non-default settings worth proving too (format by format, harsher modes).
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    *(
        ("observation_format", {"format": f})
        for f in ("text", "xml", "csv", "camel_case", "upper_case", "nested")
    ),
    ("description_shift", {"mode": "degrade"}),
    ("description_shift", {"mode": "strip"}),
    ("parameter_rename", {"style": "noise"}),
    ("tool_error", {"guidance": False, "mode": "raise", "times": 2}),
    ("rate_limit", {"mode": "raise"}),
    ("timeout", {"mode": "observe"}),
    ("missing_values", {"mode": "drop"}),
    ("instruction_injection", {"placement": "append"}),
    ("query_underspecified", {"detail": "time"}),
    ("query_underspecified", {"detail": "number"}),
    ("distractor_tools", {"count": 10}),
    ("query_typos", {"rate": 0.4}),
]


#: Shifts combined: the second hides what the first documents (so the oracle must learn it
#: from the error), or two shifts act on the same call.
COMBINED: list[tuple[str, ...]] = [
    ("new_prerequisite", "description_shift"),
    ("dependency_inversion", "description_shift"),
    ("rule_change", "description_shift"),
    ("new_prerequisite", "tool_redirect"),
    ("tool_rename_noise", "parameter_rename"),
    ("semantic_trap", "observation_format"),
    ("tool_error", "missing_values"),
    ("distractor_tools", "tool_rename_semantic", "query_typos"),
    ("rate_limit", "timeout", "instruction_injection"),
]
_SETTINGS = {"description_shift": {"mode": "strip"}, "observation_format": {"format": "random"}}


def run(task: Task, *perturbations: Perturbation, seed: int = 11) -> Trajectory:
    shield = Shield(perturbations, seed=seed, sleep=lambda _s: None) if perturbations else None
    return run_episode(make_environment(task.domain), task, OracleAgent(), shield=shield)


def score(name: str, extra: dict[str, Any] | None = None) -> list[str]:
    """Run the representative tasks under one perturbation; return the failures."""
    failures = []
    for task in REPRESENTATIVE:
        params = {**task.perturbation_params(name), **(extra or {})}
        perturbation = agentshield.create(name, **params)
        traj = run(task, perturbation)
        if traj.outcome.status != traj.metadata["expected"]:
            failures.append(
                f"{task.id}: expected {traj.metadata['expected']}, got "
                f"{traj.outcome.status}: {traj.final_answer!r}"
            )
    return failures


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("domain", DOMAINS)
def test_clean_runs_score_100_percent_by_the_shortest_path(domain: str, split: str) -> None:
    for task in generate_tasks(domain, split):
        traj = run(task)
        assert traj.outcome.status == task.expected, (task.id, traj.final_answer)
        if task.expected == "success":
            assert traj.metadata["tool_calls"] == task.steps, task.id
        else:
            assert traj.metadata["tool_calls"] <= 1, task.id  # at most the search that fails


def test_representative_tasks_cover_every_kind() -> None:
    for domain in DOMAINS:
        kinds = {t.kind for t in REPRESENTATIVE if t.domain == domain}
        assert kinds == {t.kind for t in generate_tasks(domain, "train")}


@pytest.mark.parametrize("name", NAMES)
def test_every_perturbation_scores_100_percent(name: str) -> None:
    assert score(name) == []


@pytest.mark.parametrize(("name", "extra"), VARIANTS, ids=lambda v: str(v))
def test_harsher_settings_score_100_percent(name: str, extra: dict[str, Any]) -> None:
    assert score(name, extra) == []


@pytest.mark.parametrize("names", COMBINED, ids="+".join)
def test_combined_shifts_score_100_percent(names: tuple[str, ...]) -> None:
    for task in REPRESENTATIVE:
        shifts = [
            agentshield.create(n, **task.perturbation_params(n), **_SETTINGS.get(n, {}))
            for n in names
        ]
        traj = run(task, *shifts)
        assert traj.outcome.status == traj.metadata["expected"], (task.id, traj.final_answer)


def test_expected_outcomes_follow_the_shift() -> None:
    """A removed tool makes every solvable task a refusal; a removed detail a question."""
    for task in REPRESENTATIVE:
        removed = run(task, agentshield.create("unsolvable_task", tool=task.critical_tool))
        assert removed.metadata["expected"] == "refused"
        assert removed.outcome.status == "refused" and removed.metadata["tool_calls"] == 0
        vague = run(task, agentshield.create("query_underspecified"))
        changed = vague.messages[1].content != task.query
        assert vague.metadata["expected"] == ("asked" if changed else task.expected)
        # Every number in a query is a detail the task needs: removing one changes it.
        assert changed == bool(re.search(r"\d", task.query))
    assert any(re.search(r"\d", t.query) for t in REPRESENTATIVE)


def test_trajectory_records_the_run() -> None:
    task = next(t for t in REPRESENTATIVE if t.kind == "book")
    traj = run(task, agentshield.create("timeout"))
    assert traj.run_id == task.id and traj.outcome.status == "success"
    assert [p.name for p in traj.perturbations] == ["timeout"]
    errors = [m for m in traj.messages if m.role == "tool" and m.is_error]
    assert errors and all("InjectedTimeout" in m.content for m in errors)
    assert traj.metadata["tool_calls"] == task.steps + len(errors)
    assert traj.tools == tuple(make_environment(task.domain).tools)
    assert Trajectory.from_json(traj.to_json()) == traj
    assert traj.final_answer is not None and traj.outcome.answer == traj.final_answer


def test_the_judge_does_not_reward_an_invented_answer() -> None:
    def bluffer(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        return Message("assistant", "All done! Your verification code is VC-ABC123.")

    def silent(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        call = agentshield.ToolCall(f"c{len(messages)}", tools[0].name, {"city": "Lyon"})
        return Message("assistant", "", tool_calls=(call,))

    for task in REPRESENTATIVE:
        env = make_environment(task.domain)
        assert run_episode(env, task, bluffer).outcome.status == "failure"
        looped = run_episode(make_environment(task.domain), task, silent, max_steps=3)
        assert looped.outcome.status == "failure" and looped.final_answer is None


def test_classify_answer() -> None:
    assert classify_answer("Which date should I use?") == "asked"
    assert classify_answer("I can't complete this request: no tool can do it.") == "refused"
    assert classify_answer("Booked. Code VC-1.") is None
