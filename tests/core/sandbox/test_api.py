"""The sandbox's public API is explicit, sorted and pinned; it pulls in no framework."""

from __future__ import annotations

import subprocess
import sys

import agentshield.sandbox as sandbox

PUBLIC = [
    "AsyncPolicy",
    "Booking",
    "BookingGoal",
    "DOMAINS",
    "Environment",
    "MedicalEnvironment",
    "OracleAgent",
    "PoiEnvironment",
    "Policy",
    "SIZES",
    "SPLITS",
    "SYSTEM_PROMPT",
    "TOOL_ERROR_TEMPLATE",
    "Task",
    "Turn",
    "Venue",
    "Vocabulary",
    "World",
    "all_tasks",
    "arun_episode",
    "classify_answer",
    "contains_fact",
    "expected_status",
    "generate_tasks",
    "judge",
    "make_environment",
    "run_episode",
]


def test_all_is_sorted_and_pinned() -> None:
    assert sandbox.__all__ == sorted(sandbox.__all__)
    assert sandbox.__all__ == PUBLIC
    for name in sandbox.__all__:
        assert hasattr(sandbox, name)


def test_sandbox_import_pulls_in_no_framework() -> None:
    code = (
        "import sys, agentshield.sandbox; "
        "bad = [m for m in ('langchain', 'langchain_core', 'langgraph', 'torch', 'transformers') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
