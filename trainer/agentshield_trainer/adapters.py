"""Loading an adapter onto its base model, checked first; merging it for serving.

:func:`load_model` verifies the adapter folder (no pickle, intact safetensors, hashes as in
the manifest) and that the base model is the one the adapter was trained on, *before*
loading any weights. :func:`merge_adapter` writes a merged model folder (safetensors) that
``transformers serve`` or vLLM can serve without LoRA support.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshield_trainer._compat import quiet_stack_deprecations
from agentshield_trainer.manifest import (
    MANIFEST_NAME,
    Manifest,
    check_base_model,
    identify_base_model,
    verify_adapter,
)
from agentshield_trainer.render import resolve_chat_template

__all__ = ["LoadedModel", "check_adapter", "load_model", "merge_adapter"]


@dataclass(frozen=True)
class LoadedModel:
    """A model ready for generation, its tokenizer, and the adapter manifest (if any)."""

    model: Any
    tokenizer: Any
    manifest: Manifest | None
    device: str


def check_adapter(base: str, adapter: str | Path) -> Manifest:
    """Verify ``adapter`` and that it was trained on ``base``; load nothing.

    Raises:
        CorruptAdapterError: The folder is incomplete, damaged or holds pickle files.
        AdapterMismatchError: The adapter was trained on another base model.
    """
    from agentshield_trainer.training import resolve_model_dir

    manifest = verify_adapter(adapter)
    check_base_model(manifest, identify_base_model(resolve_model_dir(base), name=base))
    return manifest


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_model(
    base: str,
    adapter: str | Path | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    verify: bool = True,
) -> LoadedModel:
    """Load ``base`` with ``adapter`` applied, for inference.

    Args:
        base: The base model folder or hub id.
        adapter: An adapter folder written by ``agentshield train`` (``None``: base only).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        dtype: ``auto`` (bf16 on a GPU that has it, else fp32), ``float32`` or ``bfloat16``.
        verify: Check the folder and the base model first (leave on; off only for
            adapters trained elsewhere, which have no manifest).

    Raises:
        CorruptAdapterError: See :func:`check_adapter`.
        AdapterMismatchError: See :func:`check_adapter`.
    """
    from agentshield_trainer.training import resolve_model_dir

    manifest = check_adapter(base, adapter) if adapter is not None and verify else None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = _device(device)
    if dtype == "auto":
        cuda = where.startswith("cuda")
        torch_dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    else:
        torch_dtype = getattr(torch, dtype)
    base_dir = resolve_model_dir(base)
    # The adapter folder carries the tokenizer and chat template it was trained with.
    source = (
        adapter
        if adapter is not None and Path(adapter, "tokenizer_config.json").is_file()
        else base_dir
    )
    tokenizer = AutoTokenizer.from_pretrained(source)
    resolve_chat_template(tokenizer)
    model: Any = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch_dtype)
    if adapter is not None:
        from peft import PeftModel

        with quiet_stack_deprecations():
            model = PeftModel.from_pretrained(model, str(adapter))
    model.to(where)
    model.eval()
    return LoadedModel(model, tokenizer, manifest, where)


def merge_adapter(base: str, adapter: str | Path, out: str | Path) -> Path:
    """Merge ``adapter`` into ``base`` and write a standalone model folder to ``out``.

    The folder holds safetensors weights, the tokenizer with the training chat template, and
    the adapter's manifest (``merged_from`` records the adapter). It is written to a temporary
    sibling and renamed when complete.

    Raises:
        CorruptAdapterError: See :func:`check_adapter`.
        AdapterMismatchError: See :func:`check_adapter`.
        FileExistsError: ``out`` exists and is not empty.
    """
    target = Path(out)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"{target} exists and is not empty; choose a new folder")
    loaded = load_model(base, adapter, device="cpu", dtype="float32")
    merged = loaded.model.merge_and_unload()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        loaded.tokenizer.save_pretrained(tmp)
        if loaded.manifest is not None:
            data = {**loaded.manifest.to_dict(), "merged_from": str(Path(adapter).resolve())}
            (tmp / MANIFEST_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.chmod(0o755)
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
