"""The decision log's entry: one thing a perturbation did to a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Decision:
    """One thing a perturbation did to a run."""

    run_id: str
    surface: str
    key: str
    perturbation: str
    tier: int
    params: Mapping[str, Any]
    seed: int
    action: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (parameters rendered with ``repr`` where not JSON types)."""
        return {
            "run_id": self.run_id,
            "surface": self.surface,
            "key": self.key,
            "perturbation": self.perturbation,
            "tier": self.tier,
            "params": {k: jsonable(v) for k, v in self.params.items()},
            "seed": self.seed,
            "action": self.action,
            "detail": {k: jsonable(v) for k, v in self.detail.items()},
        }


def jsonable(value: Any) -> Any:
    """``value`` with mappings and sequences made plain and anything else non-JSON ``repr``-ed."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return repr(value)
