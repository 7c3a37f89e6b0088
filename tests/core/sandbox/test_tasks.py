"""The task generator: fixed seeded splits, held-out entities, and well-formed tasks."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

import agentshield
from agentshield import ConfigError
from agentshield.sandbox import (
    DOMAINS,
    SIZES,
    SPLITS,
    Task,
    all_tasks,
    generate_tasks,
    make_environment,
)
from agentshield.sandbox.medical import world as medical_world
from agentshield.sandbox.poi import world as poi_world
from agentshield.sandbox.world import World

WORLDS = {"poi": poi_world, "medical": medical_world}
TOOL_VALUED = ("unsolvable_task", "new_prerequisite", "dependency_inversion", "rule_change")


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("split", SPLITS)
def test_generation_is_deterministic_and_prefix_stable(domain: str, split: str) -> None:
    tasks = generate_tasks(domain, split)
    assert len(tasks) == SIZES[split]
    assert tasks == generate_tasks(domain, split)
    assert generate_tasks(domain, split, n=7) == tasks[:7]
    assert generate_tasks(domain, split, seed=1) != tasks
    assert len({t.id for t in tasks}) == len(tasks)
    assert {t.split for t in tasks} == {split} and {t.domain for t in tasks} == {domain}


def test_all_tasks_is_every_split_of_every_domain() -> None:
    tasks = all_tasks()
    assert len(tasks) == len(DOMAINS) * sum(SIZES.values())
    assert Counter(t.split for t in tasks) == {s: n * len(DOMAINS) for s, n in SIZES.items()}


@pytest.mark.parametrize("domain", DOMAINS)
def test_test_split_only_names_entities_never_seen_in_train(domain: str) -> None:
    train = {e for t in generate_tasks(domain, "train") for e in t.entities}
    test = {e for t in generate_tasks(domain, "test") for e in t.entities}
    assert train and test
    assert not train & test
    for task in generate_tasks(domain, "test"):
        assert task.entities and all(e in task.query for e in task.entities)
    world = WORLDS[domain]()
    train_venues = {v.name for v in world.venues if v.split == "train"}
    test_venues = {v.name for v in world.venues if v.split == "test"}
    assert not train_venues & test_venues


@pytest.mark.parametrize("domain", DOMAINS)
def test_tasks_cover_one_to_four_steps_and_unsolvable_ones(domain: str) -> None:
    tasks = generate_tasks(domain, "train")
    steps = {t.steps for t in tasks if t.expected == "success"}
    assert steps == {1, 2, 3, 4}
    kinds = Counter(t.kind for t in tasks if t.expected == "refused")
    assert set(kinds) == {"missing_entity", "unsupported"}
    assert all(t.reason for t in tasks if t.expected == "refused")


@pytest.mark.parametrize("task", all_tasks()[::7], ids=lambda t: t.id)
def test_task_fields_fit_the_environment(task: Task) -> None:
    env = make_environment(task.domain)
    specs = {s.name: s for s in env.tools}
    assert set(task.chain) <= set(specs)
    assert task.critical_tool in specs
    if task.expected == "success":
        assert task.critical_tool in task.chain
        assert task.facts or task.booking is not None
    first, then = task.dependency
    if task.chain:
        assert first in task.chain
    # ``then`` runs on the arguments of ``first`` alone (what dependency_inversion needs).
    assert set(specs[then].required) <= set(specs[first].properties)
    tool, param = task.dated_param
    assert param in specs[tool].properties
    for name in TOOL_VALUED:
        shield = agentshield.Shield([agentshield.create(name, **task.perturbation_params(name))])
        shield.bind_tools(specs)
    assert Task.from_dict(json.loads(json.dumps(task.to_dict()))) == task


def test_booking_goals_are_bookable_and_facts_come_from_the_world() -> None:
    for domain in DOMAINS:
        world: World = WORLDS[domain]()
        for task in generate_tasks(domain, "train"):
            goal = task.booking
            if goal is None or task.expected != "success":
                continue
            venue = world.venue(goal.venue_id)
            assert venue is not None and venue.name == goal.venue_name
            slots = world.slots(venue, date.fromisoformat(goal.date))
            assert any(s.time == goal.time and s.seats >= goal.party_size for s in slots)
            assert goal.date in task.query and goal.time in task.query


def test_unknown_domain_or_split_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="poi"):
        generate_tasks("space", "train")
    with pytest.raises(ConfigError, match="train"):
        generate_tasks("poi", "dev")
    with pytest.raises(ConfigError):
        make_environment("space")
