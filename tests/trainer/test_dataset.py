"""Rows, sources, filters, sampling, dedupe and split: pure Python, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentshield.testing import sample_trajectory
from agentshield.trajectory import Message, Outcome, Trajectory
from agentshield_trainer.config import DataConfig, TrainConfig
from agentshield_trainer.dataset import build_dataset, load_dataset, row_key, to_row
from agentshield_trainer.sources import has_content, load_trajectories, select
from agentshield_trainer.testing import oracle_trajectories

NO_PAFT = {"paft": {"alpha": 0.0}}


def test_row_is_openai_chat_format_with_tools() -> None:
    row = to_row(sample_trajectory())
    assert set(row) == {"messages", "tools"}
    assert [t["function"]["name"] for t in row["tools"]] == [
        "search_places",
        "check_availability",
        "book_table",
    ]
    call = row["messages"][2]
    assert call["role"] == "assistant" and call["content"] == ""
    fn = call["tool_calls"][0]["function"]
    assert fn["name"] == "search_places" and json.loads(fn["arguments"]) == {
        "query": "cafe",
        "city": "Lyon",
    }
    tool = row["messages"][3]
    assert tool["tool_call_id"] == call["tool_calls"][0]["id"] and tool["name"] == "search_places"
    assert "is_error" not in json.dumps(row)


def test_jsonl_and_trace_store_inputs(tmp_path: Path, oracle_store: Path) -> None:
    jsonl = tmp_path / "runs.jsonl"
    jsonl.write_text("".join(t.to_json() + "\n" for t in oracle_trajectories(3)) + "{bad\n")
    from_jsonl, problems = load_trajectories([jsonl])
    assert len(from_jsonl) == 3 and len(problems) == 1 and "runs.jsonl:4" in problems[0]
    from_store, _ = load_trajectories([oracle_store])
    assert len(from_store) == 8
    assert to_row(from_store[0]) == to_row(oracle_trajectories(1)[0])


def test_filters_and_their_report() -> None:
    runs = oracle_trajectories(4)
    runs.append(runs[0].with_(run_id="failed", outcome=Outcome("failure")))
    runs.append(runs[0].with_(run_id="other", metadata={"agent": "other"}))
    timed = [r.with_(metadata={**r.metadata, "start_ns": i * 10**18}) for i, r in enumerate(runs)]
    chosen = select(timed, DataConfig(agents=("oracle",), since="2001-09-09T01:46:40"), seed=0)
    assert [t.run_id for t in chosen.kept] == ["oracle-1", "oracle-2", "oracle-3"]
    assert chosen.dropped == {"outcome failure": 1, "other agent": 1, "outside time range": 1}
    assert "kept 3 of 6 runs" in chosen.summary()


def test_weighted_sampling_prefers_errors_and_is_order_free() -> None:
    clean = oracle_trajectories(8)
    error_run = sample_trajectory("with-error")
    msgs = list(error_run.messages)
    msgs[3] = Message("tool", "Error: 503", tool_call_id="c1", name="search_places", is_error=True)
    runs = [*clean, error_run.with_(messages=msgs)]
    cfg = DataConfig(max_trajectories=4, error_weight=1000.0)
    picked = select(runs, cfg, seed=1)
    assert len(picked.kept) == 4 and "with-error" in [t.run_id for t in picked.kept]
    again = select(list(reversed(runs)), cfg, seed=1)
    assert {t.run_id for t in again.kept} == {t.run_id for t in picked.kept}


def test_dedupe_and_split_keep_augmented_copies_with_their_source() -> None:
    runs = [*oracle_trajectories(8), *oracle_trajectories(8, prefix="copy")]
    config = TrainConfig.from_dict({"data": {"val_fraction": 0.2}, "training": {"seed": 5}})
    ds = build_dataset(runs, config)
    clean = [i for i in ds.train_ids + ds.val_ids if "~" not in i]
    assert len(clean) == 8 and all(i.startswith("oracle-") for i in clean)
    assert ds.duplicates >= 8
    keys = [row_key(r) for r in ds.train + ds.val]
    assert len(keys) == len(set(keys))
    val_sources = {i.split("~")[0] for i in ds.val_ids}
    assert not val_sources & {i.split("~")[0] for i in ds.train_ids}
    assert len([i for i in ds.val_ids if "~" not in i]) == 2
    assert build_dataset(runs, config).fingerprint == ds.fingerprint
    other = TrainConfig.from_dict({"data": {"val_fraction": 0.2}, "training": {"seed": 6}})
    assert build_dataset(runs, other).fingerprint != ds.fingerprint


def test_write_is_atomic(tmp_path: Path) -> None:
    ds = build_dataset(oracle_trajectories(4), TrainConfig.from_dict(NO_PAFT))
    out = ds.write(tmp_path / "data")
    assert sorted(p.name for p in out.iterdir()) == ["dataset.json", "train.jsonl", "val.jsonl"]
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert rows == ds.train
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_content_less_runs_are_detected() -> None:
    bare = Trajectory("r", (Message("assistant", ""),), metadata={"content": False})
    assert not has_content(bare)
    assert has_content(sample_trajectory())
    no_tools = sample_trajectory().with_(tools=())
    assert not has_content(no_tools)


def test_the_dataset_builder_does_not_import_torch(tmp_path: Path) -> None:
    jsonl = tmp_path / "runs.jsonl"
    jsonl.write_text("".join(t.to_json() + "\n" for t in oracle_trajectories(4)))
    code = (
        "import sys; import agentshield_trainer, agentshield_trainer.cli\n"
        "from agentshield_trainer import TrainConfig, load_dataset\n"
        f"ds = load_dataset(TrainConfig().override({{'inputs': [{str(jsonl)!r}]}}))\n"
        "assert ds.train, ds\n"
        "heavy = [m for m in ('torch', 'transformers', 'langchain_core') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_load_dataset_needs_inputs() -> None:
    from agentshield_trainer.errors import NoTrajectoriesError

    with pytest.raises(NoTrajectoriesError, match="no inputs"):
        load_dataset(TrainConfig())
