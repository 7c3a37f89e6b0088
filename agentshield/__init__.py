"""AgentShield: stress-test, trace and harden tool-using LLM agents against open-world shifts.

The public API: build a :class:`Shield` from perturbations (classes from
:mod:`agentshield.perturbations`, or spec dicts by name), target them with selectors, wrap an
agent with an integration package (``agentshield_langchain``), and read the decision log.
Recorded runs are :class:`Trajectory` objects; :func:`augment` applies the same perturbations
offline, with the right recovery behaviour.
"""

from agentshield.augment import augment
from agentshield.decisions import Decision
from agentshield.effects import Delay, Raise, Respond, Result, Rewrite
from agentshield.errors import (
    AgentShieldError,
    ConfigError,
    InjectedFault,
    InjectedRateLimit,
    InjectedTimeout,
    InjectedToolError,
    UnknownPerturbationError,
)
from agentshield.perturbations import Perturbation, Tier, create, load_suite, register, registered
from agentshield.plan import CallPlan
from agentshield.selectors import (
    Selector,
    Target,
    after_step,
    always,
    at_step,
    never,
    steps,
    tool_named,
    with_probability,
)
from agentshield.shield import Shield
from agentshield.trajectory import (
    AppliedPerturbation,
    Message,
    Observation,
    Outcome,
    ToolCall,
    ToolSpec,
    Trajectory,
)
from agentshield.view import ShownTool, ToolView

__version__ = "0.1.0"

__all__ = [
    "AgentShieldError",
    "AppliedPerturbation",
    "CallPlan",
    "ConfigError",
    "Decision",
    "Delay",
    "InjectedFault",
    "InjectedRateLimit",
    "InjectedTimeout",
    "InjectedToolError",
    "Message",
    "Observation",
    "Outcome",
    "Perturbation",
    "Raise",
    "Respond",
    "Result",
    "Rewrite",
    "Selector",
    "Shield",
    "ShownTool",
    "Target",
    "Tier",
    "ToolCall",
    "ToolSpec",
    "ToolView",
    "Trajectory",
    "UnknownPerturbationError",
    "__version__",
    "after_step",
    "always",
    "at_step",
    "augment",
    "create",
    "load_suite",
    "never",
    "register",
    "registered",
    "steps",
    "tool_named",
    "with_probability",
]
