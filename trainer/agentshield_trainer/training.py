"""LoRA supervised fine-tuning with TRL's ``SFTTrainer`` and PEFT.

:func:`train` runs the whole step: build (or take) the PAFT dataset, tokenize it with the
assistant-only mask (every row checked against ``max_length`` first), fine-tune a LoRA
adapter, and write the adapter folder with its manifest and model card. Everything that
can fail on the input fails before the first training step, and the adapter folder appears
only once complete (written to a temporary sibling, then renamed).

Hardware: on a GPU, bf16 and padding-free packing are on by default; on CPU both are off
(a small model trains in seconds). Under ``accelerate launch`` / ``torchrun`` the same call
runs data-parallel; only the main process writes files::

    accelerate launch --num_processes 8 -m agentshield_trainer --config train.toml

Checkpoints go to ``<output_dir>.checkpoints`` every ``save_steps``; ``resume=True``
continues from the newest one, after checking that data and settings are unchanged. The
checkpoints are removed once the adapter is written. Runs are deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentshield.errors import ConfigError
from agentshield_trainer._sft import hardware, make_trainer
from agentshield_trainer.config import TrainConfig
from agentshield_trainer.dataset import TrainingSet, load_dataset
from agentshield_trainer.errors import NoTrajectoriesError
from agentshield_trainer.manifest import MANIFEST_NAME, Manifest, code_versions, identify_base_model
from agentshield_trainer.output import write_adapter
from agentshield_trainer.render import encode_rows, resolve_chat_template

__all__ = ["EMBEDDED", "TrainResult", "base_name", "checkpoint_dir", "resolve_model_dir", "train"]

#: ``base_model`` value that names the embedded SmolLM2-135M-Instruct.
EMBEDDED = "embedded"

_RUN_FILE = "agentshield_run.json"


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced."""

    adapter_dir: Path
    manifest: Manifest
    dataset: TrainingSet
    metrics: dict[str, float] = field(default_factory=dict)


def resolve_model_dir(base: str) -> Path:
    """A local folder for ``base``: ``embedded`` is the embedded SmolLM2 (pulled once), a
    folder is itself, anything else a Hub snapshot (downloaded once)."""
    if base == EMBEDDED:
        from agentshield_trainer.embedded import embedded_model_path

        return embedded_model_path()
    path = Path(base).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(base))


def base_name(base: str) -> str:
    """The base model's name in manifests: the embedded model's real name for ``embedded``."""
    if base == EMBEDDED:
        from agentshield_trainer.embedded import EMBEDDED_MODEL_NAME

        return EMBEDDED_MODEL_NAME
    return base


def checkpoint_dir(config: TrainConfig) -> Path:
    """Where checkpoints of this run go."""
    t = config.training
    return Path(t.checkpoint_dir) if t.checkpoint_dir else Path(t.output_dir + ".checkpoints")


