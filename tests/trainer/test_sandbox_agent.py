"""The loop on a sandbox task, end to end on CPU: the oracle's run recorded as a trace by the
episode loop → dataset → 100 LoRA steps on the tiny model → ``load_chat_model`` → a real
``create_agent`` agent over the sandbox's tools completes the task, judged by the
environment's exact check."""

from __future__ import annotations

from pathlib import Path

from langchain.agents import create_agent
from langchain_core.messages import AIMessage

from agentshield.sandbox import (
    SYSTEM_PROMPT,
    OracleAgent,
    generate_tasks,
    judge,
    make_environment,
    run_episode,
)
from agentshield.tracing import read_trajectories, setup_tracing
from agentshield_langchain.eval import sandbox_tools
from agentshield_trainer import load_chat_model
from agentshield_trainer.config import TrainConfig
from agentshield_trainer.manifest import verify_adapter
from agentshield_trainer.training import train
from tests.e2e.served import build_sandbox_model


def test_a_trained_adapter_completes_a_sandbox_task_inside_create_agent(tmp_path: Path) -> None:
    task = next(t for t in generate_tasks("poi", "train", n=20) if t.kind == "hours")
    store = tmp_path / "traces"
    tracing = setup_tracing(store=store, capture_content=True)
    oracle = run_episode(
        make_environment("poi"), task, OracleAgent(), recorder=tracing.recorder, run_id="oracle"
    )
    tracing.shutdown()
    [recorded], _ = read_trajectories(store)
    assert [(c.name, dict(c.args)) for c in recorded.tool_calls] == [
        (c.name, dict(c.args)) for c in oracle.tool_calls
    ]

    base = build_sandbox_model(tmp_path, [oracle])
    config = TrainConfig.from_dict(
        {
            "data": {"inputs": [str(store)], "max_length": 1024, "val_fraction": 0.0},
            "paft": {"alpha": 0.0},
            "lora": {"lora_dropout": 0.0},
            "training": {
                "base_model": str(base),
                "output_dir": str(tmp_path / "adapter"),
                "max_steps": 100,
                "batch_size": 1,
                "learning_rate": 1e-2,
                "save_steps": 10_000,
                "logging_steps": 10_000,
                "progress": False,
            },
        }
    )
    result = train(config)
    assert verify_adapter(result.adapter_dir).metrics["steps"] == 100

    env = make_environment("poi")
    model = load_chat_model(str(base), adapter=result.adapter_dir)
    agent = create_agent(model, sandbox_tools(env), system_prompt=SYSTEM_PROMPT)
    state = agent.invoke({"messages": [{"role": "user", "content": task.query}]})
    calls = [
        (c["name"], c["args"])
        for m in state["messages"]
        if isinstance(m, AIMessage)
        for c in m.tool_calls
    ]
    assert calls == [(c.name, dict(c.args)) for c in oracle.tool_calls]
    answer = state["messages"][-1].content
    assert judge(env, task, answer).status == "success", answer
