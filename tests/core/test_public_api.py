"""The public API is explicit, sorted and pinned; the core imports no framework."""

from __future__ import annotations

import subprocess
import sys

import agentshield
import agentshield.detect
import agentshield.perturbations

PUBLIC = [
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


DETECT_PUBLIC = [
    "CallEvent",
    "Clarification",
    "DetectContext",
    "Detection",
    "DetectionReport",
    "DetectionSpanProcessor",
    "Detector",
    "ENTRY_POINT_GROUP",
    "ErrorKind",
    "ErrorRateShift",
    "Finding",
    "InjectionContent",
    "InvalidCall",
    "LatencyShift",
    "MissingTool",
    "Monitor",
    "ObservationDrift",
    "OrderViolation",
    "Profile",
    "QueryShift",
    "Redirection",
    "RunState",
    "SchemaDrift",
    "ToolDiff",
    "ToolProfile",
    "UngroundedAnswer",
    "build",
    "create",
    "detect_traces",
    "diff_tools",
    "get",
    "observation",
    "query",
    "register",
    "registered",
    "replay",
    "schema",
    "sequence",
    "stream",
    "tier_label",
]


def test_all_is_sorted_and_pinned() -> None:
    assert agentshield.__all__ == sorted(agentshield.__all__)
    assert agentshield.__all__ == PUBLIC
    assert agentshield.perturbations.__all__ == sorted(agentshield.perturbations.__all__)
    for name in agentshield.__all__:
        assert hasattr(agentshield, name)


def test_detect_all_is_sorted_and_pinned() -> None:
    assert agentshield.detect.__all__ == sorted(agentshield.detect.__all__)
    assert agentshield.detect.__all__ == DETECT_PUBLIC
    for name in agentshield.detect.__all__:
        assert hasattr(agentshield.detect, name)


def test_errors_subclass_the_builtins_they_behave_like() -> None:
    assert issubclass(agentshield.ConfigError, ValueError)
    assert issubclass(agentshield.UnknownPerturbationError, KeyError)
    assert issubclass(agentshield.InjectedTimeout, TimeoutError)
    assert issubclass(agentshield.InjectedToolError, RuntimeError)
    assert issubclass(agentshield.InjectedFault, agentshield.AgentShieldError)


def test_core_import_pulls_in_no_framework() -> None:
    code = (
        "import sys, agentshield, agentshield.cli, agentshield.detect; "
        "bad = [m for m in ('langchain', 'langchain_core', 'langgraph', 'torch', 'transformers') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
