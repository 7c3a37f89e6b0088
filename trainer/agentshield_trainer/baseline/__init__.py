"""The embedded baseline adapter: the study's "static SFT" agent, shipped in this package.

SmolLM2-135M-Instruct with a LoRA adapter trained by ``agentshield train`` on the oracle's
clean runs of the point-of-interest training tasks (no PAFT). ``agentshield eval`` with no
agent evaluates it; the hardening loop in the README starts from it.

It ships rather than being built on first use because building it costs ~20 minutes of a
2-core CPU (160 rows of ~1,000 tokens), which would put the one-command evaluation far past
its 10-minute budget; the adapter itself is ~3 MB. :func:`rebuild_baseline` (``agentshield
models baseline --rebuild``) reproduces it from nothing with the settings in ``train.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentshield_trainer.config import TrainConfig

__all__ = ["BASELINE_CONFIG", "BASELINE_DIR", "baseline_config", "rebuild_baseline"]

_HERE = Path(__file__).parent
#: The shipped adapter folder (adapter files, manifest and model card).
BASELINE_DIR = _HERE / "adapter"
#: The settings it was trained with.
BASELINE_CONFIG = _HERE / "train.toml"
#: Where the oracle's runs come from: the clean point-of-interest training tasks.
BASELINE_DOMAIN, BASELINE_SPLIT = "poi", "train"


def baseline_config(inputs: list[str], output_dir: str | Path, **settings: Any) -> TrainConfig:
    """The shipped training settings with these inputs and output folder (and overrides)."""
    cfg = TrainConfig.from_toml(BASELINE_CONFIG)
    return cfg.override({"inputs": inputs, "output_dir": str(output_dir), **settings})


def record_oracle_runs(store: str | Path, *, progress: bool = True) -> int:
    """Record the oracle's clean runs of the baseline's tasks into the trace store ``store``;
    return how many episodes ran."""
    from agentshield.eval import PolicyAgent
    from agentshield.eval.runner import run_suite
    from agentshield.eval.suite import load_suite
    from agentshield.sandbox import OracleAgent, generate_tasks
    from agentshield.tracing import setup_tracing

    tasks = generate_tasks(BASELINE_DOMAIN, BASELINE_SPLIT)
    tracing = setup_tracing(store=store, capture_content=True)
    try:
        results = run_suite(
            PolicyAgent(OracleAgent(), name="oracle"),
            tasks,
            load_suite("clean"),
            progress=progress,
            recorder=tracing.recorder,
            run_prefix="baseline-oracle/",
        )
    finally:
        tracing.shutdown()
    return len(results)


def rebuild_baseline(
    output_dir: str | Path,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
    **settings: Any,
) -> Path:
    """Reproduce the baseline adapter into ``output_dir``: record the oracle's runs next to
    it (``<output_dir>.traces``), then train with the shipped settings.

    Args:
        output_dir: The new adapter folder (must not hold an adapter already).
        progress: Show progress bars.
        log: Where progress lines go.
        **settings: Overrides of ``train.toml`` (``max_steps``, ``device``, ...).
    """
    from agentshield_trainer.training import train

    store = Path(f"{output_dir}.traces")
    n = record_oracle_runs(store, progress=progress)
    log(f"recorded {n} oracle runs into {store}")
    cfg = baseline_config([str(store)], output_dir, progress=progress, **settings)
    result = train(cfg)
    return Path(result.adapter_dir)
