"""Tier 2, observation shifts: what a tool returns loses fields, changes format, gains noise,
or is cut short.

These act on a real tool's result after it ran (never on injected errors). JSON results are
parsed and re-encoded; other text is handled as text. The right behaviour is to keep going
with what the observation actually says, so the offline form adds no recovery step.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from agentshield.effects import Result
from agentshield.perturbations.base import (
    CallContext,
    Perturbation,
    Tier,
    require_choice,
    require_positive,
    require_rate,
)
from agentshield.perturbations.registry import register


def parse_json(text: str) -> Any | None:
    """The JSON value in ``text``, or ``None`` if it is not JSON (or a bare scalar)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict | list) else None


def _records(value: Any) -> list[dict[str, Any]]:
    """The dicts a JSON value holds at its top level (itself, or the items of a list)."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


@register
@dataclass(frozen=True, kw_only=True)
class MissingValues(Perturbation):
    """Fields of a JSON observation are dropped or set to null."""

    name: ClassVar[str] = "missing_values"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "fields of the observation dropped or nulled"

    rate: float = field(default=0.3, metadata={"help": "chance each field goes missing"})
    mode: str = field(default="null", metadata={"help": "null (value becomes null) or drop"})
    fields: tuple[str, ...] = field(
        default=(), metadata={"help": "only these keys (default: any key)"}
    )
    keep: tuple[str, ...] = field(
        default=(), metadata={"help": "keys never touched (e.g. ids the task needs)"}
    )

    def __post_init__(self) -> None:
        require_rate(self.name, "rate", self.rate)
        require_choice(self.name, "mode", self.mode, ("null", "drop"))

    def after_call(self, ctx: CallContext, result: Result) -> Result:
        value = parse_json(result.content)
        if value is None or result.is_error:
            return result
        rng = ctx.rng("missing")
        touched = False
        for record in _records(value):
            keys = [
                k for k in record if (not self.fields or k in self.fields) and k not in self.keep
            ]
            chosen = [k for k in keys if rng.random() < self.rate]
            if not chosen and keys:
                chosen = [rng.choice(keys)]
            for k in chosen:
                touched = True
                if self.mode == "drop":
                    del record[k]
                else:
                    record[k] = None
        return Result(json.dumps(value), result.is_error) if touched else result


def _to_text(value: Any, indent: str = "") -> str:
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, dict | list):
                lines.append(f"{indent}{k}:")
                lines.append(_to_text(v, indent + "  "))
            else:
                lines.append(f"{indent}{k}: {v}")
        return "\n".join(lines)
    if isinstance(value, list):
        return "\n".join(f"{indent}- " + _to_text(v, indent + "  ").lstrip() for v in value)
    return f"{indent}{value}"


def _to_xml(value: Any, tag: str = "result") -> str:
    if isinstance(value, dict):
        inner = "".join(_to_xml(v, re.sub(r"\W", "_", str(k)) or "field") for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(_to_xml(v, "item") for v in value)
    else:
        inner = escape("" if value is None else str(value))
    return f"<{tag}>{inner}</{tag}>"


def _to_csv(value: Any) -> str:
    rows = _records(value)
    if not rows:
        return _to_text(value)
    header: list[str] = []
    for r in rows:
        header.extend(k for k in r if k not in header)

    def cell(v: Any) -> str:
        text = json.dumps(v) if isinstance(v, dict | list) else ("" if v is None else str(v))
        return f'"{text}"' if any(c in text for c in ',"\n') else text

    return "\n".join([",".join(header), *(",".join(cell(r.get(k)) for k in header) for r in rows)])


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _recase(value: Any, fn: Any) -> Any:
    if isinstance(value, dict):
        return {fn(str(k)): _recase(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_recase(v, fn) for v in value]
    return value


_FORMATS = ("text", "xml", "csv", "camel_case", "upper_case", "nested")


@register
@dataclass(frozen=True, kw_only=True)
class ObservationFormat(Perturbation):
    """A JSON observation is re-encoded: ``key: value`` text, XML, CSV, other key casing, or
    nested one level deeper."""

    name: ClassVar[str] = "observation_format"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "observation re-encoded (JSON → text / XML / CSV, casing, nesting)"

    format: str = field(
        default="text", metadata={"help": f"one of {', '.join(_FORMATS)}, or random"}
    )

    def __post_init__(self) -> None:
        require_choice(self.name, "format", self.format, (*_FORMATS, "random"))

    def after_call(self, ctx: CallContext, result: Result) -> Result:
        value = parse_json(result.content)
        if value is None or result.is_error:
            return result
        fmt = self.format if self.format != "random" else ctx.rng("format").choice(_FORMATS)
        if fmt == "text":
            out = _to_text(value)
        elif fmt == "xml":
            out = _to_xml(value)
        elif fmt == "csv":
            out = _to_csv(value)
        elif fmt == "camel_case":
            out = json.dumps(_recase(value, _camel))
        elif fmt == "upper_case":
            out = json.dumps(_recase(value, str.upper))
        else:
            out = json.dumps({"status": "ok", "data": {"result": value}})
        return Result(out, result.is_error)


_NOISE_FIELDS: tuple[tuple[str, Any], ...] = (
    ("_trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ("server_time_ms", 1764028800123),
    ("sponsored", {"title": "Try our premium plan", "url": "https://example.com/ad"}),
    ("api_version", "2.7.1-rc3"),
    ("cache", {"hit": False, "ttl_s": 300}),
    ("debug", "shard=eu-west-3 replica=2 latency_ms=41"),
    ("related_searches", ["open late", "cheap eats", "parking nearby"]),
)


@register
@dataclass(frozen=True, kw_only=True)
class ObservationNoise(Perturbation):
    """Irrelevant fields (JSON) or irrelevant lines (text) are added to the observation."""

    name: ClassVar[str] = "observation_noise"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "irrelevant fields or text added to the observation"

    extra_fields: int = field(default=3, metadata={"help": "how many irrelevant fields to add"})

    def __post_init__(self) -> None:
        require_positive(self.name, "extra_fields", self.extra_fields)

    def after_call(self, ctx: CallContext, result: Result) -> Result:
        if result.is_error:
            return result
        rng = ctx.rng("noise")
        extra = rng.sample(_NOISE_FIELDS, min(int(self.extra_fields), len(_NOISE_FIELDS)))
        value = parse_json(result.content)
        if isinstance(value, dict):
            return Result(json.dumps(_mix(value, extra, rng)), result.is_error)
        if isinstance(value, list):
            return Result(json.dumps({"results": value, **dict(extra)}), result.is_error)
        lines = "\n".join(f"{k}: {json.dumps(v)}" for k, v in extra)
        return Result(f"{result.content}\n{lines}", result.is_error)


def _mix(
    record: dict[str, Any], extra: list[tuple[str, Any]], rng: random.Random
) -> dict[str, Any]:
    items = list(record.items())
    for k, v in extra:
        items.insert(rng.randrange(len(items) + 1), (k, v))
    return dict(items)


@register
@dataclass(frozen=True, kw_only=True)
class ObservationTruncation(Perturbation):
    """The observation is cut after a fraction of its length, with a truncation marker."""

    name: ClassVar[str] = "observation_truncation"
    tier: ClassVar[Tier] = Tier.INTERACTION
    description: ClassVar[str] = "observation output cut short"

    keep: float = field(default=0.6, metadata={"help": "fraction of the text kept"})
    marker: str = field(default="… [truncated]", metadata={"help": "appended where it was cut"})
    min_chars: int = field(
        default=40, metadata={"help": "shorter results are left whole (an empty list stays [])"}
    )

    def __post_init__(self) -> None:
        require_rate(self.name, "keep", self.keep)

    def after_call(self, ctx: CallContext, result: Result) -> Result:
        if result.is_error or len(result.content) < self.min_chars:
            return result
        cut = max(1, int(len(result.content) * self.keep))
        if cut >= len(result.content):
            return result
        return Result(result.content[:cut] + self.marker, result.is_error)
