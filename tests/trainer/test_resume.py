"""Training killed with SIGKILL after a checkpoint resumes to the same adapter.

Tolerance: resumed and uninterrupted LoRA tensors agree within ``atol=1e-6`` (float32 on
CPU; in practice they are bit-identical, since the checkpoint restores weights, optimizer,
scheduler, data order and RNG state, dropout included).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentshield.errors import ConfigError
from agentshield_trainer.config import TrainConfig
from agentshield_trainer.dataset import build_dataset
from agentshield_trainer.testing import oracle_trajectories
from agentshield_trainer.training import checkpoint_dir, train

KILL_AFTER = 4

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from transformers import TrainerCallback
    from agentshield_trainer.config import TrainConfig
    from agentshield_trainer.dataset import build_dataset
    from agentshield_trainer.testing import oracle_trajectories
    from agentshield_trainer.training import train

    class KillAfterCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)

    config = TrainConfig.from_toml(sys.argv[1])
    train(config, dataset=build_dataset(oracle_trajectories(4), config),
          callbacks=[KillAfterCheckpoint()])
    """
)


def settings(base: Path, out: Path) -> str:
    return textwrap.dedent(
        f"""
        [data]
        max_length = 2048
        [lora]
        rank = 8
        lora_dropout = 0.1
        [training]
        base_model = "{base}"
        output_dir = "{out}"
        max_steps = 8
        save_steps = {KILL_AFTER}
        batch_size = 2
        learning_rate = 0.001
        seed = 7
        progress = false
        """
    )


def tensors(folder: Path) -> dict[str, object]:
    from safetensors.torch import load_file

    return dict(load_file(str(folder / "adapter_model.safetensors")))


def test_resume_after_sigkill_matches_an_uninterrupted_run(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    toml = tmp_path / "train.toml"
    toml.write_text(settings(tiny_model_dir, tmp_path / "resumed"))
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    killed = subprocess.run(
        [sys.executable, str(script), str(toml), str(KILL_AFTER)],
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    config = TrainConfig.from_toml(toml)
    ckpt = checkpoint_dir(config)
    assert (ckpt / f"checkpoint-{KILL_AFTER}").is_dir()
    assert not (tmp_path / "resumed").exists()  # no half-written adapter

    dataset = build_dataset(oracle_trajectories(4), config)
    with pytest.raises(ConfigError, match="pass --resume"):
        train(config, dataset=dataset)
    resumed = train(config.override({"resume": True}), dataset=dataset)
    assert resumed.metrics["steps"] == 8 and not ckpt.exists()

    toml.write_text(settings(tiny_model_dir, tmp_path / "straight"))
    straight_config = TrainConfig.from_toml(toml)
    straight = train(
        straight_config, dataset=build_dataset(oracle_trajectories(4), straight_config)
    )
    a, b = tensors(resumed.adapter_dir), tensors(straight.adapter_dir)
    assert a.keys() == b.keys() and a
    # On CPU the resumed run is the uninterrupted one to float precision. On a GPU, bf16
    # matmuls and cuBLAS's run-to-run reduction order leave ~1e-4 (seen on an H100), so there
    # the check is that the learned part (lora_B starts at zero) agrees to 5 % of its size: a
    # resume that lost the data order or the optimizer state moves it far more.
    cuda = resumed.manifest.training["device"] == "cuda"
    for name in a:
        diff = float((a[name] - b[name]).abs().max())  # type: ignore[operator]
        if not cuda:
            assert diff <= 1e-6, (name, diff)
        elif "lora_B" in name:
            assert diff <= 0.05 * float(b[name].abs().max()), (name, diff)  # type: ignore[attr-defined]
    assert resumed.manifest.data["fingerprint"] == straight.manifest.data["fingerprint"]


def test_resume_refuses_other_data(tiny_model_dir: Path, tmp_path: Path) -> None:
    toml = tmp_path / "train.toml"
    toml.write_text(settings(tiny_model_dir, tmp_path / "out"))
    config = TrainConfig.from_toml(toml).override({"resume": True})
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(config, dataset=build_dataset(oracle_trajectories(4), config))
    ckpt = checkpoint_dir(config) / "checkpoint-4"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text("{}")
    with pytest.raises(ConfigError, match="other data or settings"):
        train(config, dataset=build_dataset(oracle_trajectories(5), config))
