"""The whole loop on CPU: recorded traces -> dataset -> LoRA -> adapter -> a real agent."""

from __future__ import annotations

import json

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage

from agentshield.testing import sample_trajectory
from agentshield_trainer import load_chat_model
from agentshield_trainer.manifest import MANIFEST_NAME, identify_base_model
from agentshield_trainer.testing import sample_langchain_tools
from tests.trainer.conftest import Trained


def test_dataset_from_traces_keeps_tools_and_mixes_paft(trained: Trained) -> None:
    ds = trained.dataset
    assert ds.selection.total == 8 and len(ds.selection.kept) == 8
    assert len(ds.val) >= 1 and ds.augmented
    clean = [r for r, i in zip(ds.train, ds.train_ids, strict=True) if "~paft" not in i]
    assert all(len(r["tools"]) == 3 for r in clean)
    share = len(ds.augmented) / (len(ds.train) + len(ds.val))
    assert 0.2 <= share <= 0.4  # alpha = 0.3


def test_adapter_folder_and_manifest(trained: Trained) -> None:
    folder = trained.result.adapter_dir
    names = {p.name for p in folder.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", MANIFEST_NAME, "README.md"} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["base_model"] == identify_base_model(trained.base).__dict__
    assert manifest["data"]["fingerprint"] == trained.dataset.fingerprint
    assert manifest["lora"]["rank"] == 16
    assert manifest["paft"]["alpha"] == 0.3
    assert all(a["seed"] >= 2**63 for a in manifest["data"]["augmentations"])
    assert manifest["metrics"]["steps"] == 120
    assert manifest["metrics"]["eval_loss"] < 1.0
    assert "agentshield-trainer" in manifest["code"]
    assert not folder.with_name(folder.name + ".checkpoints").exists()


def test_trained_model_completes_the_task_inside_create_agent(trained: Trained) -> None:
    model = load_chat_model(str(trained.base), adapter=trained.result.adapter_dir)
    agent = create_agent(
        model, tools=sample_langchain_tools(), system_prompt="You are a booking assistant."
    )
    task = sample_trajectory()
    request = next(m.content for m in task.messages if m.role == "user")
    state = agent.invoke({"messages": [{"role": "user", "content": request}]})
    calls = [
        (c["name"], c["args"])
        for m in state["messages"]
        if isinstance(m, AIMessage)
        for c in m.tool_calls
    ]
    assert calls == [(c.name, dict(c.args)) for c in task.tool_calls]
    observations = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in observations] == ["success"] * 3
    assert "BK-p1-2" in state["messages"][-1].content
