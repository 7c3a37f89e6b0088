"""Shared fixtures: a baseline of clean sandbox runs and a factory of calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentshield.detect import Monitor, Profile
from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode
from agentshield.trajectory import ToolCall, ToolSpec, Trajectory


@pytest.fixture(scope="session")
def clean_runs() -> list[Trajectory]:
    """Forty clean oracle runs of the POI train split (task seed 0)."""
    return [
        run_episode(make_environment(t.domain), t, OracleAgent())
        for t in generate_tasks("poi", "train", n=40)
    ]


@pytest.fixture(scope="session")
def profile(clean_runs: list[Trajectory]) -> Profile:
    """The baseline of :func:`clean_runs`, tool latencies 10 ms each."""
    latencies = {c.id: 0.01 for r in clean_runs for c in r.tool_calls}
    return Profile.from_trajectories(clean_runs, latencies=latencies)


@pytest.fixture(scope="session")
def tools(profile: Profile) -> list[ToolSpec]:
    """The baseline's tool set, in the order the sandbox shows it."""
    return [t.spec for t in profile.tools.values()]


MakeMonitor = Callable[..., Monitor]


@pytest.fixture
def monitor_of(profile: Profile) -> MakeMonitor:
    """``monitor_of("name", ...)``: a Monitor running only the named detectors."""

    def make(*names: str, **kwargs: Any) -> Monitor:
        return Monitor(profile, list(names), **kwargs)

    return make


def call(name: str, _id: str = "c1", **args: Any) -> ToolCall:
    """A tool call."""
    return ToolCall(_id, name, args)
