"""The public API of ``agentshield.tracing`` is pinned: changing it is a deliberate act."""

from __future__ import annotations

import agentshield.tracing as tracing
from agentshield.tracing import semconv

EXPECTED = [
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


def test_exported_members_are_pinned() -> None:
    assert tracing.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(tracing, name) is not None


def test_semconv_keys_are_unique_and_exported() -> None:
    constants = {name: getattr(semconv, name) for name in dir(semconv) if name.isupper()}
    assert sorted(semconv.__all__) == sorted(constants)
    keys = [
        v
        for k, v in constants.items()
        if isinstance(v, str) and not k.startswith(("OP_", "OI_KIND_"))
    ]
    assert len(keys) == len(set(keys)), "two constants share one attribute key"
    assert all(v.startswith("agentshield.") for k, v in constants.items() if k.startswith("AS_"))
    assert all(v.startswith("gen_ai.") for k, v in constants.items() if k.startswith("GEN_AI_"))
