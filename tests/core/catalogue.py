"""Shared helpers for the catalogue tests: a valid instance of every registered perturbation."""

from __future__ import annotations

from typing import Any

import agentshield
from agentshield.perturbations import Perturbation

#: Parameters a perturbation needs to act on the sample tools (tool-valued ones).
REQUIRED: dict[str, dict[str, Any]] = {
    "new_prerequisite": {"tool": "book_table"},
    "dependency_inversion": {"first": "book_table", "then": "check_availability"},
    "rule_change": {"tool": "book_table", "param": "date"},
    "unsolvable_task": {"tool": "book_table"},
}

#: Perturbations that change what the model sees or gets on the sample run when selected.
NAMES = sorted(agentshield.registered())


def build(name: str, **extra: Any) -> Perturbation:
    """A valid instance of ``name`` for the sample tools."""
    return agentshield.create(name, **{**REQUIRED.get(name, {}), **extra})
