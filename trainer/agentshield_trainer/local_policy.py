"""Fast local inference for evaluation: a batched, prefix-cached policy over a local model.

:class:`LocalPolicy` is an :class:`~agentshield.sandbox.policy.AsyncPolicy`: awaited by many
concurrent episodes (``asyncio.gather`` over ``arun_episode``), it collects the requests
that arrive within ``batch_window_s`` (up to ``max_batch``) and decodes them together, in a
worker thread so the event loop keeps running tool calls meanwhile.

* **Greedy decoding with stop strings** (:mod:`agentshield_trainer._decode`). Each prompt is
  prefilled alone, then the batch decodes together in key/value buffers allocated once; a
  row leaves the batch at the end-of-turn token (or another ChatML marker) or a stop string.
  Prompt lookup (``draft_tokens``) is there, off by default.
  The default stop string ``<tool_response>`` ends an answer where the model starts
  inventing an observation itself.
* **Prefix caches** (:mod:`agentshield_trainer._prefix_cache`). The system turn with the
  tool signatures is the same for every step of every episode shown the same tools; its
  keys/values are computed once (an LRU of ``prefix_cache_size`` entries). Each generated
  row's prompt, and its prompt plus answer, are kept too (``conversation_cache_size``
  entries), so an episode's next step prefills only the observation that followed. Every
  row computes what it would alone, up to rounding (see ``_decode``).
* **Tool calls** are parsed with :func:`~agentshield_trainer.template.parse_tool_calls` into
  :class:`~agentshield.trajectory.Message` / :class:`~agentshield.trajectory.ToolCall`;
  malformed blocks stay in the text, so the episode sees the model's real answer. Each reply
  is a :class:`~agentshield.sandbox.policy.Turn` with token counts.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentshield.sandbox.policy import Turn
from agentshield.trajectory import Message, ToolCall, ToolSpec
from agentshield_trainer._decode import decode, prefill
from agentshield_trainer._prefix_cache import PrefixCache
from agentshield_trainer.render import resolve_chat_template
from agentshield_trainer.template import END_OF_TURN, parse_tool_calls

__all__ = ["Completion", "LocalPolicy", "PolicyStats", "load_local_policy"]

#: Stop strings used when none are given: the model writing an observation itself.
DEFAULT_STOP = ("<tool_response>",)
_END_TOKENS = (END_OF_TURN, "<|im_start|>", "<|endoftext|>")


@dataclass(frozen=True)
class Completion:
    """One generated answer and what it cost.

    Attributes:
        text: The answer, special tokens removed, cut before any stop string.
        input_tokens: The prompt's length in tokens (cached prefix included).
        output_tokens: Tokens generated, the final end-of-turn token included.
        cached_tokens: Prompt tokens whose keys/values came from the prefix cache.
        finish_reason: ``stop`` (end of turn or a stop string) or ``length``.
    """

    text: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    finish_reason: str


@dataclass
class PolicyStats:
    """Counters since the policy was made (updated under the generation lock).

    ``forward_passes`` counts decoding passes over a batch: without prompt lookup a batch
    takes as many as its longest answer has tokens.
    """

    batches: int = 0
    requests: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    forward_passes: int = 0
    batch_sizes: list[int] = field(default_factory=list)


class _Batcher:
    """The request queue of one event loop and the task that drains it."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, asyncio.Future[Completion]]] = []
        self.task: asyncio.Task[None] | None = None


