"""The CLI as a user runs it: a real subprocess of the installed ``agentshield`` script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import agentshield


def _agentshield() -> list[str]:
    script = Path(sys.executable).parent / "agentshield"
    return [str(script)] if script.exists() else [shutil.which("agentshield") or "agentshield"]


def test_list_json_is_the_catalogue() -> None:
    out = subprocess.run(
        [*_agentshield(), "list", "--json"], capture_output=True, text=True, check=True
    )
    items = json.loads(out.stdout)
    assert [i["name"] for i in items] == list(agentshield.registered())
    for item in items:
        assert {"name", "tier", "description", "params"} <= set(item)
        assert 1 <= item["tier"] <= 5
    rename = next(i for i in items if i["name"] == "tool_rename_noise")
    assert rename["params"] == [
        {
            "name": "prefix",
            "type": "str",
            "default": "tool_",
            "required": False,
            "help": "prefix of the opaque names",
        }
    ]


def test_list_table_groups_by_tier() -> None:
    out = subprocess.run(
        [*_agentshield(), "list"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "160", "PATH": ""},
    )
    text = out.stdout
    assert text.index("1 perception") < text.index("2 interaction") < text.index("3 reasoning")
    assert "unsolvable_task" in text and "security" in text


def test_tier_filter_and_help() -> None:
    out = subprocess.run(
        [*_agentshield(), "list", "--json", "--tier", "4"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert [i["name"] for i in json.loads(out.stdout)] == ["unsolvable_task"]
    bad = subprocess.run([*_agentshield(), "list", "--tier", "9"], capture_output=True, text=True)
    assert bad.returncode != 0
