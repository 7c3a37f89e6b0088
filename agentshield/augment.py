"""Offline augmentation: a recorded trajectory replayed through the same Shield.

:func:`augment` walks a clean trajectory and produces what the run would have looked like
under the perturbations, *with the right recovery behaviour*: it uses the runtime hooks for
everything the model sees (the tool view, rewritten queries, planned call outcomes, rewritten
observations) so runtime and offline forms agree by construction, and the offline-only hooks
(``prepare``, ``recover``, ``reply``) for what the right agent does about it. The trainer's
PAFT dataset is built with this function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from agentshield.effects import Prepare, Raise, Refuse, Respond, Result, Retry
from agentshield.perturbations.base import Perturbation
from agentshield.shield import Shield
from agentshield.trajectory import AppliedPerturbation, Message, Outcome, ToolCall, Trajectory

#: How many recovery attempts one original call may take before the walk gives up on it.
MAX_RECOVERIES = 4


@dataclass
class _Walk:
    shield: Shield
    source: Trajectory
    out: list[Message] = field(default_factory=list)
    step: int = 0
    outcome: Outcome | None = None

    def recorded(self, call_id: str) -> Result:
        for m in self.source.messages:
            if m.role == "tool" and m.tool_call_id == call_id:
                return Result(m.content, m.is_error)
        return Result("", is_error=False)


def augment(
    trajectory: Trajectory,
    perturbations: Iterable[Perturbation | Mapping[str, Any]],
    *,
    seed: int = 0,
    run_id: str | None = None,
) -> Trajectory:
    """Return ``trajectory`` as it would have run under ``perturbations``, done right.

    Args:
        trajectory: A recorded (clean) run; calls use the real tool names.
        perturbations: The shifts to apply (instances or spec dicts).
        seed: The Shield seed; decisions match a runtime Shield with the same seed and run id.
        run_id: The run id decisions derive from (default: the trajectory's own).
    """
    rid = run_id or trajectory.run_id
    shield = Shield(perturbations, seed=seed, sleep=lambda _s: None)
    walk = _Walk(shield, trajectory)
    view = shield.view(rid, list(trajectory.tools))
    query_index = 0
    for message in trajectory.messages:
        if walk.outcome is not None:
            break
        if message.role == "system":
            walk.out.append(message)
        elif message.role == "user":
            text = shield.rewrite_query(rid, query_index, message.content)
            walk.out.append(replace(message, content=text))
            answer = shield.reply(rid, query_index, message.content)
            query_index += 1
            if answer is not None:
                walk.step += 1
                walk.out.append(Message("assistant", answer))
                walk.outcome = Outcome("asked", answer=answer)
        elif message.role == "assistant":
            if not message.tool_calls:
                walk.step += 1
                walk.out.append(message)
                continue
            pending = [view.to_shown_call(c) for c in message.tool_calls]
            originals = {c.id: c.id for c in message.tool_calls}
            _run_calls(walk, rid, message.content, pending, originals)
    applied = tuple(
        AppliedPerturbation(p.name, int(p.tier), p.params(), shield.seed_of(p))
        for p in shield.perturbations
        if shield.decisions(rid) and any(d.perturbation == p.name for d in shield.decisions(rid))
    )
    outcome = walk.outcome or trajectory.outcome
    return trajectory.with_(
        run_id=rid,
        messages=walk.out,
        tools=view.specs,
        outcome=outcome,
        perturbations=(*trajectory.perturbations, *applied),
        metadata={**trajectory.metadata, "augmented_from": trajectory.run_id},
    )


def _run_calls(
    walk: _Walk, rid: str, content: str, pending: list[ToolCall], originals: dict[str, str]
) -> None:
    """Emit one assistant message of calls, their observations, and any recovery steps."""
    tools = list(walk.source.tools)
    attempts = 0
    carried: list[ToolCall] = []
    while pending and walk.outcome is None:
        # The right agent, knowing the shifted schema, prepares each call.
        before: list[ToolCall] = carried
        ready: list[ToolCall] = []
        for index, call in enumerate(pending):
            prepared = _prepare(walk, rid, call, step=walk.step + 1, index=index)
            if isinstance(prepared, Refuse):
                walk.step += 1
                walk.out.append(Message("assistant", prepared.message))
                walk.outcome = Outcome("refused", answer=prepared.message)
                return
            before.extend(prepared.before)
            for b in prepared.before:
                originals[b.id] = originals.get(call.id, call.id)
            originals[prepared.call.id] = originals.get(call.id, call.id)
            ready.append(prepared.call)
        if before:
            _emit(walk, rid, "", before, originals, tools)
        recoveries = _emit(walk, rid, content, ready, originals, tools)
        content = ""
        attempts += 1
        pending = []
        carried = []
        for rec in recoveries:
            if isinstance(rec, Refuse):
                walk.step += 1
                walk.out.append(Message("assistant", rec.message))
                walk.outcome = Outcome("refused", answer=rec.message)
                return
            pending.append(rec.call)
            for b in rec.before:
                originals[b.id] = b.id
            carried.extend(rec.before)
        if attempts > MAX_RECOVERIES:
            return


def _prepare(walk: _Walk, rid: str, call: ToolCall, *, step: int, index: int) -> Prepare | Refuse:
    tools = list(walk.source.tools)
    view = walk.shield.view(rid, tools)
    for p in walk.shield.perturbations:
        message = p.refusal(view, call)
        if message is not None:
            return Refuse(message)
    current = Prepare(call)
    plan = walk.shield.plan_call(rid, call, tools, step=step, index=index, dry_run=True)
    for p, ctx in plan.selected:
        got = p.prepare(replace(ctx, call=current.call))
        if got is not None:
            current = Prepare(got.call, (*current.before, *got.before))
    return current


def _emit(
    walk: _Walk,
    rid: str,
    content: str,
    calls: list[ToolCall],
    originals: dict[str, str],
    tools: list[Any],
) -> list[Retry | Refuse]:
    """Emit ``calls`` as one assistant step; return the recoveries the right agent makes."""
    walk.step += 1
    walk.out.append(Message("assistant", content, tool_calls=tuple(calls)))
    recoveries: list[Retry | Refuse] = []
    for index, call in enumerate(calls):
        plan = walk.shield.plan_call(rid, call, tools, step=walk.step, index=index)
        if isinstance(plan.outcome, Raise):
            result = Result(str(plan.outcome.error), is_error=True)
            walk.shield.finish_call(replace(plan, outcome=Respond(result.content)), result)
        elif isinstance(plan.outcome, Respond):
            result = walk.shield.finish_call(
                plan, Result(plan.outcome.content, plan.outcome.is_error)
            )
        else:
            result = walk.shield.finish_call(plan, walk.recorded(originals.get(call.id, call.id)))
        walk.out.append(
            Message(
                "tool",
                result.content,
                tool_call_id=call.id,
                name=call.name,
                is_error=result.is_error,
            )
        )
        if plan.failed_by is not None and plan.failed_ctx is not None:
            rec = plan.failed_by.recover(plan.failed_ctx, result)
            if rec is not None:
                if isinstance(rec, Retry):
                    retry_id = f"{call.id}~{walk.step}"
                    originals[retry_id] = originals.get(call.id, call.id)
                    rec = Retry(replace(rec.call, id=retry_id))
                recoveries.append(rec)
    return recoveries