def _settings_hash(config: TrainConfig) -> str:
    data = config.to_dict()
    for key in ("resume", "progress", "checkpoint_dir"):
        data["training"].pop(key, None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _resume_from(config: TrainConfig, ckpt: Path, run: dict[str, str]) -> str | None:
    """The checkpoint to resume from, after checking it belongs to this run."""
    from transformers import trainer_utils

    find: Any = trainer_utils.get_last_checkpoint  # untyped
    last: str | None = find(str(ckpt)) if ckpt.is_dir() else None
    if not config.training.resume:
        if last is not None:
            raise ConfigError(
                f"{ckpt} holds checkpoints of an interrupted run; pass --resume to continue "
                "it, or delete that folder to start over"
            )
        return None
    if last is None:
        raise ConfigError(f"--resume: no checkpoint in {ckpt} to resume from")
    try:
        recorded = json.loads((ckpt / _RUN_FILE).read_text())
    except (OSError, ValueError):
        recorded = {}
    if recorded != run:
        raise ConfigError(
            f"--resume: the checkpoints in {ckpt} were made with other data or settings "
            f"(dataset fingerprint {str(recorded.get('fingerprint'))[:12]} vs "
            f"{run['fingerprint'][:12]}); resume with the same inputs and config"
        )
    return last


def _check_output(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise ConfigError(
            f"output_dir {out} exists and is not an AgentShield adapter; choose an empty or "
            "new folder (an earlier adapter there is replaced only once training succeeds)"
        )


def train(
    config: TrainConfig, *, dataset: TrainingSet | None = None, callbacks: Sequence[Any] = ()
) -> TrainResult:
    """Fine-tune a LoRA adapter as ``config`` says and write it with its manifest.

    Args:
        config: All settings; ``training.base_model`` and ``training.output_dir`` are required.
        dataset: A dataset built already (default: built from ``config.data.inputs``).
        callbacks: Extra ``transformers.TrainerCallback`` objects.

    Raises:
        ConfigError: Missing or inconsistent settings, or a resume that does not match.
        DatasetError: The input cannot become a training set (see its subclasses).
        TemplateError: The chat template cannot mark assistant turns.
    """
    t = config.training
    if not t.base_model or not t.output_dir:
        raise ConfigError("training.base_model and training.output_dir are required")
    out = Path(t.output_dir)
    _check_output(out)
    ds = dataset if dataset is not None else load_dataset(config)
    if not ds.train:
        raise NoTrajectoriesError("the dataset has no training rows")
    base_dir = resolve_model_dir(t.base_model)
    identity = identify_base_model(base_dir, name=base_name(t.base_model))

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    template = resolve_chat_template(tokenizer, config.data.chat_template)
    max_length, too_long = config.data.max_length, config.data.on_too_long
    train_rows, dropped = encode_rows(
        tokenizer, ds.train, ids=ds.train_ids, max_length=max_length, on_too_long=too_long
    )
    val_rows, dropped_val = encode_rows(
        tokenizer, ds.val, ids=ds.val_ids, max_length=max_length, on_too_long=too_long
    )
    if not train_rows:
        raise NoTrajectoriesError("every training row was dropped as longer than max_length")
    ckpt = checkpoint_dir(config)
    run = {"fingerprint": ds.fingerprint, "settings": _settings_hash(config)}
    resume = _resume_from(config, ckpt, run)
    cuda, bf16, packing = hardware(config)

    trainer = make_trainer(
        config,
        base_dir,
        tokenizer,
        train_rows,
        val_rows,
        cuda=cuda,
        bf16=bf16,
        packing=packing,
        ckpt=ckpt,
        callbacks=callbacks,
    )
    if not t.progress:  # quiet: no log dicts printed to stdout (keeps --json output clean)
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    if trainer.is_world_process_zero():
        ckpt.mkdir(parents=True, exist_ok=True)
        (ckpt / _RUN_FILE).write_text(json.dumps(run))
    result = trainer.train(resume_from_checkpoint=resume)
    metrics = {k: float(v) for k, v in result.metrics.items() if isinstance(v, int | float)}
    tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    if tokens:
        metrics["num_tokens"] = float(tokens[-1])
    if val_rows:
        metrics.update({k: float(v) for k, v in trainer.evaluate().items()})
    metrics.update(
        rows_dropped_too_long=float(dropped + dropped_val), steps=trainer.state.global_step
    )
    manifest = Manifest(
        base_model=identity,
        files={},
        lora=config.to_dict()["lora"],
        data={**ds.info(), "max_length": config.data.max_length},
        paft=config.to_dict()["paft"],
        training={
            **config.to_dict()["training"],
            "bf16": bf16,
            "packing": packing,
            "device": "cuda" if cuda else "cpu",
        },
        metrics=metrics,
        code=code_versions(),
        chat_template_sha256=hashlib.sha256(template.encode()).hexdigest(),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    manifest = write_adapter(trainer, tokenizer, out, manifest)
    if trainer.is_world_process_zero():
        shutil.rmtree(ckpt, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    return TrainResult(out, manifest, ds, metrics)
