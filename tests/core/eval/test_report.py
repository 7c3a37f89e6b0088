"""Reports: report.json reloads, junit.xml has a case per task × shift, report.html is one
self-contained page with the tables and plots; files are replaced atomically."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from agentshield.errors import ConfigError
from agentshield.eval import PolicyAgent, Report, load_report, load_suite, render_html, run_suite
from agentshield.sandbox import OracleAgent, generate_tasks
from agentshield.sandbox.brittle import BrittleAgent

TASKS = generate_tasks("poi", "test", n=5)


@pytest.fixture(scope="module")
def brittle() -> Report:
    results = run_suite(PolicyAgent(BrittleAgent(), name="brittle"), TASKS, load_suite("smoke"))
    return Report("brittle", results, config={"suite": "smoke"}, suite=[])


def test_report_json_round_trips(tmp_path: Path, brittle: Report) -> None:
    paths = brittle.write(tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["schema"] == "agentshield.eval/1" and data["agent"] == "brittle"
    assert data["summary"]["clean"]["success"]["value"] == 1.0
    again = load_report(tmp_path)
    assert again.episodes == brittle.episodes
    assert again.summary.to_dict() == brittle.summary.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "report.json"]


def test_junit_has_one_case_per_task_and_shift(tmp_path: Path, brittle: Report) -> None:
    root = ET.parse(brittle.write(tmp_path)["junit"]).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["clean", *(e.label for e in load_suite("smoke"))]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(brittle.episodes) == int(root.get("tests", "0"))
    failures = root.findall("testsuite/testcase/failure")
    assert len(failures) == sum(not e.correct for e in brittle.episodes) > 0
    assert int(root.get("failures", "0")) == len(failures)
    for s in suites:
        assert int(s.get("tests", "0")) == len(s.findall("testcase"))
    assert all(re.fullmatch(r"expected \w+, got \w+", f.get("message", "")) for f in failures)


def test_html_is_self_contained_with_tables_and_plots(brittle: Report) -> None:
    page = render_html(brittle)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert page.count("<svg") == 2 and "Success rate per tier" in page
    for tier in ("1 perception", "2 interaction", "3 reasoning", "4 internalization"):
        assert f"<td>{tier}</td>" in page
    oracle = Report("oracle", run_suite(PolicyAgent(OracleAgent()), TASKS, load_suite("smoke")))
    both = render_html(brittle, oracle)
    assert "brittle vs oracle" in both and both.count("<svg") == 2


def test_loading_something_else_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no report at"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(ConfigError, match="is not JSON"):
        load_report(tmp_path)
    (tmp_path / "report.json").write_text('{"schema": "other"}')
    with pytest.raises(ConfigError, match="not an AgentShield evaluation report"):
        load_report(tmp_path)


def test_a_failed_write_leaves_the_old_report(tmp_path: Path, brittle: Report) -> None:
    brittle.write(tmp_path)
    before = (tmp_path / "report.json").read_text()
    broken = Report("broken", brittle.episodes, config={"bad": object()})
    with pytest.raises(TypeError):
        broken.write(tmp_path)
    assert (tmp_path / "report.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "report.json"]
