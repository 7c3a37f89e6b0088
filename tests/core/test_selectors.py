"""Selectors: composition, seeded probability, steps, spec form, validation."""

from __future__ import annotations

import pytest

from agentshield import ConfigError
from agentshield.selectors import (
    Target,
    after_step,
    always,
    at_step,
    never,
    selector_from_spec,
    steps,
    tool_named,
    validate_tools,
    with_probability,
)


def call(tool: str = "search", step: int = 1, key: str | None = None, run: str = "r") -> Target:
    return Target("call", run, key or f"{step}:0", 7, "p", tool=tool, step=step)


def test_composition() -> None:
    sel = tool_named("search") & ~at_step(2) | tool_named("book")
    assert sel(call("search", 1))
    assert not sel(call("search", 2))
    assert sel(call("book", 2))
    assert not sel(call("other", 1))
    assert always()(call()) and not never()(call())


def test_steps() -> None:
    assert after_step(2)(call(step=3)) and not after_step(2)(call(step=2))
    assert steps(2, 3)(call(step=2)) and not steps(2, 3)(call(step=4))
    schema_target = Target("tools", "r", "search", 7, "p", tool="search")
    assert not at_step(1)(schema_target)


def test_probability_is_seeded_per_target_and_roughly_calibrated() -> None:
    sel = with_probability(0.3)
    targets = [call(key=f"{i}:0", step=i + 1) for i in range(2000)]
    first = [sel(t) for t in targets]
    assert first == [sel(t) for t in reversed(targets)][::-1]
    assert 0.25 < sum(first) / len(first) < 0.35
    assert with_probability(0)(call()) is False
    assert with_probability(1)(call()) is True


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", True])
def test_rate_outside_unit_interval_is_rejected(rate: object) -> None:
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        with_probability(rate)  # type: ignore[arg-type]


def test_spec_form() -> None:
    sel = selector_from_spec({"tool": ["search"], "after_step": 1})
    assert sel(call("search", 2)) and not sel(call("search", 1))
    assert selector_from_spec({"never": True})(call()) is False
    assert selector_from_spec(None)(call()) is True
    with pytest.raises(ConfigError, match="valid keys"):
        selector_from_spec({"tools": "x"})


def test_unknown_tool_in_selector_lists_valid_choices() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown tool 'serach'.*valid tools: \['book', 'search'\]"
    ):
        validate_tools(tool_named("serach") & always(), ["search", "book"], owner="x")
