"""The per-call fast paths find exactly what the plain computations find."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from agentshield.detect import Monitor, Profile
from agentshield.detect import observation as obs
from agentshield.detect._features import parse_observation

from .conftest import call

_WORDS = [
    "deprecated", "DEPRECATED", "no longer", "served", "has been", "Has Been", "was", "moved",
    "replaced", "use", "USE", "foo.bar", "instead", '"replacement"', ":", "301", "308",
    "moved permanently", "410", "gone", "sunset", "because", "xwas", "sunsets", "\u017funset",
    "\u0130", " ", "\n", "-", "_", ".", "a", "1",
]  # fmt: skip


def test_redirect_finds_the_first_match_a_full_search_finds() -> None:
    rng = random.Random(0)
    for _ in range(20_000):
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 10)))
        plain = obs._REDIRECT.search(text)
        if not any(k in text.lower() for k in obs._REDIRECT_KEYS):
            plain = None
        fast = obs._redirect(text)
        assert (fast and (fast.span(), fast.group(0))) == (plain and (plain.span(), plain.group(0)))


def _parse_with_loads(content: str) -> tuple[str, Any]:
    text = content.strip()
    if not text or text[0] not in '{["-0123456789tfn':
        return "text", None
    try:
        value = json.loads(text)
    except ValueError:
        return "text", None
    kind = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "scalar"
    return kind, value


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}', ' {"a": 1}\n', '{"a": 1} x', "[1] [2]", "null", "-1.5", "nul", "", "\ufeff{}"],
)
def test_parse_observation_agrees_with_json_loads(text: str) -> None:
    assert parse_observation(text) == _parse_with_loads(text)


def test_a_loop_is_reported_once_however_long_it_goes_on(profile: Profile) -> None:
    m = Monitor(profile, ["order_violation"])
    for i in range(20):
        m.observe_call("r", call("search_places", f"c{i}", query="cafe"), "{}")
    assert [d.verdict for d in m.detections()].count("loop") == 1
