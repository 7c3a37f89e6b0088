"""Benchmark: concurrent episodes on one local model, batched vs one at a time.

Run with ``python benchmarks/local_inference.py [--model embedded|tiny] [--episodes N]
[--max-new-tokens T] [--rounds R] [--threads K] [--device cpu|cuda] [--adapter DIR|none]``.
Every variant runs the same clean point-of-interest test tasks through the sandbox's async
episode loop (:func:`agentshield.sandbox.arun_episode`) on the same loaded model, in this one
process, alternating variants round by round:

* ``one at a time``: episodes awaited one after another; each model step is its own call
  with the whole prompt prefilled (``max_batch=1``, no prefix cache, no prompt lookup) —
  what a plain transformers loop does;
* ``one at a time + both caches``: the same, with the tools prompt's and the conversation's
  keys/values reused;
* ``batched``: all episodes at once (``asyncio.gather``), their model steps decoded
  together (``max_batch=N``), without the prefix caches;
* ``batched + tools cache``: the same with the tools prompt's keys/values reused;
* ``batched + tools + conversation caches (default)``: also each step's prompt and answer
  kept for the episode's next step — what :class:`LocalPolicy` does by default;
* ``batched + both caches + prompt lookup``: also up to 8 tokens per row and step guessed
  from the row's own context and checked in the same pass (``draft_tokens=8``, opt-in;
  ``passes``: decoding passes over a batch).

A fresh policy per variant and round, so each starts with a cold prefix cache. Greedy
decoding: every variant must produce the same trajectories (checked). ``--model embedded``
uses SmolLM2-135M-Instruct from the cache (``agentshield models pull`` first) with the shipped
baseline adapter, so episodes make several tool calls (``--adapter none``: untuned, it mostly
answers in prose in one step); ``--model tiny`` the random-init test model
(labelled as such in the output). ``--threads`` defaults to 1: on a shared 2-core machine two
torch threads fighting other processes for the cores ran up to 10× slower and erratic.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agentshield.sandbox import arun_episode, generate_tasks, make_environment
from agentshield.trajectory import Trajectory
from agentshield_trainer.adapters import load_model
from agentshield_trainer.agents import EMBEDDED_MAX_NEW_TOKENS
from agentshield_trainer.embedded import PROVENANCE_NAME, embedded_model_dir
from agentshield_trainer.local_policy import LocalPolicy

_OFF = {"prefix_cache_size": 0, "draft_tokens": 0}
_TOOLS = {"prefix_cache_size": 8, "conversation_cache_size": 0, "draft_tokens": 0}
_BOTH = {"prefix_cache_size": 8, "conversation_cache_size": None, "draft_tokens": 0}
_LOOKUP = {**_BOTH, "draft_tokens": 8}
VARIANTS: dict[str, dict[str, Any]] = {
    "one at a time": {"concurrent": False, **_OFF},
    "one at a time + both caches": {"concurrent": False, **_BOTH},
    "batched": {"concurrent": True, **_OFF},
    "batched + tools cache": {"concurrent": True, **_TOOLS},
    "batched + tools + conversation caches (default)": {"concurrent": True, **_BOTH},
    "batched + both caches + prompt lookup (draft_tokens=8)": {"concurrent": True, **_LOOKUP},
}
DEFAULT = "batched + tools + conversation caches (default)"


async def run_variant(
    loaded: Any, tasks: list[Any], *, concurrent: bool, max_new: int, **caches: Any
) -> tuple[float, list[Trajectory], LocalPolicy]:
    """Run every task once; return the wall time, the trajectories and the policy."""
    policy = LocalPolicy(
        loaded.model,
        loaded.tokenizer,
        max_new_tokens=max_new,
        max_batch=len(tasks) if concurrent else 1,
        **caches,
    )

    def episode(task: Any) -> Any:
        return arun_episode(make_environment(task.domain), task, policy, max_steps=4)

    start = time.perf_counter()
    if concurrent:
        runs = list(await asyncio.gather(*(episode(t) for t in tasks)))
    else:
        runs = [await episode(t) for t in tasks]
    return time.perf_counter() - start, runs, policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["embedded", "tiny"], default="embedded")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=EMBEDDED_MAX_NEW_TOKENS)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (float32 either way)")
    parser.add_argument(
        "--adapter", default=None, help="adapter folder, or none (default: the baseline)"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        if args.model == "embedded":
            folder = embedded_model_dir()
            if not (folder / PROVENANCE_NAME).is_file():
                raise SystemExit("run `agentshield models pull` first (or use --model tiny)")
            from agentshield_trainer.baseline import BASELINE_DIR

            adapter = str(BASELINE_DIR) if args.adapter is None else args.adapter
            label = "SmolLM2-135M-Instruct (embedded)" + (
                "" if adapter == "none" else f" + {Path(adapter).name}"
            )
        else:
            from agentshield_trainer.tiny import build_tiny_model

            folder = build_tiny_model(Path(tmp) / "tiny")
            label = "tiny random-init Qwen2 (test model, NOT the embedded model)"
            adapter = "none"
        loaded = load_model(
            str(folder), None if adapter == "none" else adapter, device=args.device, dtype="float32"
        )
        tasks = list(generate_tasks("poi", "test", n=args.episodes))
        # Warm-up (first-call costs of generate and stop strings), not timed.
        asyncio.run(run_variant(loaded, tasks[:2], concurrent=True, max_new=4, **_BOTH))
        times: dict[str, list[float]] = {name: [] for name in VARIANTS}
        stats: dict[str, Any] = {}
        reference: list[Any] | None = None
        for _ in range(args.rounds):
            for name, variant in VARIANTS.items():
                seconds, runs, policy = asyncio.run(
                    run_variant(loaded, tasks, max_new=args.max_new_tokens, **variant)
                )
                times[name].append(seconds)
                stats[name] = policy.stats
                messages = [r.messages for r in runs]
                if reference is None:
                    reference = messages
                elif messages != reference:
                    raise SystemExit(f"{name}: trajectories differ from one at a time")

    base = statistics.median(times["one at a time"])
    table = Table(title=f"{args.episodes} concurrent episodes — {label}")
    columns = ("variant", "median s", "episodes/s", "steps/s", "batches", "passes", "speed-up")
    for col in columns:
        table.add_column(col, justify="left" if col == "variant" else "right")
    for name in VARIANTS:
        median = statistics.median(times[name])
        s = stats[name]
        table.add_row(
            name,
            f"{median:.2f}",
            f"{args.episodes / median:.3f}",
            f"{s.requests / median:.3f}",
            str(s.batches),
            str(s.forward_passes),
            f"{base / median:.2f}×",
        )
    console.print(table)
    s = stats[DEFAULT]
    console.print(
        f"model steps: {s.requests}, prompt tokens {s.input_tokens} ({s.cached_tokens} from the "
        f"prefix cache), generated {s.output_tokens}; max_new_tokens {args.max_new_tokens}; "
        f"{args.rounds} round(s); torch threads {args.threads}; {args.device}: "
        + (
            torch.cuda.get_device_name()
            if args.device.startswith("cuda")
            else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
        )
    )


if __name__ == "__main__":
    main()
