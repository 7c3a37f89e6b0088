"""PAFT rows carry exactly the recovery behaviour, with shifted names in tools and calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentshield.errors import ConfigError
from agentshield.testing import sample_tools, sample_trajectory
from agentshield_trainer.config import PaftConfig, TrainConfig
from agentshield_trainer.dataset import Row, build_dataset
from agentshield_trainer.paft import paft_mix, parse_spec
from agentshield_trainer.seeds import check_eval_seeds, is_training_seed, train_seed
from agentshield_trainer.testing import oracle_trajectories

ORIGINAL = [(c.name, dict(c.args)) for c in sample_trajectory().tool_calls]
ANSWER = sample_trajectory().final_answer
OBSERVATIONS = [o.content for o in sample_trajectory().observations]


def augmented_row(perturbation: str) -> Row:
    """The first augmented training row made with only ``perturbation``."""
    config = TrainConfig.from_dict(
        {"paft": {"alpha": 0.5, "perturbations": [perturbation]}, "data": {"val_fraction": 0.0}}
    )
    ds = build_dataset(oracle_trajectories(4), config)
    rows = [r for r, i in zip(ds.train, ds.train_ids, strict=True) if "~paft" in i]
    assert rows, f"{perturbation} produced no augmented row"
    assert {a.perturbation for a in ds.augmented} == {parse_spec(perturbation)[0]}
    return rows[0]


def steps(row: Row) -> list[tuple[str, Any]]:
    """The row as (role, payload): calls as (name, args), observations and answers as text."""
    out: list[tuple[str, Any]] = []
    for m in row["messages"]:
        if m["role"] == "assistant" and m.get("tool_calls"):
            for c in m["tool_calls"]:
                out.append(
                    ("call", (c["function"]["name"], json.loads(c["function"]["arguments"])))
                )
        elif m["role"] in ("assistant", "tool"):
            out.append((m["role"], m["content"]))
    return out


def tool_names(row: Row) -> list[str]:
    return [t["function"]["name"] for t in row["tools"]]


def test_renamed_tools_are_used_in_tools_column_and_calls() -> None:
    row = augmented_row("tool_rename_noise")
    by_description = {t.description: t.name for t in sample_tools()}
    shown = {
        t["function"]["name"]: by_description[t["function"]["description"]] for t in row["tools"]
    }
    assert not set(shown) & set(by_description.values())  # every name is shifted
    calls = [p for kind, p in steps(row) if kind == "call"]
    assert [(shown[name], args) for name, args in calls] == ORIGINAL
    tool_messages = [m for m in row["messages"] if m["role"] == "tool"]
    assert {m["name"] for m in tool_messages} <= set(shown)
    assert row["messages"][-1]["content"] == ANSWER


def test_error_with_guidance_is_read_and_the_call_retried() -> None:
    row = augmented_row("tool_error:guidance=true")
    assert tool_names(row) == [t.name for t in sample_tools()]
    observed = steps(row)
    assert len(observed) == 4 * len(ORIGINAL) + 1
    for i, ((name, args), result) in enumerate(zip(ORIGINAL, OBSERVATIONS, strict=True)):
        call, error, retry, success = observed[4 * i : 4 * i + 4]
        assert call == retry == ("call", (name, args))
        assert error[0] == "tool" and error[1].startswith(f"Error: {name} failed")
        assert "call the tool again with the same arguments" in error[1]
        assert success == ("tool", result)
    assert observed[-1] == ("assistant", ANSWER)


def test_redirection_is_followed_with_the_new_name() -> None:
    row = augmented_row("tool_redirect")
    names = tool_names(row)
    for name, _ in ORIGINAL:
        assert name in names and f"{name}_v2" in names
    observed = steps(row)
    calls = [p for k, p in observed if k == "call"]
    assert calls == [c for name, args in ORIGINAL for c in ((name, args), (f"{name}_v2", args))]
    results = [p for k, p in observed if k == "tool"]
    for i, (name, _) in enumerate(ORIGINAL):
        assert json.loads(results[2 * i])["replacement"] == f"{name}_v2"
        assert results[2 * i + 1] == OBSERVATIONS[i]
    assert observed[-1] == ("assistant", ANSWER)


def test_unsolvable_task_is_refused_with_the_reason() -> None:
    row = augmented_row("unsolvable_task:tool=book_table")
    assert tool_names(row) == ["search_places", "check_availability"]
    observed = steps(row)
    assert observed[:-1] == [
        step
        for call, result in zip(ORIGINAL[:2], OBSERVATIONS, strict=False)
        for step in (("call", call), ("tool", result))
    ]
    kind, refusal = observed[-1]
    assert kind == "assistant" and "can't complete" in refusal and "book table" in refusal
    assert "BK-" not in json.dumps(row["messages"][-1])


def test_mix_share_seeds_and_determinism() -> None:
    runs = oracle_trajectories(7)
    cfg = PaftConfig(alpha=0.3)
    first = paft_mix(runs, cfg, seed=3)
    assert first.target == 3 and len(first.trajectories) == 3
    assert all(is_training_seed(r.seed) for r in first.records)
    again = paft_mix(runs, cfg, seed=3)
    assert [t.to_json() for t in again.trajectories] == [t.to_json() for t in first.trajectories]
    other = paft_mix(runs, cfg, seed=4)
    assert [r.seed for r in other.records] != [r.seed for r in first.records]
    assert paft_mix(runs, PaftConfig(alpha=0.0), seed=3).trajectories == []


def test_tier_filter_and_spec_errors() -> None:
    only_tier2 = paft_mix(oracle_trajectories(7), PaftConfig(alpha=0.5, tiers=(2,)), seed=0)
    assert only_tier2.records and all(
        r.perturbation
        in {
            "missing_values",
            "observation_format",
            "observation_noise",
            "rate_limit",
            "tool_error",
            "tool_redirect",
        }
        for r in only_tier2.records
    )
    with pytest.raises(ConfigError, match="needs"):
        paft_mix(oracle_trajectories(2), PaftConfig(perturbations=("rule_change",)), seed=0)
    with pytest.raises(ConfigError, match="unknown perturbation 'nope'"):
        paft_mix(oracle_trajectories(2), PaftConfig(perturbations=("nope",)), seed=0)
    assert parse_spec("rule_change:tool=book_table,param=date") == (
        "rule_change",
        {"tool": "book_table", "param": "date"},
    )


def test_training_seeds_are_disjoint_from_evaluation_seeds() -> None:
    assert is_training_seed(train_seed(0, "paft", "train", 0))
    check_eval_seeds(range(1000))
    with pytest.raises(ConfigError, match="reserved for training"):
        check_eval_seeds([train_seed(0, "x")])
