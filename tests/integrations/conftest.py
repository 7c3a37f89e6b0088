"""Fixtures of the LangChain / LangGraph integration tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from agentshield import Shield
from agentshield.testing import FakeClock

ShieldFactory = Callable[..., Shield]


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock for the Shield's sleeps."""
    return FakeClock()


@pytest.fixture
def shield_factory(clock: FakeClock) -> ShieldFactory:
    """``make(perturbations, seed=0)``: a Shield that sleeps on the fake clock."""

    def make(perturbations: Sequence[Any] = (), *, seed: int = 0) -> Shield:
        return Shield(perturbations, seed=seed, sleep=clock.sleep, asleep=clock.asleep)

    return make
