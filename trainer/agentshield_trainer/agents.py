"""The embedded model as an ``agentshield eval`` agent: ``--agent embedded`` (optionally with
``--adapter PATH``) evaluates SmolLM2-135M-Instruct through :class:`LocalPolicy`, which
batches the concurrent episodes' model calls. Registered in the ``agentshield.agents``
entry-point group."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentshield.eval import PolicyAgent

__all__ = ["EMBEDDED_AGENT", "resolve_agent"]

EMBEDDED_AGENT = "embedded"


def resolve_agent(target: object, *, adapter: str | None = None, **_: Any) -> PolicyAgent | None:
    """``embedded`` becomes the embedded model (with ``adapter`` when given); anything else
    is left to other resolvers."""
    if target != EMBEDDED_AGENT:
        return None
    from agentshield_trainer.local_policy import load_local_policy

    policy = load_local_policy(None, adapter, max_batch=8)
    name = EMBEDDED_AGENT if adapter is None else f"{EMBEDDED_AGENT}+{Path(adapter).name}"
    return PolicyAgent(policy, name=name)
