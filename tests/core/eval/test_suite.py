"""Perturbation suites: the named ones, TOML files, and errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentshield
from agentshield.errors import ConfigError
from agentshield.eval import SuiteEntry, load_suite, named_suites
from agentshield.perturbations import Tier
from agentshield.sandbox import generate_tasks


def test_the_default_suite_has_one_entry_per_catalogue_entry_grouped_by_tier() -> None:
    default = load_suite("default")
    assert sorted(e.perturbation for e in default) == sorted(agentshield.registered())
    tiers = [int(e.tier) for e in default]
    assert tiers == sorted(tiers)
    suites = named_suites()
    assert suites["clean"] == []
    assert [e.tier for e in suites["smoke"]] == list(Tier)
    assert sum(len(suites[n]) for n in ("tier1", "tier2", "tier3", "tier4", "security")) == len(
        default
    )


def test_entries_take_task_parameters_and_their_own_seed() -> None:
    task = generate_tasks("medical", "test", n=1)[0]
    p = SuiteEntry("new_prerequisite").build(task, 12345)
    assert p.seed == 12345
    assert p.params()["tool"] == task.critical_tool


def test_a_toml_suite(tmp_path: Path) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(
        '[[perturbation]]\nname = "tool_error"\nlabel = "silent_errors"\nguidance = false\n\n'
        '[[perturbation]]\nname = "observation_format"\nformat = "xml"\n'
    )
    suite = load_suite(path)
    assert [(e.label, e.perturbation, dict(e.params)) for e in suite] == [
        ("silent_errors", "tool_error", {"guidance": False}),
        ("observation_format", "observation_format", {"format": "xml"}),
    ]
    assert suite[0].to_dict()["tier"] == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[perturbation]]\nname = "no_such_shift"\n', "no_such_shift"),
        ('[[perturbation]]\nname = "observation_format"\nformat = "yaml"\n', "format"),
        ('[[perturbation]]\nname = "tool_error"\nseed = 3\n', "'seed' is set by the evaluation"),
        ('[[perturbation]]\nname = "latency"\n[[perturbation]]\nname = "latency"\n', "twice"),
        ("[[perturbation]\n", "invalid TOML"),
        ('[[perturbation]]\nlabel = "x"\n', "needs a name"),
    ],
)
def test_bad_suites_fail_with_the_problem_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_suite(path)


def test_an_unknown_suite_name_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"no suite named .tier9.*smoke"):
        load_suite("tier9")
