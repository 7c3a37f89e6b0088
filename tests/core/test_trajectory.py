"""The trajectory type: OpenAI shapes, JSON round trips, derived views."""

from __future__ import annotations

import pytest

from agentshield import ConfigError, Message, ToolCall, ToolSpec, Trajectory
from agentshield.testing import sample_trajectory


def test_round_trip_and_views() -> None:
    t = sample_trajectory()
    again = Trajectory.from_json(t.to_json())
    assert again == t
    assert [c.name for c in t.tool_calls] == ["search_places", "check_availability", "book_table"]
    assert [o.call.id for o in t.observations] == ["c1", "c2", "c3"]
    assert t.final_answer is not None and "BK-p1-2" in t.final_answer
    assert [s for s, _ in t.iter_steps()] == [1, 2, 3, 4]


def test_openai_shapes() -> None:
    call = ToolCall("c1", "f", {"a": 1})
    assert ToolCall.from_dict(call.to_dict()) == call
    spec = ToolSpec("f", "does f", {"type": "object", "properties": {"a": {"type": "integer"}}})
    assert spec.to_dict()["function"]["name"] == "f"
    assert ToolSpec.from_dict(spec.to_dict()) == spec
    assert ToolSpec.from_dict({"name": "g"}).properties == {}
    msg = Message("assistant", "", tool_calls=(call,))
    assert Message.from_dict(msg.to_dict()) == msg


def test_bad_values_are_rejected() -> None:
    with pytest.raises(ConfigError, match="unknown message role"):
        Message("robot", "hi")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="without a name"):
        ToolSpec.from_dict({"description": "x"})
