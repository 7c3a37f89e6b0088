"""Tracing: OpenTelemetry GenAI spans for agent runs, the embedded trace store, and the reader.

* :func:`setup_tracing` configures where spans go (an OTLP/HTTP collector, or the embedded
  store of OTLP-JSON lines by default) and returns a :class:`TracingHandle` with a ready
  :class:`Recorder`, the drop / failure counts (:meth:`TracingHandle.stats`) and shutdown.
* :class:`Recorder` is what framework adapters call: ``agent_run`` / ``chat`` / ``tool_call``
  context managers, ``record_decisions``, ``set_outcome``, ``record_detection``.
* Content capture is off by default (:class:`ContentPolicy`); when on, every content string
  passes through a :class:`Redactor` first.
* :func:`read_runs` / :func:`read_trajectories` read our store, Collector files and other
  GenAI instrumentations' spans back into :class:`~agentshield.Trajectory` objects;
  :func:`write_rows` turns them into training rows.

Attribute names live in :mod:`agentshield.tracing.semconv`; test fixtures in
:mod:`agentshield.tracing.testing`.
"""

from agentshield.tracing import semconv
from agentshield.tracing.capture import (
    BUILTIN_RULES,
    ContentPolicy,
    RedactionHook,
    RedactionRule,
    Redactor,
)
from agentshield.tracing.export import FORMATS, ExportFormat, training_row, write_rows
from agentshield.tracing.handles import ChatHandle, DecisionLike, RunHandle, SpanHandle, ToolHandle
from agentshield.tracing.pipeline import TracingHandle, setup_tracing
from agentshield.tracing.processor import QueueSpanProcessor, TracingStats
from agentshield.tracing.reader import (
    Problem,
    ReadReport,
    Run,
    group_runs,
    read_runs,
    read_spans,
    read_trajectories,
)
from agentshield.tracing.recorder import Recorder, SpanScope
from agentshield.tracing.records import EventRecord, SpanRecord
from agentshield.tracing.store import FsyncPolicy, TraceStoreExporter

__all__ = [
    "BUILTIN_RULES",
    "FORMATS",
    "ChatHandle",
    "ContentPolicy",
    "DecisionLike",
    "EventRecord",
    "ExportFormat",
    "FsyncPolicy",
    "Problem",
    "QueueSpanProcessor",
    "ReadReport",
    "Recorder",
    "RedactionHook",
    "RedactionRule",
    "Redactor",
    "Run",
    "RunHandle",
    "SpanHandle",
    "SpanRecord",
    "SpanScope",
    "ToolHandle",
    "TraceStoreExporter",
    "TracingHandle",
    "TracingStats",
    "group_runs",
    "read_runs",
    "read_spans",
    "read_trajectories",
    "semconv",
    "setup_tracing",
    "training_row",
    "write_rows",
]
