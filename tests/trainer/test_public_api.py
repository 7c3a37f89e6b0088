"""The trainer's public API is explicit, sorted and importable; heavy parts load lazily."""

from __future__ import annotations

import importlib

import pytest

import agentshield_trainer

MODULES = [
    "adapters",
    "card",
    "chat_model",
    "cli",
    "cli_models",
    "config",
    "dataset",
    "embedded",
    "errors",
    "local_policy",
    "manifest",
    "output",
    "paft",
    "render",
    "seeds",
    "sources",
    "template",
    "testing",
    "tiny",
    "training",
    "vllm",
]


def test_all_is_sorted_and_resolves() -> None:
    names = agentshield_trainer.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(agentshield_trainer, name) is not None


@pytest.mark.parametrize("module", MODULES)
def test_module_all_is_sorted_and_defined(module: str) -> None:
    mod = importlib.import_module(f"agentshield_trainer.{module}")
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_errors_subclass_the_core_tree_and_builtins() -> None:
    from agentshield.errors import AgentShieldError
    from agentshield_trainer import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), AgentShieldError)
    assert issubclass(errors.PromptTooLongError, ValueError)
    assert issubclass(errors.HotLoadError, RuntimeError)
