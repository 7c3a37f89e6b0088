"""A real small model behind a real OpenAI-compatible server, for end-to-end tests.

:func:`train_served_model` builds the tiny random-init Qwen2 of
:mod:`agentshield_trainer.tiny` (with a chat template that shows tools compactly, so the
nine-tool prompt is short), gives it a few seconds of LoRA on the oracle's first step
of a point-of-interest task, so that it answers with a ``<tool_call>`` block, and merges the
adapter into a plain model folder (``transformers serve`` cannot load an adapter).

:func:`serve` starts ``transformers serve`` on that folder on 127.0.0.1 in its own process
group, waits until ``/health`` answers, and kills the whole group on exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from agentshield import augment
from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode
from agentshield.trajectory import Trajectory

__all__ = [
    "Served",
    "build_sandbox_model",
    "free_port",
    "oracle_runs",
    "serve",
    "train_served_model",
]

#: Seconds spent in the steps of the last fixture build, for the test report.
TIMINGS: dict[str, float] = {}
#: LoRA settings that make the tiny model answer with well-formed tool calls.
TRAIN_STEPS = 100
LEARNING_RATE = 1e-2


def oracle_runs(kind: str = "best", copies: int = 4) -> list[Trajectory]:
    """The oracle's first step on the first POI train task of ``kind`` (one tool call), and
    copies of it with the user's request shifted by the catalogue's query perturbations
    (paraphrase, typos, redundant content; ``copies`` seeds each), as PAFT makes them.

    One call, learnt by heart, is what a few seconds of LoRA reliably teach the random-init
    model; the shifted requests teach it to make that call whatever the request says. The
    model then answers every request with a well-formed call of a real sandbox tool.
    """
    task = next(t for t in generate_tasks("poi", "train", n=20) if t.kind == kind)
    run = run_episode(make_environment(task.domain), task, OracleAgent())
    first = next(i for i, m in enumerate(run.messages) if m.role == "assistant")
    step = run.with_(messages=run.messages[: first + 1])
    shifts = ("query_paraphrase", "query_typos", "query_redundancy")
    copies_ = [
        augment(step, [{"name": name}], seed=seed).with_(run_id=f"{step.run_id}~{name}~{seed}")
        for name in shifts
        for seed in range(copies)
    ]
    return [step, *copies_]


def compact_template() -> str:
    """Our tool-aware chat template with each tool shown as ``name(param, ...)`` instead of
    its JSON signature: the nine-tool prompt shrinks from ~1,100 tokens to ~200 for the
    tiny tokenizer, so training and generation take a fraction of the time. Turns and tool
    calls render exactly as in :data:`~agentshield_trainer.template.TOOL_CHAT_TEMPLATE`."""
    from agentshield_trainer.template import TOOL_CHAT_TEMPLATE

    start = TOOL_CHAT_TEMPLATE.index("You can call these tools.")
    end = TOOL_CHAT_TEMPLATE.index("say so and why.<|im_end|>") + len("say so and why.")
    tools = (
        "<tools>\n"
        "{% for tool in tools %}"
        "{% set fn = tool.function if tool.function is defined else tool %}"
        "{{ fn.name }}({{ (fn.parameters.properties or {}) | list | join(', ') }})\n"
        "{% endfor %}"
        "</tools>"
    )
    return TOOL_CHAT_TEMPLATE[:start] + tools + TOOL_CHAT_TEMPLATE[end:]


def build_sandbox_model(folder: Path, runs: list[Trajectory]) -> Path:
    """The tiny model of :mod:`agentshield_trainer.tiny` (tokenizer also trained on the
    sandbox's runs) with :func:`compact_template` as its chat template."""
    from transformers import AutoTokenizer

    from agentshield_trainer.tiny import build_tiny_model, default_corpus

    base = build_tiny_model(
        folder / "base", corpus=[*default_corpus(), *(r.to_json() for r in runs)]
    )
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.chat_template = compact_template()
    tokenizer.save_pretrained(base)
    return base


def train_served_model(folder: Path) -> Path:
    """Build, fine-tune and merge the tiny model under ``folder``; return the merged folder."""
    from agentshield_trainer.adapters import merge_adapter
    from agentshield_trainer.config import TrainConfig
    from agentshield_trainer.training import train

    runs = oracle_runs()
    base = build_sandbox_model(folder, runs)
    data = folder / "runs.jsonl"
    data.write_text("".join(r.to_json() + "\n" for r in runs))
    config = TrainConfig.from_dict(
        {
            "data": {"inputs": [str(data)], "max_length": 1024, "val_fraction": 0.0},
            "paft": {"alpha": 0.0},
            "lora": {"lora_dropout": 0.0},
            "training": {
                "base_model": str(base),
                "output_dir": str(folder / "adapter"),
                "max_steps": TRAIN_STEPS,
                "batch_size": 2,
                "learning_rate": LEARNING_RATE,
                "save_steps": 10_000,
                "logging_steps": 10_000,
                "progress": False,
            },
        }
    )
    started = time.perf_counter()
    result = train(config)
    TIMINGS["train_s"] = time.perf_counter() - started
    return merge_adapter(str(base), result.adapter_dir, folder / "merged")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@dataclass(frozen=True)
class Served:
    """A running server: its API root, the model name to ask for, and its log file."""

    base_url: str
    model: str
    log: Path


def _transformers_cli() -> str:
    cli = Path(sys.executable).with_name("transformers")
    if not cli.exists():
        raise FileNotFoundError(f"{cli} not found; install transformers in this environment")
    return str(cli)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200 and json.load(answer).get("status") == "ok")
    except (OSError, urllib.error.URLError, ValueError):
        return False


@contextmanager
def serve(model_dir: Path, *, log: Path, ready_timeout_s: float = 120.0) -> Iterator[Served]:
    """Run ``transformers serve`` on ``model_dir`` (CPU, 127.0.0.1, a free port) until exit.

    Raises:
        RuntimeError: The server exited or did not become healthy in time (its log attached).
    """
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",  # nothing from a model hub, ever
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        _transformers_cli(),
        "serve",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--default-seed",
        "0",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + ready_timeout_s
        while not _healthy(f"http://127.0.0.1:{port}/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                state = "exited" if process.poll() is not None else "is not healthy"
                raise RuntimeError(
                    f"transformers serve {state} after {ready_timeout_s:g} s at most; "
                    f"its log:\n{log.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.25)
        yield Served(f"http://127.0.0.1:{port}/v1", str(model_dir), log)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole process group, then kill whatever is left of it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
