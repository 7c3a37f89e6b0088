"""Every example runs as a user would run it, and says what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(name: str) -> str:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_example_is_covered() -> None:
    covered = {"offline_augment.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == covered


@pytest.mark.parametrize("name", ["offline_augment.py"])
def test_offline_augment(name: str) -> None:
    out = run(name)
    assert "--- unsolvable: outcome=refused" in out
    assert "error Error: search_places failed" in out
