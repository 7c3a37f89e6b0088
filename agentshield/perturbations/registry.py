"""The perturbation registry: names -> classes, specs -> instances.

Built-ins register with :func:`register`; third parties expose theirs through the entry-point
group ``agentshield.perturbations`` (``name = "package.module:Class"``), loaded on first lookup.
A spec is a dict (or TOML table) ``{"name": ..., <params>..., "when": {...}}``; a TOML suite is
an array of such tables under ``[[perturbation]]``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from agentshield._registry import Registry
from agentshield.errors import ConfigError, UnknownPerturbationError
from agentshield.perturbations.base import Perturbation
from agentshield.selectors import selector_from_spec

ENTRY_POINT_GROUP = "agentshield.perturbations"

_REGISTRY: Registry[type[Perturbation]] = Registry(
    "perturbation", Perturbation, ENTRY_POINT_GROUP, UnknownPerturbationError
)
P = TypeVar("P", bound=type[Perturbation])


def register(cls: P) -> P:
    """Class decorator: register a perturbation under its ``name`` (validated snake_case)."""
    _REGISTRY.register(cls)
    return cls


def registered() -> dict[str, type[Perturbation]]:
    """Every registered perturbation, built-in and third-party, by name."""
    return _REGISTRY.registered()


def get(name: str) -> type[Perturbation]:
    """The class registered under ``name``; the error lists the valid names."""
    return _REGISTRY.get(name)


def create(name: str, **params: Any) -> Perturbation:
    """Build a perturbation by name with keyword parameters (``when`` may be a spec dict)."""
    cls = _REGISTRY.check_params(name, params)
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
    return _REGISTRY.replace(snapshot)
