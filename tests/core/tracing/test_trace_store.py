"""The embedded store: Collector-format lines, rotation, atomic appends, crash recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

from agentshield.errors import ConfigError
from agentshield.testing import sample_trajectory
from agentshield.tracing import TraceStoreExporter, read_runs, read_spans
from agentshield.tracing.recorder import Recorder
from agentshield.tracing.testing import SpanCapture, record_trajectory


def _spans(n: int = 1) -> SpanCapture:
    capture = SpanCapture()
    rec = Recorder(tracer_provider=capture.provider, capture_content=True)
    for i in range(n):
        record_trajectory(rec, sample_trajectory(f"run-{i}"))
    return capture


def test_lines_are_collector_format(tmp_path: Path) -> None:
    capture = _spans()
    store = TraceStoreExporter(tmp_path)
    assert store.export(capture.spans()) is SpanExportResult.SUCCESS
    store.shutdown()
    (path,) = tmp_path.iterdir()
    assert path.name.startswith("traces-") and path.suffix == ".jsonl"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    doc = json.loads(text)
    (rs,) = doc["resourceSpans"]
    assert {"key": "service.name", "value": {"stringValue": "agentshield-test"}} in rs["resource"][
        "attributes"
    ]
    (ss,) = rs["scopeSpans"]
    assert ss["scope"] == {"name": "agentshield", "version": "0.1.0"}
    span = ss["spans"][0]
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
    assert span["kind"] == 3  # CLIENT, OTLP numbering
    assert span["startTimeUnixNano"].isdigit() and span["flags"] == 256
    assert span["status"] == {}
    tokens = next(a for a in span["attributes"] if a["key"] == "gen_ai.usage.input_tokens")
    assert tokens["value"] == {"intValue": "20"}
    root = ss["spans"][-1]
    assert "parentSpanId" not in root and root["name"].startswith("invoke_agent")
    assert store.export(capture.spans()) is SpanExportResult.FAILURE  # after shutdown


def test_rotation_by_size(tmp_path: Path) -> None:
    capture = _spans()
    store = TraceStoreExporter(tmp_path, max_file_bytes=4000, fsync="always")
    for span in capture.spans():
        assert store.export([span]) is SpanExportResult.SUCCESS
    store.shutdown()
    files = sorted(tmp_path.iterdir())
    assert len(files) > 2
    assert all(f.stat().st_size <= 4000 or f.read_text().count("\n") == 1 for f in files)
    spans, report = read_spans(tmp_path)
    assert len(spans) == len(capture.spans()) and not report.problems


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    capture = _spans(3)
    store = TraceStoreExporter(tmp_path, fsync="never")
    spans = capture.spans()

    def writer() -> None:
        for _ in range(20):
            store.export(spans)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.shutdown()
    found, report = read_spans(tmp_path)
    assert not report.problems and report.lines == 80
    assert len(found) == len(spans)  # duplicates of one span are read once


def test_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fsync"):
        TraceStoreExporter(tmp_path, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_file_bytes"):
        TraceStoreExporter(tmp_path, max_file_bytes=0)


WRITER = r"""
import os, sys, time
from agentshield.trajectory import Outcome
from agentshield.tracing import setup_tracing

path, tear_after = sys.argv[1], int(sys.argv[2])
handle = setup_tracing(store=path, capture_content=True, schedule_delay_s=0.002,
                       max_export_batch_size=16, max_queue_size=100_000, fsync="never")
store = handle.processors[0].exporter
real_write, lines = os.write, 0

def write(fd, data):
    global lines
    if fd != store._fd or tear_after < 0:
        return real_write(fd, data)
    data = bytes(data)
    if lines == tear_after:  # die half-way through this line
        real_write(fd, data[: len(data) // 2])
        print("TORN", flush=True)
        time.sleep(60)
    lines += 1
    n = real_write(fd, data)
    print("LINE", data.count(b'"spanId"'), flush=True)
    return n

os.write = write
print("READY", flush=True)
i = 0
while True:
    rec = handle.recorder
    with rec.agent_run(f"run-{i}", agent_name="writer") as run:
        for j in range(3):
            with rec.tool_call(f"run-{i}", call_id=f"c{j}", shown_name="t", args={"j": j}) as t:
                t.set_result("x" * 300)
        run.set_outcome(Outcome("success"))
    i += 1
"""


def _writer(tmp_path: Path, tear_after: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), str(tear_after)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.stdout is not None
    proc.stdout.close()


def test_sigkill_mid_write_leaves_complete_lines(tmp_path: Path) -> None:
    proc = _writer(tmp_path, tear_after=5)
    assert proc.stdout is not None
    complete_spans = 0
    try:
        for line in proc.stdout:
            if line.startswith("LINE"):
                complete_spans += int(line.split()[1])
            if line.startswith("TORN"):
                break
        else:
            pytest.fail("the writer ended before tearing a line")
    finally:
        _kill(proc)
    (path,) = tmp_path.iterdir()
    spans, report = read_spans(tmp_path)
    assert len(spans) == complete_spans > 0
    (problem,) = report.problems
    assert (problem.file, problem.line) == (str(path), 6)
    assert "torn" in problem.message
    assert "1 problem skipped" in report.summary()
    # The next process writes files of its own: nothing lands after the torn line.
    store = TraceStoreExporter(tmp_path)
    store.export(_spans().spans())
    store.shutdown()
    spans_after, report_after = read_spans(tmp_path)
    assert len(report_after.problems) == 1 and len(spans_after) > len(spans)
    runs, _ = read_runs(tmp_path)
    assert all(r.trajectory.tool_calls for r in runs)


def test_sigkill_at_an_arbitrary_moment(tmp_path: Path) -> None:
    proc = _writer(tmp_path, tear_after=-1)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "READY"
        while not any(p.stat().st_size > 200_000 for p in tmp_path.glob("*.jsonl")):
            assert proc.poll() is None
            threading.Event().wait(0.01)
    finally:
        _kill(proc)
    spans, report = read_spans(tmp_path)
    assert spans
    # Only the very last line of the file may be torn.
    assert all("torn" in p.message for p in report.problems) and len(report.problems) <= 1
