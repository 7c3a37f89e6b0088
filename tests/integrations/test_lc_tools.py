"""``shield_tools``: tools invoked directly, with neither middleware nor ToolNode."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool

from agentshield import ConfigError, InjectedTimeout, Shield
from agentshield.perturbations import create
from agentshield_langchain import ShieldedTool, shield_tools
from agentshield_langchain.testing import call, sample_agent_tools
from tests.integrations.conftest import ShieldFactory

ARGS = {"query": "cafe", "city": "Lyon"}


def by_name(tools: list[ShieldedTool]) -> dict[str, BaseTool]:
    return {t.name: t for t in tools}


def test_wrappers_keep_name_schema_and_output_when_inert() -> None:
    real = sample_agent_tools()
    wrapped = shield_tools(real, Shield())
    for r, w in zip(real, wrapped, strict=True):
        assert (w.name, w.description, w.tool_call_schema) == (
            r.name,
            r.description,
            r.tool_call_schema,
        )
    assert wrapped[0].invoke(ARGS) == real[0].invoke(ARGS)
    message = wrapped[0].invoke(call("search_places", ARGS, "c1"))
    assert isinstance(message, ToolMessage) and message.content == real[0].invoke(ARGS)


def test_observation_shift_on_plain_and_tool_call_input(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("observation_format", format="csv")])
    search = by_name(shield_tools(sample_agent_tools(), shield, run_id="r"))["search_places"]
    text = search.invoke(ARGS)
    assert text.splitlines()[0] == "place_id,name,city,rating"
    message = search.invoke(call("search_places", ARGS, "c9"))
    assert isinstance(message, ToolMessage)
    assert (message.content, message.name, message.tool_call_id) == (text, "search_places", "c9")
    assert [d.key for d in shield.decisions("r")] == ["1:0", "2:0"]  # one step per call


def test_faults_raise_and_the_retry_goes_through(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("timeout", timeout_s=2.0)])
    search = by_name(shield_tools(sample_agent_tools(), shield, run_id="r"))["search_places"]
    with pytest.raises(InjectedTimeout):
        search.invoke(ARGS)
    assert json.loads(search.invoke(ARGS))[0]["name"] == "Cafe Luna"  # times=1


def test_schema_shifts_keep_real_names_callable(shield_factory: ShieldFactory) -> None:
    shield = shield_factory(
        [create("tool_rename_noise"), create("unsolvable_task", tool="book_table")]
    )
    log: list[tuple[str, dict[str, object]]] = []
    tools = by_name(shield_tools(sample_agent_tools(log), shield, run_id="r"))
    assert json.loads(tools["search_places"].invoke(ARGS))
    refused = tools["book_table"].invoke(
        call("book_table", {"place_id": "p1", "date": "2026-12-03", "people": 2}, "c2")
    )
    assert isinstance(refused, ToolMessage) and refused.status == "error"
    assert "book_table is not a valid tool" in str(refused.content)
    assert log == [("search_places", ARGS)]


def test_run_id_from_config_and_unknown_tools_fail_early(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("latency", delay_s=0.0)])
    search = by_name(shield_tools(sample_agent_tools(), shield))["search_places"]
    config: RunnableConfig = {"configurable": {"thread_id": "t-7"}}
    search.invoke(ARGS, config)
    search.invoke(ARGS)
    assert shield.runs() == ["t-7", "default"]
    with pytest.raises(ConfigError):
        shield_tools(sample_agent_tools(), Shield([create("unsolvable_task", tool="nope")]))


@pytest.mark.asyncio
async def test_async_invoke(shield_factory: ShieldFactory) -> None:
    shield = shield_factory([create("tool_error"), create("instruction_injection", text="PWN")])
    search = by_name(shield_tools(sample_agent_tools(), shield, run_id="r"))["search_places"]
    failed = await search.ainvoke(call("search_places", ARGS, "c1"))
    assert isinstance(failed, ToolMessage) and failed.status == "error"
    ok = await search.ainvoke(ARGS)
    assert isinstance(ok, str) and ok.endswith("\nPWN")
