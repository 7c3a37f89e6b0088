"""Benchmark: training tokens/s of ``agentshield train`` vs a plain TRL ``SFTTrainer`` script.

Run with ``python benchmarks/train_throughput.py [--model tiny|0.5b] [--steps N] [--rounds R]``.
Both sides run in this one process, alternating, on the same base model, the same rows (the
oracle runs of the sample task plus their PAFT copies) and the same settings (LoRA rank,
batch size, learning rate, max length, bf16 / packing, no gradient checkpointing):

* ``agentshield``: :func:`agentshield_trainer.train` — our tokenization (assistant-only
  mask, length check) and TRL underneath;
* ``plain TRL``: the script a TRL user writes — conversational rows (``messages`` +
  ``tools``) handed to ``SFTTrainer`` with a ``LoraConfig``, TRL tokenizing.

tokens/s = TRL's ``num_tokens`` (non-padding tokens trained) / ``train_runtime`` (the
training loop only; model loading and dataset preparation are not timed); the table shows
the median and the best round (the best is the least disturbed by other load on the machine).

``--model tiny``: the hidden-64 test model (CPU). ``--model 0.5b``: a random-init Qwen2
config of Qwen2.5-0.5B's shape (hidden 896, 24 layers, vocab 151,936; ~494 M parameters),
meant for a GPU, where MFU is printed: model FLOPs per token = 4·N (forward 2N plus the
input-gradient half of backward; LoRA leaves the frozen weights without weight gradients)
+ 6·L·d·s_doc (causal attention, forward and backward, over the mean row length), divided
by the GPU's dense bf16 peak (``--peak-tflops``, default 989 for an H100 SXM).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentshield_trainer import (
    TrainConfig,
    build_dataset,
    encode_rows,
    resolve_chat_template,
    train,
)
from agentshield_trainer.testing import oracle_trajectories
from agentshield_trainer.tiny import build_tiny_model


def build_model(folder: Path, size: str) -> Path:
    """The tiny model, or a random-init model of Qwen2.5-0.5B's shape with its tokenizer."""
    build_tiny_model(folder)
    if size == "tiny":
        return folder
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tok = AutoTokenizer.from_pretrained(folder)
    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


def settings(base: Path, out: Path, args: argparse.Namespace) -> TrainConfig:
    return TrainConfig.from_dict(
        {
            "data": {"max_length": args.max_length, "val_fraction": 0.0},
            "lora": {"rank": 16, "lora_dropout": 0.0},
            "training": {
                "base_model": str(base),
                "output_dir": str(out),
                "max_steps": args.steps,
                "batch_size": args.batch_size,
                "learning_rate": 1e-3,
                "save_steps": 10**6,
                "logging_steps": 10**6,
                "progress": False,
                "packing": args.packing,
                "bf16": args.bf16,
            },
        }
    )


def run_ours(config: TrainConfig, rows: Any) -> tuple[float, float]:
    metrics = train(config, dataset=rows).metrics
    return metrics["num_tokens"], metrics["train_runtime"]


def run_plain(
    config: TrainConfig, rows: Any, cuda: bool, bf16: bool, packing: bool
) -> tuple[float, float]:
    """What a plain TRL script does with the same rows and settings."""
    from datasets import Dataset  # type: ignore[import-untyped]
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    t = config.training
    tokenizer = AutoTokenizer.from_pretrained(t.base_model)
    args = SFTConfig(
        output_dir=t.output_dir,
        max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size,
        learning_rate=t.learning_rate,
        lr_scheduler_type=t.lr_scheduler_type,
        seed=t.seed,
        max_length=config.data.max_length,
        bf16=bf16,
        activation_checkpointing=False,
        packing=packing,
        use_cpu=not cuda,
        save_strategy="no",
        logging_steps=10**6,
        report_to=[],
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=t.base_model,
        args=args,
        processing_class=tokenizer,
        train_dataset=Dataset.from_list(rows.train),
        peft_config=LoraConfig(
            task_type="CAUSAL_LM",
            r=16,
            lora_alpha=32,
            lora_dropout=0.0,
            target_modules="all-linear",
        ),
    )
    result = trainer.train()
    tokens = [h["num_tokens"] for h in trainer.state.log_history if "num_tokens" in h]
    return float(tokens[-1]), float(result.metrics["train_runtime"])


