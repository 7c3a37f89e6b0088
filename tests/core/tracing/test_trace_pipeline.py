"""The bounded processor (back-pressure, counts, deadlines) and ``setup_tracing``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from agentshield import settings
from agentshield.errors import ConfigError
from agentshield.testing import sample_trajectory
from agentshield.tracing import QueueSpanProcessor, Recorder, read_runs, setup_tracing
from agentshield.tracing.store import TraceStoreExporter
from agentshield.tracing.testing import record_trajectory


class SlowExporter(SpanExporter):
    """Takes ``delay_s`` per batch; can fail or hang on demand."""

    def __init__(
        self,
        delay_s: float = 0.0,
        *,
        result: SpanExportResult = SpanExportResult.SUCCESS,
        hang: threading.Event | None = None,
        fail_with: Exception | None = None,
    ) -> None:
        self.delay_s, self.result, self.hang, self.fail_with = delay_s, result, hang, fail_with
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.hang is not None:
            self.hang.wait(30)
        if self.fail_with is not None:
            raise self.fail_with
        time.sleep(self.delay_s)
        if self.result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        return self.result


class NullProcessor(SpanProcessor):
    """Does nothing with ended spans: what remains is the span-creation cost."""


def _burst(recorder: Recorder, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        with recorder.tool_call("r", call_id=f"c{i}", shown_name="t", args={"i": i}) as tool:
            tool.set_result("ok")
    return time.perf_counter() - start


def _provider(processor: SpanProcessor) -> TracerProvider:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    return provider


def test_back_pressure_never_slows_the_agent_and_counts_drops() -> None:
    n = 3000
    baseline_provider = _provider(NullProcessor())
    baseline = min(_burst(Recorder(tracer_provider=baseline_provider), n) for _ in range(3))
    slow = SlowExporter(delay_s=0.02)
    processor = QueueSpanProcessor(
        slow, max_queue_size=64, max_export_batch_size=16, schedule_delay_s=0.005
    )
    recorder = Recorder(tracer_provider=_provider(processor))
    burst = min(_burst(recorder, n) for _ in range(3))
    processor.shutdown(timeout_s=10)
    stats = processor.stats()
    # The burst costs about what creating the spans costs, whatever the exporter does.
    assert burst < 3 * baseline, (burst, baseline)
    assert stats.ended == 3 * n
    assert stats.exported == slow.exported > 0
    assert stats.dropped == stats.ended - stats.exported > 0
    assert stats.failed == stats.pending == stats.errors == 0


def test_failed_exports_are_counted_and_flush_says_so() -> None:
    processor = QueueSpanProcessor(SlowExporter(result=SpanExportResult.FAILURE))
    recorder = Recorder(tracer_provider=_provider(processor))
    _burst(recorder, 10)
    assert processor.force_flush(5000) is False
    assert processor.stats().failed == 10 and processor.stats().exported == 0
    processor.shutdown()


def test_exporter_exceptions_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    processor = QueueSpanProcessor(SlowExporter(fail_with=RuntimeError("boom")))
    _burst(Recorder(tracer_provider=_provider(processor)), 5)
    assert processor.force_flush(5000) is False
    stats = processor.stats()
    assert (stats.failed, stats.errors) == (5, 1)
    assert "boom" in caplog.text
    processor.shutdown()


def test_shutdown_keeps_its_deadline() -> None:
    release = threading.Event()
    processor = QueueSpanProcessor(
        SlowExporter(hang=release), max_export_batch_size=4, schedule_delay_s=0.005
    )
    _burst(Recorder(tracer_provider=_provider(processor)), 20)
    start = time.perf_counter()
    processor.shutdown(timeout_s=0.2)
    elapsed = time.perf_counter() - start
    release.set()
    stats = processor.stats()
    assert elapsed < 2.0
    assert stats.ended == 20
    assert stats.ended == stats.exported + stats.failed + stats.dropped + stats.pending
    assert stats.dropped >= 12  # everything still queued at the deadline


def test_counts_are_metrics() -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    processor = QueueSpanProcessor(
        SlowExporter(delay_s=0.05), max_queue_size=4, max_export_batch_size=4, meter_provider=meters
    )
    _burst(Recorder(tracer_provider=_provider(processor)), 50)
    processor.shutdown(timeout_s=5)
    data = reader.get_metrics_data()
    assert data is not None
    values = {
        m.name: m.data.data_points[0].value  # type: ignore[union-attr]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    stats = processor.stats()
    assert values["agentshield.tracing.spans.dropped"] == stats.dropped > 0
    assert values["agentshield.tracing.spans.exported"] == stats.exported
    assert values["agentshield.tracing.spans.failed"] == 0
    meters.shutdown()


def test_processor_configuration_is_validated() -> None:
    with pytest.raises(ConfigError, match="must not exceed"):
        QueueSpanProcessor(SlowExporter(), max_queue_size=4, max_export_batch_size=8)
    with pytest.raises(ConfigError, match="positive"):
        QueueSpanProcessor(SlowExporter(), schedule_delay_s=0)


@pytest.fixture
def no_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        settings.OTLP_ENDPOINT_ENV,
        settings.OTLP_TRACES_ENDPOINT_ENV,
        settings.CAPTURE_CONTENT_ENV,
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_collector")
def test_default_is_the_local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.TRACE_DIR_ENV, str(tmp_path / "store"))
    with setup_tracing() as handle:
        assert handle.store_path == tmp_path / "store" and handle.endpoint is None
        assert handle.recorder.policy.capture is False
        record_trajectory(handle.recorder, sample_trajectory())
        assert handle.force_flush() is True
    stats = handle.stats()
    assert (stats.ended, stats.exported, stats.dropped, stats.failed) == (8, 8, 0, 0)
    runs, report = read_runs(tmp_path / "store")
    assert [r.run_id for r in runs] == ["run-1"] and not report.problems


@pytest.mark.usefixtures("no_collector")
def test_custom_exporter_and_user_provider() -> None:
    memory = InMemorySpanExporter()
    theirs = TracerProvider(shutdown_on_exit=False)
    other = InMemorySpanExporter()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    theirs.add_span_processor(SimpleSpanProcessor(other))
    handle = setup_tracing(exporter=memory, tracer_provider=theirs, capture_content=True)
    assert handle.store_path is None and handle.tracer_provider is theirs
    record_trajectory(handle.recorder, sample_trajectory())
    handle.shutdown()
    assert len(memory.get_finished_spans()) == len(other.get_finished_spans()) == 8
    with theirs.get_tracer("x").start_as_current_span("after"):
        pass  # their provider still works after our handle shut down
    assert len(other.get_finished_spans()) == 9
    theirs.shutdown()


@pytest.mark.usefixtures("no_collector")
def test_collector_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    monkeypatch.setenv(settings.OTLP_ENDPOINT_ENV, "http://127.0.0.1:9/")
    handle = setup_tracing()
    assert handle.store_path is None and handle.endpoint == "http://127.0.0.1:9/"
    assert isinstance(handle.processors[0].exporter, OTLPSpanExporter)
    handle.shutdown()
    both = setup_tracing(endpoint="http://127.0.0.1:9", store=tmp_path)
    assert both.endpoint == "http://127.0.0.1:9/v1/traces"
    assert isinstance(both.processors[1].exporter, TraceStoreExporter)
    both.shutdown()


class _Rejecting(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # a receiver that refuses every batch
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(400)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def rejecting_receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Rejecting)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.usefixtures("no_collector")
def test_rejected_batches_count_as_failed(
    rejecting_receiver: str, caplog: pytest.LogCaptureFixture
) -> None:
    handle = setup_tracing(endpoint=rejecting_receiver, headers={"x-team": "qa"})
    record_trajectory(handle.recorder, sample_trajectory())
    assert handle.force_flush(10) is False  # the SDK's own flush would say True here
    stats = handle.shutdown()
    assert (stats.ended, stats.failed, stats.exported) == (8, 8, 0)
