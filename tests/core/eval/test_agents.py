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
        ({"agent": "nope"}, "unknown agent 'nope'"),
        ({"agent": "no.such.module:x"}, "cannot import 'no.such.module'"),
        ({"agent": f"{__name__}:missing"}, "has no attribute 'missing'"),
        ({"agent": "just_a_module:"}, "not of the form module:attr"),
        ({"agent": "oracle", "adapter": "a/b"}, "--base-model do not apply to 'oracle'"),
        ({"agent": "brittle", "base_model": "m/"}, "--base-model do not apply to 'brittle'"),
        ({"base_url": "http://127.0.0.1:9/v1"}, "--base-url needs --model"),
        ({"base_url": "http://x/v1", "model": "m", "agent": "oracle"}, "not both"),
        ({"base_url": "http://x/v1", "model": "m", "adapter": "a"}, "a served model"),
    ],
)
def test_wrong_choices_say_what_to_do(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_agent(**kwargs)


def test_no_agent_is_the_embedded_model_when_a_resolver_accepts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentshield.eval import agents

    asked: list[tuple[object, dict[str, Any]]] = []

    def resolver(target: object, **options: Any) -> PolicyAgent | None:
        asked.append((target, options))
        return AN_AGENT if target == agents.EMBEDDED else None

    monkeypatch.setattr(agents, "_resolvers", lambda: [resolver])
    assert resolve_agent(adapter="a/b", name="named") is AN_AGENT
    assert asked == [("embedded", {"adapter": "a/b"})] and AN_AGENT.name == "named"
    AN_AGENT.name = "mine"
    monkeypatch.setattr(agents, "_resolvers", lambda: [])
    with pytest.raises(ConfigError, match=r"choose an agent.*install agentshield-trainer"):
        resolve_agent()
