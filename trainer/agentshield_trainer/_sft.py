"""Building TRL's ``SFTTrainer`` for a run: hardware choices, model, LoRA and arguments."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentshield.errors import ConfigError
from agentshield_trainer._compat import quiet_stack_deprecations
from agentshield_trainer.config import TrainConfig
from agentshield_trainer.render import Encoded

__all__ = ["hardware", "make_trainer"]


def hardware(config: TrainConfig) -> tuple[bool, bool, bool]:
    """``(cuda, bf16, packing)`` from the settings and the machine."""
    import torch

    t = config.training
    available = torch.cuda.is_available()
    if t.device == "cuda" and not available:
        raise ConfigError("training.device='cuda' but no CUDA device is visible")
    cuda = available and t.device != "cpu"
    bf16 = {"true": True, "false": False}.get(t.bf16, cuda and torch.cuda.is_bf16_supported())
    packing = {"true": True, "false": False}.get(t.packing, cuda)
    return cuda, bf16, packing


def _columns(encoded: Sequence[Encoded]) -> list[dict[str, list[int]]]:
    return [{"input_ids": e.input_ids, "assistant_masks": e.assistant_masks} for e in encoded]


def _checkpointing(enabled: bool) -> dict[str, Any]:
    """Gradient checkpointing under its current name (transformers 5 renamed it; the old
    name warns)."""
    from trl.trainer.sft_config import SFTConfig

    new = "activation_checkpointing" in SFTConfig.__dataclass_fields__
    return {"activation_checkpointing" if new else "gradient_checkpointing": enabled}


def make_trainer(
    config: TrainConfig,
    base_dir: Path,
    tokenizer: Any,
    train_rows: list[Encoded],
    val_rows: list[Encoded],
    *,
    cuda: bool,
    bf16: bool,
    packing: bool,
    ckpt: Path,
    callbacks: Sequence[Any],
) -> Any:
    import torch
    from datasets import Dataset  # type: ignore[import-untyped]
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, set_seed
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    t, lora = config.training, config.lora
    set_seed(t.seed)  # before the model and the LoRA weights are created
    # Packed rows need varlen attention to be fast; sdpa is correct everywhere.
    flash = cuda and importlib.util.find_spec("flash_attn") is not None
    model = AutoModelForCausalLM.from_pretrained(
        base_dir,
        dtype=torch.bfloat16 if bf16 else torch.float32,
        attn_implementation="flash_attention_2" if flash else "sdpa",
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    args = SFTConfig(
        **_checkpointing(t.gradient_checkpointing),
        output_dir=str(ckpt),
        max_steps=t.max_steps,
        num_train_epochs=t.num_train_epochs,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler_type,
        warmup_steps=t.warmup_steps,
        weight_decay=t.weight_decay,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        logging_steps=t.logging_steps,
        eval_strategy="steps" if t.eval_steps and val_rows else "no",
        eval_steps=t.eval_steps,
        seed=t.seed,
        data_seed=t.seed,
        use_cpu=not cuda,
        bf16=bf16,
        packing=packing,
        packing_strategy="bfd",
        max_length=config.data.max_length,
        disable_tqdm=not t.progress,
        report_to=[],
        dataloader_num_workers=0,
    )
    with quiet_stack_deprecations():
        return SFTTrainer(
            model=model,
            args=args,
            train_dataset=Dataset.from_list(_columns(train_rows)),
            eval_dataset=Dataset.from_list(_columns(val_rows)) if val_rows else None,
            processing_class=tokenizer,
            peft_config=LoraConfig(
                task_type="CAUSAL_LM",
                r=lora.rank,
                lora_alpha=lora.lora_alpha,
                lora_dropout=lora.lora_dropout,
                **_targets(model, lora.target_modules, lora.top_layers),
            ),
            callbacks=list(callbacks),
        )


def _targets(model: Any, targets: tuple[str, ...], top_layers: int) -> dict[str, Any]:
    """PEFT's ``target_modules`` (and ``layers_to_transform`` for the last ``top_layers``).

    PEFT takes a layer range only with a list of module names, so ``all-linear`` is spelled
    out as the linear layers inside the transformer blocks.
    """
    import torch

    if not top_layers:
        return {"target_modules": "all-linear" if targets == ("all-linear",) else list(targets)}
    n_layers = int(model.config.num_hidden_layers)
    if top_layers > n_layers:
        raise ConfigError(
            f"lora.top_layers is {top_layers} but the base model has {n_layers} layers"
        )
    names = list(targets)
    if targets == ("all-linear",):
        names = sorted(
            {
                name.rsplit(".", 1)[-1]
                for name, module in model.named_modules()
                if isinstance(module, torch.nn.Linear) and ".layers." in name
            }
        )
    return {
        "target_modules": names,
        "layers_to_transform": list(range(n_layers - top_layers, n_layers)),
    }
