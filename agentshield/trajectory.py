"""The trajectory: one recorded agent run, framework-free.

A trajectory is what every part of AgentShield exchanges: the wrapper's traces are read back
into trajectories, perturbations augment them offline, and the trainer turns them into
chat-format rows. Tool definitions are kept with the messages (trace exporters often drop them,
and a tool-calling fine-tune needs them).

Messages follow the OpenAI chat shape: ``system`` / ``user`` / ``assistant`` (optionally with
tool calls) / ``tool`` (an observation answering one tool call).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from agentshield.errors import ConfigError

Role = Literal["system", "user", "assistant", "tool"]
OutcomeStatus = Literal["success", "failure", "refused", "asked", "error", "unknown"]

_ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})
_STATUSES: frozenset[str] = frozenset(
    {"success", "failure", "refused", "asked", "error", "unknown"}
)


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: name, description and JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    @property
    def properties(self) -> dict[str, Any]:
        """The parameter properties (empty when the schema has none)."""
        return dict(self.parameters.get("properties", {}))

    @property
    def required(self) -> list[str]:
        """The required parameter names."""
        return list(self.parameters.get("required", []))

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI function-tool shape: ``{"type": "function", "function": ...}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": _plain(self.parameters),
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolSpec:
        """Accept the OpenAI function-tool shape or a flat ``{name, description, parameters}``."""
        fn = data.get("function", data)
        if "name" not in fn:
            raise ConfigError(f"tool definition without a name: {dict(data)!r}")
        return cls(
            name=str(fn["name"]),
            description=str(fn.get("description") or ""),
            parameters=_plain(fn.get("parameters") or {"type": "object", "properties": {}}),
        )


@dataclass(frozen=True)
class ToolCall:
    """One tool call requested by the model."""

    id: str
    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI ``tool_calls`` entry shape (arguments as a JSON string)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(_plain(self.args))},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """Accept the OpenAI shape or a flat ``{id, name, args}``."""
        if "function" in data:
            fn = data["function"]
            raw = fn.get("arguments") or {}
            args = json.loads(raw) if isinstance(raw, str) else raw
            return cls(id=str(data.get("id", "")), name=str(fn["name"]), args=dict(args))
        return cls(
            id=str(data.get("id", "")), name=str(data["name"]), args=dict(data.get("args", {}))
        )


@dataclass(frozen=True)
class Message:
    """One chat message. ``tool`` messages answer the call named by ``tool_call_id``."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ConfigError(f"unknown message role {self.role!r}; use one of {sorted(_ROLES)}")

    def to_dict(self) -> dict[str, Any]:
        """Return the OpenAI chat-message shape (plus ``is_error`` on failed observations)."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        if self.is_error:
            out["is_error"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Inverse of :meth:`to_dict`."""
        content = data.get("content")
        return cls(
            role=data["role"],
            content="" if content is None else str(content),
            tool_calls=tuple(ToolCall.from_dict(c) for c in data.get("tool_calls") or ()),
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            is_error=bool(data.get("is_error", False)),
        )


@dataclass(frozen=True)
class Outcome:
    """How a run ended. ``status`` is one of success/failure/refused/asked/error/unknown."""

    status: OutcomeStatus = "unknown"
    answer: str | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ConfigError(
                f"unknown outcome status {self.status!r}; use one of {sorted(_STATUSES)}"
            )


@dataclass(frozen=True)
class AppliedPerturbation:
    """A perturbation that acted on a run: its name, tier, parameters and seed."""

    name: str
    tier: int
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class Observation:
    """What one tool call returned, as text, and whether it was an error."""

    call: ToolCall
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Trajectory:
    """One agent run: messages, tool definitions, outcome and the perturbations applied."""

    run_id: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    outcome: Outcome = field(default_factory=Outcome)
    perturbations: tuple[AppliedPerturbation, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tool_calls(self) -> list[ToolCall]:
        """Every tool call, in order."""
        return [c for m in self.messages if m.role == "assistant" for c in m.tool_calls]

    @property
    def observations(self) -> list[Observation]:
        """Every observation paired with the call it answers, in order."""
        calls = {c.id: c for c in self.tool_calls}
        return [
            Observation(calls[m.tool_call_id], m.content, m.is_error)
            for m in self.messages
            if m.role == "tool" and m.tool_call_id in calls
        ]

    @property
    def final_answer(self) -> str | None:
        """The last assistant message without tool calls, if any."""
        for m in reversed(self.messages):
            if m.role == "assistant" and not m.tool_calls:
                return m.content
        return None

    def iter_steps(self) -> Iterator[tuple[int, Message]]:
        """Yield ``(step, message)`` for assistant messages; steps count from 1."""
        step = 0
        for m in self.messages:
            if m.role == "assistant":
                step += 1
                yield step, m

    def with_(self, **changes: Any) -> Trajectory:
        """Return a copy with fields replaced (sequences are turned into tuples)."""
        for key in ("messages", "tools", "perturbations"):
            if key in changes:
                changes[key] = tuple(changes[key])
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "run_id": self.run_id,
            "messages": [m.to_dict() for m in self.messages],
            "tools": [t.to_dict() for t in self.tools],
            "outcome": {
                "status": self.outcome.status,
                "answer": self.outcome.answer,
                "detail": self.outcome.detail,
            },
            "perturbations": [
                {"name": p.name, "tier": p.tier, "params": _plain(p.params), "seed": p.seed}
                for p in self.perturbations
            ],
            "metadata": _plain(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trajectory:
        """Inverse of :meth:`to_dict`."""
        outcome = data.get("outcome") or {}
        return cls(
            run_id=str(data["run_id"]),
            messages=tuple(Message.from_dict(m) for m in data.get("messages", ())),
            tools=tuple(ToolSpec.from_dict(t) for t in data.get("tools", ())),
            outcome=Outcome(
                status=outcome.get("status", "unknown"),
                answer=outcome.get("answer"),
                detail=outcome.get("detail"),
            ),
            perturbations=tuple(
                AppliedPerturbation(
                    name=p["name"],
                    tier=int(p["tier"]),
                    params=p.get("params", {}),
                    seed=int(p.get("seed", 0)),
                )
                for p in data.get("perturbations", ())
            ),
            metadata=dict(data.get("metadata", {})),
        )

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Trajectory:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))


def _plain(value: Any) -> Any:
    """Deep-copy mappings and sequences into plain dicts and lists (JSON-ready)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
