"""The trainer's ``agentshield.agents`` resolver: ``embedded`` and nothing else."""

from __future__ import annotations

from importlib.metadata import entry_points

from agentshield_trainer.agents import EMBEDDED_AGENT, resolve_agent


def test_the_resolver_is_registered_and_leaves_other_targets_alone() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="agentshield.agents")}
    assert names["embedded"] == "agentshield_trainer.agents:resolve_agent"
    assert EMBEDDED_AGENT == "embedded"
    assert resolve_agent("oracle") is None
    assert resolve_agent(object()) is None
