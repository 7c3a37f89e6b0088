"""Metrics: interval formulas against published values, and each rate's definition."""

from __future__ import annotations

from typing import Any

import pytest

from agentshield.eval import EpisodeResult, summarize, wilson
from agentshield.eval.metrics import newcombe


def test_wilson_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17: 857-872, table I.
    r = wilson(81, 263)
    assert (round(r.low, 4), round(r.high, 4)) == (0.2553, 0.3662)  # type: ignore[arg-type]
    r = wilson(0, 10)
    assert r.low == 0.0 and round(r.high, 4) == 0.2775  # type: ignore[arg-type]
    assert wilson(0, 0).value is None


def test_newcombe_difference_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17: 873-890, example (a): 56/70 - 48/80.
    d = newcombe(wilson(56, 70), wilson(48, 80))
    assert d is not None
    assert (round(d.value, 4), round(d.low, 4), round(d.high, 4)) == (0.2, 0.0524, 0.3339)


def _r(**overrides: Any) -> EpisodeResult:
    base: dict[str, Any] = {
        "run_id": "r",
        "task_id": "t1",
        "domain": "poi",
        "kind": "book",
        "perturbation": "clean",
        "tier": 0,
        "repeat": 0,
        "seed": 1,
        "expected": "success",
        "status": "success",
        "steps": 3,
        "tool_calls": 2,
        "invalid_calls": 0,
        "injected_errors": 0,
        "input_tokens": None,
        "output_tokens": None,
        "duration_s": 0.1,
    }
    return EpisodeResult(**{**base, **overrides})


def test_rates_follow_their_definitions() -> None:
    results = [
        _r(),
        _r(task_id="t2", expected="refused", status="refused"),
        _r(task_id="t3", expected="refused", status="success"),  # forced completion
        _r(perturbation="tool_error", tier=2, injected_errors=1, status="failure"),
        _r(perturbation="tool_error", tier=2, task_id="t2", injected_errors=1),
        _r(perturbation="tool_error", tier=2, task_id="t3", status="refused", invalid_calls=1),
    ]
    s = summarize(results)
    assert s.clean is not None
    clean = s.clean.rates
    assert (clean["success"].k, clean["success"].n) == (2, 3)
    assert (clean["refusal"].k, clean["refusal"].n) == (1, 2)
    assert (clean["false_refusal"].k, clean["false_refusal"].n) == (0, 1)
    [tier] = s.tiers
    assert tier.name == "2 interaction"
    assert (tier.rates["recovery"].k, tier.rates["recovery"].n) == (1, 2)
    assert (tier.rates["tool_error"].k, tier.rates["tool_error"].n) == (1, 6)
    assert (tier.rates["false_refusal"].k, tier.rates["false_refusal"].n) == (1, 3)
    drop = tier.drops["success"]
    assert drop is not None and drop.value == pytest.approx(2 / 3 - 1 / 3)
    assert s.success("clean") == pytest.approx(2 / 3)
    with pytest.raises(KeyError):
        s.success("nope")


def test_pass_k_needs_every_repeat_right() -> None:
    results = [_r(repeat=i) for i in range(3)] + [
        _r(task_id="t2", repeat=i, status="success" if i else "failure") for i in range(3)
    ]
    rate = summarize(results).clean.rates["pass_k"]  # type: ignore[union-attr]
    assert (rate.k, rate.n) == (1, 2)
