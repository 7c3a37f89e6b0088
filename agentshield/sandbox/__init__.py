"""The built-in sandbox: stateful tool environments, seeded tasks, a scripted oracle, and a
framework-free episode loop.

Two domains share one structure: point-of-interest (:class:`PoiEnvironment`) and a held-out
medical-appointment domain (:class:`MedicalEnvironment`) with different tools. Tools are plain
Python with JSON schemas; success is checked exactly from the environment's state and the
final answer. :func:`generate_tasks` gives fixed train / test splits; :class:`OracleAgent`
solves every solvable task and refuses the rest; :func:`run_episode` runs any policy on a
task, clean or under a :class:`~agentshield.Shield`::

    from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode

    task = generate_tasks("poi", "test")[0]
    trajectory = run_episode(make_environment(task.domain), task, OracleAgent())
"""

from agentshield.sandbox.base import Booking, Environment, contains_fact
from agentshield.sandbox.episode import (
    SYSTEM_PROMPT,
    TOOL_ERROR_TEMPLATE,
    arun_episode,
    run_episode,
)
from agentshield.sandbox.judging import classify_answer, expected_status, judge
from agentshield.sandbox.medical import MedicalEnvironment
from agentshield.sandbox.oracle import OracleAgent
from agentshield.sandbox.poi import PoiEnvironment
from agentshield.sandbox.policy import AsyncPolicy, Policy, Turn
from agentshield.sandbox.tasks import (
    DOMAINS,
    SIZES,
    BookingGoal,
    Task,
    all_tasks,
    generate_tasks,
    make_environment,
)
from agentshield.sandbox.world import SPLITS, Venue, Vocabulary, World

__all__ = [
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