class LocalPolicy:
    """An async policy that batches concurrent episodes' model calls on a local model.

    Args:
        model: A causal LM (``PeftModel`` with an adapter applied is fine), in eval mode.
        tokenizer: Its tokenizer; the chat template must render ``tools`` (the tool-aware
            template is set when the model's own ignores tools).
        name: The model name reported in each :class:`Turn`.
        max_new_tokens: The most tokens one answer may have.
        max_batch: The most requests generated together.
        batch_window_s: How long the first request of a batch waits for others.
        stop: Stop strings (the default: :data:`DEFAULT_STOP`).
        prefix_cache_size: Tools prompts whose keys/values are kept (0 turns caching off).
        conversation_cache_size: Prompts of earlier steps whose keys/values are kept (default
            ``2 * max_batch``: each answered row keeps its prompt and its prompt plus answer;
            0 keeps none). Each costs ~46 kB per token on SmolLM2-135M.
        draft_tokens: Tokens guessed per row and step by prompt lookup and checked in the
            same forward pass; the answers are the same either way. Off (0) by default: on a
            2-core CPU the wider passes cost more compute than the passes they save (the
            default suite took 519 s with 8, 339 s without).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str = "local",
        max_new_tokens: int = 256,
        max_batch: int = 8,
        batch_window_s: float = 0.01,
        stop: Sequence[str] = DEFAULT_STOP,
        prefix_cache_size: int = 8,
        conversation_cache_size: int | None = None,
        draft_tokens: int = 0,
    ) -> None:
        if min(max_batch, max_new_tokens) < 1 or min(batch_window_s, prefix_cache_size) < 0:
            raise ValueError(
                "max_batch and max_new_tokens must be >= 1, batch_window_s and "
                "prefix_cache_size >= 0"
            )
        if draft_tokens < 0:
            raise ValueError(f"draft_tokens must be >= 0, not {draft_tokens}")
        self.draft_tokens = draft_tokens
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.max_new_tokens, self.max_batch = max_new_tokens, max_batch
        self.batch_window_s, self.stop = batch_window_s, tuple(stop)
        self.stats = PolicyStats()
        resolve_chat_template(tokenizer)
        vocab = tokenizer.get_vocab()
        self._end_ids = sorted({int(vocab[t]) for t in _END_TOKENS if t in vocab})
        if tokenizer.eos_token_id is not None:
            self._end_ids = sorted({*self._end_ids, int(tokenizer.eos_token_id)})
        self._end_set = frozenset(self._end_ids)
        # Every token decodes to at least one character: this many cover the longest stop.
        self._stop_window = max((len(s) for s in self.stop), default=0) + 1
        self._lock = threading.Lock()  # one generation at a time on this model
        self.cache = PrefixCache(
            model,
            tokenizer,
            end_of_turn=END_OF_TURN,
            tools_size=prefix_cache_size,
            conversation_size=(
                2 * max_batch if conversation_cache_size is None else conversation_cache_size
            ),
        )
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = (
            weakref.WeakKeyDictionary()
        )

    # -- the AsyncPolicy protocol ---------------------------------------------------------

    async def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Turn:
        """The next assistant message for this conversation, generated in a shared batch."""
        completion = await self.acomplete(self.render(messages, tools))
        return self.to_turn(completion, step=len(messages))

    async def acomplete(self, prompt: str) -> Completion:
        """Generate for one rendered prompt, batched with concurrent requests."""
        loop = asyncio.get_running_loop()
        batcher = self._batchers.setdefault(loop, _Batcher())
        future: asyncio.Future[Completion] = loop.create_future()
        batcher.queue.append((prompt, future))
        if batcher.task is None or batcher.task.done():
            batcher.task = loop.create_task(self._drain(batcher))
        return await future

    async def _drain(self, batcher: _Batcher) -> None:
        while batcher.queue:
            if len(batcher.queue) < self.max_batch and self.batch_window_s:
                await asyncio.sleep(self.batch_window_s)  # let concurrent episodes join
            batch = [r for r in batcher.queue[: self.max_batch] if not r[1].done()]
            del batcher.queue[: self.max_batch]
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(self.generate, [p for p, _ in batch])
            except asyncio.CancelledError:  # the loop is shutting down: nobody will answer
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    # -- rendering and parsing ------------------------------------------------------------

    def render(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> str:
        """The prompt for the next assistant turn, in the tokenizer's chat template."""
        return str(
            self.tokenizer.apply_chat_template(
                [m.to_dict() for m in messages],
                tools=[t.to_dict() for t in tools] or None,
                tokenize=False,
                add_generation_prompt=True,
            )
        )

    def to_turn(self, completion: Completion, *, step: int) -> Turn:
        """Parse a completion into an assistant :class:`Turn`; call ids are ``call_<step>_<i>``."""
        parsed = parse_tool_calls(completion.text)
        calls = tuple(
            ToolCall(f"call_{step}_{i}", name, args) for i, (name, args) in enumerate(parsed.calls)
        )
        # A malformed call block stays visible: the episode judges the model's real answer.
        bad = "".join(f"<tool_call>{raw}</tool_call>" for raw, _ in parsed.invalid)
        content = f"{parsed.content}\n{bad}".strip() if bad else parsed.content
        return Turn(
            Message("assistant", content, tool_calls=calls),
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            model=self.name,
        )

    # -- generation -----------------------------------------------------------------------

    def generate(self, prompts: Sequence[str]) -> list[Completion]:
        """Generate greedily for ``prompts`` in one batch (blocking; thread-safe)."""
        with self._lock:
            return self._generate(list(prompts))

    def _generate(self, prompts: list[str]) -> list[Completion]:
        rows = [self.cache.split(p) for p in prompts]
        filled = []
        for prefix, kv, rest in rows:
            row = prefill(self.model, prefix, kv, rest)
            self.cache.remember(row.ids, row.kv)
            filled.append(row)
        out = decode(
            self.model,
            filled,
            max_new_tokens=self.max_new_tokens,
            done=self._done,
            draft_tokens=self.draft_tokens,
        )
        for row, tokens, kv in zip(filled, out.tokens, out.kv, strict=True):
            if len(tokens) > 1:  # the next step's prompt starts with this answer, re-rendered
                self.cache.remember((*row.ids, *tokens[:-1]), kv)
        results = [
            self._finish(tokens, len(pre) + len(rest), len(pre))
            for tokens, (pre, _, rest) in zip(out.tokens, rows, strict=True)
        ]
        stats = self.stats  # updated under the generation lock
        stats.batches += 1
        stats.forward_passes += out.passes
        stats.requests += len(results)
        stats.batch_sizes.append(len(results))
        for r in results:
            stats.input_tokens += r.input_tokens
            stats.cached_tokens += r.cached_tokens
            stats.output_tokens += r.output_tokens
        return results

    def _done(self, tokens: list[int]) -> bool:
        """Whether an answer has ended: an end-of-turn token, or a stop string in its tail."""
        if tokens[-1] in self._end_set:
            return True
        if not self.stop:
            return False
        tail = self.tokenizer.decode(tokens[-self._stop_window :], skip_special_tokens=False)
        return any(stop in tail for stop in self.stop)

    def _finish(self, tokens: list[int], n_input: int, n_cached: int) -> Completion:
        ended = tokens[-1] in self._end_set
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        finish = "stop" if ended else "length"
        for stop in self.stop:
            cut = text.find(stop)
            if cut >= 0:
                text, finish = text[:cut], "stop"
        return Completion(text, n_input, len(tokens), n_cached, finish)


