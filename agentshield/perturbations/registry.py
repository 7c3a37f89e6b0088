"""The perturbation registry: names -> classes, specs -> instances.

Built-ins register with :func:`register`; third parties expose theirs through the entry-point
group ``agentshield.perturbations`` (``name = "package.module:Class"``), loaded on first lookup.
A spec is a dict (or TOML table) ``{"name": ..., <params>..., "when": {...}}``; a TOML suite is
an array of such tables under ``[[perturbation]]``.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

from agentshield.errors import ConfigError, UnknownPerturbationError
from agentshield.perturbations.base import Perturbation
from agentshield.selectors import selector_from_spec

ENTRY_POINT_GROUP = "agentshield.perturbations"
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

P = TypeVar("P", bound=type[Perturbation])

_registry: dict[str, type[Perturbation]] = {}
_lock = threading.Lock()
_entry_points_loaded = False


def register(cls: P) -> P:
    """Class decorator: register a perturbation under its ``name`` (validated snake_case)."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"perturbation name {name!r} must be snake_case ([a-z0-9_])")
    if not isinstance(cls, type) or not issubclass(cls, Perturbation):
        raise ConfigError(f"{cls!r} is not a Perturbation subclass")
    with _lock:
        existing = _registry.get(name)
        if existing is not None and existing is not cls:
            raise ConfigError(
                f"perturbation name {name!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        _registry[name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if getattr(cls, "name", None) != ep.name:
            raise ConfigError(
                f"entry point {ep.name!r} in group {ENTRY_POINT_GROUP!r} loads a class named "
                f"{getattr(cls, 'name', None)!r}; the two must match"
            )
        register(cls)


def registered() -> dict[str, type[Perturbation]]:
    """Every registered perturbation, built-in and third-party, by name."""
    _load_entry_points()
    with _lock:
        return dict(sorted(_registry.items(), key=lambda kv: (int(kv[1].tier), kv[0])))


def get(name: str) -> type[Perturbation]:
    """The class registered under ``name``; the error lists the valid names."""
    known = registered()
    try:
        return known[name]
    except KeyError:
        raise UnknownPerturbationError(
            f"unknown perturbation {name!r}; valid names: {', '.join(known)}"
        ) from None


def create(name: str, **params: Any) -> Perturbation:
    """Build a perturbation by name with keyword parameters (``when`` may be a spec dict)."""
    cls = get(name)
    valid = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ConfigError(
            f"perturbation {name!r} has no parameter {unknown[0]!r}; valid: {sorted(valid)}"
        )
    if "when" in params:
        params["when"] = selector_from_spec(params["when"])
    try:
        return cls(**params)
    except TypeError as exc:  # a missing required parameter
        raise ConfigError(f"perturbation {name!r}: {exc}") from None


def from_spec(spec: Perturbation | Mapping[str, Any]) -> Perturbation:
    """Build a perturbation from ``{"name": ..., **params}`` (instances pass through)."""
    if isinstance(spec, Perturbation):
        return spec
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ConfigError(f"a perturbation spec needs a 'name' key, got {spec!r}")
    params = {k: v for k, v in spec.items() if k != "name"}
    return create(str(spec["name"]), **params)


def load_suite(source: str | Path | Mapping[str, Any]) -> list[Perturbation]:
    """Load perturbations from a TOML file, TOML text or parsed mapping.

    The TOML form is an array of tables::

        [[perturbation]]
        name = "tool_rename_noise"
        when = { tool = ["search_places"] }
    """
    if isinstance(source, Mapping):
        data: Mapping[str, Any] = source
    else:
        text = (
            Path(source).read_text()
            if isinstance(source, Path) or ("\n" not in str(source) and Path(str(source)).is_file())
            else str(source)
        )
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid perturbation suite TOML: {exc}") from None
    items = data.get("perturbation", [])
    if not isinstance(items, list):
        raise ConfigError(
            "a suite's 'perturbation' key must be an array of tables [[perturbation]]"
        )
    return [from_spec(item) for item in items]


def build_all(specs: Iterable[Perturbation | Mapping[str, Any]]) -> list[Perturbation]:
    """Build each spec (instances pass through)."""
    return [from_spec(s) for s in specs]


def _reset_for_tests(snapshot: Mapping[str, type[Perturbation]]) -> Callable[[], None]:
    """Replace the registry contents; return a function restoring the previous ones."""
    with _lock:
        before = dict(_registry)
        _registry.clear()
        _registry.update(snapshot)

    def restore() -> None:
        with _lock:
            _registry.clear()
            _registry.update(before)

    return restore
