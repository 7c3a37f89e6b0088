"""Which agent ``agentshield eval`` runs, and the errors when the choice is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from agentshield import Message, ToolSpec
from agentshield.errors import ConfigError
from agentshield.eval import PolicyAgent, import_target, resolve_agent
from agentshield.sandbox import OracleAgent


def echo_policy(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
    return Message("assistant", "I cannot do that.")


AN_AGENT = PolicyAgent(OracleAgent(), name="mine")


def test_builtin_names_and_module_attr_targets() -> None:
    assert resolve_agent("oracle").name == "oracle"
    assert resolve_agent("brittle", name="b").name == "b"
    assert resolve_agent(f"{__name__}:AN_AGENT") is AN_AGENT
    policy = resolve_agent(f"{__name__}:echo_policy")
    assert isinstance(policy, PolicyAgent) and policy.policy is echo_policy
    assert import_target("agentshield.sandbox:OracleAgent") is OracleAgent


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "choose an agent"),
        ({"agent": "nope"}, "unknown agent 'nope'"),
        ({"agent": "no.such.module:x"}, "cannot import 'no.such.module'"),
        ({"agent": f"{__name__}:missing"}, "has no attribute 'missing'"),
        ({"agent": "just_a_module:"}, "not of the form module:attr"),
        ({"agent": "oracle", "adapter": "a/b"}, "--adapter does not apply to 'oracle'"),
        ({"base_url": "http://127.0.0.1:9/v1"}, "--base-url needs --model"),
        ({"base_url": "http://x/v1", "model": "m", "agent": "oracle"}, "not both"),
        ({"base_url": "http://x/v1", "model": "m", "adapter": "a"}, "a served model"),
    ],
)
def test_wrong_choices_say_what_to_do(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_agent(**kwargs)
