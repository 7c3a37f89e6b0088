"""A framework-free episode loop: one task, one policy, optionally under a Shield.

The loop shows the policy the Shield's tool view and rewritten query, runs each tool call the
policy makes through the Shield against the environment (an injected fault becomes an error
observation, as a LangGraph ``ToolNode`` with error handling renders it), and judges the final
answer: ``success`` when the environment's exact check passes, otherwise ``asked`` /
``refused`` by a small answer classifier, otherwise ``failure``.

The loop itself is a generator that yields what it needs done — a model step or a tool call —
and two short drivers carry that out: :func:`run_episode` (sync policies, blocking sleeps) and
:func:`arun_episode` (sync or async policies, non-blocking sleeps, a timeout), so many episodes
can share one event loop. Both can record the episode as a trace through a
:class:`~agentshield.tracing.Recorder`.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentshield.effects import Result
from agentshield.errors import InjectedFault
from agentshield.sandbox._trace import EpisodeTrace
from agentshield.sandbox.base import Environment
from agentshield.sandbox.judging import expected_status, judge
from agentshield.sandbox.policy import AsyncPolicy, Policy, Turn
from agentshield.sandbox.tasks import Task
from agentshield.shield import Shield
from agentshield.trajectory import (
    AppliedPerturbation,
    Message,
    Outcome,
    ToolCall,
    ToolSpec,
    Trajectory,
)
from agentshield.view import ToolView

if TYPE_CHECKING:
    from agentshield.tracing import Recorder

#: How LangGraph's ``ToolNode`` (``handle_tool_errors=True``) renders a tool's exception.
TOOL_ERROR_TEMPLATE = "Error: {error!r}\n Please fix your mistakes."
SYSTEM_PROMPT = (
    "You are a booking and information assistant. Use the tools to do what the user asks. "
    "If a detail you need is missing, ask for it. If the request cannot be done with the "
    "tools you have, say so and why; never invent a result."
)
#: How the sandbox's tools reject arguments (whatever format an observation shift gives it).
_INVALID_ARGS = re.compile(r"invalid_argument")


@dataclass(frozen=True)
class _Step:
    """The loop needs the policy's next reply."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]


@dataclass(frozen=True)
class _Call:
    """The loop needs one tool call run (through the Shield when there is one)."""

    call: ToolCall
    step: int
    index: int


@dataclass
class _Counts:
    steps: int = 0
    calls: int = 0
    invalid: int = 0
    injected: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    models: set[str] = field(default_factory=set)

    def add_usage(self, turn: Turn) -> None:
        if turn.input_tokens is not None:
            self.input_tokens = (self.input_tokens or 0) + turn.input_tokens
        if turn.output_tokens is not None:
            self.output_tokens = (self.output_tokens or 0) + turn.output_tokens
        if turn.model:
            self.models.add(turn.model)


