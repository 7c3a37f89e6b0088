"""PAFT: perturbation-augmented fine-tuning data from clean runs.

The same catalogue that tests an agent hardens it (DESIGN.md "Dual use"): each augmented
trajectory is :func:`agentshield.augment` of a clean, successful run under one perturbation,
and carries the right recovery behaviour — the shifted tool names in both the tool list and
the calls, a retry after an error that says how to fix it, following a redirection, the new
prerequisite call, a refusal with the reason when a needed tool is gone.

The mix: with ``alpha`` the share of perturbed trajectories, ``n`` clean runs get
``round(n * alpha / (1 - alpha))`` augmented copies, so perturbed rows make up ``alpha`` of
the result (the study found 0.3 best). Sources and perturbations are drawn round-robin over a
seeded shuffle; a draw that changes nothing (the perturbation does not apply to that run) is
skipped. Every augmentation seed is a training seed (:mod:`agentshield_trainer.seeds`).

Perturbations are named as in ``agentshield list``; ``name:key=value,...`` sets parameters
(values are read as JSON when they parse, else as text). Parameters that name a tool
(``unsolvable_task``'s and ``new_prerequisite``'s ``tool``) default to a tool the run calls.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentshield import augment, create
from agentshield.errors import ConfigError
from agentshield.perturbations import get
from agentshield.trajectory import Trajectory
from agentshield_trainer.config import PaftConfig
from agentshield_trainer.seeds import train_rng, train_seed

__all__ = ["AugmentRecord", "PaftResult", "paft_mix", "parse_spec"]

#: Required parameters that can be filled with a tool the source run calls.
_TOOL_PARAMS = {"unsolvable_task": "tool", "new_prerequisite": "tool"}


@dataclass(frozen=True)
class AugmentRecord:
    """One augmented trajectory: what was applied to which run, with which seed."""

    run_id: str
    source: str
    perturbation: str
    params: dict[str, Any]
    seed: int


@dataclass(frozen=True)
class PaftResult:
    """The augmented trajectories, their records, and the counts by perturbation."""

    trajectories: list[Trajectory] = field(default_factory=list)
    records: list[AugmentRecord] = field(default_factory=list)
    target: int = 0

    def counts(self) -> dict[str, int]:
        """Augmented trajectories per perturbation name."""
        out: dict[str, int] = {}
        for r in self.records:
            out[r.perturbation] = out.get(r.perturbation, 0) + 1
        return dict(sorted(out.items()))


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``name`` or ``name:key=value,key=value`` into a name and parameters.

    Raises:
        ConfigError: A parameter without ``=``.
    """
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"PAFT perturbation {text!r}: parameter {item!r} needs key=value")
        try:
            params[key.strip()] = json.loads(value)
        except ValueError:
            params[key.strip()] = value.strip()
    return name.strip(), params


def _candidates(cfg: PaftConfig) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for text in cfg.perturbations:
        name, params = parse_spec(text)
        cls = get(name)  # raises UnknownPerturbationError listing the valid names
        if int(cls.tier) not in cfg.tiers:
            continue
        missing = [
            p["name"]
            for p in cls.param_info()
            if p["required"] and p["name"] not in params and _TOOL_PARAMS.get(name) != p["name"]
        ]
        if missing:
            raise ConfigError(
                f"PAFT perturbation {name!r} needs {missing}; write it as "
                f"'{name}:{'=...,'.join(missing)}=...'"
            )
        out.append((name, params))
    return out


def _eligible(t: Trajectory) -> bool:
    """A clean, successful run with at least one tool call: something to perturb."""
    return not t.perturbations and t.outcome.status == "success" and bool(t.tool_calls)


def _complete(t: Trajectory) -> bool:
    """The augmented walk ended with a final answer (it did not give up mid-recovery)."""
    last = t.messages[-1] if t.messages else None
    return last is not None and last.role == "assistant" and not last.tool_calls


def _params(
    name: str, given: dict[str, Any], source: Trajectory, rng: random.Random
) -> dict[str, Any]:
    key = _TOOL_PARAMS.get(name)
    if key is None or key in given:
        return dict(given)
    called = sorted({c.name for c in source.tool_calls})
    return {**given, key: rng.choice(called)}


def paft_mix(
    trajectories: Sequence[Trajectory], cfg: PaftConfig, *, seed: int, namespace: str = "train"
) -> PaftResult:
    """Augmented copies of ``trajectories`` for a PAFT mix with share ``cfg.alpha``.

    Args:
        trajectories: The clean runs of one split (ineligible ones are never augmented).
        cfg: The mixing ratio and the perturbations to draw from.
        seed: The training seed; augmentation seeds are derived from it.
        namespace: Keeps the draws of the train and validation splits apart.

    Raises:
        ConfigError: An unknown perturbation, or one missing a required parameter.
    """
    candidates = _candidates(cfg)
    sources = [t for t in trajectories if _eligible(t)]
    target = round(len(trajectories) * cfg.alpha / (1 - cfg.alpha)) if cfg.alpha > 0 else 0
    result = PaftResult(target=target)
    if not target or not sources or not candidates:
        return result
    rng = train_rng(seed, "paft", namespace, "order")
    order = sources[:]
    rng.shuffle(order)
    kinds = candidates[:]
    rng.shuffle(kinds)
    seen: set[str] = set()
    for k in range(4 * target + len(kinds)):
        if len(result.trajectories) >= target:
            break
        source = order[k % len(order)]
        name, given = kinds[k % len(kinds)]
        draw_seed = train_seed(seed, "paft", namespace, k)
        params = _params(name, given, source, train_rng(draw_seed, "params"))
        run_id = f"{source.run_id}~paft-{namespace}-{k}"
        out = augment(source, [create(name, **params)], seed=draw_seed, run_id=run_id)
        if len(out.perturbations) == len(source.perturbations) or not _complete(out):
            continue  # it did not apply to this run, or the walk gave up
        key = json.dumps([m.to_dict() for m in out.messages] + [t.to_dict() for t in out.tools])
        if key in seen:
            continue
        seen.add(key)
        result.trajectories.append(out)
        result.records.append(AugmentRecord(run_id, source.run_id, name, params, draw_seed))
    return result
