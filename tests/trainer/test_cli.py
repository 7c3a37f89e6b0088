"""``agentshield train`` / ``agentshield adapters`` mounted the way the core CLI mounts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agentshield_trainer.cli import adapters_app, train_app
from agentshield_trainer.testing import oracle_trajectories
from tests.trainer.conftest import Trained


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A root app with the two entry points mounted (train: command; adapters: sub-app)."""
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """AgentShield."""

    root.command("train")(train_app)
    root.add_typer(adapters_app, name="adapters")
    return root


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(t.to_json() + "\n" for t in oracle_trajectories(6)))
    return path


def test_every_setting_is_a_flag_with_its_help(app: typer.Typer) -> None:
    result = CliRunner(env={"COLUMNS": "240"}).invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for flag in ("--alpha", "--rank", "--max-length", "--resume", "--base-model", "--config"):
        assert flag in result.output
    assert "share of perturbed trajectories" in result.output


def test_dry_run_with_config_file_and_flags(app: typer.Typer, runs: Path, tmp_path: Path) -> None:
    toml = tmp_path / "train.toml"
    toml.write_text("[paft]\nalpha = 0.0\n[data]\nval_fraction = 0.5\n")
    out = tmp_path / "data"
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(runs),
            "--config",
            str(toml),
            "--val-fraction",
            "0.25",
            "--dry-run",
            "--json",
            "--dataset-out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert (info["train_rows"], info["val_rows"]) == (4, 2)  # the flag beat the file
    assert (out / "train.jsonl").is_file()


def test_paft_flag_turns_augmentation_on_at_the_studys_share(
    app: typer.Typer, runs: Path, tmp_path: Path
) -> None:
    toml = tmp_path / "static.toml"
    toml.write_text("[paft]\nalpha = 0.0\n[data]\nval_fraction = 0.0\n")  # static SFT

    def augmented(*flags: str) -> int:
        args = ["train", str(runs), "-c", str(toml), "--dry-run", "--json", *flags]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return sum(json.loads(result.output)["perturbation_mix"].values())

    assert augmented() == 0
    assert augmented("--paft") == 3  # round(6 * 0.3 / 0.7)
    assert augmented("--paft", "--alpha", "0.5") == 6
    result = CliRunner().invoke(app, ["train", str(runs), "--paft", "--alpha", "0", "--dry-run"])
    assert result.exit_code == 2 and "contradict" in result.output


def test_errors_are_one_line_with_exit_code_2(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--dry-run"])
    assert result.exit_code == 2 and "error: no inputs" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[lora]\nrnak = 4\n")
    result = CliRunner().invoke(app, ["train", "--config", str(bad)])
    assert result.exit_code == 2 and "has no setting 'rnak'" in result.output


def test_train_command_writes_an_adapter(
    app: typer.Typer, runs: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "adapter"
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(runs),
            "--base-model",
            str(tiny_model_dir),
            "--output-dir",
            str(out),
            "--max-steps",
            "2",
            "--batch-size",
            "2",
            "--no-progress",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["metrics"]["steps"] == 2
    assert (out / "agentshield_manifest.json").is_file()


def test_adapters_verify_and_merge(app: typer.Typer, trained: Trained, tmp_path: Path) -> None:
    adapter = str(trained.result.adapter_dir)
    ok = CliRunner().invoke(app, ["adapters", "verify", adapter, "--base", str(trained.base)])
    assert ok.exit_code == 0 and "OK, trained on" in ok.output
    merged = tmp_path / "merged"
    result = CliRunner().invoke(app, ["adapters", "merge", str(trained.base), adapter, str(merged)])
    assert result.exit_code == 0, result.output
    assert (merged / "model.safetensors").is_file() and (merged / "tokenizer.json").is_file()
    missing = CliRunner().invoke(app, ["adapters", "verify", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
