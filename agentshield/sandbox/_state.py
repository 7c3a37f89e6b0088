"""What the oracle knows at one step, re-read from the conversation every time.

The oracle is a pure function of (messages, shown tools): this module turns the calls made so
far and their observations into knowledge (parsed results, per call and concept values) and
into the lessons the observations and schema teach (redirections, tokens, required prior
calls, changed argument rules, tools that do not exist).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentshield.sandbox._match import ToolInfo, norm, read_tools
from agentshield.sandbox._parse import find, parse, text_of
from agentshield.trajectory import Message, ToolCall, ToolSpec

_NAME = r"[\w\-]+(?:\.[\w\-]+)*"  # a tool name, not the full stop after it
_TOKEN_DESC = re.compile(rf"Requires (\w+) from ({_NAME}) \(call it first\)")
_TOKEN_ERR = re.compile(rf"Call ({_NAME}) with tool='([^']+)' and pass the returned (\w+)")
_DEP_DESC = re.compile(rf"call ({_NAME}) before this tool", re.IGNORECASE)
_DEP_ERR = re.compile(rf"({_NAME}) requires a prior call to ({_NAME})")
_RULE_ERR = re.compile(r"invalid value .*? for '([^']+)': (.*)", re.DOTALL)
_REDIRECT = re.compile(rf"Use ({_NAME}) instead")
_ISSUED_FOR = re.compile(rf"tokens are issued for: ({_NAME})")


@dataclass(frozen=True)
class Entry:
    """One call made so far and what it returned."""

    call: ToolCall
    role: str | None
    concepts: Mapping[str, str]
    content: str
    is_error: bool
    parsed: Any


@dataclass
class State:
    """Knowledge and lessons re-read from one conversation."""

    query: str
    tools: list[ToolInfo]
    entries: list[Entry] = field(default_factory=list)
    calls_made: int = 0
    bad: set[str] = field(default_factory=set)
    redirects: dict[str, str] = field(default_factory=dict)
    needs_token: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    token_alias: dict[str, str] = field(default_factory=dict)
    needs_prior: dict[str, str] = field(default_factory=dict)
    rules: dict[tuple[str, str], str] = field(default_factory=dict)
    succeeded: set[str] = field(default_factory=set)

    def info(self, name: str) -> ToolInfo | None:
        """The shown tool with this name, if any."""
        return next((t for t in self.tools if t.name == name), None)

    @classmethod
    def read(cls, messages: Sequence[Message], specs: Sequence[ToolSpec]) -> State:
        """Read the conversation so far."""
        query = next((m.content for m in messages if m.role == "user"), "")
        state = cls(query, read_tools(specs))
        for t in state.tools:
            token = _TOKEN_DESC.search(t.spec.description)
            if token:
                state.needs_token[t.name] = (token.group(2), token.group(1))
            prior = _DEP_DESC.search(t.spec.description)
            if prior:
                state.needs_prior[t.name] = prior.group(1)
        calls = [c for m in messages if m.role == "assistant" for c in m.tool_calls]
        state.calls_made = len(calls)
        answers = {m.tool_call_id: m for m in messages if m.role == "tool"}
        for call in calls:
            answer = answers.get(call.id)
            if answer is not None:
                state._learn(call, answer.content, answer.is_error)
        return state

    def _learn(self, call: ToolCall, content: str, is_error: bool) -> None:
        info = self.info(call.name)
        concepts: dict[str, str] = {}
        if info is not None:
            for p in info.params:
                if p.concept and p.key in call.args:
                    concepts[p.concept] = norm(p.concept, call.args[p.key])
        parsed = parse(content)
        self.entries.append(
            Entry(call, info.role if info else None, concepts, content, is_error, parsed)
        )
        if not is_error:
            self.succeeded.add(call.name)
            self._learn_token(call, parsed)
            return
        self._learn_error(call, content, parsed)

    def token_for(self, tool: str) -> str | None:
        """The token fetched for ``tool`` (or for the name tokens are issued under)."""
        return self.tokens.get(self.token_alias.get(tool, tool))

    def _learn_token(self, call: ToolCall, parsed: Any) -> None:
        params = {param for issuer, param in self.needs_token.values() if issuer == call.name}
        if params and call.args:
            keys = (*(p.lower() for p in sorted(params)), "access_token", "token")
            value = text_of(find(parsed, keys))
            if value:
                self.tokens[str(next(iter(call.args.values())))] = value

    def _learn_error(self, call: ToolCall, content: str, parsed: Any) -> None:
        if "is not a valid tool" in content:
            self.bad.add(call.name)
        replacement = text_of(find(parsed, ("replacement",))) if isinstance(parsed, dict) else None
        moved = _REDIRECT.search(content)
        if "deprecated" in content and (replacement or moved):
            self.redirects[call.name] = replacement or (moved.group(1) if moved else "")
        issued = _ISSUED_FOR.search(content)
        if issued and call.args:
            self.token_alias[str(next(iter(call.args.values())))] = issued.group(1)
        token = _TOKEN_ERR.search(content)
        if token:
            self.needs_token[token.group(2)] = (token.group(1), token.group(3))
        prior = _DEP_ERR.search(content)
        if prior:
            self.needs_prior[call.name] = prior.group(2)
        rule = _RULE_ERR.search(content)
        if rule:
            self.rules[(call.name, rule.group(1))] = rule.group(2)
