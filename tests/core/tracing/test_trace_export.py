"""Training rows: TRL and OpenAI chat formats with the tools column, and lossless JSONL."""

from __future__ import annotations

import io
import json

import pytest

from agentshield.errors import ConfigError
from agentshield.testing import sample_trajectory
from agentshield.tracing import Redactor, training_row, write_rows
from agentshield.trajectory import Message, ToolCall, Trajectory


def test_trl_rows() -> None:
    row = training_row(sample_trajectory(), "trl")
    assert set(row) == {"messages", "tools"}
    assert row["tools"][0]["function"]["name"] == "search_places"
    call = row["messages"][2]
    assert call["role"] == "assistant" and call["content"] == ""
    assert call["tool_calls"][0]["function"]["arguments"] == {"query": "cafe", "city": "Lyon"}
    obs = row["messages"][3]
    assert (obs["role"], obs["name"], obs["tool_call_id"]) == ("tool", "search_places", "c1")
    assert "is_error" not in obs


def test_openai_rows() -> None:
    row = training_row(sample_trajectory(), "openai")
    call = row["messages"][2]
    assert "content" not in call
    assert json.loads(call["tool_calls"][0]["function"]["arguments"]) == {
        "query": "cafe",
        "city": "Lyon",
    }
    assert row["messages"][3] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": row["messages"][3]["content"],
    }
    assert row["messages"][-1]["content"].startswith("Booked")


def test_both_content_and_tool_calls() -> None:
    t = Trajectory(
        "r",
        (
            Message("user", "hi"),
            Message("assistant", "Let me look.", tool_calls=(ToolCall("c", "f", {}),)),
        ),
    )
    for fmt in ("trl", "openai"):  # a literal tuple keeps the format type
        msg = training_row(t, fmt)["messages"][1]
        assert msg["content"] == "Let me look." and msg["tool_calls"]


def test_jsonl_is_lossless_and_write_rows_counts() -> None:
    out = io.StringIO()
    assert write_rows([sample_trajectory("a"), sample_trajectory("b")], out, "jsonl") == 2
    first = out.getvalue().splitlines()[0]
    assert Trajectory.from_json(first) == sample_trajectory("a")


def test_export_redaction_and_bad_format() -> None:
    t = Trajectory("r", (Message("user", "mail x@y.org"),))
    assert training_row(t, "trl", redactor=Redactor())["messages"][0]["content"] == (
        "mail [REDACTED:email]"
    )
    with pytest.raises(ConfigError, match="unknown export format"):
        training_row(t, "csv")  # type: ignore[arg-type]
