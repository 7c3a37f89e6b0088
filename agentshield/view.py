"""The tool view: the schema shown to the model and how shown calls map back to real tools.

Schema perturbations (renames, parameter renames, description changes, distractors, new
prerequisites, redirections, removals) compose by turning one :class:`ToolView` into another.
Each shown tool remembers the real tool behind it and how its argument keys map back, so
schema shifts stay transparent: the model sees the shifted schema and the real tool runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from agentshield.effects import Respond
from agentshield.trajectory import ToolCall, ToolSpec

SyntheticResponder = Callable[[Mapping[str, Any]], Respond]


@dataclass(frozen=True)
class ShownTool:
    """One tool as shown to the model.

    Attributes:
        spec: The schema the model sees.
        real: The real tool that runs, or ``None`` for a synthetic tool.
        arg_map: Shown argument key -> real argument key (identity when absent).
        responder: How a synthetic tool answers (``None`` for a real one; a synthetic tool
            without a responder answers like an unknown tool — a distractor).
        owner: The perturbation that added or changed this tool.
    """

    spec: ToolSpec
    real: str | None
    arg_map: Mapping[str, str] = field(default_factory=dict)
    responder: SyntheticResponder | None = None
    owner: str | None = None

    @property
    def name(self) -> str:
        """The shown name."""
        return self.spec.name

    def with_spec(self, **changes: Any) -> ShownTool:
        """Return a copy whose spec has fields replaced."""
        return replace(self, spec=replace(self.spec, **changes))

    def stale_args(self, args: Mapping[str, Any]) -> list[str]:
        """Keys of ``args`` that are the old names of renamed parameters (a renamed API
        rejects them, so the model must use the names it is shown)."""
        if not self.arg_map:  # every call passes here: the common case costs nothing
            return []
        old = set(self.arg_map.values()) - set(self.arg_map)
        return sorted(k for k in args if k in old)

    def to_real_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Map shown argument keys back to the real tool's keys."""
        return {self.arg_map.get(k, k): v for k, v in args.items()}

    def to_shown_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Map real argument keys to the shown keys."""
        back = {real: shown for shown, real in self.arg_map.items()}
        return {back.get(k, k): v for k, v in args.items()}


@dataclass(frozen=True)
class ToolView:
    """The ordered tools shown to the model."""

    tools: tuple[ShownTool, ...]

    @classmethod
    def identity(cls, specs: tuple[ToolSpec, ...] | list[ToolSpec]) -> ToolView:
        """The view of an unperturbed agent: every real tool, as it is."""
        return cls(tuple(ShownTool(spec=s, real=s.name) for s in specs))

    def __iter__(self) -> Iterator[ShownTool]:
        return iter(self.tools)

    @property
    def specs(self) -> list[ToolSpec]:
        """The schemas shown to the model."""
        return [t.spec for t in self.tools]

    @property
    def names(self) -> list[str]:
        """The shown names."""
        return [t.name for t in self.tools]

    def find(self, shown_name: str) -> ShownTool | None:
        """The shown tool with this name, if any."""
        for t in self.tools:
            if t.name == shown_name:
                return t
        return None

    def for_real(self, real: str) -> ShownTool | None:
        """The (first) shown tool that runs the real tool ``real``, if it is still shown."""
        for t in self.tools:
            if t.real == real and t.responder is None:
                return t
        return None

    def renames(self) -> dict[str, str]:
        """Real name -> shown name for every real tool shown under another name."""
        shown = set(self.names)
        out: dict[str, str] = {}
        for t in self.tools:
            # A real name still shown (as a deprecated stub or another tool's name) keeps
            # meaning that shown tool, so it is not translated.
            if (
                t.real is not None
                and t.responder is None
                and t.real != t.name
                and t.real not in shown
            ):
                out.setdefault(t.real, t.name)
        return out

    def with_shown_names_in_descriptions(self) -> ToolView:
        """This view with real names in tool and parameter descriptions replaced by shown ones
        ("id from search_places" must not leak a name the model can no longer call)."""
        renames = self.renames()
        if not renames:
            return self
        tools = []
        for t in self.tools:
            params = dict(t.spec.parameters)
            if t.spec.properties:
                params["properties"] = {
                    k: (
                        {**v, "description": translate_names(str(v["description"]), renames)}
                        if isinstance(v, Mapping) and "description" in v
                        else v
                    )
                    for k, v in t.spec.properties.items()
                }
            description = translate_names(t.spec.description, renames)
            tools.append(t.with_spec(description=description, parameters=params))
        return ToolView(tuple(tools))

    def to_shown_call(self, call: ToolCall) -> ToolCall:
        """Express a real-space call (from a recorded run) in the shown schema.

        A call to a tool that is no longer shown keeps its real name.
        """
        shown = self.for_real(call.name)
        if shown is None:
            return call
        return replace(call, name=shown.name, args=shown.to_shown_args(call.args))

    def replace_tool(self, old: ShownTool, *new: ShownTool) -> ToolView:
        """Return a view with ``old`` replaced by ``new`` (zero or more tools)."""
        out: list[ShownTool] = []
        for t in self.tools:
            out.extend(new if t is old else (t,))
        return ToolView(tuple(out))

    def extended(self, *new: ShownTool) -> ToolView:
        """Return a view with tools appended."""
        return ToolView((*self.tools, *new))


def translate_names(text: str, renames: Mapping[str, str]) -> str:
    """Replace whole-word occurrences of real names with shown names (observations speak
    the shifted names)."""
    if not renames or not text:
        return text
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(k) for k in sorted(renames, key=len, reverse=True)) + r")\b"
    )
    return pattern.sub(lambda m: renames[m.group(1)], text)


def canonical_args(args: Mapping[str, Any]) -> str:
    """A stable text key for a set of arguments."""
    return json.dumps(args, sort_keys=True, default=str)
