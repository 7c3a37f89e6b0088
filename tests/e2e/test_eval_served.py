"""End to end: a real small model, fine-tuned in this session, behind ``transformers serve``
on 127.0.0.1, evaluated by ``agentshield eval`` as a user would run it.

The model is the tiny random-init Qwen2 given a few seconds of LoRA on oracle runs of the
point-of-interest sandbox (see :mod:`tests.e2e.served`): enough to answer with real
``tool_calls`` through the server's own tool-call parser, not enough to solve tasks. The
reports must be valid whatever the model scores.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentshield.eval.openai_agent import OpenAIPolicy
from agentshield.eval.suite import load_suite
from agentshield.sandbox import SYSTEM_PROMPT, Turn, generate_tasks, make_environment
from agentshield.trajectory import Message
from tests.e2e.served import Served, serve, train_served_model

pytest.importorskip("fastapi", reason="transformers serve needs the trainer's [test] extra")
pytest.importorskip("uvicorn", reason="transformers serve needs the trainer's [test] extra")

TASKS = 1
SUITE = "tier1"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The fine-tuned tiny model behind ``transformers serve`` (stopped at module end)."""
    folder = tmp_path_factory.mktemp("served")
    merged = train_served_model(folder)
    with serve(merged, log=folder / "serve.log") as server:
        yield server


def ask(served: Served, messages: list[Message]) -> tuple[Turn, int]:
    """The served model's next turn, and how many of its calls were malformed."""

    async def go() -> tuple[Turn, int]:
        async with OpenAIPolicy(
            base_url=served.base_url, model=served.model, max_tokens=96, max_retries=0
        ) as policy:
            turn = await policy(messages, make_environment("poi").tools)
            return turn, policy.malformed_calls

    return asyncio.run(go())


def test_served_model_answers_with_real_tool_calls(served: Served) -> None:
    task = generate_tasks("poi", "test", n=1)[0]
    turn, malformed = ask(served, [Message("system", SYSTEM_PROMPT), Message("user", task.query)])
    names = {spec.name for spec in make_environment("poi").tools}
    calls = turn.message.tool_calls
    assert calls, f"no tool call; the model said {turn.message.content!r}"
    assert all(c.name in names for c in calls), calls
    assert all(c.id for c in calls) and malformed == 0
    assert turn.input_tokens is not None and turn.input_tokens > 100  # the nine-tool prompt
    assert turn.output_tokens is not None and turn.output_tokens > 0
    assert turn.model == served.model


def _agentshield() -> list[str]:
    script = Path(sys.executable).parent / "agentshield"
    return [str(script)] if script.exists() else [shutil.which("agentshield") or "agentshield"]


def test_agentshield_eval_against_the_served_model_writes_valid_reports(
    served: Served, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    command = [
        *_agentshield(),
        "eval",
        "--base-url",
        served.base_url,
        "--model",
        served.model,
        "--domain",
        "poi",
        "--tasks",
        str(TASKS),
        "--suite",
        SUITE,
        "--concurrency",
        "4",
        "--max-steps",
        "2",
        "--max-tokens",
        "128",
        "--timeout-s",
        "60",
        "--traces",
        str(tmp_path / "traces"),
        "--no-progress",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    episodes = TASKS * (1 + len(load_suite(SUITE)))

    report = json.loads((out / "report.json").read_text())
    assert len(report["episodes"]) == episodes
    assert {e["perturbation"] for e in report["episodes"]} == {
        "clean",
        *(entry.label for entry in load_suite(SUITE)),
    }
    # The model really answered through the endpoint: the clean run made tool calls and
    # counted tokens. An episode may end on the server's own error instead:
    # `transformers serve` answers HTTP 500 when the model writes a malformed call (a shifted
    # schema throws the barely trained model off), and the runner records it as a failure.
    clean = next(e for e in report["episodes"] if e["perturbation"] == "clean")
    assert clean["tool_calls"] > 0 and clean["input_tokens"] > 0, clean
    for e in report["episodes"]:
        served_error = "EndpointError" in (e["detail"] or "") and "HTTP 500" in e["detail"]
        assert (e["input_tokens"] or 0) > 0 or served_error, e
    assert report["summary"]

    failures = check_junit(ET.parse(out / "junit.xml").getroot())
    assert failures == sum(not e["correct"] for e in report["episodes"])

    html = (out / "report.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<table" in html and "</table>" in html and "<svg" in html
    assert "clean" in html and report["agent"] in html


#: Elements and attributes of the JUnit XML format CI servers read (the Ant / Jenkins
#: ``junit-4`` schema: testsuites > testsuite > testcase > failure | error | skipped).
_CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}


def check_junit(root: ET.Element) -> int:
    """Check ``root`` against the JUnit XML structure; return the number of failed cases."""
    assert root.tag == "testsuites"
    total = failed = 0
    suites = list(root)
    assert suites and all(s.tag == "testsuite" for s in suites)
    for suite in suites:
        assert suite.get("name")
        cases = list(suite)
        assert all(c.tag == "testcase" for c in cases)
        bad = 0
        for case in cases:
            assert case.get("name") and case.get("classname")
            assert float(case.get("time", "0")) >= 0
            children = [child.tag for child in case]
            assert set(children) <= _CASE_CHILDREN, children
            fails = case.findall("failure")
            assert len(fails) <= 1 and all(f.get("message") for f in fails)
            bad += len(fails)
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == bad
        assert int(suite.get("errors", "-1")) == sum(len(c.findall("error")) for c in cases)
        assert float(suite.get("time", "-1")) >= 0
        total, failed = total + len(cases), failed + bad
    assert int(root.get("tests", "-1")) == total
    assert int(root.get("failures", "-1")) == failed
    return failed
