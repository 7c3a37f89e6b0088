"""Greedy batched decoding for :class:`~agentshield_trainer.local_policy.LocalPolicy`.

``model.generate`` over a padded batch spent most of its time in two places on a CPU:

* **copying the key/value cache**: its cache grows by ``torch.cat`` at every token, so each
  step copies the whole batch's keys and values (~1 GB for 16 rows of 1,500 tokens on
  SmolLM2-135M; 72 % of a decode step). Here each layer writes into a buffer allocated once
  for the prompt plus ``max_new_tokens`` (:class:`BufferLayer`);
* **padding**: a batch prefilled every row's new tokens padded to the longest, and decoded
  every row until the longest answer ended. Here each prompt is prefilled alone (prefill
  is compute-bound, so batching it saves nothing), and a row leaves the batch as soon as
  its answer ends.

Each row computes what it would alone: its prompt keeps its own positions, the padding
before it is masked, and decoding is greedy. Only rounding differs: matrix products of
other shapes (more rows, more guessed tokens per pass) round the last bits differently, so
where two tokens are near-tied a row's choice can depend on the rows beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from transformers.cache_utils import DynamicCache, DynamicLayer

__all__ = ["BufferLayer", "Decoded", "Prefilled", "cache_arg", "decode", "prefill"]

#: One layer's keys and values, each ``[batch, heads, tokens, head_dim]``.
KV = list[tuple[Any, Any]]


@dataclass
class Decoded:
    """What :func:`decode` produced.

    Attributes:
        tokens: Each row's new tokens.
        kv: Each row's keys/values for its prompt plus its answer (all but the answer's last
            token, which was never fed): the episode's next prompt starts with them.
        passes: Forward passes over the batch.
    """

    tokens: list[list[int]]
    kv: list[KV]
    passes: int


@dataclass
class Prefilled:
    """One prompt after its prefill: its keys/values (batch size 1), ids and first token."""

    kv: KV
    ids: tuple[int, ...]
    first_token: int


class BufferLayer(DynamicLayer):  # type: ignore[no-untyped-call]  # transformers' hook
    """A cache layer over preallocated buffers: a new token is written in place, and
    ``keys``/``values`` are views of the filled part (no copy of the cache per token)."""

    def __init__(self, keys: Any, values: Any, length: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._k, self._v, self._n = keys, values, length
        self.device = keys.device
        self.is_initialized = True
        self._view()

    def _view(self) -> None:
        self.keys, self.values = self._k[:, :, : self._n], self._v[:, :, : self._n]

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> Any:
        end = self._n + key_states.shape[-2]
        if end > self._k.shape[-2]:  # longer than planned: grow, by doubling
            capacity = max(end, 2 * self._k.shape[-2])
            self._k, self._v = (
                _grown(self._k, self._n, capacity),
                _grown(self._v, self._n, capacity),
            )
        self._k[:, :, self._n : end] = key_states
        self._v[:, :, self._n : end] = value_states
        self._n = end
        self._view()
        return self.keys, self.values

    def row(self, index: int, slots: Any) -> tuple[Any, Any]:
        """Row ``index``'s keys and values at ``slots`` (copies, batch size 1)."""
        return self._k[index : index + 1, :, slots], self._v[index : index + 1, :, slots]

    def batch_select_indices(self, indices: Any) -> None:
        self._k, self._v = self._k[indices], self._v[indices]
        self._view()


def _grown(buffer: Any, filled: int, capacity: int) -> Any:
    bigger = buffer.new_zeros(*buffer.shape[:2], capacity, buffer.shape[3])
    bigger[:, :, :filled] = buffer[:, :, :filled]
    return bigger


def cache_arg() -> str:
    """The name of the key/value cache argument and output field (``cache`` since
    transformers 5.x renamed ``past_key_values``)."""
    from transformers.modeling_outputs import CausalLMOutputWithPast

    fields = getattr(CausalLMOutputWithPast, "__dataclass_fields__", {})
    return "cache" if "cache" in fields else "past_key_values"


def _cache_kwargs(cache: Any) -> dict[str, Any]:
    return {cache_arg(): cache, "use_cache": True}


def prefill(
    model: Any, prefix_ids: Sequence[int], prefix: KV | None, rest: Sequence[int]
) -> Prefilled:
    """Run ``rest`` after the cached ``prefix`` (batch size 1, no padding).

    The returned keys/values are new tensors (``prefix`` is not changed), so they can be
    kept in the conversation cache.
    """
    import torch

    device = next(model.parameters()).device
    cache = (
        DynamicCache(prefix, config=model.config) if prefix else DynamicCache(config=model.config)
    )
    with torch.inference_mode():
        out = model(
            input_ids=torch.tensor([list(rest)], device=device),
            logits_to_keep=1,
            **_cache_kwargs(cache),
        )
    kv = [(layer[0], layer[1]) for layer in getattr(out, cache_arg())]
    return Prefilled(kv, (*prefix_ids, *rest), int(out.logits[0, -1].argmax()))


