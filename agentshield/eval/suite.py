"""Perturbation suites for evaluation: which shifts an agent is tested under.

A suite is a list of :class:`SuiteEntry` — a catalogue entry with fixed parameters and a label.
The tool-valued parameters a shift needs (the critical tool of a task, a dependent pair) come
from each task at build time (:meth:`Task.perturbation_params`), so one suite fits every task
of both domains.

Named suites: ``default`` (one representative per catalogue entry, grouped by tier),
``tier1`` … ``tier4`` and ``security`` (the default suite's entries of one tier), ``smoke``
(the first entry of each tier) and ``clean`` (none: clean runs only). A TOML file gives its
own suite in the catalogue's form, with an optional ``label`` per entry::

    [[perturbation]]
    name = "tool_error"
    label = "tool_error_no_guidance"
    guidance = false

Evaluation seeds are derived per (suite seed, entry, task, repeat) and always leave bit 63
clear; every seed the trainer derives has it set, so a test never replays a training draw.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentshield._rng import derive_seed
from agentshield.errors import ConfigError
from agentshield.perturbations import Perturbation, Tier, create, get, registered
from agentshield.sandbox.tasks import Task, generate_tasks

__all__ = [
    "EVAL_SEED_MASK",
    "SuiteEntry",
    "eval_seed",
    "load_suite",
    "named_suites",
]

#: Evaluation seeds are masked with this (bit 63 clear; training seeds have it set).
EVAL_SEED_MASK = (1 << 63) - 1
_TIER_SUITES = {
    "tier1": Tier.PERCEPTION,
    "tier2": Tier.INTERACTION,
    "tier3": Tier.REASONING,
    "tier4": Tier.INTERNALIZATION,
    "security": Tier.SECURITY,
}


def eval_seed(seed: int, *keys: object) -> int:
    """The evaluation seed for ``(seed, *keys)``: stable, and never a training seed."""
    return derive_seed(seed, "agentshield-eval", *keys) & EVAL_SEED_MASK


@dataclass(frozen=True)
class SuiteEntry:
    """One shift of a suite: catalogue entry ``perturbation`` with ``params``, shown as
    ``label`` (default: the entry's name)."""

    perturbation: str
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    def __post_init__(self) -> None:
        get(self.perturbation)  # unknown names fail here, listing the valid ones
        if not self.label:
            object.__setattr__(self, "label", self.perturbation)
        for key in ("seed", "when"):
            if key in self.params:
                raise ConfigError(
                    f"suite entry {self.label!r}: {key!r} is set by the evaluation "
                    "(every episode gets its own seed and the shift acts on every call); "
                    "remove it"
                )

    @property
    def tier(self) -> Tier:
        """The catalogue tier of the entry."""
        return get(self.perturbation).tier

    def build(self, task: Task, seed: int) -> Perturbation:
        """The perturbation for one episode of ``task``, with its own ``seed``."""
        params = {**task.perturbation_params(self.perturbation), **self.params}
        return create(self.perturbation, **params, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (name, label, tier and parameters)."""
        return {
            "perturbation": self.perturbation,
            "label": self.label,
            "tier": int(self.tier),
            "params": dict(self.params),
        }


def _default() -> list[SuiteEntry]:
    entries = [SuiteEntry(name) for name in registered()]
    return sorted(entries, key=lambda e: (int(e.tier), e.label))


def named_suites() -> dict[str, list[SuiteEntry]]:
    """Every built-in suite by name (see the module docstring)."""
    default = _default()
    suites: dict[str, list[SuiteEntry]] = {"default": default, "clean": []}
    for name, tier in _TIER_SUITES.items():
        suites[name] = [e for e in default if e.tier == tier]
    firsts: dict[Tier, SuiteEntry] = {}
    for e in default:
        firsts.setdefault(e.tier, e)
    suites["smoke"] = list(firsts.values())
    return suites


def load_suite(source: str | Path | Sequence[SuiteEntry]) -> list[SuiteEntry]:
    """A suite by name (``default``, ``tier1``, …), from a TOML file, or as given.

    Raises:
        ConfigError: An unknown name or missing file, invalid TOML, an unknown catalogue
            entry, bad parameters, or two entries with one label.
    """
    if not isinstance(source, str | Path):
        entries = list(source)
    else:
        suites = named_suites()
        if isinstance(source, str) and source in suites:
            return suites[source]
        path = Path(source)
        if not path.is_file():
            raise ConfigError(
                f"no suite named {str(source)!r} and no such file; use one of "
                f"{sorted(suites)} or a TOML file of [[perturbation]] tables"
            )
        entries = _from_toml(path)
    _check(entries)
    return entries


def _from_toml(path: Path) -> list[SuiteEntry]:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    items = data.get("perturbation", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{path}: the suite must be an array of [[perturbation]] tables")
    entries = []
    for i, item in enumerate(items):
        params = dict(item)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"{path}: [[perturbation]] #{i + 1} needs a name")
        label = str(params.pop("label", ""))
        try:
            entries.append(SuiteEntry(name, params, label))
        except ConfigError as exc:
            raise ConfigError(f"{path}: [[perturbation]] #{i + 1}: {exc}") from None
    return entries


def _check(entries: Sequence[SuiteEntry]) -> None:
    """Fail now, not mid-run: labels are unique and every entry builds for a sample task."""
    seen: set[str] = set()
    sample = generate_tasks("poi", "test", n=1)[0]
    for e in entries:
        if e.label in seen or e.label == "clean":
            raise ConfigError(f"suite label {e.label!r} is used twice (or is reserved)")
        seen.add(e.label)
        e.build(sample, 0)
