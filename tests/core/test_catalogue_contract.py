"""Contract tests, parametrised over every registered perturbation."""

from __future__ import annotations

import dataclasses

import pytest

import agentshield
from agentshield import Shield, Tier, Trajectory, augment, never
from agentshield.perturbations import registry
from agentshield.testing import replay, sample_tools, sample_trajectory
from tests.core.catalogue import NAMES, REQUIRED, build

EXPECTED = {
    "query_paraphrase",
    "query_typos",
    "query_redundancy",
    "query_underspecified",
    "tool_rename_semantic",
    "tool_rename_noise",
    "semantic_trap",
    "parameter_rename",
    "description_shift",
    "distractor_tools",
    "missing_values",
    "observation_format",
    "observation_noise",
    "observation_truncation",
    "tool_error",
    "rate_limit",
    "timeout",
    "latency",
    "tool_redirect",
    "new_prerequisite",
    "dependency_inversion",
    "rule_change",
    "unsolvable_task",
    "instruction_injection",
}


def test_catalogue_covers_every_row_of_the_taxonomy() -> None:
    assert set(NAMES) >= EXPECTED
    tiers = {agentshield.registered()[n].tier for n in NAMES}
    assert tiers == set(Tier)


@pytest.mark.parametrize("name", NAMES)
def test_name_tier_and_params_are_declared(name: str) -> None:
    cls = registry.get(name)
    assert cls.name == name
    assert isinstance(cls.tier, Tier)
    assert cls.description
    for info in cls.param_info():
        assert info["help"], f"{name}.{info['name']} has no help text"


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_outcome(name: str) -> None:
    traj = sample_trajectory()
    first = augment(traj, [build(name)], seed=11)
    second = augment(traj, [build(name)], seed=11)
    assert first == second
    runtime_a = list(replay(Shield([build(name)], seed=11), first))
    runtime_b = list(replay(Shield([build(name)], seed=11), first))
    assert runtime_a == runtime_b


@pytest.mark.parametrize("name", NAMES)
def test_different_runs_are_decided_independently_of_order(name: str) -> None:
    """Decisions depend on (seed, run id, key): interleaving two runs changes nothing."""
    shield = Shield([build(name)], seed=3)
    a, b = sample_trajectory("run-a"), sample_trajectory("run-b")
    alone_a = list(replay(Shield([build(name)], seed=3), augment(a, [build(name)], seed=3)))
    aug_b = augment(b, [build(name)], seed=3)
    list(replay(shield, aug_b))
    mixed_a = list(replay(shield, augment(a, [build(name)], seed=3)))
    assert mixed_a == alone_a


@pytest.mark.parametrize("name", NAMES)
def test_never_is_a_no_op(name: str) -> None:
    traj = sample_trajectory()
    inert = build(name, when=never())
    assert augment(traj, [inert], seed=5).messages == traj.messages
    shield = Shield([inert], seed=5)
    assert shield.view(traj.run_id, list(traj.tools)).specs == list(traj.tools)
    assert shield.rewrite_query(traj.run_id, 0, "book 2 people on 2026-12-03") == (
        "book 2 people on 2026-12-03"
    )
    runtime = [r.content for _, r in replay(shield, traj)]
    recorded = [o.content for o in traj.observations]
    assert runtime == recorded
    assert shield.decisions() == []


@pytest.mark.parametrize("name", NAMES)
def test_runtime_and_offline_forms_agree(name: str) -> None:
    """What the augmented trajectory says the model saw is what the runtime Shield shows."""
    traj = sample_trajectory()
    aug = augment(traj, [build(name)], seed=21)
    shield = Shield([build(name)], seed=21)
    assert shield.view(aug.run_id, list(traj.tools)).specs == list(aug.tools)
    users = [m.content for m in aug.messages if m.role == "user"]
    originals = [m.content for m in traj.messages if m.role == "user"]
    assert users == [shield.rewrite_query(aug.run_id, i, t) for i, t in enumerate(originals)]
    runtime = [r.content for _, r in replay(shield, aug)]
    offline = [m.content for m in aug.messages if m.role == "tool"]
    assert runtime == offline


@pytest.mark.parametrize("name", NAMES)
def test_selected_perturbation_changes_something(name: str) -> None:
    traj = sample_trajectory()
    aug = augment(traj, [build(name)], seed=2)
    changed = aug.messages != traj.messages or aug.tools != traj.tools
    # Latency is invisible in a transcript; every other shift shows in it.
    assert changed == (name != "latency"), f"{name}: transcript changed={changed}"
    assert [p.name for p in aug.perturbations] == [name]


@pytest.mark.parametrize("name", NAMES)
def test_spec_round_trip(name: str) -> None:
    p = build(name)
    spec = {"name": name, **p.params()}
    again = agentshield.create(**spec)
    assert again.params() == p.params()
    assert type(again) is type(p)


@pytest.mark.parametrize("name", NAMES)
def test_augmented_trajectory_round_trips_json(name: str) -> None:
    aug = augment(sample_trajectory(), [build(name)], seed=9)
    again = Trajectory.from_json(aug.to_json())
    assert again.to_dict() == aug.to_dict()


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_tool_parameters_are_validated_against_the_agent(name: str) -> None:
    key = next(k for k in ("tool", "first") if k in REQUIRED[name])
    bad = {**REQUIRED[name], key: "nope"}
    with pytest.raises(agentshield.ConfigError, match="valid tools"):
        Shield([agentshield.create(name, **bad)], tools=[t.name for t in sample_tools()])


def test_perturbations_are_frozen() -> None:
    p = build("tool_error")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.times = 3  # type: ignore[attr-defined]