def mean_row_tokens(base: Path, rows: Any) -> float:
    """The mean length of a training row in tokens, as our tokenization renders it."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    resolve_chat_template(tokenizer)
    encoded, _ = encode_rows(tokenizer, rows.train, max_length=10**9)
    return statistics.fmean(len(e.input_ids) for e in encoded)


def flops_per_token(base: Path, mean_len: float) -> float:
    import json

    cfg = json.loads((base / "config.json").read_text())
    d, layers, inter, vocab = (
        cfg["hidden_size"],
        cfg["num_hidden_layers"],
        cfg["intermediate_size"],
        cfg["vocab_size"],
    )
    kv = d // cfg["num_attention_heads"] * cfg["num_key_value_heads"]
    per_layer = 2 * d * d + 2 * d * kv + 3 * d * inter
    n = layers * per_layer + vocab * d  # the LM head counts; the embedding lookup does not
    return float(4 * n + 6 * layers * d * mean_len)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("tiny", "0.5b"), default="tiny")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    args.bf16 = "true" if cuda else "false"
    args.packing = "true" if cuda else "false"
    tmp = Path(tempfile.mkdtemp(prefix="agentshield-bench-"))
    base = build_model(tmp / "base", args.model)
    config = settings(base, tmp / "ours", args)
    rows = build_dataset(oracle_trajectories(), config)
    results: dict[str, list[float]] = {"agentshield": [], "plain TRL": []}
    # On a GPU a first, untimed round takes CUDA's and cuBLAS's one-time start-up costs,
    # which would otherwise fall on whichever side runs first.
    for r in range(-1 if cuda else 0, args.rounds):
        ours = settings(base, tmp / f"ours-{r}", args)
        tokens, seconds = run_ours(ours, rows)
        plain = settings(base, tmp / f"plain-{r}", args)
        plain_tokens, plain_seconds = run_plain(plain, rows, cuda, cuda, cuda)
        if r >= 0:
            results["agentshield"].append(tokens / seconds)
            results["plain TRL"].append(plain_tokens / plain_seconds)

    device = (
        torch.cuda.get_device_name()
        if cuda
        else f"CPU ({platform.processor() or 'x86_64'}, {torch.get_num_threads()} threads)"
    )
    table = Table(title=f"LoRA training throughput — {args.model} model, {device}")
    table.add_column("trainer")
    table.add_column("tokens/s (median)", justify="right")
    table.add_column("best", justify="right")
    table.add_column("rounds", justify="right")
    table.add_column("vs plain TRL (median of rounds)", justify="right")
    if cuda:
        table.add_column("MFU", justify="right")
    # Rounds alternate, so each round's ratio compares runs under the same machine load.
    pairs = zip(results["agentshield"], results["plain TRL"], strict=True)
    ratios = {"agentshield": statistics.median(a / b for a, b in pairs), "plain TRL": 1.0}
    mean_len = mean_row_tokens(base, rows)
    for name, values in results.items():
        speed = statistics.median(values)
        cells = [
            name,
            f"{speed:,.0f}",
            f"{max(values):,.0f}",
            " ".join(f"{v:,.0f}" for v in values),
            f"{ratios[name]:.2f}x",
        ]
        if cuda:
            mfu = speed * flops_per_token(base, mean_len) / (args.peak_tflops * 1e12)
            cells.append(f"{mfu:.1%}")
        table.add_row(*cells)
    console = Console()
    console.print(table)
    console.print(
        f"{args.steps} steps x batch {args.batch_size}, max_length {args.max_length}, "
        f"bf16={args.bf16}, packing={args.packing}, {len(rows.train)} rows, "
        f"{mean_len:.0f} tokens per row; torch {torch.__version__}"
    )


if __name__ == "__main__":
    main()
