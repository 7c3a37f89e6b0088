"""Test helpers for the trainer, shipped as a pytest plugin (``agentshield_trainer.testing``).

* :func:`oracle_trajectories` — clean, successful runs of the sample booking task
  (:func:`agentshield.testing.sample_trajectory`) with the request phrased differently, as a
  scripted oracle records them: the static training data of the tiny end-to-end loop.
* :func:`sample_langchain_tools` — the sample tools as LangChain tools with the exact JSON
  schemas of :func:`agentshield.testing.sample_tools`, returning JSON text.
* :func:`tiny_model_dir` — a session fixture: the tiny random-init model of
  :mod:`agentshield_trainer.tiny`, built once per test session.

Imports of torch and LangChain happen inside the functions, so loading the plugin is cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentshield.testing import sample_tool_impls, sample_tools, sample_trajectory
from agentshield.trajectory import Message, Trajectory

__all__ = ["REQUESTS", "oracle_trajectories", "sample_langchain_tools", "tiny_model_dir"]

#: Ways a user asks for the sample booking (same place, date and party size).
REQUESTS = (
    "Please find a cafe in Lyon and book a table for 2 people on 2026-12-03.",
    "Book a table for 2 people on 2026-12-03 at a cafe in Lyon, please.",
    "I need a cafe in Lyon: a table for 2 people on 2026-12-03.",
    "Find me a cafe in Lyon and reserve a table for 2 people on 2026-12-03.",
    "Could you book a cafe table in Lyon for 2 people on 2026-12-03?",
    "Reserve a table at a cafe in Lyon for 2 people, date 2026-12-03.",
    "Cafe in Lyon, 2 people, 2026-12-03: please book it.",
    "Hi! Please book a table for 2 people in a Lyon cafe on 2026-12-03.",
)


def oracle_trajectories(n: int = len(REQUESTS), *, prefix: str = "oracle") -> list[Trajectory]:
    """``n`` oracle runs of the sample task, one per phrasing in :data:`REQUESTS` (cycled)."""
    out = []
    for i in range(n):
        base = sample_trajectory(f"{prefix}-{i}")
        messages = [
            Message("user", REQUESTS[i % len(REQUESTS)]) if m.role == "user" else m
            for m in base.messages
        ]
        out.append(base.with_(messages=messages, metadata={**base.metadata, "agent": "oracle"}))
    return out


def sample_langchain_tools() -> list[Any]:
    """The sample tools as LangChain ``StructuredTool`` objects (JSON-text results)."""
    from langchain_core.tools import StructuredTool

    impls = sample_tool_impls()

    def wrap(fn: Callable[..., Any]) -> Callable[..., str]:
        def run(**kwargs: Any) -> str:
            return json.dumps(fn(**kwargs))

        return run

    return [
        StructuredTool.from_function(
            func=wrap(impls[spec.name]),
            name=spec.name,
            description=spec.description,
            args_schema=dict(spec.parameters),
        )
        for spec in sample_tools()
    ]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny test model, built once per session (see :mod:`agentshield_trainer.tiny`)."""
    from agentshield_trainer.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
