"""The detector registry: names -> classes, specs -> instances.

Built-ins register with :func:`register`; third parties expose theirs through the entry-point
group ``agentshield.detectors`` (``name = "package.module:Class"``), loaded on first lookup.
A spec is a name, a dict ``{"name": ..., <params>...}``, or an instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from agentshield._registry import Registry
from agentshield.detect.base import Detector
from agentshield.errors import ConfigError

ENTRY_POINT_GROUP = "agentshield.detectors"

_REGISTRY: Registry[type[Detector]] = Registry("detector", Detector, ENTRY_POINT_GROUP)
D = TypeVar("D", bound=type[Detector])

__all__ = ["ENTRY_POINT_GROUP", "DetectorSpec", "build", "create", "get", "register", "registered"]

DetectorSpec = Detector | Mapping[str, Any] | str


def register(cls: D) -> D:
    """Class decorator: register a detector under its ``name`` (validated snake_case)."""
    _REGISTRY.register(cls)
    return cls


def registered() -> dict[str, type[Detector]]:
    """Every registered detector, built-in and third-party, by name (ordered by tier)."""
    return _REGISTRY.registered()


def get(name: str) -> type[Detector]:
    """The class registered under ``name``; the error lists the valid names."""
    return _REGISTRY.get(name)


def create(name: str, **params: Any) -> Detector:
    """Build a detector by name with keyword parameters."""
    return _REGISTRY.check_params(name, params)(**params)


def build(specs: Iterable[DetectorSpec] | None = None) -> tuple[Detector, ...]:
    """Detectors from specs; ``None`` gives one of every registered detector."""
    if specs is None:
        return tuple(cls() for cls in registered().values())
    out = []
    for spec in specs:
        if isinstance(spec, Detector):
            out.append(spec)
        elif isinstance(spec, str):
            out.append(create(spec))
        elif isinstance(spec, Mapping) and "name" in spec:
            out.append(create(str(spec["name"]), **{k: v for k, v in spec.items() if k != "name"}))
        else:
            raise ConfigError(
                f"a detector spec is a name, a dict with 'name' or a Detector: {spec!r}"
            )
    return tuple(out)
