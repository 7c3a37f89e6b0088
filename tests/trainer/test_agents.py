"""The trainer's ``agentshield.agents`` resolver: ``embedded`` (default: the shipped baseline
adapter) and nothing else."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from agentshield_trainer.agents import EMBEDDED_AGENT, resolve_agent


def test_the_resolver_is_registered_and_leaves_other_targets_alone() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="agentshield.agents")}
    assert names["embedded"] == "agentshield_trainer.agents:resolve_agent"
    assert EMBEDDED_AGENT == "embedded"
    assert resolve_agent("oracle") is None
    assert resolve_agent(object()) is None


def test_embedded_defaults_to_the_shipped_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    from agentshield_trainer import agents, local_policy
    from agentshield_trainer.baseline import BASELINE_DIR

    loads: list[tuple[object, object, dict[str, object]]] = []

    def load(base: object, adapter: object, **options: object) -> object:
        loads.append((base, adapter, options))
        return object()

    monkeypatch.setattr(local_policy, "load_local_policy", load)
    choices: list[dict[str, str]] = [
        {},
        {"adapter": "none"},
        {"adapter": "out/hardened"},
        {"base_model": "models/qwen"},
        {"base_model": "models/qwen", "adapter": "a/x"},
    ]
    names = [getattr(resolve_agent("embedded", **c), "name", None) for c in choices]
    assert names == ["embedded+baseline", "embedded", "embedded+hardened", "qwen", "qwen+x"]
    assert [(b, a) for b, a, _ in loads] == [
        (None, str(BASELINE_DIR)),
        (None, None),
        (None, "out/hardened"),
        ("models/qwen", None),
        ("models/qwen", "a/x"),
    ]
    assert loads[0][2] == {
        "max_batch": agents.EMBEDDED_BATCH,
        "max_new_tokens": agents.EMBEDDED_MAX_NEW_TOKENS,
    }
