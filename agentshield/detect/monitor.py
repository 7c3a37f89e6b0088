"""The Monitor: runs detectors over a live stream of runs and reports what they find.

Feed it the four surfaces of each run — :meth:`Monitor.observe_tools`, ``observe_query``,
``observe_call``, ``observe_answer`` — from a :class:`~agentshield.Shield` (``Shield(...,
detectors=monitor)`` does it for you), a framework adapter, the
:class:`~agentshield.detect.DetectionSpanProcessor`, or offline replay. Each detection is
reported once per run and (detector, verdict, subject), and goes to four places:

* a span event (``agentshield.detection``) through the optional
  :class:`~agentshield.tracing.Recorder`, on the span current when it was found;
* the OTel counter ``agentshield.detections`` with ``detector`` and ``tier`` attributes;
* the bounded log :meth:`Monitor.detections`;
* the optional ``on_detection`` callback.

Detectors fail open: an exception in a detector, the recorder, the meter or the callback
is logged (the first few times per detector) and counted in :attr:`Monitor.errors` and the
``agentshield.detector.errors`` counter, never raised. Memory is bounded: at most
``max_runs`` runs are kept (oldest dropped), each with bounded history, and the log keeps
the last ``max_log`` detections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics

from agentshield.detect.base import (
    CallEvent,
    DetectContext,
    Detection,
    Detector,
    Finding,
    RunState,
    diff_tools,
)
from agentshield.detect.profile import Profile
from agentshield.detect.registry import DetectorSpec, build
from agentshield.errors import ConfigError
from agentshield.trajectory import ToolCall, ToolSpec

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from agentshield.tracing.recorder import Recorder

_log = logging.getLogger(__name__)

__all__ = ["Monitor"]

MAX_FIRED = 1024
MAX_QUERIES = 16
_LOGGED_ERRORS = 5
_HOOKS = ("on_tools", "on_query", "on_call", "on_answer")
#: A detector, one of its hooks (bound) and its state.
_Bound = tuple[Detector, Callable[..., Sequence[Finding]], Any]


class Monitor:
    """Runs detectors against a baseline :class:`Profile`; see the module docstring.

    Args:
        profile: The baseline.
        detectors: Detector instances, names or spec dicts; ``None``: every registered one.
        recorder: Where detections become span events (``None``: no span events).
        meter_provider: For the counters; the global one when ``None``.
        on_detection: Called with each new :class:`Detection` (its errors are counted).
        clock: The clock the Shield times tool calls with (a fake one in tests).
        max_runs: Runs whose state is kept.
        max_log: Detections kept in the log.

    Raises:
        ConfigError: An unknown detector name or invalid parameter, or bad bounds.
    """

    def __init__(
        self,
        profile: Profile,
        detectors: Iterable[DetectorSpec] | None = None,
        *,
        recorder: Recorder | None = None,
        meter_provider: MeterProvider | None = None,
        on_detection: Callable[[Detection], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        max_runs: int = 1024,
        max_log: int = 4096,
    ) -> None:
        if max_runs < 1 or max_log < 1:
            raise ConfigError("Monitor needs max_runs >= 1 and max_log >= 1")
        self.profile = profile
        self.detectors: tuple[Detector, ...] = build(detectors)
        self.recorder = recorder
        self.on_detection = on_detection
        self.clock = clock
        self._max_runs = max_runs
        self._states: list[Any] = []
        self._by_hook: dict[str, list[_Bound]] = {}
        self._new_states()
        self._runs: OrderedDict[str, RunState] = OrderedDict()
        self._log: deque[Detection] = deque(maxlen=max_log)
        self._counts: dict[tuple[str, int], int] = {}
        self._errors: dict[str, int] = {}
        self._lock = threading.RLock()
        meter = (meter_provider or metrics.get_meter_provider()).get_meter("agentshield.detect")
        self._counter = meter.create_counter(
            "agentshield.detections", unit="{detection}", description="shifts detected"
        )
        self._error_counter = meter.create_counter(
            "agentshield.detector.errors", unit="{error}", description="detector failures"
        )

    # Feeding ----------------------------------------------------------------------------------

    def observe_tools(self, run_id: str, tools: Sequence[ToolSpec]) -> list[Detection]:
        """The tool set shown to the model in a run (repeats of the same set are free)."""
        with self._lock:
            run = self._run(run_id)
            if run.tools is not None and tuple(run.tools.values()) == tuple(tools):
                return []
            try:
                run.diff = diff_tools(self.profile, tools) if self.profile.tools else None
            except Exception:
                self._failed("diff_tools")
            found = self._dispatch("on_tools", run_id, run, "tools", tools)
            run.tools = {t.name: t for t in tools}
            return found

    def observe_query(self, run_id: str, index: int, text: str) -> list[Detection]:
        """The ``index``-th user message of a run (each index is looked at once)."""
        with self._lock:
            run = self._run(run_id)
            if index < len(run.queries) or len(run.queries) >= MAX_QUERIES:
                return []
            found = self._dispatch("on_query", run_id, run, f"q{index}", index, text)
            run.queries.append(text)
            return found

    def observe_call(
        self,
        run_id: str,
        call: ToolCall,
        content: str | None,
        *,
        is_error: bool = False,
        latency_s: float | None = None,
        key: str = "",
    ) -> list[Detection]:
        """One tool call as the model made it, and the observation it got back (``content``
        ``None`` when it was not captured: only order, errors and latency are judged)."""
        with self._lock:
            run = self._run(run_id)
            event = CallEvent(call, content or "", is_error, latency_s, key, content is not None)
            found = self._dispatch("on_call", run_id, run, key or call.id, event)
            try:
                run.remember_call(event)
            except Exception:
                self._failed("remember_call")
            return found

    def observe_answer(self, run_id: str, text: str) -> list[Detection]:
        """The final answer of a run."""
        with self._lock:
            run = self._run(run_id)
            found = self._dispatch("on_answer", run_id, run, "answer", text)
            run.answered = True
            return found

    # Reading ----------------------------------------------------------------------------------

    def detections(self, run_id: str | None = None) -> list[Detection]:
        """Detections still in the log, for one run or all, oldest first."""
        with self._lock:
            return [d for d in self._log if run_id is None or d.run_id == run_id]

    def counts(self) -> dict[tuple[str, int], int]:
        """Detections so far by ``(detector, tier)`` (also the OTel counter's values)."""
        with self._lock:
            return dict(self._counts)

    @property
    def errors(self) -> int:
        """Internal failures logged and swallowed so far."""
        with self._lock:
            return sum(self._errors.values())

    def error_counts(self) -> dict[str, int]:
        """Failures by detector (or by the part of the monitor that failed)."""
        with self._lock:
            return dict(self._errors)

    def runs(self) -> list[str]:
        """The run ids whose state is kept."""
        with self._lock:
            return list(self._runs)

    def forget(self, run_id: str) -> None:
        """Drop one run's state (its detections stay in the log)."""
        with self._lock:
            self._runs.pop(run_id, None)

    def reset(self) -> None:
        """Forget every run, the log, the counts and the streaming statistics."""
        with self._lock:
            self._runs.clear()
            self._log.clear()
            self._counts.clear()
            self._new_states()

    # Internals --------------------------------------------------------------------------------

    def _new_states(self) -> None:
        """Fresh detector states, and per surface the detectors that look at it with their
        bound hooks and states (no lookups on the per-call path)."""
        self._states = [d.new_state() for d in self.detectors]
        self._by_hook = {
            hook: [
                (d, getattr(d, hook), state)
                for d, state in zip(self.detectors, self._states, strict=True)
                if getattr(type(d), hook) is not getattr(Detector, hook)
            ]
            for hook in _HOOKS
        }

    def _run(self, run_id: str) -> RunState:
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = RunState()
            while len(self._runs) > self._max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return run

    def _dispatch(
        self, hook: str, run_id: str, run: RunState, key: str, *args: Any
    ) -> list[Detection]:
        found: list[Detection] = []
        ctx = DetectContext(self.profile, run_id, run)
        for detector, method, state in self._by_hook[hook]:
            try:
                ctx.state = state
                findings = method(ctx, *args)
            except Exception:
                self._failed(detector.name)
                continue
            for finding in findings:
                mark = (detector.name, finding.verdict, finding.subject)
                if mark in run.fired:
                    continue
                if len(run.fired) < MAX_FIRED:
                    run.fired.add(mark)
                tier = int(finding.tier if finding.tier is not None else detector.tier)
                found.append(
                    Detection(
                        run_id,
                        key,
                        detector.name,
                        tier,
                        finding.verdict,
                        float(finding.score),
                        dict(finding.detail),
                    )
                )
        for detection in found:
            self._emit(detection)
        return found

    def _emit(self, d: Detection) -> None:
        self._log.append(d)
        self._counts[(d.detector, d.tier)] = self._counts.get((d.detector, d.tier), 0) + 1
        try:
            self._counter.add(1, {"detector": d.detector, "tier": d.tier})
        except Exception:
            self._failed("metrics")
        if self.recorder is not None:
            try:
                self.recorder.record_detection(
                    d.run_id,
                    detector=d.detector,
                    verdict=d.verdict,
                    tier=d.tier,
                    score=d.score,
                    detail=_detail(d.key, d.detail),
                )
            except Exception:
                self._failed("recorder")
        if self.on_detection is not None:
            try:
                self.on_detection(d)
            except Exception:
                self._failed("on_detection")

    def _failed(self, where: str) -> None:
        count = self._errors.get(where, 0) + 1
        self._errors[where] = count
        if count <= _LOGGED_ERRORS:
            _log.exception(
                "agentshield detection: %s failed (failure %d, failing open)", where, count
            )
        try:
            self._error_counter.add(1, {"detector": where})
        except Exception:
            _log.debug("could not count a detector failure", exc_info=True)


def _detail(key: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": key, **detail}
