"""Greedy batched decoding: preallocated key/value buffers, prompt lookup that changes no
token, and the answer's keys/values kept for the next step (tiny model, CPU, seconds)."""

from __future__ import annotations

import pytest

from agentshield_trainer._decode import BufferLayer, Prefilled, _Lookup, decode, prefill
from agentshield_trainer.local_policy import LocalPolicy, load_local_policy
from tests.trainer.conftest import Trained
from tests.trainer.test_local_policy import CONVERSATIONS

torch = pytest.importorskip("torch")


def test_lookup_drafts_what_followed_the_last_earlier_occurrence() -> None:
    lookup = _Lookup([1, 2, 3, 4, 5, 9, 2, 3, 4, 7, 8, 2, 3])
    # Trigram (8, 2, 3) never occurred before; bigram (2, 3) last did at 6..7, then 4, 7, 8.
    assert lookup.draft(3) == [4, 7, 8]
    lookup.extend([4])  # trigram (2, 3, 4): last earlier occurrence at 6..8, then 7, 8, 2
    assert lookup.draft(2) == [7, 8]
    assert lookup.draft(10) == [7, 8, 2, 3, 4]  # up to the end of what is known
    assert _Lookup([5, 6]).draft(4) == []  # nothing repeats


def test_buffer_layer_writes_in_place_and_grows_past_its_capacity() -> None:
    keys, values = torch.zeros(2, 1, 3, 4), torch.zeros(2, 1, 3, 4)
    layer = BufferLayer(keys, values, 1)
    chunks = [torch.randn(2, 1, n, 4) for n in (1, 1, 3)]
    for chunk in chunks[:2]:
        layer.update(chunk, chunk + 1)
    assert layer.keys is not None and layer.keys.data_ptr() == keys.data_ptr()  # no copy
    layer.update(chunks[2], chunks[2] + 1)  # 3 + 3 > 3 slots: grows
    expected = torch.cat([keys[:, :, :1], *chunks], dim=2)
    assert layer.keys is not None and layer.values is not None
    assert layer.get_seq_length() == 6 and torch.equal(layer.keys, expected)
    assert torch.equal(layer.values[:, :, 1:], torch.cat(chunks, dim=2) + 1)
    layer.batch_select_indices(torch.tensor([1]))
    assert torch.equal(layer.keys, expected[1:])


def _rows(policy: LocalPolicy, prompts: list[str]) -> list[Prefilled]:
    return [prefill(policy.model, *policy.cache.split(p)) for p in prompts]


def test_prompt_lookup_changes_no_token_and_saves_passes(trained: Trained) -> None:
    policy = load_local_policy(
        trained.base, trained.result.adapter_dir, device="cpu", dtype="float32"
    )
    prompts = [policy.render(m, t) for m, t in CONVERSATIONS]
    rows = _rows(policy, prompts)
    plain = decode(policy.model, rows, max_new_tokens=60, done=policy._done, draft_tokens=0)
    guessed = decode(policy.model, rows, max_new_tokens=60, done=policy._done, draft_tokens=8)
    assert guessed.tokens == plain.tokens
    assert plain.passes == max(len(t) for t in plain.tokens) - 1  # one token per pass
    for a, b in zip(guessed.kv, plain.kv, strict=True):  # same keys/values kept, too
        assert all(torch.allclose(x, y, atol=1e-5) for (x, _), (y, _) in zip(a, b, strict=True))
    # Row by row, the guesses save passes: the tool-call markup and the request's values
    # are copied from the prompt.
    alone = [
        decode(policy.model, [row], max_new_tokens=60, done=policy._done, draft_tokens=k)
        for row in rows
        for k in (0, 8)
    ]
    assert [d.tokens for d in alone[::2]] == [d.tokens for d in alone[1::2]]
    assert sum(d.passes for d in alone[1::2]) < sum(d.passes for d in alone[::2])
