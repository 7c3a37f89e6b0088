"""Writing the adapter folder: weights, tokenizer, manifest and model card, atomically."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentshield_trainer.card import model_card
from agentshield_trainer.manifest import MANIFEST_NAME, Manifest, file_sha256, verify_adapter

__all__ = ["write_adapter"]


def write_adapter(trainer: Any, tokenizer: Any, out: Path, manifest: Manifest) -> Manifest:
    """Write the adapter into a hidden sibling folder and swap it in once complete.

    Every process takes part in ``save_model`` (FSDP / DeepSpeed gather the weights there);
    the main process alone finishes the folder.
    """
    main = trainer.is_world_process_zero()
    partial = out.with_name(f".{out.name}.partial")
    if main:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    try:
        trainer.save_model(str(partial))
        if main:
            manifest = _finish_adapter(partial, tokenizer, out, manifest)
    except BaseException:
        if main:
            shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _finish_adapter(partial: Path, tokenizer: Any, out: Path, manifest: Manifest) -> Manifest:
    # The Trainer also pickles its arguments next to the weights: never ship a pickle.
    (partial / "training_args.bin").unlink(missing_ok=True)
    tokenizer.save_pretrained(partial)
    files = {
        p.name: file_sha256(p)
        for p in sorted(partial.iterdir())
        if p.is_file() and p.name not in ("README.md", MANIFEST_NAME)
    }
    manifest = replace(manifest, files=files)
    manifest.write(partial)
    (partial / "README.md").write_text(model_card(manifest, out.name))
    verify_adapter(partial)
    partial.chmod(0o755)
    old = out.with_name(f".{out.name}.old")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    os.replace(partial, out)
    shutil.rmtree(old, ignore_errors=True)
    return manifest
