"""The GPU settings (bf16, padding-free packing, gradient checkpointing) run on CPU too.

Here they only prove the code path (a few steps, slow on CPU by nature); their speed is
measured by ``benchmarks/train_throughput.py`` on a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentshield.errors import ConfigError
from agentshield_trainer.config import TrainConfig
from agentshield_trainer.dataset import build_dataset
from agentshield_trainer.testing import oracle_trajectories
from agentshield_trainer.training import train


def test_bf16_packing_and_checkpointing(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = TrainConfig.from_dict(
        {
            "training": {
                "base_model": str(tiny_model_dir),
                "output_dir": str(tmp_path / "adapter"),
                "max_steps": 2,
                "batch_size": 2,
                "bf16": "true",
                "packing": "true",
                "gradient_checkpointing": True,
                "progress": False,
            }
        }
    )
    result = train(config, dataset=build_dataset(oracle_trajectories(4), config))
    recorded = json.loads((result.adapter_dir / "agentshield_manifest.json").read_text())
    assert recorded["training"]["bf16"] is True and recorded["training"]["packing"] is True
    assert result.metrics["steps"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]


def test_output_dir_that_is_not_an_adapter_is_left_alone(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    config = TrainConfig.from_dict(
        {"training": {"base_model": str(tiny_model_dir), "output_dir": str(out)}}
    )
    with pytest.raises(ConfigError, match="is not an AgentShield adapter"):
        train(config, dataset=build_dataset(oracle_trajectories(2), config))
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    with pytest.raises(ConfigError, match=r"base_model and training\.output_dir are required"):
        train(TrainConfig())


def test_top_layers_adapts_only_the_last_layers(tiny_model_dir: Path, tmp_path: Path) -> None:
    def config(top: int, out: str) -> TrainConfig:
        return TrainConfig.from_dict(
            {
                "lora": {"top_layers": top},
                "training": {
                    "base_model": str(tiny_model_dir),
                    "output_dir": str(tmp_path / out),
                    "max_steps": 2,
                    "progress": False,
                },
            }
        )

    cfg = config(1, "top")
    result = train(cfg, dataset=build_dataset(oracle_trajectories(2), cfg))
    peft = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert peft["layers_to_transform"] == [1]  # the tiny model has 2 layers
    assert set(peft["target_modules"]) >= {"q_proj", "v_proj", "down_proj"}
    from safetensors import safe_open

    with safe_open(str(result.adapter_dir / "adapter_model.safetensors"), "pt") as f:
        layers = {k.split(".layers.")[1].split(".")[0] for k in f.keys()}  # noqa: SIM118
    assert layers == {"1"}
    cfg = config(3, "too-many")
    with pytest.raises(ConfigError, match=r"lora\.top_layers is 3 but the base model has 2 layers"):
        train(cfg, dataset=build_dataset(oracle_trajectories(2), cfg))
    with pytest.raises(ConfigError, match=r"lora\.top_layers must be >= 0"):
        config(-1, "negative")
