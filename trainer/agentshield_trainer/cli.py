"""``agentshield train`` and ``agentshield adapters``: typer apps the core CLI mounts.

The core finds them through the entry-point group ``agentshield.cli`` (this distribution
registers ``train``, a command function, and ``adapters``, a typer app), so ``agentshield``
works with or without the trainer installed and never imports torch to show its help.
Every setting of :class:`~agentshield_trainer.config.TrainConfig` is a flag whose help is
the field's help; flags override ``--config FILE`` (TOML), which overrides the defaults.
"""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Annotated, Any

import typer

from agentshield.errors import AgentShieldError
from agentshield_trainer.config import TrainConfig, field_help

#: The share of perturbed trajectories ``--paft`` sets (the study's best).
PAFT_ALPHA = 0.3

__all__ = ["adapters_app", "main", "train_app"]

adapters_app = typer.Typer(
    name="adapters",
    help="Check, merge and hot-load adapters written by `agentshield train`.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
    return typer.Exit(2 if isinstance(exc, ValueError) else 1)


def _flag_type(hint: Any) -> Any:
    """The CLI type of a setting: optional, tuples as repeatable lists."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        return list[args[0]] | None  # type: ignore[valid-type]
    inner = args[0] if args else hint
    return inner | None


def _train(
    inputs: list[Path] | None,
    config: Path | None,
    dry_run: bool,
    dataset_out: Path | None,
    as_json: bool,
    **settings: Any,
) -> None:
    try:
        cfg = TrainConfig.from_toml(config) if config else TrainConfig()
        if inputs:
            settings["inputs"] = [str(p) for p in inputs]
        if as_json:
            settings["progress"] = False  # stdout carries the JSON only
        cfg = cfg.override(settings)
        from agentshield_trainer.dataset import load_dataset

        ds = load_dataset(cfg)
        if dataset_out is not None:
            ds.write(dataset_out)
        if dry_run:
            typer.echo(json.dumps(ds.info(), indent=2) if as_json else ds.summary())
            return
        typer.echo(ds.summary(), err=as_json)
        from agentshield_trainer.training import train

        result = train(cfg, dataset=ds)
    except (AgentShieldError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps({"adapter": str(result.adapter_dir), "metrics": result.metrics}))
    else:
        typer.echo(f"adapter written to {result.adapter_dir}")
        for key in ("train_loss", "eval_loss", "steps", "train_runtime"):
            if key in result.metrics:
                typer.echo(f"  {key}: {result.metrics[key]:.4g}")


def _train_signature() -> inspect.Signature:
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter(
            "inputs",
            kw,
            default=None,
            annotation=Annotated[
                list[Path] | None,
                typer.Argument(help="trace store folders, collector files or trajectory JSONL"),
            ],
        ),
        inspect.Parameter(
            "config",
            kw,
            default=None,
            annotation=Annotated[
                Path | None, typer.Option("--config", "-c", help="a TOML settings file")
            ],
        ),
        inspect.Parameter(
            "dry_run",
            kw,
            default=False,
            annotation=Annotated[
                bool, typer.Option("--dry-run", help="build and check the dataset, do not train")
            ],
        ),
        inspect.Parameter(
            "dataset_out",
            kw,
            default=None,
            annotation=Annotated[
                Path | None, typer.Option("--dataset-out", help="also write train/val JSONL here")
            ],
        ),
        inspect.Parameter(
            "as_json",
            kw,
            default=False,
            annotation=Annotated[bool, typer.Option("--json", help="print JSON")],
        ),
        inspect.Parameter(
            "paft",
            kw,
            default=False,
            annotation=Annotated[
                bool,
                typer.Option(
                    "--paft",
                    help=f"perturbation-augmented fine-tuning at the study's alpha={PAFT_ALPHA} "
                    "(the default unless a --config file turns it off); --alpha sets another share",
                ),
            ],
        ),
    ]
    for name, (text, hint, default) in field_help().items():
        if name == "inputs":
            continue
        shown = default if not isinstance(default, tuple) else ",".join(map(str, default))
        flag = name.replace("_", "-")
        decl = f"--{flag}/--no-{flag}" if hint is bool else f"--{flag}"
        option = typer.Option(decl, help=f"{text} [default: {shown}]", show_default=False)
        annotation = Annotated[_flag_type(hint), option]  # type: ignore[valid-type]
        params.append(inspect.Parameter(name, kw, default=None, annotation=annotation))
    return inspect.Signature(params)


# A typer command function: mount it with ``app.command("train")(train_app)``. Its signature
# (one flag per TrainConfig field) is set below.
def train_app(**kwargs: Any) -> None:
    """Build the PAFT dataset from recorded runs and train a LoRA adapter with its manifest."""
    if kwargs.pop("paft"):
        if kwargs.get("alpha") == 0:
            raise _fail(ValueError("--paft and --alpha 0 contradict each other; drop one"))
        kwargs["alpha"] = kwargs.get("alpha") or PAFT_ALPHA
    _train(
        kwargs.pop("inputs"),
        kwargs.pop("config"),
        kwargs.pop("dry_run"),
        kwargs.pop("dataset_out"),
        kwargs.pop("as_json"),
        **kwargs,
    )


train_app.__signature__ = _train_signature()  # type: ignore[attr-defined]


@adapters_app.command("verify")
def verify_cmd(
    adapter: Annotated[Path, typer.Argument(help="the adapter folder")],
    base: Annotated[str | None, typer.Option(help="also check it fits this base model")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
) -> None:
    """Check an adapter folder: safetensors only, intact files, manifest (and base model)."""
    from agentshield_trainer.adapters import check_adapter
    from agentshield_trainer.manifest import verify_adapter

    try:
        manifest = check_adapter(base, adapter) if base else verify_adapter(adapter)
    except (AgentShieldError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(manifest.to_dict(), indent=2))
    else:
        typer.echo(
            f"{adapter}: OK, trained on {manifest.base_model.name} "
            f"(data {manifest.data.get('fingerprint', '')[:12]})"
        )


@adapters_app.command("merge")
def merge_cmd(
    base: Annotated[str, typer.Argument(help="the base model folder or hub id")],
    adapter: Annotated[Path, typer.Argument(help="the adapter folder")],
    out: Annotated[Path, typer.Argument(help="the merged model folder to write")],
) -> None:
    """Merge an adapter into its base model, for `transformers serve` or vLLM."""
    from agentshield_trainer.adapters import merge_adapter

    try:
        path = merge_adapter(base, adapter, out)
    except (AgentShieldError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    typer.echo(f"merged model written to {path}")


@adapters_app.command("load")
def load_cmd(
    name: Annotated[str, typer.Argument(help="the adapter name clients will request")],
    path: Annotated[Path, typer.Argument(help="the adapter folder")],
    vllm: Annotated[str, typer.Option("--vllm", help="the vLLM server URL")],
    server_path: Annotated[
        str | None, typer.Option(help="the folder as the server sees it (default: PATH)")
    ] = None,
    api_key: Annotated[str | None, typer.Option(envvar="VLLM_API_KEY", help="bearer token")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Hot-load an adapter into vLLM: validate, load, verify, smoke-test, roll back on failure."""
    import dataclasses

    from agentshield_trainer.vllm import hot_load

    try:
        report = hot_load(vllm, name, path, server_path=server_path, api_key=api_key)
    except (AgentShieldError, ValueError, OSError) as exc:
        raise _fail(exc) from None
    typer.echo(json.dumps(dataclasses.asdict(report), indent=2) if as_json else report.summary())


def main() -> None:
    """Run ``agentshield train`` on its own (``python -m agentshield_trainer``)."""
    standalone = typer.Typer(add_completion=False)
    standalone.command("train")(train_app)
    standalone()
