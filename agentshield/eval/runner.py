"""The robustness runner: a task suite × a perturbation suite against one agent, concurrently.

Every (task, shift, repeat) is one episode in a fresh environment under its own Shield and
seed. Episodes run as asyncio tasks bounded by a semaphore, each with a timeout and a step
limit, behind a progress bar; a recorder, when given, writes each episode's trace (content
capture is the recorder's choice: ``agentshield eval`` turns it on). An agent's crash ends its
episode as a failure with the error as detail and never stops the run.

An agent is anything with ``name`` and ``arun(env, task, *, shield, run_id, max_steps,
recorder, timeout_s)``: :class:`PolicyAgent` wraps a policy (the oracle, a model behind an
endpoint, a local model) in the sandbox's own episode loop; framework packages add agents
that run their own loop (``agentshield_langchain.eval``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from agentshield.eval.suite import SuiteEntry, eval_seed
from agentshield.sandbox.base import Environment
from agentshield.sandbox.episode import arun_episode
from agentshield.sandbox.judging import expected_status
from agentshield.sandbox.policy import AsyncPolicy, Policy
from agentshield.sandbox.tasks import Task, make_environment
from agentshield.shield import Shield
from agentshield.trajectory import Trajectory

if TYPE_CHECKING:
    from agentshield.tracing import Recorder

__all__ = ["Agent", "EpisodeResult", "PolicyAgent", "arun_suite", "run_suite"]

CLEAN = "clean"


class Agent(Protocol):
    """What the runner evaluates (see the module docstring)."""

    name: str

    async def arun(
        self,
        env: Environment,
        task: Task,
        *,
        shield: Shield | None,
        run_id: str,
        max_steps: int,
        recorder: Recorder | None,
        timeout_s: float | None,
    ) -> Trajectory: ...


class PolicyAgent:
    """An agent made of a policy and the sandbox's episode loop (:func:`arun_episode`)."""

    def __init__(self, policy: Policy | AsyncPolicy, *, name: str = "agent") -> None:
        self.policy = policy
        self.name = name

    async def arun(
        self,
        env: Environment,
        task: Task,
        *,
        shield: Shield | None,
        run_id: str,
        max_steps: int,
        recorder: Recorder | None,
        timeout_s: float | None,
    ) -> Trajectory:
        return await arun_episode(
            env,
            task,
            self.policy,
            shield=shield,
            run_id=run_id,
            max_steps=max_steps,
            recorder=recorder,
            agent_name=self.name,
            timeout_s=timeout_s,
        )


