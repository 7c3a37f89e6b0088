"""Session fixtures: recorded oracle traces and one adapter trained on the tiny model.

The tiny model itself comes from the ``tiny_model_dir`` fixture of the
``agentshield_trainer.testing`` plugin. Training runs once per session and several tests
(end to end, bad adapters, merge, hot-load validation) use its adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from agentshield_trainer.config import TrainConfig
from agentshield_trainer.dataset import TrainingSet, load_dataset
from agentshield_trainer.testing import oracle_trajectories
from agentshield_trainer.training import TrainResult, train


@dataclass(frozen=True)
class Trained:
    """The session's training run: its inputs, dataset and result."""

    base: Path
    store: Path
    config: TrainConfig
    dataset: TrainingSet
    result: TrainResult


def record_store(folder: Path, *, capture_content: bool) -> Path:
    """Record the oracle runs through the real tracing pipeline into a trace store."""
    tracing = pytest.importorskip("agentshield.tracing")
    from agentshield.tracing.testing import record_trajectory

    handle = tracing.setup_tracing(store=folder, capture_content=capture_content)
    for trajectory in oracle_trajectories():
        record_trajectory(handle.recorder, trajectory, agent_name="oracle")
    handle.shutdown()
    return folder


def oracle_inputs(folder: Path) -> Path:
    """A trace store of the oracle runs; trajectory JSONL when tracing is not installed."""
    try:
        import agentshield.tracing  # noqa: F401
    except ImportError:  # opentelemetry-sdk missing: the other input path
        folder.mkdir(parents=True, exist_ok=True)
        runs = "".join(t.to_json() + "\n" for t in oracle_trajectories())
        (folder / "runs.jsonl").write_text(runs)
        return folder
    return record_store(folder, capture_content=True)


def tiny_config(base: Path, out: Path, **training: object) -> TrainConfig:
    """Settings that teach the tiny model the sample task in seconds on CPU.

    120 steps: the agent completed the task for 7 of 7 seeds tried (80 steps: 2 of 3). bf16
    and packing stay off on a GPU too: they change what these 120 steps learn (on an H100
    the adapter called a tool that does not exist); ``test_gpu.py`` trains with them.
    """
    return TrainConfig.from_dict(
        {
            "data": {"max_length": 2048},
            "lora": {"lora_dropout": 0.0},
            "training": {
                "base_model": str(base),
                "output_dir": str(out),
                "max_steps": 120,
                "batch_size": 2,
                "learning_rate": 1e-2,
                "save_steps": 1000,
                "logging_steps": 1000,
                "progress": False,
                "bf16": "false",
                "packing": "false",
                **training,
            },
        }
    )


@pytest.fixture(scope="session")
def oracle_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trace store holding the oracle runs, recorded with content capture on."""
    return oracle_inputs(tmp_path_factory.mktemp("traces"))


@pytest.fixture(scope="session")
def trained(
    tiny_model_dir: Path, oracle_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Trained:
    """Traces -> PAFT dataset -> 120 LoRA steps -> adapter folder (once per session)."""
    out = tmp_path_factory.mktemp("adapters") / "hardened"
    config = tiny_config(tiny_model_dir, out).override({"inputs": [str(oracle_store)]})
    dataset = load_dataset(config)
    return Trained(tiny_model_dir, oracle_store, config, dataset, train(config, dataset=dataset))
