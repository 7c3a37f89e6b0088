"""Training settings: frozen dataclasses whose field help is also the CLI help.

One :class:`TrainConfig` holds four sections, each a dataclass and a TOML table of the same
name. Field names are unique across sections, so every field is also one ``agentshield
train`` flag (``max_steps`` -> ``--max-steps``); flags override the TOML file, which overrides
the defaults::

    [data]
    inputs = [".agentshield/traces"]
    max_length = 2048

    [paft]
    alpha = 0.3

    [lora]
    rank = 16

    [training]
    base_model = "Qwen/Qwen2.5-0.5B-Instruct"
    output_dir = "adapters/hardened"
    max_steps = 200
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from agentshield.errors import ConfigError

__all__ = [
    "DEFAULT_PAFT_MIX",
    "DataConfig",
    "LoraSettings",
    "PaftConfig",
    "TrainConfig",
    "TrainingSettings",
    "field_help",
]

#: The perturbations PAFT draws from by default: every catalogue entry with an offline form
#: that changes what the model sees and can be set up from the trajectory alone.
DEFAULT_PAFT_MIX: tuple[str, ...] = (
    "description_shift",
    "distractor_tools",
    "missing_values",
    "new_prerequisite",
    "observation_format",
    "observation_noise",
    "parameter_rename",
    "query_paraphrase",
    "query_redundancy",
    "query_typos",
    "rate_limit",
    "semantic_trap",
    "tool_error",
    "tool_redirect",
    "tool_rename_noise",
    "tool_rename_semantic",
    "unsolvable_task",
)


def _f(default: Any, help: str) -> Any:
    if isinstance(default, list | dict):
        raise TypeError("use a tuple default")
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Where trajectories come from, which are kept, and how rows are checked."""

    inputs: tuple[str, ...] = _f((), "trace store folders, collector files or JSONL files")
    outcomes: tuple[str, ...] = _f(
        ("success", "refused", "asked"), "keep runs with these outcomes (empty: all)"
    )
    agents: tuple[str, ...] = _f((), "keep runs of these agents only (empty: all)")
    since: str | None = _f(None, "keep runs started at or after this ISO time")
    until: str | None = _f(None, "keep runs started before this ISO time")
    max_trajectories: int | None = _f(None, "sample at most this many runs (weighted)")
    error_weight: float = _f(2.0, "sampling weight of runs with tool errors")
    perturbed_weight: float = _f(2.0, "sampling weight of runs recorded under perturbations")
    val_fraction: float = _f(0.1, "fraction of runs held out for validation")
    max_length: int = _f(2048, "longest row in tokens; a longer tools prompt is an error")
    on_too_long: str = _f("error", "what to do with a row over max_length: error or drop")
    chat_template: str | None = _f(
        None, "a Jinja chat template file (default: the model's, else ours)"
    )


@dataclass(frozen=True, kw_only=True)
class PaftConfig:
    """Perturbation-augmented fine-tuning: which shifts, and how much of the mix."""

    alpha: float = _f(0.3, "share of perturbed trajectories in the training mix (0 = off)")
    perturbations: tuple[str, ...] = _f(DEFAULT_PAFT_MIX, "catalogue names PAFT draws from")
    tiers: tuple[int, ...] = _f((1, 2, 3, 4), "only perturbations of these tiers")


@dataclass(frozen=True, kw_only=True)
class LoraSettings:
    """LoRA adapter settings (PEFT names)."""

    rank: int = _f(16, "LoRA rank (PEFT r)")
    lora_alpha: int = _f(32, "LoRA scaling numerator (scale = lora_alpha / rank)")
    lora_dropout: float = _f(0.05, "dropout on the LoRA input")
    target_modules: tuple[str, ...] = _f(("all-linear",), "modules to adapt")
    top_layers: int = _f(
        0,
        "adapt only the last N transformer layers (0: all); backpropagation then stops "
        "below them, which on a CPU nearly halves a step",
    )


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """The base model, the run and its hardware settings."""

    base_model: str = _f("", "base model folder or hub id; embedded: the embedded SmolLM2")
    output_dir: str = _f("", "where the adapter folder is written")
    checkpoint_dir: str | None = _f(None, "checkpoint folder (default: <output_dir>.checkpoints)")
    seed: int = _f(0, "seed of sampling, PAFT, split, init and data order")
    max_steps: int = _f(-1, "optimizer steps (-1: use num_train_epochs)")
    num_train_epochs: float = _f(1.0, "epochs when max_steps is -1")
    learning_rate: float = _f(2e-4, "peak learning rate")
    lr_scheduler_type: str = _f("linear", "learning-rate schedule")
    warmup_steps: float = _f(0.0, "warm-up steps (a value below 1: a fraction of all steps)")
    weight_decay: float = _f(0.0, "AdamW weight decay")
    batch_size: int = _f(4, "rows per device per step")
    gradient_accumulation_steps: int = _f(1, "micro-batches per optimizer step")
    save_steps: int = _f(50, "write a checkpoint every this many steps")
    save_total_limit: int = _f(2, "checkpoints kept")
    logging_steps: int = _f(10, "log the loss every this many steps")
    eval_steps: int | None = _f(None, "evaluate every this many steps (default: at the end)")
    device: str = _f("auto", "auto, cpu or cuda")
    bf16: str = _f("auto", "auto (on when the GPU supports it), true or false")
    packing: str = _f("auto", "auto (on for GPU), true or false: pack rows padding-free")
    gradient_checkpointing: bool = _f(False, "recompute activations to save memory")
    resume: bool = _f(False, "resume from the newest checkpoint in output_dir")
    progress: bool = _f(True, "show progress bars")


