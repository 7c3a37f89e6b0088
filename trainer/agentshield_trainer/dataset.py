"""Trajectories -> chat-format training rows: filter, dedupe, split, PAFT. Pure Python.

A row is what OpenAI chat fine-tuning and TRL take: ``{"messages": [...], "tools": [...]}``
with OpenAI-shaped messages (assistant ``tool_calls`` with JSON-string ``arguments``, ``tool``
messages with ``tool_call_id`` and ``name``) and OpenAI function tools. The steps:

1. :func:`~agentshield_trainer.sources.select` filters and samples the runs;
2. runs whose rows are identical are deduplicated (first one kept);
3. runs are split into train / validation *before* augmentation, so no augmented copy of a
   validation run leaks into training;
4. each split gets its PAFT copies (:func:`~agentshield_trainer.paft.paft_mix`), deduplicated
   against everything already in either split.

Nothing here imports torch; tokenization lives in :mod:`agentshield_trainer.render`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentshield.trajectory import Message, Trajectory
from agentshield_trainer.config import TrainConfig
from agentshield_trainer.paft import AugmentRecord, paft_mix
from agentshield_trainer.seeds import train_seed
from agentshield_trainer.sources import Selection, load_trajectories, select

__all__ = ["Row", "TrainingSet", "build_dataset", "load_dataset", "row_key", "to_row"]

Row = dict[str, Any]


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [c.to_dict() for c in m.tool_calls]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or ""
        if m.name is not None:
            out["name"] = m.name
    return out


def to_row(trajectory: Trajectory) -> Row:
    """The OpenAI chat-format row of one trajectory (tools kept)."""
    return {
        "messages": [_message(m) for m in trajectory.messages],
        "tools": [t.to_dict() for t in trajectory.tools],
    }


def row_key(row: Mapping[str, Any]) -> str:
    """A content hash of a row (canonical JSON), used for dedupe and fingerprints."""
    return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class TrainingSet:
    """A built dataset: rows per split, their run ids, and how they were made.

    Attributes:
        train: Training rows.
        val: Validation rows.
        train_ids: The run id of each training row (augmented ones end ``~paft-...``).
        val_ids: The run id of each validation row.
        selection: Which runs were kept and why others were dropped.
        augmented: The PAFT records of both splits.
        problems: Input lines or spans that could not be read (skipped).
        duplicates: Rows dropped as duplicates.
    """

    train: list[Row]
    val: list[Row]
    train_ids: list[str]
    val_ids: list[str]
    selection: Selection
    augmented: list[AugmentRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def fingerprint(self) -> str:
        """sha256 over both splits' rows, in order."""
        h = hashlib.sha256()
        for name, rows in (("train", self.train), ("val", self.val)):
            h.update(name.encode())
            for row in rows:
                h.update(row_key(row).encode())
        return h.hexdigest()

    def mix(self) -> dict[str, int]:
        """Augmented rows per perturbation name."""
        out: dict[str, int] = {}
        for r in self.augmented:
            out[r.perturbation] = out.get(r.perturbation, 0) + 1
        return dict(sorted(out.items()))

    def summary(self) -> str:
        """A few lines for the terminal."""
        aug = len(self.augmented)
        lines = [
            self.selection.summary(),
            f"{len(self.train)} train / {len(self.val)} validation rows "
            f"({aug} PAFT-augmented, {self.duplicates} duplicates dropped)",
        ]
        if self.mix():
            lines.append("PAFT mix: " + ", ".join(f"{k} {v}" for k, v in self.mix().items()))
        if self.problems:
            lines.append(f"{len(self.problems)} unreadable input records skipped")
        return "\n".join(lines)

    def info(self) -> dict[str, Any]:
        """What the manifest records about the data."""
        return {
            "fingerprint": self.fingerprint,
            "train_rows": len(self.train),
            "val_rows": len(self.val),
            "runs_read": self.selection.total,
            "runs_kept": len(self.selection.kept),
            "dropped": self.selection.dropped,
            "duplicates": self.duplicates,
            "perturbation_mix": self.mix(),
            "augmentations": [
                {
                    "run_id": r.run_id,
                    "source": r.source,
                    "perturbation": r.perturbation,
                    "params": r.params,
                    "seed": r.seed,
                }
                for r in self.augmented
            ],
        }

    def write(self, folder: str | Path) -> Path:
        """Write ``train.jsonl``, ``val.jsonl`` and ``dataset.json`` atomically to ``folder``.

        The files are written to a temporary sibling folder that replaces ``folder`` only
        when complete, so a failure leaves nothing half-written.
        """
        out = Path(folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            for name, rows in (("train", self.train), ("val", self.val)):
                text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                (tmp / f"{name}.jsonl").write_text(text)
            (tmp / "dataset.json").write_text(json.dumps(self.info(), indent=2) + "\n")
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out


def _split(runs: Sequence[Trajectory], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of train and validation runs: the ``round(n * fraction)`` runs (at least one
    when ``fraction > 0`` and ``n >= 2``) with the smallest seeded hash of their run id."""
    n = len(runs)
    n_val = round(n * fraction)
    if fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    ranked = sorted(range(n), key=lambda i: train_seed(seed, "split", runs[i].run_id))
    val = sorted(ranked[:n_val])
    return [i for i in range(n) if i not in set(val)], val


def build_dataset(
    trajectories: Sequence[Trajectory], config: TrainConfig, *, problems: Sequence[str] = ()
) -> TrainingSet:
    """Build the PAFT training set from ``trajectories`` as ``config`` says.

    Raises:
        NoTrajectoriesError: Nothing is left to train on.
        NoContentError: The runs were recorded without content.
        ConfigError: An unknown PAFT perturbation or one missing a parameter.
    """
    seed = config.training.seed
    selection = select(trajectories, config.data, seed=seed)
    seen: set[str] = set()
    unique: list[Trajectory] = []
    duplicates = 0
    for t in selection.kept:
        key = row_key(to_row(t))
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        unique.append(t)
    train_idx, val_idx = _split(unique, config.data.val_fraction, seed)
    splits: dict[str, tuple[list[Row], list[str]]] = {}
    records: list[AugmentRecord] = []
    for name, idx in (("train", train_idx), ("val", val_idx)):
        runs = [unique[i] for i in idx]
        rows, ids = [to_row(t) for t in runs], [t.run_id for t in runs]
        mixed = paft_mix(runs, config.paft, seed=seed, namespace=name)
        for aug, record in zip(mixed.trajectories, mixed.records, strict=True):
            row = to_row(aug)
            key = row_key(row)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            rows.append(row)
            ids.append(aug.run_id)
            records.append(record)
        splits[name] = (rows, ids)
    return TrainingSet(
        train=splits["train"][0],
        val=splits["val"][0],
        train_ids=splits["train"][1],
        val_ids=splits["val"][1],
        selection=selection,
        augmented=records,
        problems=list(problems),
        duplicates=duplicates,
    )


def load_dataset(config: TrainConfig) -> TrainingSet:
    """Read ``config.data.inputs`` and build the training set (see :func:`build_dataset`)."""
    trajectories, problems = load_trajectories(config.data.inputs)
    return build_dataset(trajectories, config, problems=problems)
