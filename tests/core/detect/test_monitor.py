"""The Monitor: reporting (log, span events, counters, callback), failing open, bounds, the
registry, and the Shield hook."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from agentshield import Result, Shield, create
from agentshield.detect import (
    CallEvent,
    DetectContext,
    Detection,
    Detector,
    Finding,
    Monitor,
    Profile,
    build,
    register,
    registered,
)
from agentshield.detect import registry as detector_registry
from agentshield.errors import ConfigError
from agentshield.testing import FakeClock
from agentshield.tracing import Recorder
from agentshield.tracing import semconv as sc
from agentshield.tracing.testing import SpanCapture
from agentshield.trajectory import ToolSpec

from .conftest import call
from .test_detectors import SEARCH_OK


@dataclass(frozen=True, kw_only=True)
class Exploding(Detector):
    """A detector with a bug."""

    name: ClassVar[str] = "exploding_test_detector"

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        raise RuntimeError("bug in a detector")


def test_detections_are_reported_once_per_run_and_subject(profile: Profile) -> None:
    m = Monitor(profile, ["observation_drift"])
    for i in range(3):
        m.observe_call("r", call("search_places", f"c{i}"), "not json")
    m.observe_call("other", call("search_places"), "not json")
    assert [(d.run_id, d.key) for d in m.detections()] == [("r", "c0"), ("other", "c1")]
    assert [d.run_id for d in m.detections("other")] == ["other"]
    assert m.counts() == {("observation_drift", 2): 2}


def test_a_failing_detector_fails_open_and_is_counted(
    profile: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    m = Monitor(profile, [Exploding(), "observation_drift"])
    for i in range(8):
        found = m.observe_call(f"r{i}", call("search_places"), "not json")
        assert [d.detector for d in found] == ["observation_drift"]  # the others still run
    assert m.error_counts() == {"exploding_test_detector": 8}
    assert m.errors == 8
    logged = [r for r in caplog.records if "exploding_test_detector failed" in r.getMessage()]
    assert len(logged) == 5  # logged the first few times, counted always


def test_callback_recorder_and_counter(profile: Profile) -> None:
    reader = InMemoryMetricReader()
    capture = SpanCapture()
    recorder = Recorder(tracer_provider=capture.provider)
    seen: list[Detection] = []

    def broken(d: Detection) -> None:
        seen.append(d)
        raise ValueError("callback bug")

    m = Monitor(
        profile,
        ["observation_drift"],
        recorder=recorder,
        meter_provider=MeterProvider(metric_readers=[reader]),
        on_detection=broken,
    )
    with (
        recorder.agent_run("r", agent_name="a"),
        recorder.tool_call("r", call_id="c1", shown_name="search_places"),
    ):
        m.observe_call("r", call("search_places"), "count: 1")
    assert [d.verdict for d in seen] == ["format_changed"]
    assert m.error_counts() == {"on_detection": 1}
    tool_span = capture.by_operation(sc.OP_EXECUTE_TOOL)[0]
    (event,) = [e for e in tool_span.events if e.name == sc.AS_DETECTION_EVENT]
    attrs = dict(event.attributes or {})
    assert attrs[sc.AS_DETECTOR_NAME] == "observation_drift"
    assert attrs[sc.AS_DETECTOR_TIER] == 2
    assert json.loads(str(attrs[sc.AS_DETECTOR_DETAIL]))["key"] == "c1"
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        (dict(p.attributes or {})["detector"], dict(p.attributes or {})["tier"]): p.value
        for rm in data.resource_metrics
        for scope in rm.scope_metrics
        for metric in scope.metrics
        if metric.name == "agentshield.detections"
        for p in metric.data.data_points
        if isinstance(p, NumberDataPoint)
    }
    assert points == {("observation_drift", 2): 1}


def test_memory_is_bounded(profile: Profile, tools: list[ToolSpec]) -> None:
    m = Monitor(profile, max_runs=4, max_log=10)
    for r in range(10):
        m.observe_tools(f"r{r}", tools)
        m.observe_query(f"r{r}", 0, "Wht is teh phne numbr?")
        for i in range(300):  # long runs: the same call again and again
            m.observe_call(f"r{r}", call("search_places", f"c{i}"), "x" * 2000)
    assert len(m.runs()) == 4
    assert len(m.detections()) == 10
    state = m._runs["r9"]
    assert len(state.calls) <= 256
    assert state.observed_chars <= 65_536
    assert len(state.fired) <= 1024
    error_rate = next(i for i, d in enumerate(m.detectors) if d.name == "error_rate")
    assert len(m._states[error_rate].stats) <= 512


def test_registry_validates_and_builds(profile: Profile) -> None:
    names = list(registered())
    assert len(names) == 13 and "schema_drift" in names
    assert [d.name for d in build(["query_shift", {"name": "error_rate", "alpha": 0.01}])] == [
        "query_shift",
        "error_rate",
    ]
    with pytest.raises(ConfigError, match="valid names"):
        build(["no_such_detector"])
    with pytest.raises(ConfigError, match="no parameter"):
        build([{"name": "error_rate", "beta": 1}])
    with pytest.raises(ConfigError, match="snake_case"):

        @register
        @dataclass(frozen=True, kw_only=True)
        class Bad(Detector):
            name: ClassVar[str] = "Bad-Name"

    restore = detector_registry._REGISTRY.replace(detector_registry.registered())
    try:
        register(Exploding)
        assert "exploding_test_detector" in registered()
    finally:
        restore()


def _execute(name: str, args: Mapping[str, Any]) -> Result:
    return Result(SEARCH_OK)


def test_shield_without_detectors_is_unchanged(tools: list[ToolSpec]) -> None:
    shield = Shield()
    assert not shield.active and shield.monitor is None
    result = shield.call_tool("r", call("search_places"), tools, _execute, step=1, index=0)
    assert result.content == SEARCH_OK
    assert shield.detections() == []


def test_shield_feeds_its_monitor_what_the_model_sees(
    profile: Profile, tools: list[ToolSpec]
) -> None:
    clock = FakeClock()
    monitor = Monitor(profile, clock=lambda: clock.now)
    shield = Shield(
        [create("observation_format", format="xml"), create("latency", delay_s=0.5)],
        seed=3,
        sleep=clock.sleep,
        detectors=monitor,
    )
    assert shield.active and shield.monitor is monitor
    shield.view("r", tools)
    shield.rewrite_query("r", 0, "What is the phone number of Cafe Luna in Lyon?")
    out = shield.call_tool("r", call("search_places"), tools, _execute, step=1, index=0)
    assert out.content.startswith("<")
    shield.observe_answer("r", "The code is ZZ-99999.")
    found = {(d.detector, d.verdict, d.key) for d in shield.detections("r")}
    assert ("observation_drift", "format_changed", "1:0") in found
    assert ("latency_shift", "latency_up", "1:0") in found
    assert ("ungrounded_answer", "ungrounded_answer", "answer") in found


def test_shield_reports_injected_faults_it_raises(profile: Profile, tools: list[ToolSpec]) -> None:
    monitor = Monitor(profile, ["error_kind"])
    shield = Shield([create("tool_error", mode="raise")], seed=1, detectors=monitor)
    with pytest.raises(RuntimeError):
        shield.call_tool("r", call("search_places"), tools, _execute, step=1, index=0)
    assert [d.verdict for d in shield.detections("r")] == ["new_error_kind"]


def test_parallel_calls_of_one_run_are_safe(profile: Profile) -> None:
    import threading

    m = Monitor(profile)
    barrier = threading.Barrier(8)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(100):
            m.observe_call("r", call("search_places", f"t{t}-{i}", city="Lyon"), SEARCH_OK)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert m.errors == 0
    assert len(m._runs["r"].calls) == 256  # bounded, and every append made it
    assert [d.verdict for d in m.detections()] == ["loop"]  # the same call, reported once


def test_async_driver_reports_too(profile: Profile, tools: list[ToolSpec]) -> None:
    import asyncio

    async def aexecute(name: str, args: Mapping[str, Any]) -> Result:
        return Result("plain text now")

    shield = Shield(detectors=Monitor(profile, ["observation_drift"]))
    asyncio.run(shield.acall_tool("r", call("search_places"), tools, aexecute, step=1, index=0))
    assert [(d.verdict, d.key) for d in shield.detections("r")] == [("format_changed", "1:0")]


def test_queries_are_judged_once_and_runs_can_be_forgotten(profile: Profile) -> None:
    m = Monitor(profile, [{"name": "query_shift", "threshold": 0.02}])
    for _ in range(3):  # adapters pass every user message on every model call
        m.observe_query("r", 0, "Wht r teh opning hours?")
    assert len(m.detections()) == 1
    m.forget("r")
    assert m.runs() == [] and len(m.detections()) == 1  # the log keeps what was found
    m.observe_query("r", 0, "Wht r teh opning hours?")  # a new run of the same id
    assert len(m.detections()) == 2
    m.reset()
    assert m.detections() == [] and m.counts() == {} and m.runs() == []
