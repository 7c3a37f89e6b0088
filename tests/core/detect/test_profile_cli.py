"""The baseline profile (building, calibration, bounds, JSON round trip, trace stores) and
``agentshield profile`` / ``agentshield detect`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentshield import Shield, create
from agentshield.cli import app, mount_plugins
from agentshield.detect import Profile
from agentshield.detect import profile as profile_module
from agentshield.errors import ConfigError
from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode
from agentshield.tracing import setup_tracing
from agentshield.tracing.testing import record_trajectory
from agentshield.trajectory import Message, Trajectory

runner = CliRunner()


def test_profile_round_trips_through_json(profile: Profile, tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    profile.save(path)
    loaded = Profile.load(path)
    assert loaded.to_dict() == profile.to_dict()
    assert loaded.tools["search_places"].latency.n == profile.tools["search_places"].latency.n
    assert loaded.query_score("Wht r teh hours?") == profile.query_score("Wht r teh hours?")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "cannot read"),
        ('{"format": "other"}', "not an AgentShield baseline"),
        ('{"format": "agentshield.profile", "version": 99}', "rebuild it"),
    ],
)
def test_profile_load_rejects_what_it_cannot_read(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        Profile.load(path)


def _run(rid: str, query: str) -> Trajectory:
    return Trajectory(rid, (Message("user", query), Message("assistant", "ok")))


def test_query_threshold_is_calibrated_leave_one_out() -> None:
    repeated = [_run(str(i), f"What are the opening hours of Place {i}?") for i in range(30)]
    assert Profile.from_trajectories(repeated).query_threshold == 0.01  # the floor
    odd = [*repeated, _run("odd", "Summarise the quarterly revenue spreadsheet")]
    assert Profile.from_trajectories(odd).query_threshold > 0.5


def test_profile_tables_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile_module, "MAX_TRIGRAMS", 50)
    words = ["".join(chr(97 + (i * k) % 26) for k in (3, 5, 7, 11)) for i in range(100)]
    runs = [_run(str(i), f"{w} {w[::-1]}") for i, w in enumerate(words)]
    assert len(Profile.from_trajectories(runs).trigrams) == 50


def test_runs_without_content_count_calls_not_shapes(clean_runs: list[Trajectory]) -> None:
    bare = [r.with_(metadata={**r.metadata, "content": False}) for r in clean_runs[:5]]
    tool = Profile.from_trajectories(bare).tools["search_places"]
    assert tool.calls == 5 and tool.formats == {} and tool.paths == {}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store of clean runs, and one of production runs, two of six with XML results."""
    root = tmp_path_factory.mktemp("stores")
    with setup_tracing(store=root / "base", capture_content=True) as handle:
        for t in generate_tasks("poi", "train", n=30):
            record_trajectory(
                handle.recorder, run_episode(make_environment(t.domain), t, OracleAgent())
            )
    with setup_tracing(store=root / "prod", capture_content=True) as handle:
        for i, t in enumerate(generate_tasks("poi", "test", n=6, seed=1)):
            shield = (
                Shield([create("observation_format", format="xml")], seed=i)
                if i in (2, 4)
                else None
            )
            run = run_episode(
                make_environment(t.domain), t, OracleAgent(), shield=shield, run_id=f"prod-{i}"
            )
            record_trajectory(handle.recorder, run)
    return root / "base", root / "prod"


def test_profile_from_a_trace_store_has_latencies(stores: tuple[Path, Path]) -> None:
    built = Profile.from_traces(stores[0])
    assert built.runs == 30 and "confirm_booking" in built.tools
    assert built.tools["search_places"].latency.n == 30
    with pytest.raises(ConfigError, match="no runs"):
        Profile.from_traces(stores[0] / "missing")


def test_cli_profile_then_detect(stores: tuple[Path, Path], tmp_path: Path) -> None:
    mount_plugins()
    baseline = tmp_path / "baseline.json"
    made = runner.invoke(
        app, ["profile", "--traces", str(stores[0]), "-o", str(baseline), "--json"]
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["runs"] == 30
    found = runner.invoke(
        app, ["detect", "--traces", str(stores[1]), "--baseline", str(baseline), "--json"]
    )
    assert found.exit_code == 0, found.output
    report = json.loads(found.output)
    assert report["runs"] == 6 and report["flagged_runs"] == 2
    assert [t["label"] for t in report["tiers"]] == ["2 interaction"]
    assert {r["run_id"] for r in report["worst_runs"]} == {"prod-2", "prod-4"}
    table = runner.invoke(app, ["detect", "-t", str(stores[1]), "-b", str(baseline)])
    assert table.exit_code == 0
    assert "2 interaction" in table.output and "prod-2" in table.output
    only = runner.invoke(
        app, ["detect", "-t", str(stores[1]), "-b", str(baseline), "-d", "query_shift", "--json"]
    )
    assert json.loads(only.output)["flagged_runs"] == 0


def test_cli_reports_bad_input(stores: tuple[Path, Path], tmp_path: Path, profile: Profile) -> None:
    mount_plugins()
    missing = runner.invoke(app, ["detect", "-t", str(stores[1]), "-b", str(tmp_path / "no.json")])
    assert missing.exit_code == 2 and "cannot read baseline" in missing.output
    baseline = tmp_path / "b.json"
    nothing = runner.invoke(app, ["profile", "-t", str(tmp_path / "none"), "-o", str(baseline)])
    assert nothing.exit_code == 2 and "no runs" in nothing.output and not baseline.exists()
    profile.save(baseline)
    empty = runner.invoke(app, ["detect", "-t", str(tmp_path / "none"), "-b", str(baseline)])
    assert empty.exit_code == 2 and "no runs" in empty.output
    bad = runner.invoke(app, ["detect", "-t", str(stores[1]), "-b", str(baseline), "-d", "nope"])
    assert bad.exit_code == 2 and "unknown detector" in bad.output
