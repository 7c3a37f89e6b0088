"""A framework-free episode loop: one task, one policy, optionally under a Shield.

The loop shows the policy the Shield's tool view and rewritten query, runs each tool call the
policy makes through :meth:`Shield.call_tool` against the environment (an injected fault
becomes an error observation, as a LangGraph ``ToolNode`` with error handling renders it),
and judges the final answer: ``success`` when the environment's exact check passes,
otherwise ``asked`` / ``refused`` by a small answer classifier, otherwise ``failure``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from agentshield.effects import Result
from agentshield.errors import InjectedFault
from agentshield.sandbox.base import Environment
from agentshield.sandbox.tasks import Task
from agentshield.shield import Shield
from agentshield.trajectory import (
    AppliedPerturbation,
    Message,
    Outcome,
    OutcomeStatus,
    ToolCall,
    ToolSpec,
    Trajectory,
)
from agentshield.view import ToolView

#: How LangGraph's ``ToolNode`` (``handle_tool_errors=True``) renders a tool's exception.
TOOL_ERROR_TEMPLATE = "Error: {error!r}\n Please fix your mistakes."
SYSTEM_PROMPT = (
    "You are a booking and information assistant. Use the tools to do what the user asks. "
    "If a detail you need is missing, ask for it. If the request cannot be done with the "
    "tools you have, say so and why; never invent a result."
)
_REFUSAL = re.compile(
    r"\b(can ?not|can't|can’t|unable|not able|won't|impossible|not possible|no tool|"
    r"couldn't|could not|does not exist|doesn't exist)\b",
    re.IGNORECASE,
)


class Policy(Protocol):
    """Anything that, given the conversation and the tools shown, returns the next assistant
    message (with tool calls, or the final answer)."""

    def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message: ...


def run_episode(
    env: Environment,
    task: Task,
    policy: Policy,
    *,
    shield: Shield | None = None,
    run_id: str | None = None,
    max_steps: int = 20,
    system_prompt: str = SYSTEM_PROMPT,
) -> Trajectory:
    """Run ``policy`` on ``task`` in ``env`` (a fresh environment per episode).

    Args:
        env: The task's environment, fresh (its state is the episode's).
        task: The task; its query is the first user message.
        policy: The agent under test.
        shield: Perturbations to apply (``None``: the clean run).
        run_id: The run id the Shield's decisions derive from (default: the task id). Give
            each episode its own id when one Shield serves several (a run's faults fire once
            per run, and its decisions are logged under it).
        max_steps: Assistant messages allowed before the run counts as a failure.
        system_prompt: The system message.

    Returns:
        The trajectory: the messages as the model saw them, the tools it was shown, the
        outcome, the perturbations that acted, and ``metadata`` with the task id, domain,
        split, kind, the original query, the expected outcome under this shield, and the
        number of tool calls.
    """
    rid = run_id or task.id
    real = env.tools
    view = shield.view(rid, real) if shield is not None else ToolView.identity(list(real))
    shown = tuple(view.specs)
    query = shield.rewrite_query(rid, 0, task.query) if shield is not None else task.query
    messages: list[Message] = [Message("system", system_prompt), Message("user", query)]
    answer: str | None = None
    calls = 0
    for step in range(1, max_steps + 1):
        reply = policy(tuple(messages), shown)
        messages.append(reply)
        if not reply.tool_calls:
            answer = reply.content
            break
        for index, call in enumerate(reply.tool_calls):
            calls += 1
            result = _execute(env, shield, rid, call, real, step, index)
            messages.append(
                Message(
                    "tool",
                    result.content,
                    tool_call_id=call.id,
                    name=call.name,
                    is_error=result.is_error,
                )
            )
    outcome = judge(env, task, answer)
    applied: tuple[AppliedPerturbation, ...] = ()
    if shield is not None:
        acted = {d.perturbation for d in shield.decisions(rid)}
        applied = tuple(
            AppliedPerturbation(p.name, int(p.tier), p.params(), shield.seed_of(p))
            for p in shield.perturbations
            if p.name in acted
        )
    return Trajectory(
        run_id=rid,
        messages=tuple(messages),
        tools=shown,
        outcome=outcome,
        perturbations=applied,
        metadata={
            "task_id": task.id,
            "domain": task.domain,
            "split": task.split,
            "kind": task.kind,
            "query": task.query,
            "expected": expected_status(task, env, shield=shield, run_id=rid),
            "tool_calls": calls,
        },
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


def _execute(
    env: Environment,
    shield: Shield | None,
    run_id: str,
    call: ToolCall,
    real: Sequence[ToolSpec],
    step: int,
    index: int,
) -> Result:
    if shield is None:
        return env.execute(call.name, call.args)
    try:
        return shield.call_tool(run_id, call, real, env.execute, step=step, index=index)
    except InjectedFault as exc:
        return Result(TOOL_ERROR_TEMPLATE.format(error=exc), is_error=True)
