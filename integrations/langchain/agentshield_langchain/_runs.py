"""Which run a model or tool call belongs to, and where a tool call sits in it.

The model hook and the tool hook of one run must derive the same run id, or the tools the
model is shown and the tools its calls are checked against would differ. Both use, in order:
the id the wrapper was built with, ``configurable["agentshield_run_id"]``,
``configurable["thread_id"]``, and last a hash of the run's first user message (stable across
processes, but shared by runs that ask the same thing: pass a thread id to tell them apart).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.config import get_config

from agentshield import ToolSpec

#: The ``configurable`` key that names the AgentShield run explicitly.
RUN_ID_KEY = "agentshield_run_id"


def current_config() -> RunnableConfig | None:
    """The config of the graph node or runnable being executed, if any."""
    try:
        return get_config()
    except RuntimeError:  # called outside a graph or runnable
        return None


def resolve_run_id(
    explicit: str | None,
    config: RunnableConfig | None,
    messages: Sequence[BaseMessage],
    *,
    fallback: str | None = None,
) -> str:
    """The run id, by the rule in the module docstring (``fallback`` replaces the hash of
    the first user message, for callers that have no messages)."""
    if explicit is not None:
        return explicit
    configurable: Mapping[str, Any] = (config or {}).get("configurable") or {}
    for key in (RUN_ID_KEY, "thread_id"):
        value = configurable.get(key)
        if value is not None and value != "":
            return str(value)
    if fallback is not None:
        return fallback
    first = next((m for m in messages if isinstance(m, HumanMessage)), None)
    text = "" if first is None else json.dumps(first.content, sort_keys=True, default=str)
    return "q-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def state_messages(state: Any) -> list[BaseMessage]:
    """The messages of a graph state (a dict, a list of messages or a state object)."""
    if isinstance(state, Mapping):
        value = state.get("messages", [])
    elif isinstance(state, list):
        value = state
    else:
        value = getattr(state, "messages", [])
    return [m for m in value if isinstance(m, BaseMessage)] if isinstance(value, list) else []


def locate_call(messages: Sequence[BaseMessage], call_id: str | None) -> tuple[int, int] | None:
    """``(step, index)`` of a tool call: the 1-based ordinal of the assistant message that
    made it among assistant messages, and its position in that message's tool calls."""
    if not call_id:
        return None
    step = 0
    for message in messages:
        if not isinstance(message, AIMessage):
            continue
        step += 1
        for index, call in enumerate(message.tool_calls):
            if call.get("id") == call_id:
                return step, index
    return None


@dataclass
class _Run:
    specs: tuple[ToolSpec, ...] | None = None
    tools: dict[str, BaseTool] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class RunRegistry:
    """What one wrapper remembers per run: the tools shown, and a fallback step counter.

    Thread-safe (LangGraph runs parallel tool calls in a thread pool) and bounded: the
    least recently used runs are forgotten first.
    """

    def __init__(self, max_runs: int = 1024) -> None:
        self._runs: OrderedDict[str, _Run] = OrderedDict()
        self._lock = threading.Lock()
        self._max_runs = max_runs

    def _get(self, run_id: str) -> _Run:
        # Callers hold the lock.
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = _Run()
            while len(self._runs) > self._max_runs:
                self._runs.popitem(last=False)
        else:
            self._runs.move_to_end(run_id)
        return run

    def remember(self, run_id: str, specs: Sequence[ToolSpec], tools: Sequence[BaseTool]) -> None:
        """Record the real tools (and their specs, in order) shown in this run."""
        with self._lock:
            run = self._get(run_id)
            run.specs = tuple(specs)
            run.tools.update((t.name, t) for t in tools)

    def learn(self, run_id: str, tools: Sequence[BaseTool]) -> None:
        """Record real tools met at execution time (their schemas are not the shown list)."""
        with self._lock:
            self._get(run_id).tools.update((t.name, t) for t in tools)

    def specs(self, run_id: str) -> tuple[ToolSpec, ...] | None:
        """The specs last shown to the model in this run, if the model hook ran."""
        with self._lock:
            return self._get(run_id).specs

    def tools(self, run_id: str) -> dict[str, BaseTool]:
        """Every real tool known for this run, by name."""
        with self._lock:
            return dict(self._get(run_id).tools)

    def next_step(self, run_id: str) -> int:
        """A fresh step number for a call whose assistant message cannot be found."""
        with self._lock:
            return next(self._get(run_id).counter)
