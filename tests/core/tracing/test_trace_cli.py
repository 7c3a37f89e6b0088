"""``agentshield traces``: ls, show and export, as a user runs them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentshield import Shield, tool_named
from agentshield.cli_traces import app
from agentshield.effects import Result
from agentshield.testing import sample_tool_impls, sample_trajectory
from agentshield.tracing import setup_tracing
from agentshield.tracing.testing import record_trajectory

runner = CliRunner()


def execute(name: str, args: Mapping[str, Any]) -> Result:
    return Result(json.dumps(sample_tool_impls()[name](**args)))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    with setup_tracing(store=tmp_path / "store", capture_content=True) as handle:
        record_trajectory(handle.recorder, sample_trajectory("clean-1"))
        shield = Shield(
            [
                {"name": "tool_rename_noise"},
                {"name": "tool_error", "mode": "raise", "when": tool_named("book_table")},
            ],
            seed=1,
        )
        record_trajectory(
            handle.recorder, sample_trajectory("perturbed-1"), shield=shield, execute=execute
        )
    with setup_tracing(store=tmp_path / "store", capture_content=False) as handle:
        record_trajectory(handle.recorder, sample_trajectory("private-1"))
    with (tmp_path / "store" / "torn.jsonl").open("w") as fh:
        fh.write('{"resourceSpans": [')
    return tmp_path / "store"


def test_ls_table_and_json(store: Path) -> None:
    result = runner.invoke(app, ["ls", "-s", str(store)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "perturbed-1" in result.stdout and "tool_error" in result.stdout
    assert "torn last line" in result.stderr
    result = runner.invoke(app, ["ls", "-s", str(store), "--json"])
    doc = json.loads(result.stdout)
    runs = {r["run_id"]: r for r in doc["runs"]}
    assert set(runs) == {"clean-1", "perturbed-1", "private-1"}
    assert runs["perturbed-1"]["perturbations"] == ["tool_error", "tool_rename_noise"]
    assert runs["perturbed-1"]["injected"] == 1 and runs["clean-1"]["outcome"] == "success"
    assert runs["private-1"]["content"] is False
    assert len(doc["report"]["problems"]) == 1


def test_ls_reads_the_default_store(store: Path) -> None:
    result = runner.invoke(
        app, ["ls", "--json", "--limit", "1"], env={"AGENTSHIELD_TRACE_DIR": str(store)}
    )
    assert [r["run_id"] for r in json.loads(result.stdout)["runs"]] == ["private-1"]


def test_show_tree_and_json(store: Path) -> None:
    result = runner.invoke(app, ["show", "perturbed", "-s", str(store)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "invoke_agent scripted" in result.stdout
    assert "injected by tool_error" in result.stdout and "real book_table" in result.stdout
    result = runner.invoke(app, ["show", "clean-1", "-s", str(store), "--json"])
    doc = json.loads(result.stdout)
    assert doc["trajectory"]["run_id"] == "clean-1" and len(doc["spans"]) == 8


def test_show_unknown_or_ambiguous(store: Path) -> None:
    result = runner.invoke(app, ["show", "nope", "-s", str(store)])
    assert result.exit_code == 1 and "matches no run" in result.stderr
    result = runner.invoke(app, ["show", "p", "-s", str(store)])
    assert result.exit_code == 1 and "several" in result.stderr


@pytest.mark.parametrize("fmt", ["trl", "openai", "jsonl"])
def test_export(store: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"rows.{fmt}.jsonl"
    result = runner.invoke(
        app, ["export", "-s", str(store), "-f", fmt, "-o", str(out), "--status", "success"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 2" in result.stderr and "skipped 1 runs recorded without content" in (
        result.stderr
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    if fmt != "jsonl":
        assert all(set(r) == {"messages", "tools"} and len(r["tools"]) == 3 for r in rows)


def test_export_to_stdout_including_empty(store: Path) -> None:
    result = runner.invoke(app, ["export", "-s", str(store), "--include-empty", "--redact"])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3
