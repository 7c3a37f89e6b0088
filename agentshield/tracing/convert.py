"""Spans of one run to a :class:`~agentshield.trajectory.Trajectory`, whoever wrote them.

Three dialects are understood: ours (GenAI conventions plus ``agentshield.*``), other
instrumentations following the OTel GenAI conventions (``gen_ai.input.messages`` on the span
or on its ``gen_ai.client.inference.operation.details`` event), and OpenInference
(``llm.input_messages.N.message.*``, ``llm.tools.N.tool.json_schema``, TOOL spans).

The conversation is the last model call's input plus its output (each call carries the whole
history), then the observations of tool calls made after it. Without captured content the
trajectory keeps the structure: one assistant message per model call with its tool calls,
and one tool message per call, with error flags. Tool definitions come from the last model
call that had them; perturbations from the ``agentshield.perturbation`` events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from agentshield.tracing import semconv as sc
from agentshield.tracing.dialects import ChatRecord, ToolRecord, span_role
from agentshield.tracing.messages import fill_tool_names, parse_json
from agentshield.tracing.records import SpanRecord
from agentshield.trajectory import (
    AppliedPerturbation,
    Message,
    Outcome,
    OutcomeStatus,
    ToolCall,
    Trajectory,
)

_STATUSES = ("success", "failure", "refused", "asked", "error", "unknown")

__all__ = ["build_trajectory"]


def _prefer_ours(records: list[Any]) -> list[Any]:
    """When two instrumentations traced the same calls, keep the spans we wrote."""
    ours = [r for r in records if sc.AS_RUN_ID in r.span.attributes]
    return ours or records


def _perturbations(spans: Iterable[SpanRecord]) -> tuple[AppliedPerturbation, ...]:
    seen: dict[tuple[str, int, str, int], AppliedPerturbation] = {}
    for span in spans:
        for e in span.events:
            if e.name != sc.AS_PERTURBATION_EVENT:
                continue
            a = e.attributes
            name, tier = str(a.get(sc.AS_PERTURBATION_NAME)), int(a.get(sc.AS_PERTURBATION_TIER, 0))
            params_text = str(a.get(sc.AS_PERTURBATION_PARAMS) or "{}")
            seed = int(a.get(sc.AS_PERTURBATION_SEED) or 0)
            params = parse_json(params_text)
            key = (name, tier, params_text, seed)
            if key not in seen:
                seen[key] = AppliedPerturbation(
                    name, tier, params if isinstance(params, Mapping) else {}, seed
                )
    return tuple(seen.values())


def _tokens(chats: Sequence[ChatRecord], *keys: str) -> int:
    total = 0
    for c in chats:
        value = next((c.span.attributes[k] for k in keys if k in c.span.attributes), 0)
        total += int(value or 0)
    return total


def _outcome(root: SpanRecord | None) -> Outcome:
    if root is None:
        return Outcome()
    a = root.attributes
    status = str(a.get(sc.AS_OUTCOME) or ("error" if root.is_error else "unknown"))
    status = status if status in _STATUSES else "unknown"
    answer, detail = a.get(sc.AS_OUTCOME_ANSWER), a.get(sc.AS_OUTCOME_DETAIL)
    return Outcome(cast(OutcomeStatus, status), answer, detail)


def _skeleton(chats: Sequence[ChatRecord], tools: Sequence[ToolRecord]) -> list[Message]:
    """The run's structure when no content was captured: calls, observations, error flags."""
    groups: dict[int, list[ToolRecord]] = {}
    starts = [c.span.start_ns for c in chats]
    for t in tools:
        owner = max((i for i, s in enumerate(starts) if s <= t.span.start_ns), default=-1)
        groups.setdefault(owner, []).append(t)
    out: list[Message] = []
    for owner in sorted(groups):
        calls = groups[owner]
        out.append(
            Message(
                "assistant",
                "",
                tool_calls=tuple(ToolCall(t.call_id, t.name, t.args or {}) for t in calls),
            )
        )
        out.extend(
            Message(
                "tool", t.result or "", tool_call_id=t.call_id, name=t.name, is_error=t.is_error
            )
            for t in calls
        )
    return out


def build_trajectory(
    run_id: str, root: SpanRecord | None, spans: Sequence[SpanRecord], dialect: str
) -> Trajectory:
    """One trajectory from a run's root span and every span in the run (any order)."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.end_ns))
    chats = _prefer_ours([ChatRecord.of(s) for s in ordered if span_role(s) == "chat"])
    tools = _prefer_ours([ToolRecord.of(s) for s in ordered if span_role(s) == "tool"])
    last = next((c for c in reversed(chats) if c.inputs is not None), None)
    if last is not None:
        messages = [*(last.inputs or []), *(last.outputs or [])]
        answered = {m.tool_call_id for m in messages if m.role == "tool"}
        asked = {c.id for m in messages for c in m.tool_calls}
        messages += [
            Message(
                "tool", t.result or "", tool_call_id=t.call_id, name=t.name, is_error=t.is_error
            )
            for t in tools
            if t.span.start_ns >= last.span.start_ns and t.call_id in asked - answered
        ]
    else:
        messages = _skeleton(chats, tools)
        answer = root.attributes.get(sc.AS_OUTCOME_ANSWER) if root is not None else None
        if answer is not None:
            messages.append(Message("assistant", str(answer)))
    failed = {t.call_id for t in tools if t.is_error and t.call_id}
    messages = [
        replace(m, is_error=True) if m.role == "tool" and m.tool_call_id in failed else m
        for m in messages
    ]
    specs = next((c.tools for c in reversed(chats) if c.tools), None) or []
    a = root.attributes if root is not None else {}
    metadata: dict[str, Any] = {
        "dialect": dialect,
        "trace_id": (root or ordered[0]).trace_id if ordered else "",
        "agent": a.get(sc.GEN_AI_AGENT_NAME)
        or a.get(sc.OI_AGENT_NAME)
        or (root.name if root is not None else None),
        "task_id": a.get(sc.AS_TASK_ID),
        "start_ns": ordered[0].start_ns if ordered else 0,
        "duration_s": root.duration_s if root is not None else 0.0,
        "models": sorted({c.model for c in chats if c.model}),
        "chats": len(chats),
        "tool_calls": len(tools),
        "tool_errors": len([t for t in tools if t.is_error]),
        "injected": len([t for t in tools if t.injected]),
        "real_tools": {t.name: t.real_name for t in tools if t.real_name},
        "content": last is not None,
        "input_tokens": _tokens(chats, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.OI_LLM_PROMPT_TOKENS),
        "output_tokens": _tokens(chats, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.OI_LLM_COMPLETION_TOKENS),
    }
    return Trajectory(
        run_id=run_id,
        messages=tuple(fill_tool_names(messages)),
        tools=tuple(specs),
        outcome=_outcome(root),
        perturbations=_perturbations(ordered),
        metadata={k: v for k, v in metadata.items() if v is not None},
    )
