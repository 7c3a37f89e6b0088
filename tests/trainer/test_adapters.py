"""Loading back: the merged model answers like base + adapter; the chat model's contract."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from agentshield.testing import sample_trajectory
from agentshield_trainer import LocalChatModel, load_chat_model, merge_adapter
from agentshield_trainer.testing import sample_langchain_tools
from tests.trainer.conftest import Trained

REQUEST = next(m.content for m in sample_trajectory().messages if m.role == "user")
PROMPT = [SystemMessage("You are a booking assistant."), HumanMessage(REQUEST)]


def test_bound_model_returns_real_tool_calls(trained: Trained) -> None:
    model = load_chat_model(str(trained.base), adapter=trained.result.adapter_dir)
    assert isinstance(model, LocalChatModel)
    answer = model.bind_tools(sample_langchain_tools()).invoke(PROMPT)
    assert isinstance(answer, AIMessage)
    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
        ("search_places", {"query": "cafe", "city": "Lyon"})
    ]
    assert answer.tool_calls[0]["id"] and answer.response_metadata["finish_reason"] == "tool_calls"
    assert answer.usage_metadata is not None and answer.usage_metadata["input_tokens"] > 300


def test_merged_model_matches_base_plus_adapter(trained: Trained, tmp_path: Path) -> None:
    merged = merge_adapter(str(trained.base), trained.result.adapter_dir, tmp_path / "merged")
    tools = sample_langchain_tools()
    with_adapter = load_chat_model(str(trained.base), adapter=trained.result.adapter_dir)
    standalone = load_chat_model(str(merged))
    a = with_adapter.bind_tools(tools).invoke(PROMPT)
    b = standalone.bind_tools(tools).invoke(PROMPT)
    assert isinstance(a, AIMessage) and isinstance(b, AIMessage)
    assert [(c["name"], c["args"]) for c in a.tool_calls] == [
        (c["name"], c["args"]) for c in b.tool_calls
    ]


def test_tool_choice_forces_a_call(trained: Trained) -> None:
    model = load_chat_model(str(trained.base), max_new_tokens=8)  # base only: untrained
    forced = model.bind_tools(sample_langchain_tools(), tool_choice="any").invoke(PROMPT)
    assert isinstance(forced, AIMessage)
    # An untrained model rarely finishes the block in 8 tokens: it is reported, not dropped.
    assert forced.tool_calls or forced.invalid_tool_calls
