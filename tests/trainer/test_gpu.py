"""The GPU path: training on CUDA with bf16 and packing, and batched local inference on CUDA.

Marked ``gpu``; skipped, with the reason shown, on a machine without CUDA (CI has none). The
rest of ``tests/trainer`` also trains on the GPU when one is visible (``training.device``
defaults to ``auto``), so on a GPU machine run ``pytest tests/trainer -m "not embedded"``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

from agentshield_trainer.dataset import load_dataset  # noqa: E402
from agentshield_trainer.local_policy import LocalPolicy, load_local_policy  # noqa: E402
from agentshield_trainer.training import train  # noqa: E402
from tests.trainer.conftest import tiny_config  # noqa: E402
from tests.trainer.test_local_policy import CONVERSATIONS  # noqa: E402


def test_training_runs_on_the_gpu_in_bf16_with_packing(
    tiny_model_dir: Path, oracle_store: Path, tmp_path: Path
) -> None:
    config = tiny_config(
        tiny_model_dir, tmp_path / "gpu", max_steps=30, bf16="auto", packing="auto"
    ).override({"inputs": [str(oracle_store)]})
    result = train(config, dataset=load_dataset(config))
    manifest = json.loads((result.adapter_dir / "agentshield_manifest.json").read_text())
    used = {k: manifest["training"][k] for k in ("device", "bf16", "packing")}
    assert used == {"device": "cuda", "bf16": True, "packing": True}
    assert result.metrics["train_loss"] > 0, result.metrics
    loaded = load_local_policy(tiny_model_dir, result.adapter_dir, device="cuda")
    assert next(loaded.model.parameters()).device.type == "cuda"
    assert loaded.generate([loaded.render(*CONVERSATIONS[0])])[0].output_tokens > 0


def test_batched_generation_on_cuda_equals_one_at_a_time(tiny_model_dir: Path) -> None:
    base = load_local_policy(tiny_model_dir, device="cuda", dtype="float32")
    batched = LocalPolicy(base.model, base.tokenizer, max_new_tokens=20, stop=())
    alone = LocalPolicy(base.model, base.tokenizer, max_new_tokens=20, stop=(), prefix_cache_size=0)
    prompts = [batched.render(m, t) for m, t in CONVERSATIONS]
    reference = [alone.generate([p])[0].text for p in prompts]
    assert [c.text for c in batched.generate(prompts)] == reference
