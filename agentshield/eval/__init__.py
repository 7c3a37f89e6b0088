"""Evaluation: run a task suite × a perturbation suite against an agent, score it, report it.

::

    from agentshield.eval import PolicyAgent, Report, load_suite, run_suite
    from agentshield.sandbox import OracleAgent, generate_tasks

    results = run_suite(PolicyAgent(OracleAgent(), name="oracle"),
                        generate_tasks("poi", "test"), load_suite("default"))
    Report("oracle", results).write("agentshield-report")

The command line is ``agentshield eval`` (see :mod:`agentshield.cli_eval`).
"""

from agentshield.eval.agents import AGENT_ENTRY_POINTS, import_target, resolve_agent
from agentshield.eval.html import render_html
from agentshield.eval.metrics import Diff, GroupMetrics, Mean, Rate, Summary, summarize, wilson
from agentshield.eval.openai_agent import OpenAIPolicy
from agentshield.eval.report import REPORT_SCHEMA, Report, junit_xml, load_report
from agentshield.eval.runner import Agent, EpisodeResult, PolicyAgent, arun_suite, run_suite
from agentshield.eval.suite import EVAL_SEED_MASK, SuiteEntry, eval_seed, load_suite, named_suites

__all__ = [
    "AGENT_ENTRY_POINTS",
    "Agent",
    "Diff",
    "EVAL_SEED_MASK",
    "EpisodeResult",
    "GroupMetrics",
    "Mean",
    "OpenAIPolicy",
    "PolicyAgent",
    "REPORT_SCHEMA",
    "Rate",
    "Report",
    "SuiteEntry",
    "Summary",
    "arun_suite",
    "eval_seed",
    "import_target",
    "junit_xml",
    "load_report",
    "load_suite",
    "named_suites",
    "render_html",
    "resolve_agent",
    "run_suite",
    "summarize",
    "wilson",
]
