"""The Shield: the catalogue, a seed, the decision log, and the two drivers.

Framework adapters call four entry points, in the order a run happens:

* :meth:`Shield.view` — the tools to show the model (schema shifts), cached per run;
* :meth:`Shield.rewrite_query` — one user message as the model should see it;
* :meth:`Shield.call_tool` / :meth:`Shield.acall_tool` — run one tool call the model made,
  carrying out the perturbations' effects (the sync and async drivers, side by side below);
* :meth:`Shield.decisions` — afterwards, what was done to the run, and why.

With ``detectors=`` (a :class:`~agentshield.detect.Monitor`) the Shield also shows the monitor
every tool set, user message and tool call as the model experiences them, and
:meth:`Shield.detections` returns what it found; without it nothing changes.

Every decision derives from (seed, run id, key) only — the key of a tool is its name, of a
user message its index, of a tool call ``"<step>:<index>"`` — so a run replays exactly under
concurrency and parallel tool calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentshield._rng import derive_seed
from agentshield.decisions import Decision
from agentshield.effects import Delay, Raise, Respond, Result, Rewrite
from agentshield.perturbations.base import CallContext, HistoryEntry, Perturbation, RunContext
from agentshield.perturbations.registry import from_spec
from agentshield.plan import UNKNOWN_TOOL_TEMPLATE, AExecute, CallPlan, Execute
from agentshield.runlog import RunLog
from agentshield.selectors import Target
from agentshield.trajectory import ToolCall, ToolSpec
from agentshield.view import ShownTool, ToolView, translate_names

if TYPE_CHECKING:
    from agentshield.detect.base import Detection
    from agentshield.detect.monitor import Monitor


class Shield:
    """Holds a perturbation catalogue and a seed, and applies them to agent runs.

    Args:
        perturbations: Perturbation instances or spec dicts (``{"name": ..., **params}``).
        seed: The base seed; each perturbation derives its own from it unless given one.
        tools: The agent's real tool names, if known now: selectors and parameters naming
            other tools fail here instead of at the first run.
        sleep: How the sync driver waits (inject a fake clock in tests).
        asleep: How the async driver waits.
        unknown_tool_template: The message for a call to a tool that is not shown
            (``{requested_tool}`` and ``{available_tools}`` are filled in).
        max_runs: How many runs' state and decisions to keep (oldest dropped first).
        detectors: A :class:`~agentshield.detect.Monitor` to show every run to (shift
            detection in production; injection may be off). ``None``: no detection.

    Raises:
        ConfigError: An unknown perturbation name, an invalid parameter or an unknown tool.
    """

    def __init__(
        self,
        perturbations: Iterable[Perturbation | Mapping[str, Any]] = (),
        *,
        seed: int = 0,
        tools: Iterable[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        unknown_tool_template: str = UNKNOWN_TOOL_TEMPLATE,
        max_runs: int = 1024,
        detectors: Monitor | None = None,
    ) -> None:
        self._monitor = detectors
        self._perturbations = tuple(from_spec(p) for p in perturbations)
        self.seed = seed
        self._seeds = tuple(
            p.seed if p.seed is not None else derive_seed(seed, i, p.name)
            for i, p in enumerate(self._perturbations)
        )
        self._sleep = sleep
        self._asleep = asleep
        self._unknown_tool_template = unknown_tool_template
        self._log_book = RunLog(max_runs)
        self._known_tools: tuple[str, ...] | None = None
        if tools is not None:
            self.bind_tools(tools)

    # Configuration -------------------------------------------------------------------------

    @property
    def perturbations(self) -> tuple[Perturbation, ...]:
        """The catalogue, in the order it is applied."""
        return self._perturbations

    @property
    def active(self) -> bool:
        """Whether any perturbation or a detection monitor is configured (adapters pass
        calls straight through when not)."""
        return bool(self._perturbations) or self._monitor is not None

    @property
    def monitor(self) -> Monitor | None:
        """The detection monitor given as ``detectors``, if any."""
        return self._monitor

    def seed_of(self, perturbation: Perturbation) -> int:
        """The effective seed of one perturbation of this Shield."""
        return self._seeds[self._index(perturbation)]

    def bind_tools(self, tools: Iterable[str]) -> None:
        """Validate every perturbation against the agent's real tool names."""
        names = tuple(tools)
        for p in self._perturbations:
            p.validate_tools(names)
        self._known_tools = names

    # Runtime entry points --------------------------------------------------------------------

    def view(self, run_id: str, tools: Sequence[ToolSpec]) -> ToolView:
        """The tool view shown to the model in this run (built once per run and tool set)."""
        cache_key = tuple(t.name for t in tools)
        if self._known_tools is None and self._perturbations:
            self.bind_tools(cache_key)

        def build() -> ToolView:
            view = ToolView.identity(list(tools))
            for p, seed in zip(self._perturbations, self._seeds, strict=True):
                ctx = RunContext(run_id, seed, p.name, cache_key)
                before = view
                view = p.shape_tools(view, ctx)
                if view != before:
                    diff = _view_diff(before, view)
                    self._log(run_id, p, seed, "tools", "*", "shape_tools", diff)
            return view.with_shown_names_in_descriptions()

        view, built = self._log_book.view(run_id, cache_key, build)
        if not built:
            return view
        if self._monitor is not None:
            self._detect("observe_tools", run_id, view.specs)
        return view

    def rewrite_query(self, run_id: str, index: int, text: str) -> str:
        """The ``index``-th user message of the run (from 0) as the model should see it."""
        for p, seed in zip(self._perturbations, self._seeds, strict=True):
            target = Target("query", run_id, f"q{index}", seed, p.name)
            if not p.when(target):
                continue
            new = p.rewrite_query(text, target)
            if new != text and not self._logged(run_id, p.name, target.key):
                self._log(run_id, p, seed, "query", target.key, "rewrite_query", {"index": index})
            text = new
        if self._monitor is not None:
            self._detect("observe_query", run_id, index, text)
        return text

    def reply(self, run_id: str, index: int, original: str) -> str | None:
        """Offline: the right reply to the ``index``-th user message, if a shift defines one."""
        rewritten = original
        for p, seed in zip(self._perturbations, self._seeds, strict=True):
            target = Target("query", run_id, f"q{index}", seed, p.name)
            if not p.when(target):
                continue
            new = p.rewrite_query(rewritten, target)
            answer = p.reply(rewritten, new, target)
            rewritten = new
            if answer is not None:
                return answer
        return None

    def plan_call(
        self,
        run_id: str,
        call: ToolCall,
        tools: Sequence[ToolSpec],
        *,
        step: int,
        index: int,
        dry_run: bool = False,
    ) -> CallPlan:
        """Decide what happens to one tool call (pure apart from the decision log).

        With ``dry_run`` nothing is logged (offline look-ahead).
        """
        log = (lambda *a: None) if dry_run else self._log
        view = self.view(run_id, tools)
        shown = view.find(call.name)
        real = shown.real if shown is not None and shown.responder is None else None
        args: Mapping[str, Any] = shown.to_real_args(call.args) if shown is not None else call.args
        key = f"{step}:{index}"
        outcome: Respond | Raise | None = None
        failed_by: Perturbation | None = None
        if shown is None or (shown.real is None and shown.responder is None):
            outcome = Respond(self._unknown_tool(call.name, view))
            failed_by = self._owner(shown)
        elif shown.responder is not None:
            outcome = shown.responder(call.args)
            failed_by = self._owner(shown) if outcome.is_error else None
        elif stale := shown.stale_args(call.args):
            params = ", ".join(shown.spec.properties)
            outcome = Respond(
                f"Error: {call.name} got unexpected argument(s) {', '.join(stale)}; "
                f"its parameters are: {params}.",
                is_error=True,
            )
        # Only perturbations read the history (a monitor-only Shield skips the scan).
        history = (
            self._history(run_id, before_step=step, index=index) if self._perturbations else ()
        )
        delay = 0.0
        selected: list[tuple[Perturbation, CallContext]] = []
        failed_ctx: CallContext | None = None
        for p, seed in zip(self._perturbations, self._seeds, strict=True):
            target = Target("call", run_id, key, seed, p.name, tool=real or call.name, step=step)
            chosen = p.when(target)
            if not chosen and p is not failed_by:
                continue
            ctx = CallContext(target, call, real, args, view, history)
            if p is failed_by:
                failed_ctx = ctx
            if not chosen:
                continue
            selected.append((p, ctx))
            if outcome is not None:
                continue
            for effect in p.before_call(ctx):
                if isinstance(effect, Delay):
                    delay += effect.seconds
                    log(run_id, p, seed, "call", key, "delay", {"seconds": effect.seconds})
                elif isinstance(effect, Rewrite):
                    args = effect.args
                    ctx = CallContext(target, call, real, args, view, history)
                    selected[-1] = (p, ctx)
                    log(run_id, p, seed, "call", key, "rewrite_args", {})
                else:
                    outcome, failed_by, failed_ctx = effect, p, ctx
                    action = "raise" if isinstance(effect, Raise) else "respond"
                    log(run_id, p, seed, "call", key, action, {"tool": call.name})
                    break
        return CallPlan(
            run_id,
            call,
            step,
            index,
            real,
            dict(args),
            view,
            delay,
            outcome,
            failed_by,
            failed_ctx,
            tuple(selected),
            self._monitor.clock() if self._monitor is not None and not dry_run else None,
        )

    def finish_call(self, plan: CallPlan, result: Result) -> Result:
        """Apply observation shifts to a real result, translate names, record the call."""
        if plan.outcome is None:
            for p, ctx in plan.selected:
                new = p.after_call(ctx, result)
                if new != result:
                    self._log(
                        plan.run_id, p, ctx.target.seed, "observation", plan.key, "rewrite", {}
                    )
                result = new
            # Only a real tool's output speaks real names; responses (unknown-tool errors,
            # fault messages) are already written in the shown names.
            result = Result(translate_names(result.content, plan.view.renames()), result.is_error)
        self._record(plan, result)
        self._observe_call(plan, result)
        return result

    # The two drivers ---------------------------------------------------------------------------

    def call_tool(
        self,
        run_id: str,
        call: ToolCall,
        tools: Sequence[ToolSpec],
        execute: Execute,
        *,
        step: int,
        index: int,
    ) -> Result:
        """Run one tool call with the perturbations' effects (sync driver).

        ``execute(real_name, real_args)`` runs the real tool. Injected faults are raised.
        """
        plan = self.plan_call(run_id, call, tools, step=step, index=index)
        if plan.delay_s:
            self._sleep(plan.delay_s)
        return self.finish_call(plan, self._outcome(plan) or execute(plan.tool or "", plan.args))

    async def acall_tool(
        self,
        run_id: str,
        call: ToolCall,
        tools: Sequence[ToolSpec],
        execute: AExecute,
        *,
        step: int,
        index: int,
    ) -> Result:
        """Run one tool call with the perturbations' effects (async driver)."""
        plan = self.plan_call(run_id, call, tools, step=step, index=index)
        if plan.delay_s:
            await self._asleep(plan.delay_s)
        return self.finish_call(
            plan, self._outcome(plan) or await execute(plan.tool or "", plan.args)
        )

    def _outcome(self, plan: CallPlan) -> Result | None:
        """The non-running outcome of a plan: a response, or the injected fault raised."""
        if isinstance(plan.outcome, Raise):
            failed = Result(str(plan.outcome.error), is_error=True)
            self._record(plan, failed)
            self._observe_call(plan, failed)
            raise plan.outcome.error
        if isinstance(plan.outcome, Respond):
            return Result(plan.outcome.content, plan.outcome.is_error)
        return None

    # The log ---------------------------------------------------------------------------------

    def decisions(self, run_id: str | None = None) -> list[Decision]:
        """Every decision taken, for one run or for all runs still kept, in order."""
        return self._log_book.decisions(run_id)

    def detections(self, run_id: str | None = None) -> list[Detection]:
        """The shifts the monitor detected, for one run or for all runs still logged."""
        return [] if self._monitor is None else self._monitor.detections(run_id)

    def observe_answer(self, run_id: str, text: str) -> None:
        """Show the monitor a run's final answer (adapters call it; a no-op without one)."""
        if self._monitor is not None:
            self._detect("observe_answer", run_id, text)

    def runs(self) -> list[str]:
        """The run ids still kept."""
        return self._log_book.runs()

    def reset(self, run_id: str | None = None) -> None:
        """Forget one run's state and decisions, or every run's."""
        self._log_book.reset(run_id)

    # Internals -------------------------------------------------------------------------------

    def _index(self, perturbation: Perturbation) -> int:
        for i, p in enumerate(self._perturbations):
            if p is perturbation:
                return i
        raise ValueError(f"{perturbation!r} is not part of this Shield")

    def _owner(self, shown: ShownTool | None) -> Perturbation | None:
        if shown is None or shown.owner is None:
            return None
        return next((p for p in self._perturbations if p.name == shown.owner), None)

    def _unknown_tool(self, name: str, view: ToolView) -> str:
        return self._unknown_tool_template.format(
            requested_tool=name, available_tools=", ".join(view.names)
        )

    def _history(self, run_id: str, *, before_step: int, index: int) -> tuple[HistoryEntry, ...]:
        return self._log_book.history(run_id, before_step=before_step, index=index)

    def _record(self, plan: CallPlan, result: Result) -> None:
        entry = HistoryEntry(
            plan.step,
            plan.index,
            plan.call.name,
            plan.tool,
            result.is_error,
            plan.failed_by.name if plan.failed_by is not None else None,
        )
        self._log_book.record(plan.run_id, entry)

    def _observe_call(self, plan: CallPlan, result: Result) -> None:
        monitor = self._monitor
        if monitor is None:
            return
        latency = None if plan.started_s is None else monitor.clock() - plan.started_s
        self._detect(
            "observe_call",
            plan.run_id,
            plan.call,
            result.content,
            is_error=result.is_error,
            latency_s=latency,
            key=plan.key,
        )

    def _detect(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Call the monitor; detection never raises into the agent."""
        monitor = self._monitor
        assert monitor is not None
        try:
            getattr(monitor, method)(*args, **kwargs)
        except Exception:
            monitor._failed("shield")

    def _logged(self, run_id: str, perturbation: str, key: str) -> bool:
        return self._log_book.logged(run_id, perturbation, key)

    def _log(
        self,
        run_id: str,
        p: Perturbation,
        seed: int,
        surface: str,
        key: str,
        action: str,
        detail: Mapping[str, Any],
    ) -> None:
        decision = Decision(
            run_id, surface, key, p.name, int(p.tier), p.params(), seed, action, detail
        )
        self._log_book.log(decision)


def _view_diff(before: ToolView, after: ToolView) -> dict[str, Any]:
    return {
        "before": before.names,
        "after": after.names,
        "renamed": after.renames(),
    }
