"""Version differences of the training stack, handled in one place."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_stack_deprecations"]

# Deprecations raised by one library of the stack calling another (PEFT reads the
# `is_gradient_checkpointing` property that transformers 5 renamed): nothing a user of ours
# can act on, and an error under `-W error`.
_STACK_DEPRECATIONS = (r"`is_gradient_checkpointing` is deprecated",)


@contextmanager
def quiet_stack_deprecations() -> Iterator[None]:
    """Silence the known stack-internal deprecation warnings inside the block."""
    with warnings.catch_warnings():
        for message in _STACK_DEPRECATIONS:
            warnings.filterwarnings("ignore", message=message, category=FutureWarning)
        yield
