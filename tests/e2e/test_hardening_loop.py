"""The hardening loop of the README, reduced to fit CI: the tiny model, one task, a hundred
steps. Every stage runs for real and leaves its artefacts: the oracle's traces, a baseline
adapter trained on them by ``agentshield train`` (clean only), its evaluation with traces and
reports, a PAFT adapter trained on the oracle's and the baseline's traces, its evaluation,
and ``agentshield eval --compare``. The hardened adapter must beat the baseline on the shift
it was trained with (a missing tool: refuse instead of calling it) and keep the clean task.

The tiny model learns by heart, so the evaluation uses the training task; the measured loop on
SmolLM2 with held-out tasks and seeds is in the README ("Hardening loop")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from agentshield.eval import PolicyAgent
from agentshield.eval.report import Report, load_report
from agentshield.eval.runner import run_suite
from agentshield.eval.suite import SuiteEntry, load_suite
from agentshield.sandbox import OracleAgent, generate_tasks
from agentshield.sandbox.tasks import Task
from agentshield.tracing import read_trajectories, setup_tracing
from agentshield_trainer.local_policy import load_local_policy
from agentshield_trainer.manifest import verify_adapter
from tests.e2e.served import build_sandbox_model

SHIFT = "unsolvable_task"
TRAIN = (
    "--max-length", "1024", "--val-fraction", "0", "--lora-dropout", "0",
    "--max-steps", "120", "--batch-size", "2", "--learning-rate", "1e-2",
    "--save-steps", "1000", "--logging-steps", "1000", "--no-progress", "--json",
)  # fmt: skip


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "agentshield"
    exe = str(script) if script.exists() else shutil.which("agentshield") or "agentshield"
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


def _evaluate(
    agent: object, task: Task, store: Path, out: Path, suite: str | list[SuiteEntry] = "shift"
) -> Report:
    """One stage's evaluation: clean and under the shift (or ``suite``), traces recorded,
    reports written."""
    tracing = setup_tracing(store=store, capture_content=True)
    try:
        results = run_suite(
            agent,  # type: ignore[arg-type]
            [task],
            load_suite([SuiteEntry(SHIFT)] if suite == "shift" else suite),
            recorder=tracing.recorder,
            max_steps=6,
            run_prefix=f"{out.name}/",
        )
    finally:
        tracing.shutdown()
    report = Report(agent=getattr(agent, "name", "agent"), episodes=results)
    paths = report.write(out)
    ET.parse(paths["junit"])
    assert load_report(out).summary.to_dict() == report.summary.to_dict()
    runs, read = read_trajectories(store)
    assert read.problems == [] and len(runs) == len(results)
    return report


def _rates(report: Report) -> dict[str, bool]:
    return {e.perturbation: e.correct for e in report.episodes}


def test_the_reduced_hardening_loop_produces_every_artefact_and_a_better_adapter(
    tmp_path: Path,
) -> None:
    task = next(t for t in generate_tasks("poi", "train", n=20) if t.kind == "hours")

    oracle_agent = PolicyAgent(OracleAgent(), name="oracle")
    oracle = _evaluate(oracle_agent, task, tmp_path / "oracle", tmp_path / "r0", "clean")
    assert _rates(oracle) == {"clean": True}  # the static-SFT data: clean runs only
    runs, _ = read_trajectories(tmp_path / "oracle")
    base = build_sandbox_model(tmp_path, runs)

    done = _cli(
        "train", str(tmp_path / "oracle"), "--base-model", str(base), "--alpha", "0",
        "--output-dir", str(tmp_path / "baseline"), *TRAIN, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert verify_adapter(tmp_path / "baseline").paft.get("alpha") == 0.0

    def agent(adapter: str) -> PolicyAgent:
        policy = load_local_policy(base, tmp_path / adapter, device="cpu", max_new_tokens=96)
        return PolicyAgent(policy, name=adapter)

    baseline = _evaluate(agent("baseline"), task, tmp_path / "baseline-traces", tmp_path / "r1")
    assert _rates(baseline) == {"clean": True, SHIFT: False}  # static SFT: calls a missing tool

    done = _cli(
        "train", str(tmp_path / "oracle"), str(tmp_path / "baseline-traces"),
        "--base-model", str(base), "--alpha", "0.5",
        "--perturbations", f"{SHIFT}:tool={task.critical_tool}",
        "--output-dir", str(tmp_path / "hardened"), *TRAIN, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = verify_adapter(tmp_path / "hardened")
    assert manifest.paft["alpha"] == 0.5 and SHIFT in json.dumps(manifest.paft)

    hardened = _evaluate(agent("hardened"), task, tmp_path / "hardened-traces", tmp_path / "r2")
    assert _rates(hardened) == {"clean": True, SHIFT: True}

    compare = _cli(
        "eval", "--compare", str(tmp_path / "r1"), str(tmp_path / "r2"), "--json",
        "--out", str(tmp_path / "cmp"), cwd=tmp_path,
    )  # fmt: skip
    assert compare.returncode == 0, compare.stderr
    found = json.loads(compare.stdout)["rows"]
    rows = {r["name"]: (r["a"]["success"], r["b"]["success"]) for r in found}
    assert rows == {"clean": (1.0, 1.0), "4 internalization": (0.0, 1.0), SHIFT: (0.0, 1.0)}
    assert (tmp_path / "cmp" / "compare.html").is_file()
