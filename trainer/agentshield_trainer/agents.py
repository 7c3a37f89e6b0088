"""The embedded model as an ``agentshield eval`` agent, registered in the
``agentshield.agents`` entry-point group.

``--agent embedded`` (also what ``agentshield eval`` runs when no agent is given) evaluates
SmolLM2-135M-Instruct with the shipped baseline adapter
(:data:`~agentshield_trainer.baseline.BASELINE_DIR`); ``--adapter PATH`` uses another adapter
and ``--adapter none`` the untuned model. ``--base-model FOLDER`` runs another local model
(with ``--adapter`` if given, else none). :class:`LocalPolicy` batches the concurrent
episodes' model calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentshield.eval import PolicyAgent

__all__ = ["EMBEDDED_AGENT", "EMBEDDED_BATCH", "NO_ADAPTER", "resolve_agent"]

EMBEDDED_AGENT = "embedded"
#: ``--adapter`` value for the untuned model.
NO_ADAPTER = "none"
#: The most episodes whose model calls are generated together, and the longest answer (a
#: booking call is ~60 tokens; a model that rambles costs every episode in its batch).
EMBEDDED_BATCH, EMBEDDED_MAX_NEW_TOKENS = 16, 128


def resolve_agent(
    target: object,
    *,
    adapter: str | None = None,
    base_model: str | None = None,
    **_: Any,
) -> PolicyAgent | None:
    """``embedded`` becomes the embedded model (or ``base_model``) with ``adapter`` (default:
    the baseline for the embedded model, none for another); anything else is left to other
    resolvers."""
    if target != EMBEDDED_AGENT:
        return None
    from agentshield_trainer.baseline import BASELINE_DIR
    from agentshield_trainer.local_policy import load_local_policy

    label = EMBEDDED_AGENT if base_model is None else Path(base_model).name
    folder: str | None
    if adapter is None and base_model is None:
        folder, name = str(BASELINE_DIR), f"{label}+baseline"
    elif adapter is None or adapter == NO_ADAPTER:
        folder, name = None, label
    else:
        folder, name = adapter, f"{label}+{Path(adapter).name}"
    policy = load_local_policy(
        base_model, folder, max_batch=EMBEDDED_BATCH, max_new_tokens=EMBEDDED_MAX_NEW_TOKENS
    )
    return PolicyAgent(policy, name=name)