_SECTIONS: dict[str, type[Any]] = {
    "data": DataConfig,
    "paft": PaftConfig,
    "lora": LoraSettings,
    "training": TrainingSettings,
}
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Every setting of one ``agentshield train`` run."""

    data: DataConfig = field(default_factory=DataConfig)
    paft: PaftConfig = field(default_factory=PaftConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    training: TrainingSettings = field(default_factory=TrainingSettings)

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from ``{"data": {...}, "paft": {...}, ...}``; unknown keys are errors."""
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise ConfigError(f"unknown config section {unknown[0]!r}; use {sorted(_SECTIONS)}")
        parts = {name: _section(sec, data.get(name, {}), name) for name, sec in _SECTIONS.items()}
        return cls(**parts)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrainConfig:
        """Load a TOML file with ``[data]``, ``[paft]``, ``[lora]``, ``[training]`` tables."""
        try:
            return cls.from_dict(tomllib.loads(Path(path).read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The sections as plain dicts (tuples become lists), TOML-ready except ``None``s."""
        return {
            name: {f.name: _plain(getattr(getattr(self, name), f.name)) for f in fields(sec)}
            for name, sec in _SECTIONS.items()
        }

    def override(self, flat: Mapping[str, Any]) -> TrainConfig:
        """Return a copy with flat ``{field: value}`` overrides (``None`` values are skipped)."""
        owners = flag_owners()
        changes: dict[str, dict[str, Any]] = {}
        for key, value in flat.items():
            if value is None:
                continue
            if key not in owners:
                raise ConfigError(f"unknown setting {key!r}; valid: {sorted(owners)}")
            changes.setdefault(owners[key], {})[key] = value
        parts = {
            name: _section(
                type(getattr(self, name)), changes.get(name, {}), name, base=getattr(self, name)
            )
            for name in _SECTIONS
        }
        return TrainConfig(**parts)


def flag_owners() -> dict[str, str]:
    """Map every field name to the section that owns it."""
    return {f.name: name for name, sec in _SECTIONS.items() for f in fields(sec)}


def field_help() -> dict[str, tuple[str, Any, Any]]:
    """``{field: (help, type, default)}`` for every setting, in section order (for the CLI)."""
    hints = {name: typing.get_type_hints(sec) for name, sec in _SECTIONS.items()}
    return {
        f.name: (f.metadata.get("help", ""), hints[name][f.name], f.default)
        for name, sec in _SECTIONS.items()
        for f in fields(sec)
    }


def _section(cls: type[T], values: Any, name: str, *, base: Any = None) -> T:
    if not isinstance(values, Mapping):
        raise ConfigError(f"config section [{name}] must be a table, got {values!r}")
    hints = typing.get_type_hints(cls)
    valid = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in valid:
            raise ConfigError(f"[{name}] has no setting {key!r}; valid: {sorted(valid)}")
        out[key] = _coerce(value, hints[key], f"{name}.{key}")
    return replace(base, **out) if base is not None else cls(**out)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check ``value`` against a field type; lists become tuples, ints may be floats."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        item = typing.get_args(hint)[0]
        return tuple(_coerce(v, item, where) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where} must be {hint.__name__}, got {value!r}")
    return value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _validate(cfg: TrainConfig) -> None:
    d, p, t = cfg.data, cfg.paft, cfg.training
    checks = [
        (0.0 <= p.alpha < 1.0, f"paft.alpha must be in [0, 1), got {p.alpha}"),
        (0.0 <= d.val_fraction < 1.0, f"data.val_fraction must be in [0, 1), got {d.val_fraction}"),
        (d.max_length > 0, f"data.max_length must be > 0, got {d.max_length}"),
        (d.on_too_long in ("error", "drop"), "data.on_too_long must be 'error' or 'drop'"),
        (cfg.lora.rank > 0, f"lora.rank must be > 0, got {cfg.lora.rank}"),
        (cfg.lora.top_layers >= 0, f"lora.top_layers must be >= 0, got {cfg.lora.top_layers}"),
        (t.batch_size > 0, f"training.batch_size must be > 0, got {t.batch_size}"),
        (t.device in ("auto", "cpu", "cuda"), "training.device must be auto, cpu or cuda"),
        (t.bf16 in ("auto", "true", "false"), "training.bf16 must be auto, true or false"),
        (t.packing in ("auto", "true", "false"), "training.packing must be auto, true or false"),
        (t.max_steps != 0, "training.max_steps must be -1 (use epochs) or > 0"),
        (all(1 <= x <= 5 for x in p.tiers), f"paft.tiers must be within 1-5, got {p.tiers}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
