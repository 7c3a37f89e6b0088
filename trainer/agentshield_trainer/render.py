"""Rows -> token ids with an assistant-only loss mask, rendered by a chat template with tools.

The mask is found by rendering prefixes: for each assistant message, the conversation up to
it with the generation prompt, and up to and including it. The difference is what the model
generates for that turn (its text, its tool calls and the end-of-turn token); everything
else — system prompt, tool signatures, user turns, observations — is context with no loss.
Each piece is tokenized on its own, exactly as at inference time, where generation starts
right after the prompt's tokens. A template that rewrites earlier turns when later ones are
added cannot be masked this way and is refused with :class:`TemplateError`.

Rows longer than ``max_length`` are an error (:class:`PromptTooLongError`) or dropped on
request, never truncated: cutting a row would silently remove tool signatures or the
answer the loss is about. This module needs a tokenizer object but never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentshield_trainer.errors import PromptTooLongError, TemplateError
from agentshield_trainer.template import TOOL_CHAT_TEMPLATE

__all__ = [
    "ChatTokenizer",
    "Encoded",
    "encode_row",
    "encode_rows",
    "resolve_chat_template",
    "segments",
]


class ChatTokenizer(Protocol):
    """The part of a Hugging Face tokenizer this module uses."""

    chat_template: Any

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any:
        """Render a conversation."""

    def __call__(self, text: str, **kwargs: Any) -> Any:
        """Tokenize text."""


@dataclass(frozen=True)
class Encoded:
    """One tokenized row: ids, the assistant mask (1 = in the loss), the tools prompt size."""

    input_ids: list[int]
    assistant_masks: list[int]
    prompt_tokens: int


def resolve_chat_template(tokenizer: ChatTokenizer, path: str | Path | None = None) -> str:
    """Set and return the chat template: the file at ``path``; else the model's own when it
    renders ``tools``; else :data:`~agentshield_trainer.template.TOOL_CHAT_TEMPLATE`.

    Raises:
        TemplateError: ``path`` cannot be read.
    """
    if path is not None:
        try:
            template = Path(path).read_text()
        except OSError as exc:
            raise TemplateError(f"cannot read chat template {path}: {exc}") from None
    else:
        own = tokenizer.chat_template
        template = own if isinstance(own, str) and "tools" in own else TOOL_CHAT_TEMPLATE
    tokenizer.chat_template = template
    return template


def _render(tok: ChatTokenizer, messages: Sequence[Any], tools: Any, generation: bool) -> str:
    text = tok.apply_chat_template(
        list(messages), tools=tools, tokenize=False, add_generation_prompt=generation
    )
    return str(text)


def segments(tokenizer: ChatTokenizer, row: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """Split a rendered row into ``(text, is_assistant)`` pieces whose join is the whole.

    Raises:
        TemplateError: The template is not prefix-stable (see the module docstring).
    """
    messages = list(row["messages"])
    tools = list(row.get("tools") or []) or None
    pieces: list[tuple[str, bool]] = []
    done = ""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prefix = _render(tokenizer, messages[:i], tools, True)
        full = _render(tokenizer, messages[: i + 1], tools, False)
        if not prefix.startswith(done) or not full.startswith(prefix):
            raise TemplateError(
                "the chat template renders earlier turns differently once later ones are "
                f"added (at message {i}), so assistant turns cannot be masked; pass a "
                "prefix-stable template with data.chat_template (ours: "
                "agentshield_trainer.template.TOOL_CHAT_TEMPLATE)"
            )
        answer = full[len(prefix) :]
        body = answer.rstrip()  # whitespace after end-of-turn is never generated
        pieces.append((prefix[len(done) :], False))
        pieces.append((body, True))
        done = prefix + body
    final = _render(tokenizer, messages, tools, False)
    if not final.startswith(done):
        raise TemplateError("the chat template is not prefix-stable at the end of the row")
    pieces.append((final[len(done) :], False))
    return [(text, mask) for text, mask in pieces if text]


def _ids(tokenizer: ChatTokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_row(tokenizer: ChatTokenizer, row: Mapping[str, Any]) -> Encoded:
    """Tokenize one row with its assistant mask and the size of its tools prompt."""
    ids: list[int] = []
    mask: list[int] = []
    for text, is_assistant in segments(tokenizer, row):
        piece = _ids(tokenizer, text)
        ids.extend(piece)
        mask.extend([int(is_assistant)] * len(piece))
    head = [m for m in row["messages"][:1] if m["role"] == "system"]
    tools = list(row.get("tools") or []) or None
    prompt = len(_ids(tokenizer, _render(tokenizer, head, tools, False))) if tools else 0
    return Encoded(ids, mask, prompt)


def encode_rows(
    tokenizer: ChatTokenizer,
    rows: Sequence[Mapping[str, Any]],
    *,
    max_length: int,
    on_too_long: str = "error",
    ids: Sequence[str] | None = None,
) -> tuple[list[Encoded], int]:
    """Tokenize ``rows``; return the encodings and how many over-long rows were dropped.

    Every row is checked before anything is returned, so an error leaves nothing behind.

    Raises:
        PromptTooLongError: A row is longer than ``max_length`` and ``on_too_long="error"``.
        TemplateError: The template cannot mark assistant turns.
    """
    out: list[Encoded] = []
    too_long: list[tuple[int, Encoded]] = []
    for index, row in enumerate(rows):
        enc = encode_row(tokenizer, row)
        if len(enc.input_ids) > max_length:
            too_long.append((index, enc))
        elif not any(enc.assistant_masks):
            raise TemplateError(f"row {index} has no assistant tokens to train on")
        else:
            out.append(enc)
    if too_long and on_too_long == "error":
        index, enc = max(too_long, key=lambda item: len(item[1].input_ids))
        name = f" (run {ids[index]})" if ids is not None else ""
        longest = len(enc.input_ids)
        where = (
            f"its tools prompt alone is {enc.prompt_tokens} tokens"
            if enc.prompt_tokens > max_length
            else f"its tools prompt is {enc.prompt_tokens} tokens"
        )
        raise PromptTooLongError(
            f"{len(too_long)} of {len(rows)} rows are longer than max_length={max_length}; "
            f"the longest, row {index}{name}, is {longest} tokens and {where}. Rows are never "
            "truncated (that would cut tool signatures or the answer). Raise data.max_length "
            f"(--max-length) to at least {longest}, or set data.on_too_long='drop' to skip them."
        )
    return out, len(too_long)
