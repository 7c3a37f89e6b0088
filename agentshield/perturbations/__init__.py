"""The shift catalogue: every built-in perturbation, registered by name.

Importing this package registers the built-ins; see :mod:`agentshield.perturbations.registry`
for lookup by name, specs and third-party entry points.
"""

from agentshield.perturbations import (
    faults,
    observation,
    query,
    reasoning,
    schema,
    security,
    unsolvable,
)
from agentshield.perturbations.base import CallContext, HistoryEntry, Perturbation, RunContext, Tier
from agentshield.perturbations.registry import (
    ENTRY_POINT_GROUP,
    create,
    from_spec,
    get,
    load_suite,
    register,
    registered,
)

__all__ = [
    "CallContext",
    "ENTRY_POINT_GROUP",
    "HistoryEntry",
    "Perturbation",
    "RunContext",
    "Tier",
    "create",
    "faults",
    "from_spec",
    "get",
    "load_suite",
    "observation",
    "query",
    "reasoning",
    "register",
    "registered",
    "schema",
    "security",
    "unsolvable",
]
