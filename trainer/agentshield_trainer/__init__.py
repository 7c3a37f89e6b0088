"""AgentShield trainer: recorded runs -> PAFT dataset -> LoRA adapter -> back into the agent.

The pieces, in the order a run uses them:

* :func:`load_trajectories` / :func:`build_dataset` — trace stores, collector files or
  trajectory JSONL become OpenAI chat-format rows (``messages`` + ``tools``), filtered,
  deduplicated, split, and mixed with perturbation-augmented copies (PAFT). Pure Python.
* :func:`encode_rows` — tokenization with the chat template and an assistant-only loss
  mask; a row longer than ``max_length`` is an error, never truncated.
* :func:`train` — TRL ``SFTTrainer`` + PEFT LoRA; writes the adapter folder with its
  :class:`Manifest` and model card. Settings: :class:`TrainConfig` (TOML or CLI flags).
* :func:`load_chat_model` — the adapter as a LangChain chat model with real tool calls;
  :func:`merge_adapter` for serving; :func:`hot_load` into a running vLLM server.
* :func:`embedded_model_path` — the embedded default model (SmolLM2-135M-Instruct from
  PyPI, converted once); :class:`LocalPolicy` — batched, prefix-cached local inference for
  concurrent evaluation episodes.

Heavy imports (torch, transformers, LangChain) happen only when a function needs them, so
``import agentshield_trainer`` and the CLI's help stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentshield_trainer.adapters import LoadedModel, check_adapter, load_model, merge_adapter
from agentshield_trainer.config import (
    DEFAULT_PAFT_MIX,
    DataConfig,
    LoraSettings,
    PaftConfig,
    TrainConfig,
    TrainingSettings,
)
from agentshield_trainer.dataset import Row, TrainingSet, build_dataset, load_dataset, to_row
from agentshield_trainer.embedded import (
    EMBEDDED_MODEL_NAME,
    embedded_model_dir,
    embedded_model_path,
    pull_embedded_model,
)
from agentshield_trainer.errors import (
    AdapterError,
    AdapterMismatchError,
    CorruptAdapterError,
    DatasetError,
    EmbeddedModelError,
    HotLoadError,
    NoContentError,
    NoTrajectoriesError,
    PromptTooLongError,
    TemplateError,
    TrainerError,
)
from agentshield_trainer.manifest import (
    BaseModelIdentity,
    Manifest,
    check_base_model,
    identify_base_model,
    verify_adapter,
)
from agentshield_trainer.paft import AugmentRecord, paft_mix
from agentshield_trainer.render import Encoded, encode_rows, resolve_chat_template
from agentshield_trainer.seeds import check_eval_seeds, is_training_seed, train_seed
from agentshield_trainer.sources import Selection, load_trajectories, select
from agentshield_trainer.template import TOOL_CHAT_TEMPLATE, parse_tool_calls
from agentshield_trainer.training import TrainResult, train

if TYPE_CHECKING:
    from agentshield_trainer.chat_model import LocalChatModel, load_chat_model
    from agentshield_trainer.local_policy import LocalPolicy, load_local_policy
    from agentshield_trainer.vllm import HotLoadReport, hot_load

__version__ = "0.1.0"

# LangChain and httpx load only when these are first used.
_LAZY = {
    "HotLoadReport": "agentshield_trainer.vllm",
    "LocalChatModel": "agentshield_trainer.chat_model",
    "LocalPolicy": "agentshield_trainer.local_policy",
    "hot_load": "agentshield_trainer.vllm",
    "load_chat_model": "agentshield_trainer.chat_model",
    "load_local_policy": "agentshield_trainer.local_policy",
}

__all__ = [
    "AdapterError",
    "AdapterMismatchError",
    "AugmentRecord",
    "BaseModelIdentity",
    "CorruptAdapterError",
    "DEFAULT_PAFT_MIX",
    "DataConfig",
    "DatasetError",
    "EMBEDDED_MODEL_NAME",
    "EmbeddedModelError",
    "Encoded",
    "HotLoadError",
    "HotLoadReport",
    "LoadedModel",
    "LocalChatModel",
    "LocalPolicy",
    "LoraSettings",
    "Manifest",
    "NoContentError",
    "NoTrajectoriesError",
    "PaftConfig",
    "PromptTooLongError",
    "Row",
    "Selection",
    "TOOL_CHAT_TEMPLATE",
    "TemplateError",
    "TrainConfig",
    "TrainResult",
    "TrainerError",
    "TrainingSet",
    "TrainingSettings",
    "__version__",
    "build_dataset",
    "check_adapter",
    "check_base_model",
    "check_eval_seeds",
    "embedded_model_dir",
    "embedded_model_path",
    "encode_rows",
    "hot_load",
    "identify_base_model",
    "is_training_seed",
    "load_chat_model",
    "load_dataset",
    "load_local_policy",
    "load_model",
    "load_trajectories",
    "merge_adapter",
    "paft_mix",
    "parse_tool_calls",
    "pull_embedded_model",
    "resolve_chat_template",
    "select",
    "to_row",
    "train",
    "train_seed",
    "verify_adapter",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agentshield_trainer' has no attribute {name!r}")
