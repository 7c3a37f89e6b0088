"""The registry: names, specs, TOML suites, third-party entry points, bad configuration."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentshield
from agentshield import ConfigError, Shield, UnknownPerturbationError
from agentshield.perturbations import registry
from agentshield.testing import sample_tools


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownPerturbationError, match=r"valid names: .*tool_rename_noise"):
        agentshield.create("tool_rename_nosie")
    with pytest.raises(KeyError):
        agentshield.create("nope")


def test_bad_parameters_fail_at_construction() -> None:
    with pytest.raises(ConfigError, match=r"rate must be a number in \[0, 1\]"):
        agentshield.create("missing_values", rate=1.5)
    with pytest.raises(ConfigError, match="choose one of"):
        agentshield.create("observation_format", format="yaml")
    with pytest.raises(ConfigError, match=r"has no parameter 'tool'.*valid"):
        agentshield.create("query_typos", tool="x")
    with pytest.raises(ConfigError, match="tool"):
        agentshield.create("unsolvable_task")
    with pytest.raises(ValueError, match="delay_s must be a number >= 0"):
        agentshield.create("latency", delay_s=-1)


def test_unknown_tool_fails_at_shield_construction() -> None:
    names = [t.name for t in sample_tools()]
    with pytest.raises(ConfigError, match=r"unknown tool 'serach_places'.*valid tools"):
        Shield([{"name": "tool_error", "when": {"tool": "serach_places"}}], tools=names)


def test_toml_suite(tmp_path: Path) -> None:
    path = tmp_path / "suite.toml"
    path.write_text(
        textwrap.dedent(
            """
            [[perturbation]]
            name = "tool_rename_noise"
            prefix = "fn_"
            when = { tool = ["search_places"] }

            [[perturbation]]
            name = "tool_error"
            guidance = false
            """
        )
    )
    suite = agentshield.load_suite(path)
    assert [p.name for p in suite] == ["tool_rename_noise", "tool_error"]
    view = Shield(suite, seed=1).view("r", list(sample_tools()))
    assert view.names[0].startswith("fn_") and view.names[1:] == [
        "check_availability",
        "book_table",
    ]
    with pytest.raises(ConfigError, match="invalid perturbation suite TOML"):
        agentshield.load_suite("[[perturbation]\nname=")


def test_register_validates_names() -> None:
    class Bad(agentshield.Perturbation):
        name = "Bad-Name"

    with pytest.raises(ConfigError, match="snake_case"):
        registry.register(Bad)


@pytest.fixture
def plugin_dist(tmp_path: Path) -> Iterator[None]:
    """A real installed distribution that exposes a perturbation through the entry point."""
    (tmp_path / "shout_plugin.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass
            from typing import ClassVar
            from agentshield import Perturbation, Tier

            @dataclass(frozen=True, kw_only=True)
            class Shout(Perturbation):
                name: ClassVar[str] = "shout"
                tier: ClassVar[Tier] = Tier.PERCEPTION
                description: ClassVar[str] = "user request in capitals"

                def rewrite_query(self, text, target):
                    return text.upper()
            """
        )
    )
    info = tmp_path / "shout_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[agentshield.perturbations]\nshout = shout_plugin:Shout\n"
    )
    sys.path.insert(0, str(tmp_path))
    restore = registry._reset_for_tests(dict(registry.registered()))
    registry._REGISTRY.entry_points_loaded = False
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("shout_plugin", None)
        restore()
        registry._REGISTRY.entry_points_loaded = True


@pytest.mark.usefixtures("plugin_dist")
def test_third_party_perturbation_through_entry_point() -> None:
    assert "shout" in agentshield.registered()
    shield = Shield([{"name": "shout"}])
    assert shield.rewrite_query("r", 0, "book it") == "BOOK IT"
