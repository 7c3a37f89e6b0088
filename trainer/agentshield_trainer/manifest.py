"""The adapter manifest: what an adapter was trained on, and the checks made before loading.

An adapter folder holds PEFT's ``adapter_config.json`` and ``adapter_model.safetensors``
(never pickle), the tokenizer files with the chat template used in training, a model card
(``README.md``) and :data:`MANIFEST_NAME`, which records:

* the base model's identity: name, type, and sha256 of its config and of its weight files;
* the sha256 of every adapter file (a damaged or swapped file is caught before loading);
* LoRA settings, dataset fingerprint and counts, PAFT mix and seeds, training settings;
* code versions and training / validation metrics.

:func:`verify_adapter` checks a folder (no pickle files, valid safetensors, hashes match);
:func:`check_base_model` refuses an adapter whose manifest names another base model.
Nothing here imports torch.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from agentshield_trainer.errors import AdapterMismatchError, CorruptAdapterError

__all__ = [
    "ADAPTER_FILES",
    "BaseModelIdentity",
    "MANIFEST_NAME",
    "Manifest",
    "check_base_model",
    "check_safetensors",
    "code_versions",
    "file_sha256",
    "identify_base_model",
    "verify_adapter",
]

MANIFEST_NAME = "agentshield_manifest.json"
#: The PEFT files every adapter folder must hold.
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_VOLATILE_CONFIG_KEYS = ("_name_or_path", "transformers_version")
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime) within the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        _hash_cache[key] = h.hexdigest()
    return _hash_cache[key]


@dataclass(frozen=True)
class BaseModelIdentity:
    """Who the base model is: its name, type and content hashes."""

    name: str
    model_type: str
    config_sha256: str
    weights_sha256: str


def identify_base_model(folder: str | Path, name: str | None = None) -> BaseModelIdentity:
    """Hash a local model folder's ``config.json`` (minus volatile keys) and weight files.

    Raises:
        AdapterMismatchError: The folder has no ``config.json`` or no weight files.
    """
    root = Path(folder)
    config_path = root / "config.json"
    if not config_path.is_file():
        raise AdapterMismatchError(f"{root} is not a model folder: it has no config.json")
    config = json.loads(config_path.read_text())
    for key in _VOLATILE_CONFIG_KEYS:
        config.pop(key, None)
    config_sha = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
    weights = sorted(root.glob("*.safetensors")) or sorted(root.glob("*.bin"))
    if not weights:
        raise AdapterMismatchError(f"{root} has no weight files (*.safetensors or *.bin)")
    h = hashlib.sha256()
    for path in weights:
        h.update(f"{path.name}:{file_sha256(path)}\n".encode())
    return BaseModelIdentity(
        name=name or str(folder),
        model_type=str(config.get("model_type", "")),
        config_sha256=config_sha,
        weights_sha256=h.hexdigest(),
    )


def code_versions() -> dict[str, str]:
    """Installed versions of the packages that shape an adapter."""
    out = {}
    for dist in ("agentshield", "agentshield-trainer", "torch", "transformers", "peft", "trl"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


@dataclass(frozen=True)
class Manifest:
    """Everything recorded about one adapter (see the module docstring)."""

    base_model: BaseModelIdentity
    files: dict[str, str]
    lora: dict[str, Any]
    data: dict[str, Any]
    paft: dict[str, Any]
    training: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    code: dict[str, str] = field(default_factory=dict)
    chat_template_sha256: str = ""
    created: str = ""
    format: int = 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Inverse of :meth:`to_dict`.

        Raises:
            CorruptAdapterError: A required key is missing.
        """
        try:
            base = BaseModelIdentity(**data["base_model"])
            rest = {k: v for k, v in data.items() if k != "base_model"}
            return cls(base_model=base, **rest)
        except (KeyError, TypeError) as exc:
            raise CorruptAdapterError(f"the adapter manifest is incomplete: {exc}") from None

    def write(self, folder: Path) -> Path:
        """Write the manifest into ``folder``."""
        path = folder / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path


def check_safetensors(path: Path) -> None:
    """Check a safetensors file's structure without loading it (or torch).

    Raises:
        CorruptAdapterError: The header is unreadable or the tensors do not fit the file.
    """
    size = path.stat().st_size
    try:
        with path.open("rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            if length > size - 8:
                raise ValueError(f"header length {length} exceeds the file ({size} bytes)")
            header = json.loads(fh.read(length))
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
        starts = [int(v["data_offsets"][0]) for k, v in header.items() if k != "__metadata__"]
        if any(s > e for s, e in zip(starts, ends, strict=True)):
            raise ValueError("a tensor ends before it starts")
        if 8 + length + max(ends, default=0) != size:
            raise ValueError(f"tensor data does not match the file size ({size} bytes)")
    except (ValueError, KeyError, TypeError, struct.error, AttributeError) as exc:
        raise CorruptAdapterError(
            f"{path} is not a valid safetensors file ({exc}); re-copy the adapter or retrain it"
        ) from None


def verify_adapter(folder: str | Path) -> Manifest:
    """Check an adapter folder and return its manifest.

    Raises:
        CorruptAdapterError: A missing folder, file or manifest; a pickle file; a damaged
            safetensors file; a file whose hash differs from the manifest's.
    """
    root = Path(folder)
    if not root.is_dir():
        raise CorruptAdapterError(f"adapter folder {root} does not exist")
    pickles = sorted(p.name for p in root.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles:
        raise CorruptAdapterError(
            f"{root} holds pickle files {pickles}; adapters are loaded from safetensors only "
            "(pickle can run code). Remove them or convert the adapter to safetensors"
        )
    missing = [name for name in (*ADAPTER_FILES, MANIFEST_NAME) if not (root / name).is_file()]
    if missing:
        hint = (
            " (no AgentShield manifest: was it trained by agentshield train?)"
            if MANIFEST_NAME in missing
            else ""
        )
        raise CorruptAdapterError(f"{root} is missing {missing}{hint}")
    try:
        manifest = Manifest.from_dict(json.loads((root / MANIFEST_NAME).read_text()))
    except ValueError as exc:
        raise CorruptAdapterError(f"{root / MANIFEST_NAME} is not valid JSON: {exc}") from None
    check_safetensors(root / "adapter_model.safetensors")
    for name, expected in sorted(manifest.files.items()):
        path = root / name
        if not path.is_file():
            raise CorruptAdapterError(f"{path} is listed in the manifest but missing")
        if file_sha256(path) != expected:
            raise CorruptAdapterError(
                f"{path} does not match the hash in the manifest: the file was changed or "
                "damaged after training; re-copy the adapter or retrain it"
            )
    return manifest


def check_base_model(manifest: Manifest, base: BaseModelIdentity) -> None:
    """Refuse an adapter trained on another base model.

    Raises:
        AdapterMismatchError: The config or weights hash differs.
    """
    want = manifest.base_model
    if (want.config_sha256, want.weights_sha256) == (base.config_sha256, base.weights_sha256):
        return
    what = "architecture/config" if want.config_sha256 != base.config_sha256 else "weights"
    raise AdapterMismatchError(
        f"this adapter was trained on base model {want.name!r} ({want.model_type}, weights "
        f"sha256 {want.weights_sha256[:12]}), but {base.name!r} ({base.model_type}, weights "
        f"sha256 {base.weights_sha256[:12]}) differs in its {what}. Load it with the base "
        "model it was trained on, or retrain the adapter for this one"
    )
