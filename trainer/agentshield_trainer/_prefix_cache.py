"""Keys/values of prompt prefixes for :class:`~agentshield_trainer.local_policy.LocalPolicy`.

Two kinds of prefix are kept, each in its own LRU:

* **tools prompts**: the system turn with the tool signatures, shared by every step of
  every episode shown the same tools; computed on first use;
* **conversations**: each generated row's prompt, and its prompt plus answer, kept after
  its batch. An episode's next prompt is its previous prompt plus the answer and the
  observation, so the next step prefills only the observation; without this an episode of
  ``n`` steps prefills its conversation ``n`` times over.

A prompt is matched against both by token ids: its longest cached prefix wins, and a cached
prefix is used only when the prompt's own tokens start with exactly those ids, so a prompt
that tokenizes differently in context just falls back to a shorter prefix.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from agentshield_trainer._decode import prefill

__all__ = ["PrefixCache", "Row"]

#: One prompt split for generation: its cached prefix ids, their keys/values (one ``(k, v)``
#: per layer, batch size 1) or ``None``, and the ids still to prefill.
Row = tuple[tuple[int, ...], Any, list[int]]

_SYSTEM_HEAD = "<|im_start|>system\n"


class PrefixCache:
    """Tools-prompt and conversation prefixes of one model.

    Args:
        model: The causal LM the keys/values belong to.
        tokenizer: Its tokenizer.
        end_of_turn: The token text that ends the system turn.
        tools_size: Tools prompts kept (0 turns both caches off).
        conversation_size: Conversation prompts kept (each holds keys/values for its whole
            prompt: ~46 kB per token for SmolLM2-135M in float32).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        end_of_turn: str,
        tools_size: int,
        conversation_size: int,
    ) -> None:
        self.model, self.tokenizer, self.end_of_turn = model, tokenizer, end_of_turn
        self.tools_size = tools_size
        self.conversation_size = conversation_size if tools_size else 0
        self.tools: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self.conversations: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._tools_ids: OrderedDict[str, tuple[int, ...]] = OrderedDict()

    def split(self, prompt: str) -> Row:
        """Tokenize ``prompt``; return its longest cached prefix, that prefix's keys/values
        (computed now for a new tools prompt) and the rest of its ids."""
        ids: list[int] = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        if not self.tools_size:
            return (), None, ids
        best: tuple[int, ...] = ()
        for key in self.conversations:
            if len(best) < len(key) < len(ids) and _starts_with(ids, key):
                best = key
        if best:
            self.conversations.move_to_end(best)
            return best, self.conversations[best], ids[len(best) :]
        prefix = self._tools_prefix(prompt)
        if not prefix or len(prefix) >= len(ids) or not _starts_with(ids, prefix):
            return (), None, ids  # no tools prompt, or it tokenizes differently in context
        kv = self.tools.get(prefix)
        if kv is None:
            kv = prefill(self.model, (), None, prefix).kv
            _put(self.tools, prefix, kv, self.tools_size)
        self.tools.move_to_end(prefix)
        return prefix, kv, ids[len(prefix) :]

    def remember(self, ids: tuple[int, ...], kv: Any) -> None:
        """Keep the keys/values of a whole prompt (``ids``), for the conversation's next step."""
        if self.conversation_size:
            _put(self.conversations, ids, kv, self.conversation_size)

    def _tools_prefix(self, prompt: str) -> tuple[int, ...]:
        """The token ids of the prompt's system turn (with the tools), if it has one."""
        end = prompt.find(self.end_of_turn + "\n")
        if not prompt.startswith(_SYSTEM_HEAD) or end < 0:
            return ()
        text = prompt[: end + len(self.end_of_turn) + 1]
        ids = self._tools_ids.get(text)
        if ids is None:
            ids = tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            _put(self._tools_ids, text, ids, 4 * self.tools_size)
        return ids


def _starts_with(ids: list[int], prefix: tuple[int, ...]) -> bool:
    return tuple(ids[: len(prefix)]) == prefix


def _put(lru: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    lru[key] = value
    lru.move_to_end(key)
    while len(lru) > size:
        lru.popitem(last=False)
