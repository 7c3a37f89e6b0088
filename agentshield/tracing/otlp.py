"""OTLP-JSON: SDK spans in the OpenTelemetry Collector file-exporter format.

One line is one ``ExportTraceServiceRequest`` in OTLP's JSON encoding, exactly what the
Collector's ``file`` exporter writes: camelCase keys, trace and span ids as lowercase hex,
times as decimal strings of nanoseconds, 64-bit integers as strings, enums as numbers, empty
fields left out::

    {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":
    {"stringValue":"agent"}}]},"scopeSpans":[{"scope":{"name":"agentshield"},"spans":[
    {"traceId":"5b8e…","spanId":"eee1…","name":"chat m","kind":3,"startTimeUnixNano":"17…",
    "endTimeUnixNano":"17…","attributes":[…],"status":{}}]}]}]}

Reading it back is :mod:`agentshield.tracing.records`.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["encode_any_value", "encode_line", "encode_request"]

_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def encode_any_value(value: Any) -> dict[str, Any]:
    """One attribute value as an OTLP ``AnyValue``."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"doubleValue": value}
        special = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {"doubleValue": special}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes | bytearray):
        return {"bytesValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": _encode_attributes(value)}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [encode_any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def _encode_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": k, "value": encode_any_value(v)} for k, v in (attributes or {}).items()]


# The store's hot path writes JSON text directly (about 3x faster than building dicts and
# dumping them); ``encode_request`` is the same text parsed back, so both always agree.

_quote = json.encoder.encode_basestring  # the C implementation when available


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return '{"stringValue":' + _quote(value) + "}"
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return '{"intValue":"' + str(value) + '"}'
    if isinstance(value, float) and math.isfinite(value):
        return '{"doubleValue":' + float.__repr__(value) + "}"
    if isinstance(value, list | tuple):
        return '{"arrayValue":{"values":[' + ",".join(map(_value_text, value)) + "]}}"
    return json.dumps(encode_any_value(value), separators=(",", ":"), ensure_ascii=False)


def _attributes_text(attributes: Mapping[str, Any] | None) -> str:
    return ",".join(
        '{"key":' + _quote(k) + ',"value":' + _value_text(v) + "}"
        for k, v in (attributes or {}).items()
    )


def _span_text(span: ReadableSpan) -> str:
    ctx = span.get_span_context()
    assert ctx is not None  # an SDK span always has a context
    out = ['{"traceId":"', f"{ctx.trace_id:032x}", '","spanId":"', f"{ctx.span_id:016x}", '"']
    if ctx.trace_state:
        out += [',"traceState":', _quote(ctx.trace_state.to_header())]
    parent, flags = span.parent, _HAS_IS_REMOTE
    if parent is not None:
        out += [',"parentSpanId":"', f"{parent.span_id:016x}", '"']
        flags |= _IS_REMOTE if parent.is_remote else 0
    # The SDK counts kinds from INTERNAL=0, OTLP from UNSPECIFIED=0.
    out += [
        ',"flags":',
        str(flags),
        ',"name":',
        _quote(span.name),
        ',"kind":',
        str(span.kind.value + 1),
        ',"startTimeUnixNano":"',
        str(span.start_time or 0),
        '","endTimeUnixNano":"',
        str(span.end_time or 0),
        '"',
    ]
    if span.attributes:
        out += [',"attributes":[', _attributes_text(span.attributes), "]"]
    if span.dropped_attributes:
        out += [',"droppedAttributesCount":', str(span.dropped_attributes)]
    if span.events:
        events = []
        for e in span.events:
            text = '{"timeUnixNano":"' + str(e.timestamp) + '","name":' + _quote(e.name)
            if e.attributes:
                text += ',"attributes":[' + _attributes_text(e.attributes) + "]"
            events.append(text + "}")
        out += [',"events":[', ",".join(events), "]"]
    if span.dropped_events:
        out += [',"droppedEventsCount":', str(span.dropped_events)]
    if span.links:
        links = []
        for link in span.links:
            text = (
                f'{{"traceId":"{link.context.trace_id:032x}","spanId":"{link.context.span_id:016x}"'
            )
            if link.attributes:
                text += ',"attributes":[' + _attributes_text(link.attributes) + "]"
            links.append(text + "}")
        out += [',"links":[', ",".join(links), "]"]
    status = []
    if span.status.status_code.value:
        status.append('"code":' + str(span.status.status_code.value))
    if span.status.description:
        status.append('"message":' + _quote(span.status.description))
    out += [',"status":{', ",".join(status), "}}"]
    return "".join(out)


def encode_line(spans: Sequence[ReadableSpan]) -> bytes:
    """One newline-terminated, compact, UTF-8 JSON line for these spans (grouped by resource,
    then scope)."""
    by_resource: dict[int, tuple[Any, dict[int, tuple[Any, list[str]]]]] = {}
    for span in spans:
        _, scopes = by_resource.setdefault(id(span.resource), (span.resource, {}))
        scope = span.instrumentation_scope
        scopes.setdefault(id(scope), (scope, []))[1].append(_span_text(span))
    resource_spans = []
    for resource, scopes in by_resource.values():
        scope_spans = []
        for scope, texts in scopes.values():
            head = ""
            if scope is not None:
                head = '"scope":{"name":' + _quote(scope.name)
                head += (',"version":' + _quote(scope.version) if scope.version else "") + "},"
                if scope.schema_url:
                    head += '"schemaUrl":' + _quote(scope.schema_url) + ","
            scope_spans.append("{" + head + '"spans":[' + ",".join(texts) + "]}")
        text = (
            '{"resource":{"attributes":['
            + _attributes_text(resource.attributes)
            + ']},"scopeSpans":['
            + ",".join(scope_spans)
            + "]"
        )
        if resource.schema_url:
            text += ',"schemaUrl":' + _quote(resource.schema_url)
        resource_spans.append(text + "}")
    text = '{"resourceSpans":[' + ",".join(resource_spans) + "]}\n"
    return text.encode("utf-8", "backslashreplace")  # a lone surrogate stays valid JSON


def encode_request(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Spans as one ``ExportTraceServiceRequest`` dict (what :func:`encode_line` writes)."""
    result: dict[str, Any] = json.loads(encode_line(spans))
    return result
