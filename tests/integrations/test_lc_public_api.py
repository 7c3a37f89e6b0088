"""The public API of ``agentshield_langchain`` is exactly its sorted ``__all__``."""

from __future__ import annotations

from langchain_core.tools import BaseTool

import agentshield_langchain
import agentshield_langchain.testing


def test_all_is_sorted_and_complete() -> None:
    names = agentshield_langchain.__all__
    assert names == sorted(names)
    assert names == [
        "RUN_ID_KEY",
        "ShieldMiddleware",
        "ShieldedChatModel",
        "ShieldedTool",
        "__version__",
        "shield_model",
        "shield_tool_wrappers",
        "shield_tools",
        "shielded_tool_node",
    ]
    for name in names:
        assert getattr(agentshield_langchain, name) is not None


def test_public_objects_are_documented() -> None:
    for name in agentshield_langchain.__all__:
        obj = getattr(agentshield_langchain, name)
        if callable(obj):
            assert obj.__doc__, f"{name} has no docstring"
    assert agentshield_langchain.testing.ScriptedChatModel.__doc__


def test_the_pytest_plugin_provides_fixtures(agent_tools: list[BaseTool]) -> None:
    assert [t.name for t in agent_tools] == ["search_places", "check_availability", "book_table"]
