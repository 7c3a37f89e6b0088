"""Trajectories as chat-format training rows, with the ``tools`` column kept.

Three flavours, one JSON object per line:

``trl``     ``{"messages", "tools"}`` as TRL's ``SFTTrainer`` and ``transformers`` chat
            templates take them: tool-call ``arguments`` are objects, tool messages carry
            ``name`` and ``tool_call_id``.
``openai``  OpenAI's chat fine-tuning format: ``arguments`` are JSON strings, an assistant
            message that only calls tools has no ``content``, tool messages have
            ``tool_call_id``.
``jsonl``   the whole trajectory (run id, outcome, perturbations, metadata), lossless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any, Literal, get_args

from agentshield.errors import ConfigError
from agentshield.tracing.capture import Redactor
from agentshield.trajectory import Message, Trajectory

ExportFormat = Literal["trl", "openai", "jsonl"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)

__all__ = ["FORMATS", "ExportFormat", "training_row", "write_rows"]


def _trl_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": dict(c.args)},
            }
            for c in m.tool_calls
        ]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or ""
        if m.name is not None:
            out["name"] = m.name
    return out


def _openai_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role}
    if m.content or not m.tool_calls:
        out["content"] = m.content
    if m.tool_calls:
        out["tool_calls"] = [c.to_dict() for c in m.tool_calls]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or ""
    return out


def training_row(
    trajectory: Trajectory, format: ExportFormat = "trl", *, redactor: Redactor | None = None
) -> dict[str, Any]:
    """One training row; ``redactor`` redacts the whole row once more when given.

    Raises:
        ConfigError: An unknown format.
    """
    if format == "jsonl":
        row = trajectory.to_dict()
    elif format == "trl":
        row = {
            "messages": [_trl_message(m) for m in trajectory.messages],
            "tools": [t.to_dict() for t in trajectory.tools],
        }
    elif format == "openai":
        row = {
            "messages": [_openai_message(m) for m in trajectory.messages],
            "tools": [t.to_dict() for t in trajectory.tools],
        }
    else:
        raise ConfigError(f"unknown export format {format!r}; use one of {list(FORMATS)}")
    return redactor.redact_value(row) if redactor is not None else row


def write_rows(
    trajectories: Iterable[Trajectory],
    out: IO[str],
    format: ExportFormat = "trl",
    *,
    redactor: Redactor | None = None,
) -> int:
    """Write one row per trajectory as JSON lines; return how many were written."""
    n = 0
    for trajectory in trajectories:
        row = training_row(trajectory, format, redactor=redactor)
        out.write(json.dumps(row, ensure_ascii=False, sort_keys=format == "jsonl") + "\n")
        n += 1
    return n
