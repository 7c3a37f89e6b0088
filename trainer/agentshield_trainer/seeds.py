"""Training seeds, kept disjoint from evaluation seeds by construction.

The rule: every seed the trainer derives — for PAFT augmentation, sampling, the split — is
``sha256("agentshield-train", seed, *keys)`` truncated to 64 bits **with bit 63 set**
(:data:`TRAIN_SEED_BIT`). Evaluation seeds are the seeds users give a Shield or
``agentshield eval`` (small integers in practice; anything below 2**63), so no training
augmentation can ever replay an evaluation perturbation exactly: what is tested is the same
catalogue as what is trained, never the same draws. :func:`check_eval_seeds` enforces the
rule for a seed list an evaluation is about to use.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

from agentshield.errors import ConfigError

__all__ = [
    "TRAIN_NAMESPACE",
    "TRAIN_SEED_BIT",
    "check_eval_seeds",
    "is_training_seed",
    "train_rng",
    "train_seed",
]

#: The namespace every training seed is derived under.
TRAIN_NAMESPACE = "agentshield-train"
#: Set in every training seed; evaluation seeds must leave it clear.
TRAIN_SEED_BIT = 1 << 63


def train_seed(seed: int, *keys: object) -> int:
    """The 64-bit training seed for ``(seed, *keys)``; stable across processes."""
    text = "\x1f".join([TRAIN_NAMESPACE, str(seed), *(str(k) for k in keys)])
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return value | TRAIN_SEED_BIT


def train_rng(seed: int, *keys: object) -> random.Random:
    """A fresh generator seeded with :func:`train_seed`."""
    return random.Random(train_seed(seed, *keys))


def is_training_seed(seed: int) -> bool:
    """Whether ``seed`` is in the training range (bit 63 set)."""
    return seed >= TRAIN_SEED_BIT


def check_eval_seeds(seeds: Iterable[int]) -> None:
    """Raise if an evaluation seed falls in the training range.

    Raises:
        ConfigError: A seed is negative or has bit 63 set.
    """
    for seed in seeds:
        if seed < 0 or is_training_seed(seed):
            raise ConfigError(
                f"evaluation seed {seed} is outside [0, 2**63); that range is reserved for "
                "training augmentation, so evaluation never replays a training draw"
            )