class _Lookup:
    """Prompt-lookup drafts for one row: the tokens that followed the latest earlier
    occurrence of the row's last 3 (else 2) tokens in its prompt and answer so far.

    An answer of this agent copies much of its context: the tool-call markup of earlier
    turns, tool names from the tools prompt, argument values from the request and the
    observations.
    """

    _SIZES = (3, 2)

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids: list[int] = []
        self.seen: dict[tuple[int, ...], int] = {}
        self.extend(ids)

    def extend(self, tokens: Sequence[int]) -> None:
        for token in tokens:
            end = len(self.ids)  # index the n-grams ending here before the sequence grows
            for n in self._SIZES:
                if end >= n:
                    self.seen[tuple(self.ids[end - n : end])] = end
            self.ids.append(token)

    def draft(self, k: int) -> list[int]:
        for n in self._SIZES:
            at = self.seen.get(tuple(self.ids[-n:]))
            if at is not None:
                return self.ids[at : at + k]
        return []


def decode(
    model: Any,
    rows: Sequence[Prefilled],
    *,
    max_new_tokens: int,
    done: Callable[[list[int]], bool],
    draft_tokens: int = 0,
) -> Decoded:
    """Decode greedily for every prefilled row together.

    A row leaves the batch when ``done(tokens)`` says its answer ended, or after
    ``max_new_tokens`` tokens. Rows sit right-aligned in one buffer per layer, the padding
    before a shorter prompt masked; positions continue each row's own prompt.

    **Prompt lookup** (``draft_tokens`` > 0): each step feeds every row its last token plus
    up to ``draft_tokens`` tokens guessed from its own context (:class:`_Lookup`), and keeps
    the guesses the model's greedy choice agrees with, plus that choice: the same tokens as
    one at a time, in fewer forward passes. Rejected guesses stay in the buffer, masked, and
    a row's next guess is no longer than its last run of right ones plus one.
    """
    import torch

    device = next(model.parameters()).device
    width = max(len(r.ids) for r in rows)
    capacity = width + max_new_tokens + draft_tokens
    mask = torch.zeros(len(rows), width, dtype=torch.long, device=device)
    layers: list[Any] = []
    for layer, (k0, v0) in enumerate(rows[0].kv):
        # Slots past ``width`` are written before they are read; the padding is zeroed (masked,
        # but a NaN left in memory would still spread through the attention product).
        keys = k0.new_empty(len(rows), k0.shape[1], capacity, k0.shape[3])
        values = v0.new_empty(len(rows), v0.shape[1], capacity, v0.shape[3])
        for i, row in enumerate(rows):
            k, v = row.kv[layer]
            gap = width - len(row.ids)
            keys[i, :, :gap] = 0
            values[i, :, :gap] = 0
            keys[i, :, gap:width], values[i, :, gap:width] = k[0], v[0]
        layers.append(BufferLayer(keys, values, width))
    for i, row in enumerate(rows):
        mask[i, width - len(row.ids) :] = 1
    cache = DynamicCache(config=model.config)
    cache.layers = layers
    tokens = [[r.first_token] for r in rows]
    # With guessing off (the default) no row's context is indexed.
    lookups = [_Lookup((*r.ids, r.first_token)) if draft_tokens else _Lookup(()) for r in rows]
    positions = [len(r.ids) for r in rows]
    kept: list[KV] = [r.kv for r in rows]  # for a row whose answer is its first token
    active = [i for i in range(len(rows)) if not _ended(tokens[i], max_new_tokens, done)]
    # Guesses per row: a wide pass costs compute on a CPU, so after a rejection a row guesses
    # only as far as it was right (+1); after a fully accepted guess, 2 more.
    budget = [draft_tokens] * len(rows)
    passes = 0
    with torch.inference_mode():
        while active:
            passes += 1
            drafts = [lookups[i].draft(budget[i]) for i in active]
            span = 1 + max(len(d) for d in drafts)
            inputs = [
                [tokens[i][-1], *d, *[tokens[i][-1]] * (span - 1 - len(d))]
                for i, d in zip(active, drafts, strict=True)
            ]
            mask = torch.cat([mask, mask.new_ones(len(active), span)], dim=1)
            out = model(
                input_ids=torch.tensor(inputs, device=device),
                position_ids=torch.tensor(
                    [[positions[i] + j for j in range(span)] for i in active], device=device
                ),
                attention_mask=mask,
                logits_to_keep=span,
                **_cache_kwargs(cache),
            )
            choices = out.logits.argmax(-1).tolist()
            still = []
            for j, (i, d, greedy) in enumerate(zip(active, drafts, choices, strict=True)):
                accepted = 0
                while accepted < len(d) and d[accepted] == greedy[accepted]:
                    accepted += 1
                mask[j, mask.shape[1] - span + accepted + 1 :] = 0  # rejected guesses
                if d:
                    grown = budget[i] + 2 if accepted == len(d) else accepted + 1
                    budget[i] = max(1, min(draft_tokens, grown))
                positions[i] += accepted + 1
                new = [*d[:accepted], greedy[accepted]]
                for token in new:
                    tokens[i].append(int(token))
                    if _ended(tokens[i], max_new_tokens, done):
                        break
                else:
                    still.append(j)
                    if draft_tokens:
                        lookups[i].extend(new)
                    continue
                fed = mask[j].nonzero().flatten()[: len(rows[i].ids) + len(tokens[i]) - 1]
                kept[i] = [layer.row(j, fed) for layer in layers]
            if not still:
                break
            if len(still) < len(active):
                index = torch.tensor(still, dtype=torch.long, device=device)
                cache.batch_select_indices(index)
                mask = mask[index]
                active = [active[j] for j in still]
    return Decoded(tokens, kept, passes)


def _ended(tokens: list[int], max_new_tokens: int, done: Callable[[list[int]], bool]) -> bool:
    return len(tokens) >= max_new_tokens or done(tokens)