@dataclass(frozen=True)
class EpisodeResult:
    """One episode's result, flat and JSON-ready (the unit of every metric and report)."""

    run_id: str
    task_id: str
    domain: str
    kind: str
    perturbation: str  # the suite label, or "clean"
    tier: int  # 0 for clean
    repeat: int
    seed: int
    expected: str
    status: str
    steps: int
    tool_calls: int
    invalid_calls: int
    injected_errors: int
    input_tokens: int | None
    output_tokens: int | None
    duration_s: float
    answer: str | None = None
    detail: str | None = None

    @property
    def correct(self) -> bool:
        """The outcome is the right one (success, the refusal, or the question back)."""
        return self.status == self.expected

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``correct``."""
        out = dict(self.__dict__)
        out["correct"] = self.correct
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeResult:
        """Inverse of :meth:`to_dict`."""
        fields = {k: v for k, v in data.items() if k != "correct"}
        return cls(**fields)


@dataclass(frozen=True)
class _Job:
    task: Task
    entry: SuiteEntry | None
    repeat: int

    @property
    def label(self) -> str:
        return self.entry.label if self.entry is not None else CLEAN

    def run_id(self, prefix: str) -> str:
        return f"{prefix}{self.task.id}/{self.label}/{self.repeat}"


def _jobs(
    tasks: Sequence[Task], suite: Sequence[SuiteEntry], repeats: int, clean: bool
) -> list[_Job]:
    entries: list[SuiteEntry | None] = [None] if clean else []
    entries.extend(suite)
    return [_Job(t, e, r) for e in entries for t in tasks for r in range(repeats)]


async def _episode(
    agent: Agent,
    job: _Job,
    *,
    seed: int,
    run_prefix: str,
    max_steps: int,
    timeout_s: float | None,
    recorder: Recorder | None,
) -> EpisodeResult:
    task = job.task
    episode_seed = eval_seed(seed, job.label, task.id, job.repeat)
    shield = None
    if job.entry is not None:
        # Injected delays are recorded, not slept: the agent sees the timeout or the error
        # either way, and a run of thousands of episodes should not wait for them.
        shield = Shield(
            [job.entry.build(task, episode_seed)],
            seed=episode_seed,
            sleep=_no_sleep,
            asleep=_no_asleep,
        )
    env = make_environment(task.domain)
    run_id = job.run_id(run_prefix)
    started = time.perf_counter()
    # The agent bounds its own episode; this outer bound catches one that does not.
    hard_limit = None if timeout_s is None else timeout_s * 1.5 + 5.0
    limit = asyncio.timeout(hard_limit)
    try:
        async with limit:
            traj = await agent.arun(
                env,
                task,
                shield=shield,
                run_id=run_id,
                max_steps=max_steps,
                recorder=recorder,
                timeout_s=timeout_s,
            )
    except Exception as exc:  # the agent crashed or hung: its episode fails, the run goes on
        detail = f"agent error: {type(exc).__name__}: {exc}"
        if isinstance(exc, TimeoutError) and limit.expired():
            detail = f"the agent ignored its {timeout_s:g} s limit; stopped after {hard_limit:g} s"
        right = expected_status(task, env, shield=shield, run_id=run_id)
        return _result(job, run_id, episode_seed, started, right, "failure", {}, detail=detail)
    meta = traj.metadata
    outcome = traj.outcome
    expected = str(meta["expected"])
    return _result(
        job,
        run_id,
        episode_seed,
        started,
        expected,
        outcome.status,
        meta,
        answer=outcome.answer,
        detail=outcome.detail,
    )


def _result(
    job: _Job,
    run_id: str,
    seed: int,
    started: float,
    expected: str,
    status: str,
    meta: Mapping[str, Any],
    *,
    answer: str | None = None,
    detail: str | None = None,
) -> EpisodeResult:
    """One episode's result from its job and its trajectory's metadata counts."""
    return EpisodeResult(
        run_id=run_id,
        task_id=job.task.id,
        domain=job.task.domain,
        kind=job.task.kind,
        perturbation=job.label,
        tier=int(job.entry.tier) if job.entry is not None else 0,
        repeat=job.repeat,
        seed=seed,
        expected=expected,
        status=status,
        steps=int(meta.get("steps", 0)),
        tool_calls=int(meta.get("tool_calls", 0)),
        invalid_calls=int(meta.get("invalid_calls", 0)),
        injected_errors=int(meta.get("injected_errors", 0)),
        input_tokens=meta.get("input_tokens"),
        output_tokens=meta.get("output_tokens"),
        duration_s=round(time.perf_counter() - started, 4),
        answer=answer,
        detail=detail,
    )


def _no_sleep(_seconds: float) -> None:
    return None


async def _no_asleep(_seconds: float) -> None:
    return None


async def arun_suite(
    agent: Agent,
    tasks: Sequence[Task],
    suite: Sequence[SuiteEntry],
    *,
    repeats: int = 1,
    concurrency: int = 8,
    timeout_s: float | None = 120.0,
    max_steps: int = 20,
    seed: int = 0,
    clean: bool = True,
    recorder: Recorder | None = None,
    run_prefix: str = "",
    on_result: Callable[[EpisodeResult], None] | None = None,
) -> list[EpisodeResult]:
    """Run every task clean (unless ``clean=False``) and under every suite entry,
    ``repeats`` times each, at most ``concurrency`` episodes at once.

    Returns the results in job order (clean first, then the suite's order; tasks, then
    repeats), whatever order they finished in. ``on_result`` sees each as it finishes.
    """
    _check_positive(repeats=repeats, concurrency=concurrency, max_steps=max_steps)
    jobs = _jobs(tasks, suite, repeats, clean)
    gate = asyncio.Semaphore(concurrency)

    async def one(job: _Job) -> EpisodeResult:
        async with gate:
            result = await _episode(
                agent,
                job,
                seed=seed,
                run_prefix=run_prefix,
                max_steps=max_steps,
                timeout_s=timeout_s,
                recorder=recorder,
            )
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(j) for j in jobs)))


def run_suite(
    agent: Agent,
    tasks: Sequence[Task],
    suite: Sequence[SuiteEntry],
    *,
    progress: bool = False,
    **options: Any,
) -> list[EpisodeResult]:
    """:func:`arun_suite` from sync code (in a new event loop), optionally with a rich
    progress bar on stderr."""
    if not progress:
        return asyncio.run(arun_suite(agent, tasks, suite, **options))
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    total = len(_jobs(tasks, suite, options.get("repeats", 1), options.get("clean", True)))
    user_hook = options.pop("on_result", None)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[ok]} correct"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        bar_id = bar.add_task(f"eval {agent.name}", total=total, ok=0)
        ok = 0

        def hook(result: EpisodeResult) -> None:
            nonlocal ok
            ok += result.correct
            bar.update(bar_id, advance=1, ok=ok)
            if user_hook is not None:
                user_hook(result)

        return asyncio.run(arun_suite(agent, tasks, suite, on_result=hook, **options))


def _check_positive(**values: int) -> None:
    from agentshield.errors import ConfigError

    for name, value in values.items():
        if value < 1:
            raise ConfigError(f"{name} must be at least 1 (got {value})")
