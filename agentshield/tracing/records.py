"""OTLP-JSON read back: spans as :class:`SpanRecord` values, whoever wrote them.

Decoding is lenient where producers differ (enum names instead of numbers, numbers instead
of strings, base64 ids from protobuf's generic JSON mapping, the older
``instrumentationLibrarySpans``) and strict where a span would be meaningless (its ids).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventRecord", "SpanRecord", "decode_any_value", "decode_request"]

_KINDS = {"UNSPECIFIED": 0, "INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}


@dataclass(frozen=True)
class EventRecord:
    """A span event as read back."""

    name: str
    time_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SpanRecord:
    """A span as read back from OTLP-JSON; ``kind`` and ``status_code`` use OTLP numbering."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: int = 0
    start_ns: int = 0
    end_ns: int = 0
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[EventRecord, ...] = ()
    status_code: int = 0
    status_message: str = ""
    resource: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""
    source: str = ""

    @property
    def duration_s(self) -> float:
        """End minus start, in seconds (0 when either is missing)."""
        return max(0, self.end_ns - self.start_ns) / 1e9 if self.start_ns and self.end_ns else 0.0

    @property
    def is_error(self) -> bool:
        """Whether the span's status is ERROR."""
        return self.status_code == 2


def decode_any_value(value: Mapping[str, Any]) -> Any:
    """An OTLP ``AnyValue`` as a Python value (``None`` for an empty one)."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [decode_any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return _decode_attributes((value["kvlistValue"] or {}).get("values", []))
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    return None


def _decode_attributes(items: Any) -> dict[str, Any]:
    if not isinstance(items, list):
        raise ValueError("attributes must be a list of {key, value}")
    return {str(kv["key"]): decode_any_value(kv.get("value") or {}) for kv in items}


def _hex_id(raw: Any, size: int, what: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"missing {what}")
    if len(raw) == size * 2:
        int(raw, 16)
        return raw.lower()
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) != size:
        raise ValueError(f"{what} {raw!r} is neither {size * 2} hex digits nor base64")
    return decoded.hex()


def _enum(raw: Any, names: Mapping[str, int], prefix: str) -> int:
    if isinstance(raw, str):
        return names.get(raw.removeprefix(prefix), 0) if not raw.isdigit() else int(raw)
    return int(raw or 0)


def _decode_span(
    raw: Mapping[str, Any], resource: Mapping[str, Any], scope: str, source: str
) -> SpanRecord:
    parent = raw.get("parentSpanId") or None
    status = raw.get("status") or {}
    return SpanRecord(
        trace_id=_hex_id(raw.get("traceId"), 16, "traceId"),
        span_id=_hex_id(raw.get("spanId"), 8, "spanId"),
        parent_id=_hex_id(parent, 8, "parentSpanId") if parent else None,
        name=str(raw.get("name") or ""),
        kind=_enum(raw.get("kind"), _KINDS, "SPAN_KIND_"),
        start_ns=int(raw.get("startTimeUnixNano") or 0),
        end_ns=int(raw.get("endTimeUnixNano") or 0),
        attributes=_decode_attributes(raw.get("attributes") or []),
        events=tuple(
            EventRecord(
                str(e.get("name") or ""),
                int(e.get("timeUnixNano") or 0),
                _decode_attributes(e.get("attributes") or []),
            )
            for e in raw.get("events") or ()
        ),
        status_code=_enum(status.get("code"), _STATUS, "STATUS_CODE_"),
        status_message=str(status.get("message") or ""),
        resource=resource,
        scope=scope,
        source=source,
    )


def decode_request(doc: Any, source: str = "") -> tuple[list[SpanRecord], list[str]]:
    """Spans of one decoded OTLP-JSON request, and a message for each span that was skipped.

    Raises:
        ValueError: ``doc`` is not an OTLP traces request at all.
    """
    if not isinstance(doc, Mapping) or not isinstance(doc.get("resourceSpans"), list):
        raise ValueError("not an OTLP traces object (no resourceSpans list)")
    spans: list[SpanRecord] = []
    problems: list[str] = []
    for r_i, rs in enumerate(doc["resourceSpans"]):
        try:
            resource = _decode_attributes((rs.get("resource") or {}).get("attributes") or [])
            scope_spans = rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            problems.append(f"resourceSpans[{r_i}]: {exc!r}")
            continue
        for s_i, ss in enumerate(scope_spans):
            scope_raw = ss.get("scope") or ss.get("instrumentationLibrary") or {}
            scope = str(scope_raw.get("name") or "")
            for i, raw in enumerate(ss.get("spans") or ()):
                try:
                    spans.append(_decode_span(raw, resource, scope, source))
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    where = f"resourceSpans[{r_i}].scopeSpans[{s_i}].spans[{i}]"
                    problems.append(f"{where}: {exc}")
    return spans, problems
