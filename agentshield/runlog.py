"""A Shield's memory of its runs: per run, the tool views built, the calls made and the
decisions taken — bounded, thread-safe, and the only state a Shield keeps.

Runs are kept in least-recently-used order (``max_runs`` of them); within a run the history
and the decision log are capped too, so a long-lived run id (one for a whole service) never
grows without limit.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from agentshield.decisions import Decision
from agentshield.perturbations.base import HistoryEntry
from agentshield.view import ToolView

__all__ = ["MAX_DECISIONS", "MAX_HISTORY", "RunLog"]

#: Per-run bounds.
MAX_HISTORY = 1024
MAX_DECISIONS = 4096


@dataclass
class _RunState:
    views: dict[tuple[str, ...], ToolView] = field(default_factory=dict)
    history: deque[HistoryEntry] = field(default_factory=lambda: deque(maxlen=MAX_HISTORY))
    decisions: deque[Decision] = field(default_factory=lambda: deque(maxlen=MAX_DECISIONS))


class RunLog:
    """See the module docstring."""

    def __init__(self, max_runs: int = 1024) -> None:
        self._max_runs = max_runs
        self._runs: OrderedDict[str, _RunState] = OrderedDict()
        self._lock = threading.Lock()

    def _state(self, run_id: str) -> _RunState:
        """The run's state (created, and marked most recently used); call under the lock."""
        state = self._runs.get(run_id)
        if state is None:
            state = self._runs[run_id] = _RunState()
            while len(self._runs) > self._max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return state

    def view(
        self, run_id: str, key: tuple[str, ...], build: Callable[[], ToolView]
    ) -> tuple[ToolView, bool]:
        """The run's view of tool set ``key``, built by ``build`` the first time (outside the
        lock; if two threads race, the first stored wins). Also says whether it was built."""
        with self._lock:
            cached = self._state(run_id).views.get(key)
        if cached is not None:
            return cached, False
        view = build()
        with self._lock:
            return self._state(run_id).views.setdefault(key, view), True

    def history(self, run_id: str, *, before_step: int, index: int) -> tuple[HistoryEntry, ...]:
        """Calls of earlier steps, plus earlier attempts of this very call (a retry inside one
        step, e.g. by retry middleware); never its siblings, so parallel calls stay
        independent of thread order."""
        with self._lock:
            entries = [
                h
                for h in self._state(run_id).history
                if h.step < before_step or (h.step == before_step and h.index == index)
            ]
        return tuple(sorted(entries, key=lambda h: (h.step, h.index)))

    def record(self, run_id: str, entry: HistoryEntry) -> None:
        """Add one finished call to the run's history."""
        with self._lock:
            self._state(run_id).history.append(entry)

    def log(self, decision: Decision) -> None:
        """Add one decision to its run's log."""
        with self._lock:
            self._state(decision.run_id).decisions.append(decision)

    def logged(self, run_id: str, perturbation: str, key: str) -> bool:
        """Whether ``perturbation`` already decided something about ``key`` in this run."""
        with self._lock:
            return any(
                d.perturbation == perturbation and d.key == key
                for d in self._state(run_id).decisions
            )

    def decisions(self, run_id: str | None = None) -> list[Decision]:
        """Every decision, for one run or for all runs still kept, in order."""
        with self._lock:
            if run_id is not None:
                state = self._runs.get(run_id)
                return list(state.decisions) if state else []
            return [d for s in self._runs.values() for d in s.decisions]

    def runs(self) -> list[str]:
        """The run ids still kept."""
        with self._lock:
            return list(self._runs)

    def reset(self, run_id: str | None = None) -> None:
        """Forget one run, or every run."""
        with self._lock:
            if run_id is None:
                self._runs.clear()
            else:
                self._runs.pop(run_id, None)
