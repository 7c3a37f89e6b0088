"""Tier-1 detectors of the action space: the tool set and the calls the model makes."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from agentshield.detect import _features as f
from agentshield.detect.base import CallEvent, DetectContext, Detector, Finding, diff_tools
from agentshield.detect.registry import register
from agentshield.perturbations.base import Tier
from agentshield.trajectory import ToolSpec

__all__ = ["InvalidCall", "SchemaDrift"]

#: Words a documentation change adds when it states a new order / prerequisite, or a new
#: rule for values: such changes are reasoning shifts (tier 3), not wording.
_ORDER_WORDS = re.compile(r"\b(before|first|requires?|prior|prerequisite|token|since)\b")
_RULE_WORDS = re.compile(
    r"\b(format|accepted|rejected|must|only|units?|dd/mm/yyyy|upper|lower|case|no longer)\b"
)
_UNKNOWN_TOOL_TEXT = ("is not a valid tool", "unknown tool", "no such tool", "tool not found")


@register
@dataclass(frozen=True, kw_only=True)
class SchemaDrift(Detector):
    """Tool-set and schema drift against the baseline: tools added, removed, renamed or
    swapped; parameters or descriptions changed. Also a tool set that changes within one
    run or session (MCP servers may change theirs between sessions and mid-session)."""

    name: ClassVar[str] = "schema_drift"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "tools added / removed / renamed; parameters or docs changed"

    def on_tools(self, ctx: DetectContext, tools: Sequence[ToolSpec]) -> Sequence[Finding]:
        out: list[Finding] = []
        if ctx.run.tools is not None:  # the set changed within the run
            before, after = set(ctx.run.tools), {t.name for t in tools}
            if before != after:
                out.append(
                    Finding(
                        "tool_set_changed",
                        1.0,
                        {"added": sorted(after - before), "removed": sorted(before - after)},
                        subject=",".join(sorted(after)),
                    )
                )
        if not ctx.profile.tools:
            return out
        diff = ctx.run.diff or diff_tools(ctx.profile, tools)
        total = max(1, len(ctx.profile.tools))
        for old, new in diff.renamed.items():
            out.append(Finding("tool_renamed", 1.0, {"from": old, "to": new}, subject=old))
        for name in diff.swapped:
            out.append(Finding("tool_swapped", 1.0, {"tool": name}, subject=name))
        current = {t.name: t for t in tools}
        for name in (*diff.params_changed, *diff.description_changed):
            base_spec = ctx.profile.tools[name].spec
            added = _words(current[name]) - _words(base_spec)
            text = " ".join(sorted(added))
            if _ORDER_WORDS.search(text):
                verdict, tier = "requirement_documented", Tier.REASONING
            elif _RULE_WORDS.search(text):
                verdict, tier = "rule_documented", Tier.REASONING
            elif name in diff.params_changed:
                verdict, tier = "params_changed", Tier.PERCEPTION
            else:
                verdict, tier = "description_changed", Tier.PERCEPTION
            detail = {"tool": name, "new_words": sorted(added)[:12]}
            out.append(Finding(verdict, 1.0, detail, subject=name, tier=tier))
        if len(diff.removed) * 2 > total and not diff.renamed:
            out.append(
                Finding(
                    "tool_set_replaced",
                    len(diff.removed) / total,
                    {"removed": list(diff.removed), "added": list(diff.added)},
                    tier=Tier.INTERNALIZATION,
                )
            )
            return out
        if diff.added:
            score = min(1.0, len(diff.added) / total)
            out.append(Finding("tools_added", score, {"tools": list(diff.added)}))
        if diff.removed:
            out.append(
                Finding(
                    "tools_removed",
                    min(1.0, len(diff.removed) / total),
                    {"tools": list(diff.removed)},
                    tier=Tier.INTERNALIZATION,
                )
            )
        return out


def _words(spec: ToolSpec) -> set[str]:
    text = " ".join([spec.description, *f.docs(spec.parameters)])
    return set(re.findall(r"[a-z0-9/_-]+", text.lower()))


_CHECKS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}


def _type_ok(value: Any, schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if not isinstance(kind, str) or kind not in _CHECKS:
        return True
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _CHECKS[kind])


@register
@dataclass(frozen=True, kw_only=True)
class InvalidCall(Detector):
    """Calls by the model to a tool it was not shown, or with arguments its schema rejects
    (unknown keys, missing required keys, wrong types, values outside an enum)."""

    name: ClassVar[str] = "invalid_call"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "unknown-tool and invalid-argument calls by the model"

    def new_state(self) -> Any:
        return {}

    def on_call(self, ctx: DetectContext, event: CallEvent) -> Sequence[Finding]:
        call = event.call
        tools = ctx.run.tools
        if tools is None:  # tool list unknown (e.g. not captured): use the error text
            if event.is_error and any(t in event.lower for t in _UNKNOWN_TOOL_TEXT):
                return (Finding("unknown_tool", 1.0, {"tool": call.name}, subject=call.name),)
            return ()
        spec = tools.get(call.name)
        if spec is None:
            return (Finding("unknown_tool", 1.0, {"tool": call.name}, subject=call.name),)
        props, required = _schema_of(ctx.state, spec)
        problems: dict[str, list[str]] = {}
        unknown = [k for k in call.args if props and k not in props]
        missing = [k for k in required if k not in call.args]
        wrong = [k for k, v in call.args.items() if k in props and not _type_ok(v, props[k])]
        for label, keys in (("unknown", unknown), ("missing", missing), ("wrong_type", wrong)):
            if keys:
                problems[label] = sorted(keys)
        if not problems:
            return ()
        return (
            Finding("invalid_arguments", 1.0, {"tool": call.name, **problems}, subject=call.name),
        )


def _schema_of(
    cache: dict[str, tuple[ToolSpec, dict[str, Any], list[str]]] | None, spec: ToolSpec
) -> tuple[dict[str, Any], list[str]]:
    """A tool's parameter properties and required names, kept per tool name while the run's
    tool set holds the same spec object (they are copied out of the schema otherwise)."""
    if cache is None:  # a context built by hand, without the detector's state
        return spec.properties, spec.required
    entry = cache.get(spec.name)
    if entry is None or entry[0] is not spec:
        entry = (spec, spec.properties, spec.required)
        if spec.name in cache or len(cache) < 4096:
            cache[spec.name] = entry
    return entry[1], entry[2]
