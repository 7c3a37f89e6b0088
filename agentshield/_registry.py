"""One registry shape for the strategy families (perturbations, detectors): names -> classes.

Built-ins register with a class decorator under a validated snake_case ``name``; third parties
expose theirs through an entry-point group (``name = "package.module:Class"``), loaded on the
first lookup. Lookups return the classes ordered by tier, then name.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import fields
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from agentshield.errors import ConfigError

_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

C = TypeVar("C", bound=type)


def _by_tier(item: tuple[str, Any]) -> tuple[int, str]:
    name, cls = item
    return int(cls.tier), name


class Registry(Generic[C]):
    """The classes of one family (``kind``: "perturbation", "detector").

    Args:
        kind: What the family is called in error messages.
        base: The base class every member subclasses.
        group: The entry-point group third parties register in.
        unknown: The error raised for an unknown name (a :class:`ConfigError`).
    """

    def __init__(
        self, kind: str, base: type, group: str, unknown: type[ConfigError] = ConfigError
    ) -> None:
        self.kind, self.base, self.group, self.unknown = kind, base, group, unknown
        self.classes: dict[str, C] = {}
        self.entry_points_loaded = False
        self._lock = threading.Lock()

    def register(self, cls: C) -> C:
        """Class decorator: register ``cls`` under its ``name``."""
        name = getattr(cls, "name", "")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{self.kind} name {name!r} must be snake_case ([a-z0-9_])")
        if not isinstance(cls, type) or not issubclass(cls, self.base):
            raise ConfigError(f"{cls!r} is not a {self.base.__name__} subclass")
        with self._lock:
            existing = self.classes.get(name)
            if existing is not None and existing is not cls:
                raise ConfigError(
                    f"{self.kind} name {name!r} is already registered by "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
            self.classes[name] = cls
        return cls

    def _load_entry_points(self) -> None:
        if self.entry_points_loaded:
            return
        self.entry_points_loaded = True
        for ep in entry_points(group=self.group):
            cls = ep.load()
            if getattr(cls, "name", None) != ep.name:
                raise ConfigError(
                    f"entry point {ep.name!r} in group {self.group!r} loads a class named "
                    f"{getattr(cls, 'name', None)!r}; the two must match"
                )
            self.register(cls)

    def registered(self) -> dict[str, C]:
        """Every member, built-in and third-party, by name (ordered by tier, then name)."""
        self._load_entry_points()
        with self._lock:
            items = sorted(self.classes.items(), key=_by_tier)
        return dict(items)

    def get(self, name: str) -> C:
        """The class registered under ``name``; the error lists the valid names."""
        known = self.registered()
        try:
            return known[name]
        except KeyError:
            raise self.unknown(
                f"unknown {self.kind} {name!r}; valid names: {', '.join(known)}"
            ) from None

    def check_params(self, name: str, params: Mapping[str, Any]) -> C:
        """The class for ``name``, after checking it has every parameter in ``params``."""
        cls = self.get(name)
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - valid)
        if unknown:
            raise ConfigError(
                f"{self.kind} {name!r} has no parameter {unknown[0]!r}; valid: {sorted(valid)}"
            )
        return cls

    def replace(self, snapshot: Mapping[str, C]) -> Callable[[], None]:
        """Replace the contents (tests); return a function restoring the previous ones."""
        with self._lock:
            before = dict(self.classes)
            self.classes.clear()
            self.classes.update(snapshot)

        def restore() -> None:
            with self._lock:
                self.classes.clear()
                self.classes.update(before)

        return restore
