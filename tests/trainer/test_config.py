"""Settings: TOML round trip, flags over file, validation with messages that say what to do."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from agentshield.errors import ConfigError
from agentshield_trainer.config import (
    DataConfig,
    LoraSettings,
    PaftConfig,
    TrainConfig,
    TrainingSettings,
    field_help,
)


def test_every_field_has_help_and_a_unique_flag_name() -> None:
    sections = (DataConfig, PaftConfig, LoraSettings, TrainingSettings)
    names = [f.name for s in sections for f in fields(s)]
    assert len(names) == len(set(names))
    assert all(help_text for help_text, _, _ in field_help().values())
    assert set(field_help()) == set(names)


def test_toml_round_trip_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text(
        '[data]\ninputs = ["traces"]\nmax_length = 4096\n'
        '[paft]\nalpha = 0.25\nperturbations = ["tool_error", "tool_redirect"]\n'
        '[lora]\nrank = 8\ntarget_modules = ["q_proj", "v_proj"]\n'
        '[training]\nbase_model = "m"\noutput_dir = "out"\nlearning_rate = 1\n'
    )
    config = TrainConfig.from_toml(path)
    assert config.data.inputs == ("traces",) and config.paft.alpha == 0.25
    assert config.lora.target_modules == ("q_proj", "v_proj")
    assert config.training.learning_rate == 1.0
    merged = config.override({"rank": 4, "tiers": "1,2", "max_steps": None})
    assert merged.lora.rank == 4 and merged.paft.tiers == (1, 2)
    assert merged.training.max_steps == -1 and merged.data.max_length == 4096
    text = "\n".join(
        f"[{name}]\n"
        + "\n".join(
            f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
            for k, v in values.items()
            if v is not None
        )
        for name, values in config.to_dict().items()
    )
    assert TrainConfig.from_dict(tomllib.loads(text)) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"paft": {"alpha": 1.0}}, "paft.alpha must be in"),
        ({"lora": {"rank": "8x"}}, "lora.rank must be int"),
        ({"data": {"on_too_long": "cut"}}, "'error' or 'drop'"),
        ({"training": {"device": "tpu"}}, "auto, cpu or cuda"),
        ({"optimizer": {}}, "unknown config section 'optimizer'"),
        ({"training": {"lr": 1}}, "has no setting 'lr'"),
    ],
)
def test_invalid_settings(data: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(data)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        TrainConfig.from_toml(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        TrainConfig.from_toml(bad)
