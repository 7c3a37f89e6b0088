"""Real LangGraph agents under the evaluation runner: ``create_agent`` with a policy-driven
chat model, built per episode by a factory taking the sandbox's tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.tools import BaseTool

from agentshield.eval import load_suite, resolve_agent, run_suite
from agentshield.sandbox import DOMAINS, OracleAgent, generate_tasks, make_environment
from agentshield.sandbox.brittle import BrittleAgent
from agentshield_langchain.eval import GraphAgent, PolicyChatModel, sandbox_tools

TASKS = [t for d in DOMAINS for t in generate_tasks(d, "test", n=2)]


def oracle_agent(tools: list[BaseTool], middleware: Sequence[Any] = ()) -> Any:
    return create_agent(PolicyChatModel(policy=OracleAgent()), tools, middleware=list(middleware))


def brittle_agent(tools: list[BaseTool], middleware: Sequence[Any] = ()) -> Any:
    return create_agent(PolicyChatModel(policy=BrittleAgent()), tools, middleware=list(middleware))


def tools_only_agent(tools: list[BaseTool]) -> Any:
    return create_agent(PolicyChatModel(policy=OracleAgent()), tools)


def test_a_factory_given_as_module_attr_becomes_a_graph_agent() -> None:
    agent = resolve_agent(f"{__name__}:oracle_agent")
    assert isinstance(agent, GraphAgent) and agent.full_shifts and agent.name == "oracle_agent"
    plain = resolve_agent(f"{__name__}:tools_only_agent")
    assert isinstance(plain, GraphAgent) and not plain.full_shifts


def test_the_oracle_inside_create_agent_passes_every_shift_its_graph_can_survive() -> None:
    results = run_suite(GraphAgent(oracle_agent), TASKS, load_suite("default"), concurrency=4)
    wrong = {(r.perturbation, r.detail or r.status) for r in results if not r.correct}
    # create_agent's ToolNode handles tool errors but not a TimeoutError: an injected
    # timeout ends the run, as it would in production.
    assert {p for p, _ in wrong} <= {"timeout"}
    assert all(d.startswith("agent error: InjectedTimeout") for _, d in wrong)
    clean = [r for r in results if r.perturbation == "clean"]
    assert all(r.correct and r.tool_calls == r.steps - 1 for r in clean if r.expected == "success")


def test_the_brittle_agent_inside_create_agent_breaks_under_renames() -> None:
    results = run_suite(GraphAgent(brittle_agent), TASKS, load_suite("tier1"))
    renamed = [r for r in results if r.perturbation == "tool_rename_noise"]
    assert any(not r.correct for r in renamed)
    assert sum(r.invalid_calls for r in renamed) > 0


def test_a_tools_only_factory_runs_clean() -> None:
    results = run_suite(GraphAgent(tools_only_agent), TASKS, [])
    assert all(r.correct for r in results)


def test_sandbox_tools_keep_schemas_and_mark_errors() -> None:
    env = make_environment("poi")
    tools = {t.name: t for t in sandbox_tools(env)}
    assert set(tools) == {s.name for s in env.tools}
    out = tools["search_places"].invoke(
        {"type": "tool_call", "name": "search_places", "args": {}, "id": "c1"}
    )
    assert out.status == "error" and "invalid_arguments" in out.content