def load_local_policy(
    base: str | Path | None = None,
    adapter: str | Path | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    verify: bool = True,
    progress: bool = True,
    **options: Any,
) -> LocalPolicy:
    """Load a model (the embedded one when ``base`` is ``None``) with an optional adapter.

    Args:
        base: A model folder or hub id; ``None`` for the embedded SmolLM2 (pulled if needed).
        adapter: An adapter folder written by ``agentshield train`` (its manifest is checked).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        dtype: ``auto``, ``float32`` or ``bfloat16``.
        verify: Check the adapter against the base model before loading.
        progress: Show a progress bar if the embedded model must be pulled first.
        **options: :class:`LocalPolicy` settings (``max_batch``, ``max_new_tokens``, ...).

    Raises:
        CorruptAdapterError: The adapter folder is incomplete, damaged or holds pickle files.
        AdapterMismatchError: The adapter was trained on another base model.
    """
    from agentshield_trainer.adapters import load_model

    if base is None:
        from agentshield_trainer.embedded import EMBEDDED_MODEL_NAME, embedded_model_path

        base_dir, label = str(embedded_model_path(progress=progress)), EMBEDDED_MODEL_NAME
    else:
        base_dir, label = str(base), Path(str(base)).name or str(base)
    loaded = load_model(base_dir, adapter, device=device, dtype=dtype, verify=verify)
    name = f"{label}+{Path(adapter).name}" if adapter is not None else label
    options.setdefault("name", name)
    return LocalPolicy(loaded.model, loaded.tokenizer, **options)
