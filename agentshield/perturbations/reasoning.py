"""Tier 3, reasoning shifts: a new prerequisite, an inverted dependency, a changed rule.

The wrapper enforces them with synthetic tools and argument checks whose errors say what to
do; the real tools keep running unchanged behind them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar

from agentshield.effects import Effect, Prepare, Respond, Result, Retry, Rewrite
from agentshield.errors import ConfigError
from agentshield.perturbations.base import (
    CallContext,
    Perturbation,
    RunContext,
    Tier,
    require_choice,
    require_name,
)
from agentshield.perturbations.registry import register
from agentshield.trajectory import ToolCall, ToolSpec
from agentshield.view import ShownTool, ToolView


def _token(ctx_seed: int, run_id: str, tool: str) -> str:
    from agentshield._rng import derive_rng

    return "tok-" + f"{derive_rng(ctx_seed, run_id, 'token', tool).randrange(16**8):08x}"


@register
@dataclass(frozen=True, kw_only=True)
class NewPrerequisite(Perturbation):
    """``tool`` now needs an access token from a new tool, ``token_tool``, called first."""

    name: ClassVar[str] = "new_prerequisite"
    tier: ClassVar[Tier] = Tier.REASONING
    description: ClassVar[str] = "a tool now needs a token obtained from a new tool first"

    tool: str = field(metadata={"help": "the real tool that gains the prerequisite"})
    token_tool: str = field(default="get_access_token", metadata={"help": "the new tool's name"})
    token_param: str = field(default="access_token", metadata={"help": "the new argument's name"})

    def __post_init__(self) -> None:
        require_name(self.name, "tool", self.tool)
        require_name(self.name, "token_tool", self.token_tool)
        require_name(self.name, "token_param", self.token_param)

    def _named_tools(self) -> Sequence[str]:
        return (self.tool,)

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        target = view.for_real(self.tool)
        if target is None or not self.when(ctx.tool_target(self.tool)):
            return view
        shown = target.name
        token = _token(ctx.seed, ctx.run_id, self.tool)

        def issue(args: Mapping[str, Any]) -> Respond:
            if args.get("tool") != shown:
                return Respond(
                    f"Error: {self.token_tool} needs 'tool' set to the tool you want to call; "
                    f"tokens are issued for: {shown}."
                )
            return Respond(json.dumps({self.token_param: token, "tool": shown}), is_error=False)

        params: dict[str, Any] = dict(target.spec.parameters)
        props = dict(target.spec.properties)
        props[self.token_param] = {
            "type": "string",
            "description": f"Token from {self.token_tool}(tool='{shown}'); required since v2.",
        }
        params["properties"] = props
        params["required"] = [*target.spec.required, self.token_param]
        gated = target.with_spec(
            description=(
                f"{target.spec.description} Requires {self.token_param} from "
                f"{self.token_tool} (call it first)."
            ).strip(),
            parameters=params,
        )
        token_tool = ShownTool(
            spec=ToolSpec(
                self.token_tool,
                "Issue an access token for one tool. Call this before any tool whose "
                f"description asks for an {self.token_param}.",
                {
                    "type": "object",
                    "properties": {"tool": {"type": "string", "description": "tool name"}},
                    "required": ["tool"],
                },
            ),
            real=None,
            responder=issue,
            owner=self.name,
        )
        return view.replace_tool(target, replace(gated, owner=self.name)).extended(token_tool)

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        if ctx.tool != self.tool or ctx.view.find(self.token_tool) is None:
            return ()
        token = _token(ctx.target.seed, ctx.target.run_id, self.tool)
        given = ctx.args.get(self.token_param)
        if given != token:
            why = "missing" if given is None else "invalid or expired"
            return (
                Respond(
                    f"Error 401: {self.token_param} {why} for {ctx.call.name}. Call "
                    f"{self.token_tool} with tool='{ctx.call.name}' and pass the returned "
                    f"{self.token_param}."
                ),
            )
        return (Rewrite({k: v for k, v in ctx.args.items() if k != self.token_param}),)

    def prepare(self, ctx: CallContext) -> Prepare | None:
        if ctx.tool != self.tool or ctx.view.find(self.token_tool) is None:
            return None
        token = _token(ctx.target.seed, ctx.target.run_id, self.tool)
        if ctx.call.args.get(self.token_param) == token:
            return None
        fetch = ToolCall(f"{ctx.call.id}-token", self.token_tool, {"tool": ctx.call.name})
        with_token = ToolCall(
            ctx.call.id, ctx.call.name, {**ctx.call.args, self.token_param: token}
        )
        return Prepare(with_token, before=(fetch,))


@register
@dataclass(frozen=True, kw_only=True)
class DependencyInversion(Perturbation):
    """The documented order of two calls is reversed: ``first`` now needs a prior call to
    ``then`` in the run (apply it to a pair where ``then`` can run on its own)."""

    name: ClassVar[str] = "dependency_inversion"
    tier: ClassVar[Tier] = Tier.REASONING
    description: ClassVar[str] = "the documented order of two dependent calls is reversed"

    first: str = field(metadata={"help": "the tool that used to come first"})
    then: str = field(metadata={"help": "the tool that must now come before it"})

    def __post_init__(self) -> None:
        require_name(self.name, "first", self.first)
        require_name(self.name, "then", self.then)
        if self.first == self.then:
            raise ConfigError(f"{self.name}: 'first' and 'then' must be different tools")

    def _named_tools(self) -> Sequence[str]:
        return (self.first, self.then)

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        a, b = view.for_real(self.first), view.for_real(self.then)
        if a is None or b is None or not self.when(ctx.tool_target(self.first)):
            return view
        note = f" Since v2, call {b.name} before this tool in every session."
        return view.replace_tool(
            a, replace(a.with_spec(description=a.spec.description + note), owner=self.name)
        )

    def _satisfied(self, ctx: CallContext) -> bool:
        return any(h.tool == self.then and not h.is_error for h in ctx.history)

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        if ctx.tool != self.first or self._satisfied(ctx):
            return ()
        b = ctx.view.for_real(self.then)
        if b is None:
            return ()
        return (
            Respond(
                f"Error 409: {ctx.call.name} requires a prior call to {b.name} in this session. "
                f"Call {b.name} first, then call {ctx.call.name} again."
            ),
        )

    def recover(self, ctx: CallContext, result: Result) -> Retry | None:
        b = ctx.view.for_real(self.then)
        if b is None:
            return None
        props = b.spec.properties
        args = {k: v for k, v in ctx.call.args.items() if k in props}
        if any(r not in args for r in b.spec.required):
            return None
        prior = ToolCall(f"{ctx.call.id}-dep", b.name, args)
        return Retry(ctx.call, before=(prior,))


_RULES = ("date_format", "time_format", "upper_case")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NEW_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
_HHMM = re.compile(r"^\d{1,2}:\d{2}$")
_AMPM = re.compile(r"^\d{1,2}:\d{2} (AM|PM)$")


def _to_new(rule: str, value: Any) -> Any:
    """A value in the old convention, expressed in the new one."""
    if not isinstance(value, str):
        return value
    if rule == "date_format" and _ISO_DATE.match(value):
        return datetime.strptime(value, "%Y-%m-%d").strftime("%d/%m/%Y")
    if rule == "time_format" and _HHMM.match(value):
        return datetime.strptime(value, "%H:%M").strftime("%I:%M %p").lstrip("0")
    if rule == "upper_case":
        return value.upper()
    return value


def _to_old(rule: str, value: Any) -> Any | None:
    """A value in the new convention, converted back for the real tool (``None`` if invalid)."""
    if not isinstance(value, str):
        return None
    if rule == "date_format":
        return (
            datetime.strptime(value, "%d/%m/%Y").strftime("%Y-%m-%d")
            if _NEW_DATE.match(value)
            else None
        )
    if rule == "time_format":
        return (
            datetime.strptime(value, "%I:%M %p").strftime("%H:%M") if _AMPM.match(value) else None
        )
    return value.lower() if value.isupper() or not any(c.isalpha() for c in value) else None


_RULE_TEXT = {
    "date_format": "must now be DD/MM/YYYY (e.g. 03/12/2026); YYYY-MM-DD is no longer accepted",
    "time_format": "must now be 12-hour h:MM AM/PM (e.g. 7:30 PM); 24-hour times are rejected",
    "upper_case": "values must now be UPPER CASE (e.g. {example})",
}


@register
@dataclass(frozen=True, kw_only=True)
class RuleChange(Perturbation):
    """A documented constraint of one argument changes (date format, time format, casing).
    The schema documents the new rule; old-style values get an error that says how to fix
    them; new-style values are converted back for the real tool."""

    name: ClassVar[str] = "rule_change"
    tier: ClassVar[Tier] = Tier.REASONING
    description: ClassVar[str] = (
        "a documented constraint changes (date/time format, allowed values)"
    )

    tool: str = field(metadata={"help": "the real tool whose argument changes"})
    param: str = field(metadata={"help": "the real argument whose rule changes"})
    rule: str = field(default="date_format", metadata={"help": f"one of {', '.join(_RULES)}"})

    def __post_init__(self) -> None:
        require_name(self.name, "tool", self.tool)
        require_name(self.name, "param", self.param)
        require_choice(self.name, "rule", self.rule, _RULES)

    def _named_tools(self) -> Sequence[str]:
        return (self.tool,)

    def _shown_param(self, tool: ShownTool) -> str:
        return next((s for s, r in tool.arg_map.items() if r == self.param), self.param)

    def _text(self, example: str = "VALUE") -> str:
        return _RULE_TEXT[self.rule].format(example=example)

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        target = view.for_real(self.tool)
        if target is None or not self.when(ctx.tool_target(self.tool)):
            return view
        key = self._shown_param(target)
        props = dict(target.spec.properties)
        if key not in props:
            raise ConfigError(
                f"{self.name}: tool {self.tool!r} has no parameter {self.param!r}; "
                f"valid: {sorted(target.spec.properties)}"
            )
        schema = dict(props[key])
        if self.rule == "upper_case" and "enum" in schema:
            schema["enum"] = [str(v).upper() for v in schema["enum"]]
        schema["description"] = f"{schema.get('description', '')} ({key} {self._text()})".strip()
        props[key] = schema
        params = {**dict(target.spec.parameters), "properties": props}
        return view.replace_tool(
            target, replace(target.with_spec(parameters=params), owner=self.name)
        )

    def before_call(self, ctx: CallContext) -> Sequence[Effect]:
        if ctx.tool != self.tool or self.param not in ctx.args:
            return ()
        value = ctx.args[self.param]
        old = _to_old(self.rule, value)
        if old is None:
            shown = ctx.view.find(ctx.call.name)
            key = self._shown_param(shown) if shown else self.param
            example = str(_to_new(self.rule, value))
            return (
                Respond(
                    f"Error 422: invalid value {value!r} for '{key}': {key} {self._text(example)}."
                ),
            )
        return (Rewrite({**ctx.args, self.param: old}),)

    def prepare(self, ctx: CallContext) -> Prepare | None:
        if ctx.tool != self.tool:
            return None
        shown = ctx.view.find(ctx.call.name)
        key = self._shown_param(shown) if shown else self.param
        if key not in ctx.call.args:
            return None
        value = ctx.call.args[key]
        new = _to_new(self.rule, value)
        if new == value:
            return None
        return Prepare(ToolCall(ctx.call.id, ctx.call.name, {**ctx.call.args, key: new}))
