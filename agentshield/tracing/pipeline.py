"""``setup_tracing``: one call from nothing to spans being stored or exported.

Where spans go, in order of precedence:

1. ``exporter=``: any OTel ``SpanExporter`` you pass (tests pass an in-memory one);
2. an OTLP/HTTP collector: ``endpoint=`` or the standard ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
   / ``OTEL_EXPORTER_OTLP_ENDPOINT`` (headers: ``headers=`` or ``OTEL_EXPORTER_OTLP_HEADERS``);
3. otherwise the embedded store, a folder of OTLP-JSON lines (``store=`` or
   ``AGENTSHIELD_TRACE_DIR``, default ``.agentshield/traces``).

``store=`` together with a collector writes to both. Each destination gets its own
:class:`~agentshield.tracing.processor.QueueSpanProcessor`: bounded, never blocking, counting.
With your own ``tracer_provider`` the processors are added to it (and shutting the handle
down stops only ours); otherwise a new provider is created, and made global with
``set_global=True``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from agentshield import settings
from agentshield.tracing.capture import Redactor
from agentshield.tracing.processor import QueueSpanProcessor, TracingStats
from agentshield.tracing.recorder import Recorder
from agentshield.tracing.store import FsyncPolicy, TraceStoreExporter

__all__ = ["TracingHandle", "setup_tracing"]

_TRACES_PATH = "/v1/traces"


class TracingHandle:
    """What :func:`setup_tracing` set up: the provider, a Recorder, the counts, shutdown."""

    def __init__(
        self,
        provider: TracerProvider,
        processors: list[QueueSpanProcessor],
        recorder: Recorder,
        *,
        store_path: Path | None,
        endpoint: str | None,
        owns_provider: bool,
        shutdown_timeout_s: float,
    ) -> None:
        self.tracer_provider = provider
        self.processors = processors
        self.recorder = recorder
        self.store_path = store_path
        self.endpoint = endpoint
        self._owns_provider = owns_provider
        self._shutdown_timeout_s = shutdown_timeout_s
        self._closed = False

    def stats(self) -> TracingStats:
        """Spans ended, exported, failed, dropped and pending, plus internal errors.

        With two destinations each span is counted once per destination.
        """
        total = TracingStats(errors=self.recorder.errors)
        for p in self.processors:
            total = total + p.stats()
        return total

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        """Export everything queued; ``False`` on timeout or when an export failed."""
        return all(p.force_flush(int(timeout_s * 1000)) for p in self.processors)

    def shutdown(self, timeout_s: float | None = None) -> TracingStats:
        """Flush within the deadline, stop the workers, close the exporters; return the counts."""
        if not self._closed:
            self._closed = True
            deadline = self._shutdown_timeout_s if timeout_s is None else timeout_s
            for p in self.processors:
                p.shutdown(deadline)
            if self._owns_provider:
                self.tracer_provider.shutdown()
        return self.stats()

    def __enter__(self) -> TracingHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()


def _traces_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(_TRACES_PATH) else endpoint + _TRACES_PATH


def setup_tracing(
    *,
    service_name: str = "agentshield",
    exporter: SpanExporter | None = None,
    endpoint: str | None = None,
    headers: Mapping[str, str] | None = None,
    store: str | os.PathLike[str] | None = None,
    tracer_provider: TracerProvider | None = None,
    set_global: bool = False,
    capture_content: bool | None = None,
    redactor: Redactor | bool | None = True,
    control_flow: tuple[type[BaseException], ...] = (),
    max_queue_size: int = 2048,
    max_export_batch_size: int = 512,
    schedule_delay_s: float = 0.5,
    shutdown_timeout_s: float = 5.0,
    max_file_bytes: int = 64 * 1024 * 1024,
    fsync: FsyncPolicy = "flush",
    meter_provider: MeterProvider | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
) -> TracingHandle:
    """Configure span export and return a handle with a ready :class:`Recorder`.

    Args:
        service_name: ``service.name`` of a provider we create.
        exporter: Send spans here instead of a collector or the store.
        endpoint: OTLP/HTTP collector URL (``/v1/traces`` is appended when missing).
        headers: Extra HTTP headers for the collector (e.g. an experiment id or API key).
        store: The embedded store's folder; used by default when no collector is configured.
        tracer_provider: Add our processors to this SDK provider instead of creating one.
        set_global: Make a provider we create the global one.
        capture_content: Record content (``None``: read ``AGENTSHIELD_CAPTURE_CONTENT``).
        redactor: Redaction for content (``True``: the built-in rules).
        control_flow: Exception types the Recorder treats as control flow, not errors.
        max_queue_size: Spans queued at most per destination before dropping (counted).
        max_export_batch_size: Spans per export call.
        schedule_delay_s: The longest a span waits in the queue.
        shutdown_timeout_s: How long shutdown may take to flush.
        max_file_bytes: The store's file-rotation size.
        fsync: The store's fsync policy (see :mod:`agentshield.tracing.store`).
        meter_provider: For the drop / failure counters (the global one when ``None``).
        resource_attributes: Extra resource attributes for a provider we create.

    Raises:
        ConfigError: An invalid size, delay or fsync policy.
    """
    exporters: list[SpanExporter] = []
    store_path: Path | None = None
    url: str | None = None
    if exporter is not None:
        exporters.append(exporter)
    else:
        env_endpoint = settings.otlp_traces_endpoint()
        if endpoint is not None or env_endpoint is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # Without an explicit endpoint the exporter resolves the standard variables itself.
            url = _traces_url(endpoint) if endpoint is not None else None
            exporters.append(OTLPSpanExporter(endpoint=url, headers=dict(headers or {}) or None))
            url = url or env_endpoint
        if store is not None or not exporters:
            store_path = Path(store) if store is not None else settings.trace_dir()
            exporters.append(
                TraceStoreExporter(store_path, max_file_bytes=max_file_bytes, fsync=fsync)
            )
    processors = [
        QueueSpanProcessor(
            e,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay_s=schedule_delay_s,
            meter_provider=meter_provider,
        )
        for e in exporters
    ]
    owns = tracer_provider is None
    if tracer_provider is None:
        resource = Resource.create({"service.name": service_name, **(resource_attributes or {})})
        tracer_provider = TracerProvider(resource=resource)
        if set_global:
            trace.set_tracer_provider(tracer_provider)
    for p in processors:
        tracer_provider.add_span_processor(p)
    recorder = Recorder(
        tracer_provider=tracer_provider,
        capture_content=capture_content,
        redactor=redactor,
        control_flow=control_flow,
    )
    return TracingHandle(
        tracer_provider,
        processors,
        recorder,
        store_path=store_path,
        endpoint=url,
        owns_provider=owns,
        shutdown_timeout_s=shutdown_timeout_s,
    )
