"""Chat-template rendering with tools, the assistant-only mask, and the tool-call parser."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from agentshield.testing import sample_trajectory
from agentshield_trainer.dataset import to_row
from agentshield_trainer.errors import PromptTooLongError, TemplateError
from agentshield_trainer.render import encode_row, encode_rows, resolve_chat_template, segments
from agentshield_trainer.template import TOOL_CHAT_TEMPLATE, parse_tool_calls


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_mask_covers_exactly_the_assistant_turns(tokenizer: Any) -> None:
    row = to_row(sample_trajectory())
    enc = encode_row(tokenizer, row)
    assert len(enc.input_ids) == len(enc.assistant_masks)
    whole = tokenizer.apply_chat_template(row["messages"], tools=row["tools"], tokenize=False)
    assert tokenizer.decode(enc.input_ids) == whole
    pairs = zip(enc.input_ids, enc.assistant_masks, strict=True)
    texts = [
        tokenizer.decode([token for token, _ in run])
        for in_loss, run in groupby(pairs, key=lambda pair: pair[1])
        if in_loss
    ]
    assert texts == [
        '<tool_call>{"name": "search_places", "arguments": {"query": "cafe", "city": "Lyon"}}'
        "</tool_call><|im_end|>",
        '<tool_call>{"name": "check_availability", "arguments": {"place_id": "p1", "date": '
        '"2026-12-03"}}</tool_call><|im_end|>',
        '<tool_call>{"name": "book_table", "arguments": {"place_id": "p1", "date": '
        '"2026-12-03", "people": 2}}</tool_call><|im_end|>',
        "Booked Cafe Luna for 2 on 2026-12-03. Your code is BK-p1-2.<|im_end|>",
    ]
    assert "search_places" in tokenizer.decode(enc.input_ids[: enc.prompt_tokens])


def test_too_long_is_an_error_that_names_the_fix_or_dropped_on_request(tokenizer: Any) -> None:
    rows = [to_row(sample_trajectory())]
    with pytest.raises(PromptTooLongError, match=r"tools prompt alone is \d+ tokens") as err:
        encode_rows(tokenizer, rows, max_length=100, ids=["run-1"])
    assert "run run-1" in str(err.value) and "--max-length" in str(err.value)
    kept, dropped = encode_rows(tokenizer, rows, max_length=100, on_too_long="drop")
    assert (kept, dropped) == ([], 1)


def test_templates_that_ignore_tools_get_ours(tokenizer: Any, tmp_path: Path) -> None:
    tokenizer.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert resolve_chat_template(tokenizer) == TOOL_CHAT_TEMPLATE
    custom = tmp_path / "t.jinja"
    custom.write_text("{{ tools }}{% for m in messages %}{{ m.content }}{% endfor %}")
    assert resolve_chat_template(tokenizer, custom) == custom.read_text()
    with pytest.raises(TemplateError, match="cannot read chat template"):
        resolve_chat_template(tokenizer, tmp_path / "missing.jinja")


def test_templates_that_rewrite_history_are_refused(tokenizer: Any) -> None:
    # Renders only the last message: not prefix-stable.
    tokenizer.chat_template = "{{ tools }}{{ messages[-1].content if messages else '' }}"
    with pytest.raises(TemplateError, match="prefix-stable"):
        segments(tokenizer, to_row(sample_trajectory()))
    tokenizer.chat_template = TOOL_CHAT_TEMPLATE


def test_parse_tool_calls() -> None:
    text = (
        'Let me look.<tool_call>{"name": "a", "arguments": {"x": 1}}</tool_call>'
        '<tool_call>{"name": "b", "arguments": "{\\"y\\": 2}"}</tool_call>'
        '<tool_call>not json</tool_call><tool_call>{"name": "c"'
    )
    parsed = parse_tool_calls(text)
    assert parsed.content == "Let me look."
    assert parsed.calls == [("a", {"x": 1}), ("b", {"y": 2})]
    assert [why for _, why in parsed.invalid][-1] == "unterminated <tool_call> block"
    assert len(parsed.invalid) == 2
    assert parse_tool_calls("Just text.").calls == []
