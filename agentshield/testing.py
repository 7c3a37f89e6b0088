"""Reusable test helpers, shipped as a pytest plugin (``agentshield.testing``).

Users test their own agents the same way we test ours: a fake clock instead of sleeping, a
small recorded trajectory and its tools, and a runner that replays a trajectory's calls
through a Shield without any framework.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from agentshield.effects import Result
from agentshield.shield import Shield
from agentshield.trajectory import Message, Outcome, ToolCall, ToolSpec, Trajectory


@dataclass
class FakeClock:
    """Records requested sleeps instead of sleeping; ``now`` advances by each one."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        """The sync sleep."""
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        """The async sleep."""
        self.sleep(seconds)


PLACES: dict[str, dict[str, Any]] = {
    "p1": {"place_id": "p1", "name": "Cafe Luna", "city": "Lyon", "rating": 4.5},
    "p2": {"place_id": "p2", "name": "Bistro Sol", "city": "Lyon", "rating": 4.1},
}


def sample_tools() -> tuple[ToolSpec, ...]:
    """Three tools of a find → check → book chain with JSON schemas."""
    return (
        ToolSpec(
            "search_places",
            "Search places by free-text query in a city.",
            {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for"},
                    "city": {"type": "string", "description": "the city"},
                },
                "required": ["query", "city"],
            },
        ),
        ToolSpec(
            "check_availability",
            "Check free slots of a place on a date.",
            {
                "type": "object",
                "properties": {
                    "place_id": {"type": "string", "description": "id from search_places"},
                    "date": {"type": "string", "description": "date as YYYY-MM-DD"},
                },
                "required": ["place_id", "date"],
            },
        ),
        ToolSpec(
            "book_table",
            "Book a table; returns a verification code.",
            {
                "type": "object",
                "properties": {
                    "place_id": {"type": "string", "description": "id from search_places"},
                    "date": {"type": "string", "description": "date as YYYY-MM-DD"},
                    "people": {"type": "integer", "description": "party size"},
                },
                "required": ["place_id", "date", "people"],
            },
        ),
    )


def sample_tool_impls() -> dict[str, Callable[..., Any]]:
    """Plain-Python implementations of :func:`sample_tools` (deterministic)."""

    def search_places(query: str, city: str) -> list[dict[str, Any]]:
        return [p for p in PLACES.values() if p["city"].lower() == city.lower()]

    def check_availability(place_id: str, date: str) -> dict[str, Any]:
        return {"place_id": place_id, "date": date, "slots": ["19:00", "20:30"]}

    def book_table(place_id: str, date: str, people: int) -> dict[str, Any]:
        return {
            "status": "booked",
            "place_id": place_id,
            "date": date,
            "code": f"BK-{place_id}-{people}",
        }

    return {
        "search_places": search_places,
        "check_availability": check_availability,
        "book_table": book_table,
    }


def sample_trajectory(run_id: str = "run-1") -> Trajectory:
    """A clean three-step run over :func:`sample_tools` that ends with a booking code."""
    impl = sample_tool_impls()
    calls = [
        ToolCall("c1", "search_places", {"query": "cafe", "city": "Lyon"}),
        ToolCall("c2", "check_availability", {"place_id": "p1", "date": "2026-12-03"}),
        ToolCall("c3", "book_table", {"place_id": "p1", "date": "2026-12-03", "people": 2}),
    ]
    messages: list[Message] = [
        Message("system", "You are a booking assistant."),
        Message("user", "Please find a cafe in Lyon and book a table for 2 people on 2026-12-03."),
    ]
    for call in calls:
        messages.append(Message("assistant", "", tool_calls=(call,)))
        out = json.dumps(impl[call.name](**call.args))
        messages.append(Message("tool", out, tool_call_id=call.id, name=call.name))
    answer = "Booked Cafe Luna for 2 on 2026-12-03. Your code is BK-p1-2."
    messages.append(Message("assistant", answer))
    return Trajectory(
        run_id=run_id,
        messages=tuple(messages),
        tools=sample_tools(),
        outcome=Outcome("success", answer=answer),
        metadata={"agent": "scripted", "task_id": "sample"},
    )


def replay(
    shield: Shield, trajectory: Trajectory, tools: tuple[ToolSpec, ...] | None = None
) -> Iterator[tuple[ToolCall, Result]]:
    """Replay an (augmented) trajectory's calls through ``shield`` at runtime.

    Real tools are :func:`sample_tool_impls` (mapped-back names and arguments); yields each
    call with the observation the Shield produced. Steps and indices follow the trajectory.
    """
    impl = sample_tool_impls()
    specs = tools or sample_tools()

    def execute(name: str, args: Mapping[str, Any]) -> Result:
        return Result(json.dumps(impl[name](**args)))

    for step, message in trajectory.iter_steps():
        for index, call in enumerate(message.tool_calls):
            try:
                result = shield.call_tool(
                    trajectory.run_id, call, specs, execute, step=step, index=index
                )
            except Exception as exc:  # an injected fault, rendered as the walk renders it
                result = Result(str(exc), is_error=True)
            yield call, result


@pytest.fixture
def fake_clock() -> FakeClock:
    """A :class:`FakeClock`; pass ``sleep=fake_clock.sleep, asleep=fake_clock.asleep``."""
    return FakeClock()


@pytest.fixture
def trajectory() -> Trajectory:
    """The :func:`sample_trajectory`."""
    return sample_trajectory()
