"""A tiny, random-init Qwen2 model built in-process: the trainer's test and CI model.

Nothing is downloaded. :func:`build_tiny_model` trains a byte-level BPE tokenizer on a small
corpus (by default the sample trajectories of :mod:`agentshield.testing` and the chat
template's own text), sets :data:`~agentshield_trainer.template.TOOL_CHAT_TEMPLATE`, creates a
Qwen2 causal LM with hidden size 64 and 2 layers, and saves both as a normal model folder
(``config.json`` + ``model.safetensors`` + tokenizer files).

``initializer_range`` is 0.2 rather than the usual 0.02: with the small default the logits of
a model this size start almost uniform and LoRA barely moves the loss in 60 steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentshield_trainer.template import END_OF_TURN, TOOL_CHAT_TEMPLATE

__all__ = ["SPECIAL_TOKENS", "build_tiny_model", "default_corpus"]

#: Special tokens of the tiny tokenizer: ChatML turn markers and padding.
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", END_OF_TURN)


def default_corpus() -> list[str]:
    """Texts the tiny tokenizer is trained on: the sample runs (clean and perturbed) and the
    template, so tool prompts tokenize compactly."""
    from agentshield import augment
    from agentshield.testing import sample_trajectory

    clean = sample_trajectory()
    texts = [TOOL_CHAT_TEMPLATE, clean.to_json()]
    for spec in (
        {"name": "tool_rename_noise"},
        {"name": "tool_error"},
        {"name": "tool_redirect"},
        {"name": "unsolvable_task", "tool": "book_table"},
    ):
        texts.append(augment(clean, [spec], seed=1).to_json())
    texts.append("<tool_call></tool_call><tool_response></tool_response><tools></tools>")
    return texts


def build_tiny_model(
    path: str | Path,
    *,
    corpus: Iterable[str] | None = None,
    vocab_size: int = 1024,
    hidden_size: int = 64,
    layers: int = 2,
    max_positions: int = 4096,
    seed: int = 0,
) -> Path:
    """Write a tiny random-init Qwen2 model and its tokenizer to ``path``; return the path.

    Args:
        path: The folder to create (or overwrite).
        corpus: Texts to train the BPE tokenizer on (default: :func:`default_corpus`).
        vocab_size: The BPE vocabulary size, special tokens included.
        hidden_size: The model width.
        layers: The number of decoder layers.
        max_positions: The longest sequence the model accepts.
        seed: Seeds the weights, so the same arguments give the same model.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        list(corpus if corpus is not None else default_corpus()),
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    fast: Any = PreTrainedTokenizerFast  # its constructor is untyped
    tokenizer = fast(
        tokenizer_object=bpe,
        eos_token=END_OF_TURN,
        pad_token="<|endoftext|>",
        model_max_length=max_positions,
    )
    tokenizer.chat_template = TOOL_CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    eos = int(tokenizer.convert_tokens_to_ids(END_OF_TURN))
    pad = int(tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        initializer_range=0.2,
        tie_word_embeddings=True,
        eos_token_id=eos,
        pad_token_id=pad,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = eos
    model.generation_config.pad_token_id = pad
    model.save_pretrained(out, safe_serialization=True)
    return out
