"""A batching span processor that never blocks the agent and counts everything it loses.

Like the SDK's ``BatchSpanProcessor`` (bounded queue, a worker thread, batches), with two
differences that matter in production:

* every span is accounted for: ``ended == exported + failed + dropped + pending``. *Dropped*
  spans found the queue full (or were still queued when the shutdown deadline passed);
  *failed* spans were handed to the exporter, which returned ``FAILURE`` or raised — the
  SDK's ``force_flush()`` reports success in that case, we check each result;
* :meth:`QueueSpanProcessor.force_flush` returns ``False`` when anything failed to export
  during the flush, and shutdown waits at most its deadline.

``on_end`` costs one short lock and an append; a full queue costs a counter increment.
The counts are also reported as OTel observable counters (``agentshield.tracing.spans.*``)
through the given or global ``MeterProvider``, read only when metrics are collected.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opentelemetry import metrics
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentshield.errors import ConfigError

_log = logging.getLogger(__name__)

__all__ = ["QueueSpanProcessor", "TracingStats"]


@dataclass(frozen=True)
class TracingStats:
    """What happened to the spans that ended (and to our own internal errors)."""

    ended: int = 0
    exported: int = 0
    failed: int = 0
    dropped: int = 0
    pending: int = 0
    errors: int = 0

    def __add__(self, other: TracingStats) -> TracingStats:
        return TracingStats(*(a + b for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple[int, ...]:
        return (self.ended, self.exported, self.failed, self.dropped, self.pending, self.errors)

    @property
    def lost(self) -> int:
        """Spans that will never reach the backend (dropped + failed)."""
        return self.dropped + self.failed


class QueueSpanProcessor(SpanProcessor):
    """Queue ended spans and export them in batches from a worker thread.

    Args:
        exporter: Where batches go.
        max_queue_size: Spans held at most; beyond it new spans are dropped and counted.
        max_export_batch_size: Spans per ``export`` call.
        schedule_delay_s: The longest a span waits before its batch is exported.
        meter_provider: For the observable counters; the global one when ``None``.

    Raises:
        ConfigError: A non-positive size or delay, or a batch larger than the queue.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int = 2048,
        max_export_batch_size: int = 512,
        schedule_delay_s: float = 0.5,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        if max_queue_size <= 0 or max_export_batch_size <= 0 or schedule_delay_s <= 0:
            raise ConfigError("queue size, batch size and schedule delay must be positive")
        if max_export_batch_size > max_queue_size:
            raise ConfigError(
                f"max_export_batch_size ({max_export_batch_size}) must not exceed "
                f"max_queue_size ({max_queue_size})"
            )
        self.exporter = exporter
        self.max_queue_size = max_queue_size
        self.max_export_batch_size = max_export_batch_size
        self.schedule_delay_s = schedule_delay_s
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._ended = self._exported = self._failed = self._dropped = self._errors = 0
        self._flush_requested = False
        self._stopping = False
        self._shutdown = False
        self._start_worker()
        self._register_metrics(meter_provider or metrics.get_meter_provider())
        if hasattr(os, "register_at_fork"):
            ref = weakref.WeakMethod(self._after_fork)

            def after_fork() -> None:
                method = ref()
                if method is not None:
                    method()

            os.register_at_fork(after_in_child=after_fork)

    # SpanProcessor ------------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the span, or count it as dropped when the queue is full. Never blocks."""
        if self._shutdown or not span.context.trace_flags.sampled:
            return
        with self._lock:
            self._ended += 1
            if len(self._queue) >= self.max_queue_size:
                self._dropped += 1
                return
            self._queue.append(span)
            full = len(self._queue) >= self.max_export_batch_size
        if full and not self._wake.is_set():
            self._wake.set()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything queued; ``False`` on timeout or when any export failed meanwhile."""
        deadline = time.monotonic() + timeout_millis / 1000
        failed_before = self.stats().failed
        with self._idle:
            self._flush_requested = True
            self._wake.set()
            while self._flush_requested or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or not self._worker.is_alive():
                    return False
                self._idle.wait(left)
        return self.stats().failed == failed_before and self.exporter.force_flush(
            max(0, int((deadline - time.monotonic()) * 1000))
        )

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Flush within ``timeout_s``, stop the worker, shut the exporter down.

        Spans still queued at the deadline are counted as dropped.
        """
        if self._shutdown:
            return
        self.force_flush(int(timeout_s * 1000))
        self._shutdown = True
        self._stopping = True
        self._wake.set()
        self._worker.join(max(0.0, timeout_s))
        with self._lock:
            self._dropped += len(self._queue)
            self._queue.clear()
        try:
            self.exporter.shutdown()
        except Exception:
            self._count_error("exporter shutdown failed")

    # Accounting ---------------------------------------------------------------------------------

    def stats(self) -> TracingStats:
        """A consistent snapshot of the counts."""
        with self._lock:
            return TracingStats(
                ended=self._ended,
                exported=self._exported,
                failed=self._failed,
                dropped=self._dropped,
                pending=len(self._queue) + self._in_flight,
                errors=self._errors,
            )

    def _count_error(self, what: str) -> None:
        _log.exception("agentshield tracing: %s", what)
        with self._lock:
            self._errors += 1

    def _register_metrics(self, provider: MeterProvider) -> None:
        meter = provider.get_meter("agentshield.tracing")
        ref = weakref.ref(self)

        def reader(field: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
            def callback(options: CallbackOptions) -> Iterable[Observation]:
                me = ref()
                return [] if me is None else [Observation(getattr(me.stats(), field))]

            return callback

        for field, what in (
            ("dropped", "dropped (queue full or shutdown deadline)"),
            ("failed", "whose export failed"),
            ("exported", "exported"),
        ):
            meter.create_observable_counter(
                f"agentshield.tracing.spans.{field}",
                callbacks=[reader(field)],
                unit="{span}",
                description=f"Spans {what}.",
            )

    # The worker ---------------------------------------------------------------------------------

    def _start_worker(self) -> None:
        self._worker = threading.Thread(
            target=self._run, name="agentshield-span-export", daemon=True
        )
        self._worker.start()

    def _after_fork(self) -> None:
        # The parent's worker does not exist in the child, and a lock may have been held.
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(threading.Lock())
        self._queue.clear()
        self._in_flight = 0
        self._flush_requested = False
        self._start_worker()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.schedule_delay_s)
            self._wake.clear()
            with self._idle:
                flushing = self._flush_requested
            self._drain()
            with self._idle:
                if flushing:
                    self._flush_requested = False
                self._idle.notify_all()
            if self._stopping:
                return

    def _drain(self) -> None:
        """Export what is queued now, batch by batch (spans queued meanwhile wait a turn)."""
        with self._lock:
            left = len(self._queue)
        while left > 0:
            with self._lock:
                n = min(left, len(self._queue), self.max_export_batch_size)
                if n == 0:
                    return
                batch = [self._queue.popleft() for _ in range(n)]
                self._in_flight = n
            left -= n
            ok = False
            try:
                ok = self.exporter.export(batch) is SpanExportResult.SUCCESS
            except Exception:
                self._count_error("span exporter raised")
            with self._lock:
                self._in_flight = 0
                if ok:
                    self._exported += n
                else:
                    self._failed += n
