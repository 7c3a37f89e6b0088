"""The detector registry: names -> classes, specs -> instances.

Built-ins register with :func:`register`; third parties expose theirs through the entry-point
group ``agentshield.detectors`` (``name = "package.module:Class"``), loaded on first lookup.
A spec is a name, a dict ``{"name": ..., <params>...}``, or an instance.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import fields
from importlib.metadata import entry_points
from typing import Any, TypeVar

from agentshield.detect.base import Detector
from agentshield.errors import ConfigError

ENTRY_POINT_GROUP = "agentshield.detectors"
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

D = TypeVar("D", bound=type[Detector])

_registry: dict[str, type[Detector]] = {}
_lock = threading.Lock()
_loaded = False

__all__ = ["ENTRY_POINT_GROUP", "DetectorSpec", "build", "create", "get", "register", "registered"]

DetectorSpec = Detector | Mapping[str, Any] | str


def register(cls: D) -> D:
    """Class decorator: register a detector under its ``name`` (validated snake_case)."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"detector name {name!r} must be snake_case ([a-z0-9_])")
    if not isinstance(cls, type) or not issubclass(cls, Detector):
        raise ConfigError(f"{cls!r} is not a Detector subclass")
    with _lock:
        existing = _registry.get(name)
        if existing is not None and existing is not cls:
            raise ConfigError(
                f"detector name {name!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        _registry[name] = cls
    return cls


def _load_entry_points() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if getattr(cls, "name", None) != ep.name:
            raise ConfigError(
                f"entry point {ep.name!r} in group {ENTRY_POINT_GROUP!r} loads a class named "
                f"{getattr(cls, 'name', None)!r}; the two must match"
            )
        register(cls)


def registered() -> dict[str, type[Detector]]:
    """Every registered detector, built-in and third-party, by name (ordered by tier)."""
    _load_entry_points()
    with _lock:
        return dict(sorted(_registry.items(), key=lambda kv: (int(kv[1].tier), kv[0])))


def get(name: str) -> type[Detector]:
    """The class registered under ``name``; the error lists the valid names."""
    known = registered()
    try:
        return known[name]
    except KeyError:
        raise ConfigError(f"unknown detector {name!r}; valid names: {', '.join(known)}") from None


def create(name: str, **params: Any) -> Detector:
    """Build a detector by name with keyword parameters."""
    cls = get(name)
    valid = {fl.name for fl in fields(cls)}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"detector {name!r} has no parameter {unknown[0]!r}; valid: {sorted(valid)}"
        )
    return cls(**params)


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
