"""Bad input fails with a clear error and leaves nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentshield_trainer import load_chat_model, merge_adapter, train
from agentshield_trainer.errors import (
    AdapterMismatchError,
    CorruptAdapterError,
    NoContentError,
    NoTrajectoriesError,
    PromptTooLongError,
)
from agentshield_trainer.tiny import build_tiny_model
from agentshield_trainer.vllm import hot_load
from tests.trainer.conftest import Trained, record_store, tiny_config


def only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_empty_trace_store(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "traces").mkdir()
    config = tiny_config(tiny_model_dir, tmp_path / "out").override(
        {"inputs": [str(tmp_path / "traces")]}
    )
    with pytest.raises(NoTrajectoriesError, match="no runs found") as err:
        train(config)
    assert "AGENTSHIELD_CAPTURE_CONTENT=true" in str(err.value)
    assert only(tmp_path) == ["traces"]


def test_trace_store_recorded_without_content(tiny_model_dir: Path, tmp_path: Path) -> None:
    store = record_store(tmp_path / "traces", capture_content=False)
    config = tiny_config(tiny_model_dir, tmp_path / "out").override({"inputs": [str(store)]})
    with pytest.raises(NoContentError, match="recorded without content") as err:
        train(config)
    assert "AGENTSHIELD_CAPTURE_CONTENT=true" in str(err.value)
    assert "capture_content=True" in str(err.value)
    assert only(tmp_path) == ["traces"]


def test_tools_prompt_longer_than_max_length(
    tiny_model_dir: Path, oracle_store: Path, tmp_path: Path
) -> None:
    config = tiny_config(tiny_model_dir, tmp_path / "out").override(
        {"inputs": [str(oracle_store)], "max_length": 300}
    )
    with pytest.raises(PromptTooLongError, match="tools prompt alone is") as err:
        train(config)
    assert "never truncated" in str(err.value)
    assert only(tmp_path) == []


def test_adapter_for_another_base_model(trained: Trained, tmp_path: Path) -> None:
    other = build_tiny_model(tmp_path / "other", seed=1)
    with pytest.raises(AdapterMismatchError, match="differs in its weights") as err:
        load_chat_model(str(other), adapter=trained.result.adapter_dir)
    assert str(trained.base) in str(err.value) and str(other) in str(err.value)
    deeper = build_tiny_model(tmp_path / "deeper", layers=3)
    with pytest.raises(AdapterMismatchError, match="architecture/config"):
        merge_adapter(str(deeper), trained.result.adapter_dir, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


@pytest.fixture
def adapter_copy(trained: Trained, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained.result.adapter_dir, tmp_path / "adapter"))


def test_truncated_safetensors(trained: Trained, adapter_copy: Path, tmp_path: Path) -> None:
    weights = adapter_copy / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(CorruptAdapterError, match="not a valid safetensors file"):
        load_chat_model(str(trained.base), adapter=adapter_copy)
    with pytest.raises(CorruptAdapterError):
        merge_adapter(str(trained.base), adapter_copy, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_changed_weights_and_pickles(trained: Trained, adapter_copy: Path) -> None:
    weights = adapter_copy / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # the structure stays valid; the content does not
    weights.write_bytes(bytes(data))
    with pytest.raises(CorruptAdapterError, match="does not match the hash"):
        load_chat_model(str(trained.base), adapter=adapter_copy)
    (adapter_copy / "training_args.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(CorruptAdapterError, match="pickle files"):
        load_chat_model(str(trained.base), adapter=adapter_copy)


def test_hot_load_validates_before_sending_anything(adapter_copy: Path) -> None:
    (adapter_copy / "adapter_model.safetensors").write_bytes(b"\x00" * 16)
    # Nothing listens on port 9: an attempt to connect would be a different error.
    with pytest.raises(CorruptAdapterError):
        hot_load("http://127.0.0.1:9", "hardened", adapter_copy)
