"""The shipped baseline adapter: intact, static SFT, small, and reproducible from its recipe
(the same oracle runs give the same dataset fingerprint as the one it was trained on)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from agentshield_trainer.baseline import (
    BASELINE_CONFIG,
    BASELINE_DIR,
    baseline_config,
    record_oracle_runs,
)
from agentshield_trainer.cli_models import models_app
from agentshield_trainer.dataset import load_dataset
from agentshield_trainer.embedded import EMBEDDED_MODEL_NAME
from agentshield_trainer.manifest import verify_adapter


def test_the_shipped_adapter_is_intact_static_sft_and_small() -> None:
    manifest = verify_adapter(BASELINE_DIR)  # safetensors only, every file's hash matches
    assert manifest.base_model.name == EMBEDDED_MODEL_NAME
    assert manifest.paft["alpha"] == 0.0 and manifest.data["perturbation_mix"] == {}
    assert manifest.lora["top_layers"] == 10 and manifest.lora["rank"] == 8
    size = sum(p.stat().st_size for p in BASELINE_DIR.iterdir())
    assert size < 8 * 2**20, f"{size} bytes"
    assert not [p for p in BASELINE_DIR.iterdir() if p.suffix in (".bin", ".pt", ".pkl")]


def test_it_was_trained_with_the_shipped_recipe() -> None:
    manifest = verify_adapter(BASELINE_DIR)
    recipe = tomllib.loads(BASELINE_CONFIG.read_text())
    assert {k: manifest.training[k] for k in recipe["training"]} == recipe["training"]
    assert {k: manifest.lora[k] for k in recipe["lora"]} == recipe["lora"]
    assert manifest.metrics["steps"] == recipe["training"]["max_steps"]


def test_its_recipe_rebuilds_the_same_dataset(tmp_path: Path) -> None:
    assert record_oracle_runs(tmp_path / "traces", progress=False) == 200
    data = load_dataset(baseline_config([str(tmp_path / "traces")], tmp_path / "out"))
    assert data.fingerprint == verify_adapter(BASELINE_DIR).data["fingerprint"]


def test_models_baseline_prints_the_folder_and_the_recipe() -> None:
    runner = CliRunner()
    result = runner.invoke(models_app, ["baseline"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(BASELINE_DIR)
    result = runner.invoke(models_app, ["baseline", "--config"])
    assert result.output.strip() == str(BASELINE_CONFIG) and BASELINE_CONFIG.is_file()