class _Episode:
    """The loop's state: messages so far, counts, and the final trajectory."""

    def __init__(
        self,
        env: Environment,
        task: Task,
        shield: Shield | None,
        run_id: str,
        max_steps: int,
        system_prompt: str,
    ) -> None:
        self.env, self.task, self.shield, self.run_id = env, task, shield, run_id
        self.max_steps = max_steps
        self.real = env.tools
        self.view = (
            shield.view(run_id, self.real) if shield is not None else ToolView.identity(self.real)
        )
        query = shield.rewrite_query(run_id, 0, task.query) if shield is not None else task.query
        self.messages: list[Message] = [Message("system", system_prompt), Message("user", query)]
        self.counts = _Counts()
        self.answer: str | None = None

    def loop(self) -> Generator[_Step | _Call, Any, None]:
        shown = tuple(self.view.specs)
        for step in range(1, self.max_steps + 1):
            turn: Turn = yield _Step(tuple(self.messages), shown)
            self.counts.steps += 1
            self.counts.add_usage(turn)
            reply = turn.message
            self.messages.append(reply)
            if not reply.tool_calls:
                self.answer = reply.content
                return
            for index, call in enumerate(reply.tool_calls):
                self.counts.calls += 1
                result: Result = yield _Call(call, step, index)
                self._count(call, step, index, result)
                self.messages.append(
                    Message(
                        "tool",
                        result.content,
                        tool_call_id=call.id,
                        name=call.name,
                        is_error=result.is_error,
                    )
                )

    def _count(self, call: ToolCall, step: int, index: int, result: Result) -> None:
        """Sort an error observation: injected (a fault, a redirection, a removed tool
        answering), the agent's own invalid call (a name it was not shown, a decoy, arguments
        the tool rejects), or neither (a real answer such as "not found")."""
        if not result.is_error:
            return
        shown = self.view.find(call.name)
        if shown is None or (shown.real is None and shown.responder is None):
            self.counts.invalid += 1
        elif shown.responder is not None or self._logged_failure(f"{step}:{index}"):
            self.counts.injected += 1
        elif shown.stale_args(call.args) or _INVALID_ARGS.search(result.content):
            self.counts.invalid += 1

    def _logged_failure(self, key: str) -> bool:
        if self.shield is None:
            return False
        return any(
            d.key == key and d.action in ("raise", "respond")
            for d in self.shield.decisions(self.run_id)
        )

    def finish(self, detail: str | None = None) -> Trajectory:
        task, shield, rid = self.task, self.shield, self.run_id
        outcome = (
            Outcome("failure", detail=detail) if detail else judge(self.env, task, self.answer)
        )
        applied: tuple[AppliedPerturbation, ...] = ()
        if shield is not None:
            acted = {d.perturbation for d in shield.decisions(rid)}
            applied = tuple(
                AppliedPerturbation(p.name, int(p.tier), p.params(), shield.seed_of(p))
                for p in shield.perturbations
                if p.name in acted
            )
        c = self.counts
        return Trajectory(
            run_id=rid,
            messages=tuple(self.messages),
            tools=tuple(self.view.specs),
            outcome=outcome,
            perturbations=applied,
            metadata={
                "task_id": task.id,
                "domain": task.domain,
                "split": task.split,
                "kind": task.kind,
                "query": task.query,
                "expected": expected_status(task, self.env, shield=shield, run_id=rid),
                "steps": c.steps,
                "tool_calls": c.calls,
                "invalid_calls": c.invalid,
                "injected_errors": c.injected,
                "input_tokens": c.input_tokens,
                "output_tokens": c.output_tokens,
                "models": sorted(c.models),
            },
        )


def _turn(reply: Message | Turn) -> Turn:
    return reply if isinstance(reply, Turn) else Turn(reply)


