"""Seeded randomness: every random choice derives from a seed and the keys of what it acts on.

Nothing in AgentShield uses a global RNG or depends on call order, so a run replays exactly
under concurrency: the same (seed, run id, call key) always gives the same generator.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(seed: int, *keys: object) -> int:
    """Return a 64-bit seed derived from ``seed`` and ``keys`` (stable across processes)."""
    text = "\x1f".join([str(seed), *(str(k) for k in keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def derive_rng(seed: int, *keys: object) -> random.Random:
    """Return a fresh generator for ``(seed, *keys)``."""
    return random.Random(derive_seed(seed, *keys))
