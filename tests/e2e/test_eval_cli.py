"""``agentshield eval`` as a user runs it: a subprocess of the installed script, on the
sandbox, with the traces it records read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from agentshield.tracing import read_trajectories


def _eval(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "agentshield"
    exe = str(script) if script.exists() else shutil.which("agentshield") or "agentshield"
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [exe, "eval", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_eval_prints_the_table_writes_the_report_and_records_traces(tmp_path: Path) -> None:
    out = _eval(
        "--agent", "brittle", "--tasks", "3", "--suite", "smoke", "--no-progress",
        "--out", "report", "--traces", "traces",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for row in ("clean", "1 perception", "2 interaction", "3 reasoning", "4 internalization"):
        assert row in out.stdout
    assert "36 episodes" in out.stdout  # 6 tasks × (clean + 5 shifts)
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["agent"] == "brittle" and len(report["episodes"]) == 36
    ET.parse(tmp_path / "report" / "junit.xml")
    assert "<table>" in (tmp_path / "report" / "report.html").read_text()
    runs, read = read_trajectories(tmp_path / "traces")
    assert read.problems == [] and len(runs) == 36
    # Content capture is on for evaluation: the traces are training data.
    assert all(r.messages and r.tools for r in runs)
    perturbed = [r for r in runs if r.perturbations]
    assert {p.name for r in perturbed for p in r.perturbations} >= {"unsolvable_task"}


def test_fail_under_gates_ci_and_json_prints_the_summary(tmp_path: Path) -> None:
    args = ("--tasks", "2", "--domain", "poi", "--suite", "tier1", "--no-traces", "--json")
    bad = _eval("--agent", "brittle", "--fail-under", "0.95", *args, cwd=tmp_path)
    assert bad.returncode == 1
    assert "is below --fail-under 95.0%" in bad.stderr
    summary = json.loads(bad.stdout)["summary"]
    assert summary["tiers"][0]["name"] == "1 perception"
    good = _eval("--agent", "oracle", "--fail-under", "0.95", "--out", "o", *args, cwd=tmp_path)
    assert good.returncode == 0, good.stderr


def test_compare_puts_two_reports_side_by_side(tmp_path: Path) -> None:
    common = ("--tasks", "2", "--domain", "medical", "--suite", "smoke", "--no-traces")
    for agent in ("brittle", "oracle"):
        done = _eval("--agent", agent, "--out", agent, "--no-progress", *common, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    out = _eval("--compare", "brittle", "oracle/report.json", "--out", "cmp", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "A: brittle  vs  B: oracle" in out.stdout and "B − A" in out.stdout
    assert "brittle vs oracle" in (tmp_path / "cmp" / "compare.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--agent", "oracle", "--suite", "nope"), "no suite named 'nope'"),
        (("--agent", "no_module_here:agent"), "cannot import 'no_module_here'"),
        (("--agent", "json:dumps"), "is not an agent"),
        (("--base-url", "http://127.0.0.1:9/v1"), "--base-url needs --model"),
        (("--compare", "a", "b"), "no report at"),
    ],
)
def test_bad_input_says_what_to_do(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out = _eval(*args, "--no-traces", cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
