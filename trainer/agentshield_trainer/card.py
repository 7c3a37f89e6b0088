"""The model card (``README.md``) written into every adapter folder, from its manifest."""

from __future__ import annotations

import json

from agentshield_trainer.manifest import MANIFEST_NAME, Manifest

__all__ = ["model_card"]


def _table(rows: dict[str, object]) -> str:
    lines = ["| setting | value |", "|---|---|"]
    lines += [
        f"| {k} | `{json.dumps(v) if not isinstance(v, str) else v}` |" for k, v in rows.items()
    ]
    return "\n".join(lines)


def model_card(manifest: Manifest, adapter_name: str) -> str:
    """Render the model card: front matter for the Hub, then what, how, and how well."""
    base = manifest.base_model
    data = manifest.data
    mix = data.get("perturbation_mix", {})
    mix_text = ", ".join(f"{k} ({v})" for k, v in mix.items()) or "none (static SFT)"
    metrics = "\n".join(f"- {k}: {v:.4g}" for k, v in sorted(manifest.metrics.items()))
    alpha = manifest.paft.get("alpha")
    how = (
        "static supervised fine-tuning: clean runs only, no perturbation-augmented rows "
        "(PAFT off, α = 0)"
        if not alpha
        else f"""perturbation-augmented fine-tuning (PAFT): a share
α = {alpha} of the training rows are runs replayed under shifts of the
AgentShield catalogue, with the right recovery behaviour (use the renamed tool, retry after a
guided error, follow a redirection, refuse an unsolvable task)"""
    )
    return f"""---
base_model: {base.name}
library_name: peft
tags:
- agentshield
- lora
- paft
- tool-calling
---

# {adapter_name}

A LoRA adapter for **{base.name}** ({base.model_type}) trained by `agentshield train` on
recorded agent runs with {how}.

## Base model

- name: `{base.name}`
- config sha256: `{base.config_sha256}`
- weights sha256: `{base.weights_sha256}`

Loading checks both; an adapter is refused on any other base model.

## Data

- fingerprint: `{data.get("fingerprint")}`
- rows: {data.get("train_rows")} train / {data.get("val_rows")} validation, from
  {data.get("runs_kept")} of {data.get("runs_read")} recorded runs
- PAFT mix: {mix_text}
- augmentation seeds are training seeds (bit 63 set), disjoint from evaluation seeds

## LoRA

{_table(manifest.lora)}

## Training

{_table(manifest.training)}

## Metrics

{metrics or "- none recorded"}

## Use

```python
from agentshield_trainer import load_chat_model

model = load_chat_model("{base.name}", adapter="path/to/{adapter_name}")
```

or hot-load into vLLM: `agentshield adapters load --vllm URL {adapter_name} PATH`.
Everything above is also in `{MANIFEST_NAME}`, with code versions and file hashes.
"""
