"""Judging a sandbox episode: success by the environment's exact check, otherwise a question
back or a refusal by a small answer classifier, otherwise a failure; and the right outcome of
a task under a Shield."""

from __future__ import annotations

import re

from agentshield.sandbox.base import Environment
from agentshield.sandbox.tasks import Task
from agentshield.shield import Shield
from agentshield.trajectory import Outcome, OutcomeStatus, ToolCall

__all__ = ["classify_answer", "expected_status", "judge"]

_REFUSAL = re.compile(
    r"\b(can ?not|can't|can’t|unable|not able|won't|impossible|not possible|no tool|"
    r"couldn't|could not|does not exist|doesn't exist)\b",
    re.IGNORECASE,
)


def judge(env: Environment, task: Task, answer: str | None) -> Outcome:
    """The outcome of a final answer: success by the environment's exact check, else
    asked / refused by :func:`classify_answer`, else failure (also with no answer)."""
    if answer is None:
        return Outcome("failure", detail="step limit reached without a final answer")
    if env.check(task, answer):
        return Outcome("success", answer=answer)
    kind = classify_answer(answer)
    return Outcome(kind or "failure", answer=answer)


def classify_answer(text: str) -> OutcomeStatus | None:
    """``"asked"`` for a question back to the user, ``"refused"`` for a refusal, else ``None``."""
    stripped = text.strip()
    if stripped.endswith("?"):
        return "asked"
    if _REFUSAL.search(stripped):
        return "refused"
    return None


def expected_status(
    task: Task, env: Environment, *, shield: Shield | None = None, run_id: str | None = None
) -> OutcomeStatus:
    """The right outcome of ``task`` under ``shield``: ``asked`` when a query shift removed a
    detail (the shift defines a reply), ``refused`` when a shift removed a tool of the task's
    chain, otherwise the task's own expected outcome."""
    if shield is None:
        return task.expected
    rid = run_id or task.id
    if shield.reply(rid, 0, task.query) is not None:
        return "asked"
    view = shield.view(rid, env.tools)
    for tool in task.chain:
        call = view.to_shown_call(ToolCall("", tool, {}))
        if any(p.refusal(view, call) is not None for p in shield.perturbations):
            return "refused"
    return task.expected
