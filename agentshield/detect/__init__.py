"""Detection: tell the operator that the world the agent was trained for has shifted.

* :class:`Profile` — the baseline (tools and schema fingerprints, observation structure,
  error rates and latencies, query wording, call order), built from clean runs or a trace
  store, saved as JSON.
* Detectors — small strategy objects, one signal each, labelled with a tier of the shift
  taxonomy; registered by name (third parties: entry-point group ``agentshield.detectors``).
* :class:`Monitor` — runs detectors online (``Shield(..., detectors=monitor)``, an adapter,
  or :class:`DetectionSpanProcessor` on any tracer provider) and reports each detection as
  a span event, an OTel counter, a log entry and an optional callback; fails open.
* :func:`replay` / :func:`detect_traces` — the same detectors offline over recorded runs.
"""

from agentshield.detect import observation, query, schema, sequence, stream
from agentshield.detect.base import (
    CallEvent,
    DetectContext,
    Detection,
    Detector,
    Finding,
    RunState,
    ToolDiff,
    diff_tools,
)
from agentshield.detect.monitor import Monitor
from agentshield.detect.observation import InjectionContent, ObservationDrift, Redirection
from agentshield.detect.otel import DetectionSpanProcessor
from agentshield.detect.profile import Profile, ToolProfile
from agentshield.detect.query import Clarification, QueryShift
from agentshield.detect.registry import ENTRY_POINT_GROUP, build, create, get, register, registered
from agentshield.detect.replay import DetectionReport, detect_traces, replay, tier_label
from agentshield.detect.schema import InvalidCall, SchemaDrift
from agentshield.detect.sequence import MissingTool, OrderViolation, UngroundedAnswer
from agentshield.detect.stream import ErrorKind, ErrorRateShift, LatencyShift

__all__ = [
    "CallEvent",
    "Clarification",
    "DetectContext",
    "Detection",
    "DetectionReport",
    "DetectionSpanProcessor",
    "Detector",
    "ENTRY_POINT_GROUP",
    "ErrorKind",
    "ErrorRateShift",
    "Finding",
    "InjectionContent",
    "InvalidCall",
    "LatencyShift",
    "MissingTool",
    "Monitor",
    "ObservationDrift",
    "OrderViolation",
    "Profile",
    "QueryShift",
    "Redirection",
    "RunState",
    "SchemaDrift",
    "ToolDiff",
    "ToolProfile",
    "UngroundedAnswer",
    "build",
    "create",
    "detect_traces",
    "diff_tools",
    "get",
    "observation",
    "query",
    "register",
    "registered",
    "replay",
    "schema",
    "sequence",
    "stream",
    "tier_label",
]
