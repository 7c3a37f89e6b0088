"""The trainer's exceptions, under the core's :class:`~agentshield.AgentShieldError`.

Each also subclasses the builtin it behaves like::

    AgentShieldError
    └── TrainerError
        ├── DatasetError (ValueError)           the input cannot become a training set
        │   ├── NoTrajectoriesError             nothing to train on (empty store, all filtered)
        │   ├── NoContentError                  runs were recorded without content capture
        │   └── PromptTooLongError              a rendered row does not fit max_length
        ├── TemplateError (ValueError)          the chat template cannot mark assistant turns
        ├── EmbeddedModelError (RuntimeError)   the embedded model cannot be fetched or converted
        └── AdapterError
            ├── AdapterMismatchError (ValueError)  the adapter was trained on another base model
            ├── CorruptAdapterError (ValueError)   missing / damaged / pickled adapter files
            └── HotLoadError (RuntimeError)        a serving engine did not take the adapter

Every message names the value at fault and what to do about it.
"""

from __future__ import annotations

from agentshield.errors import AgentShieldError

__all__ = [
    "AdapterError",
    "AdapterMismatchError",
    "CorruptAdapterError",
    "DatasetError",
    "EmbeddedModelError",
    "HotLoadError",
    "NoContentError",
    "NoTrajectoriesError",
    "PromptTooLongError",
    "TemplateError",
    "TrainerError",
]

#: How to turn content capture on; quoted by every error about content-less runs.
CONTENT_HINT = (
    "Record runs with content capture on: set AGENTSHIELD_CAPTURE_CONTENT=true in the "
    "agent's environment, or pass capture_content=True to setup_tracing() / Recorder(). "
    "(Content is off by default so nothing private leaves the process unasked.)"
)


class TrainerError(AgentShieldError):
    """Base class of the trainer's errors."""


class DatasetError(TrainerError, ValueError):
    """The input cannot be turned into a training set."""


class NoTrajectoriesError(DatasetError):
    """No trajectory is left to train on."""


class NoContentError(DatasetError):
    """The runs hold no messages or tool definitions: content capture was off."""


class PromptTooLongError(DatasetError):
    """A rendered row (tools prompt plus conversation) is longer than ``max_length``."""


class TemplateError(TrainerError, ValueError):
    """The chat template cannot be used to mark assistant turns for the loss."""


class EmbeddedModelError(TrainerError, RuntimeError):
    """The embedded model's wheel cannot be fetched, verified or converted."""


class AdapterError(TrainerError):
    """Base class of adapter loading, merging and serving errors."""


class AdapterMismatchError(AdapterError, ValueError):
    """The adapter's manifest names a different base model."""


class CorruptAdapterError(AdapterError, ValueError):
    """An adapter folder is incomplete, damaged, or holds pickle files."""


class HotLoadError(AdapterError, RuntimeError):
    """A serving engine rejected, or only pretended to accept, an adapter."""