def run_episode(
    env: Environment,
    task: Task,
    policy: Policy,
    *,
    shield: Shield | None = None,
    run_id: str | None = None,
    max_steps: int = 20,
    system_prompt: str = SYSTEM_PROMPT,
    recorder: Recorder | None = None,
    agent_name: str = "agent",
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
        recorder: Record the episode as a trace (run, chat and tool spans) through this.
        agent_name: The agent's name on the trace.

    Returns:
        The trajectory: the messages as the model saw them, the tools it was shown, the
        outcome, the perturbations that acted, and ``metadata`` with the task id, domain,
        split, kind, the original query, the expected outcome under this shield, and counts
        (``steps``, ``tool_calls``, ``invalid_calls``, ``injected_errors``, tokens).
    """
    ep = _Episode(env, task, shield, run_id or task.id, max_steps, system_prompt)
    trace = EpisodeTrace(recorder, ep, agent_name)
    with trace.run():
        gen = ep.loop()
        need = next(gen, None)
        try:
            while need is not None:
                if isinstance(need, _Step):
                    with trace.chat(need) as chat:
                        turn = _turn(policy(need.messages, need.tools))
                        chat.done(turn)
                    need = gen.send(turn)
                else:
                    with trace.tool(need) as span:
                        result = _call_sync(ep, need, env)
                        span.done(result)
                    need = gen.send(result)
        except StopIteration:
            pass
        trajectory = ep.finish()
        trace.finish(trajectory)
    return trajectory


async def arun_episode(
    env: Environment,
    task: Task,
    policy: Policy | AsyncPolicy,
    *,
    shield: Shield | None = None,
    run_id: str | None = None,
    max_steps: int = 20,
    system_prompt: str = SYSTEM_PROMPT,
    recorder: Recorder | None = None,
    agent_name: str = "agent",
    timeout_s: float | None = None,
) -> Trajectory:
    """The async driver of :func:`run_episode`: the policy may be sync or async, the Shield's
    delays do not block the event loop, and ``timeout_s`` bounds the whole episode (a run
    past it ends as a ``failure`` whose detail says so, keeping the messages so far)."""
    ep = _Episode(env, task, shield, run_id or task.id, max_steps, system_prompt)
    trace = EpisodeTrace(recorder, ep, agent_name)
    detail: str | None = None
    with trace.run():
        limit = asyncio.timeout(timeout_s)
        try:
            async with limit:
                await _drive_async(ep, policy, env, trace)
        except TimeoutError:
            if not limit.expired():
                raise  # the policy's own, not the episode's limit
            detail = f"episode timed out after {timeout_s:g} s"
        trajectory = ep.finish(detail)
        trace.finish(trajectory)
    return trajectory


async def _drive_async(
    ep: _Episode, policy: Policy | AsyncPolicy, env: Environment, trace: EpisodeTrace
) -> None:
    gen = ep.loop()
    need = next(gen, None)
    try:
        while need is not None:
            if isinstance(need, _Step):
                with trace.chat(need) as chat:
                    reply = policy(need.messages, need.tools)
                    if inspect.isawaitable(reply):
                        reply = await reply
                    turn = _turn(reply)
                    chat.done(turn)
                need = gen.send(turn)
            else:
                with trace.tool(need) as span:
                    result = await _call_async(ep, need, env)
                    span.done(result)
                need = gen.send(result)
    except StopIteration:
        pass


def episode_from_messages(
    env: Environment,
    task: Task,
    shield: Shield | None,
    run_id: str,
    messages: Sequence[Message],
    *,
    answer: str | None,
    detail: str | None = None,
    max_steps: int = 20,
) -> Trajectory:
    """The trajectory of an episode another loop ran (a LangGraph agent's): the same judging,
    expected outcome and counts as :func:`run_episode`, from the messages it ended with.

    Tool calls are keyed ``<step>:<index>`` (the assistant message's 1-based ordinal, the
    call's position in it), as the adapters key them, so injected errors are told apart.
    """
    ep = _Episode(env, task, shield, run_id, max_steps, SYSTEM_PROMPT)
    ep.messages = list(messages)
    results = {m.tool_call_id: m for m in messages if m.role == "tool"}
    step = 0
    for m in messages:
        if m.role != "assistant":
            continue
        step += 1
        ep.counts.steps += 1
        for index, call in enumerate(m.tool_calls):
            ep.counts.calls += 1
            seen = results.get(call.id)
            if seen is not None:
                ep._count(call, step, index, Result(seen.content, seen.is_error))
    ep.answer = answer
    return ep.finish(detail)


def _call_sync(ep: _Episode, need: _Call, env: Environment) -> Result:
    if ep.shield is None:
        return env.execute(need.call.name, need.call.args)
    try:
        return ep.shield.call_tool(
            ep.run_id, need.call, ep.real, env.execute, step=need.step, index=need.index
        )
    except InjectedFault as exc:
        return Result(TOOL_ERROR_TEMPLATE.format(error=exc), is_error=True)


async def _call_async(ep: _Episode, need: _Call, env: Environment) -> Result:
    if ep.shield is None:
        return env.execute(need.call.name, need.call.args)

    async def execute(name: str, args: Any) -> Result:
        return env.execute(name, args)

    try:
        return await ep.shield.acall_tool(
            ep.run_id, need.call, ep.real, execute, step=need.step, index=need.index
        )
    except InjectedFault as exc:
        return Result(TOOL_ERROR_TEMPLATE.format(error=exc), is_error=True)
