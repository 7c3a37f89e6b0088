"""The ``agentshield`` command line.

Commands are small and import what they need inside themselves, so ``agentshield --help``
stays fast. Every command that reports something takes ``--json``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="agentshield",
    help="Stress-test, trace and harden tool-using LLM agents against open-world shifts.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Stress-test, trace and harden tool-using LLM agents against open-world shifts."""


def _catalogue() -> list[dict[str, Any]]:
    from agentshield.decisions import jsonable
    from agentshield.perturbations import registered

    out = []
    for name, cls in registered().items():
        params = [p for p in cls.param_info() if p["name"] not in ("when", "seed")]
        out.append(
            {
                "name": name,
                "tier": int(cls.tier),
                "tier_label": cls.tier.label,
                "description": cls.description,
                "params": [{k: jsonable(v) for k, v in p.items()} for p in params],
            }
        )
    return out


@app.command("list")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    tier: Annotated[
        int | None, typer.Option(help="only this tier (1-4, 5 = security)", min=1, max=5)
    ] = None,
) -> None:
    """List the shift catalogue grouped by tier, with each perturbation's parameters."""
    items = [c for c in _catalogue() if tier is None or c["tier"] == tier]
    if as_json:
        typer.echo(json.dumps(items, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="AgentShield shift catalogue", show_lines=False)
    table.add_column("tier", style="bold", no_wrap=True)
    table.add_column("perturbation", style="cyan", no_wrap=True)
    table.add_column("what changes")
    table.add_column("parameters (default)", style="dim")
    last_tier = None
    for item in items:
        params = ", ".join(
            f"{p['name']}" + ("*" if p["required"] else f"={p['default']!r}")
            for p in item["params"]
        )
        label = item["tier_label"] if item["tier"] != last_tier else ""
        if item["tier"] != last_tier and last_tier is not None:
            table.add_section()
        last_tier = item["tier"]
        table.add_row(label, item["name"], item["description"], params or "-")
    console = Console()
    console.print(table)
    console.print(
        f"{len(items)} perturbations. * = required. Every one also takes "
        "when= (targeting) and seed=."
    )


PLUGIN_GROUP = "agentshield.cli"


def mount_plugins() -> None:
    """Mount the core's optional command groups and those registered under the
    ``agentshield.cli`` entry-point group (the trainer's ``train`` and ``adapters``).

    A typer app becomes a command group, a function one command; one that fails to load is
    reported and skipped, so the core CLI works without the optional packages.
    """
    from importlib.metadata import entry_points

    from agentshield.cli_detect import detect_cmd, profile_cmd
    from agentshield.cli_eval import eval_cmd
    from agentshield.cli_traces import app as traces_app

    app.add_typer(traces_app, name="traces", help="List, show and export recorded runs.")
    app.command("eval")(eval_cmd)
    app.command("profile")(profile_cmd)
    app.command("detect")(detect_cmd)
    for ep in entry_points(group=PLUGIN_GROUP):
        try:
            command = ep.load()
        except Exception as exc:  # an optional install must never break the core CLI
            typer.echo(f"agentshield: the {ep.name!r} command is unavailable: {exc}", err=True)
            continue
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=ep.name)
        else:
            app.command(ep.name)(command)


def main() -> None:
    """Entry point of the ``agentshield`` script."""
    mount_plugins()
    app()
