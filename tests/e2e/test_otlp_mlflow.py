"""End to end: spans exported over OTLP/HTTP to a real MLflow tracking server, read back.

The server runs from its own virtual environment (it is large and pins its own packages);
point ``AGENTSHIELD_MLFLOW_PYTHON`` at that environment's python::

    python3 -m venv /work/venv-mlflow
    /work/venv-mlflow/bin/pip install mlflow==3.17.2
    export AGENTSHIELD_MLFLOW_PYTHON=/work/venv-mlflow/bin/python

The server is started once per test session on a free loopback port and always stopped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from agentshield import Shield, tool_named
from agentshield.effects import Result
from agentshield.testing import sample_tool_impls, sample_trajectory
from agentshield.tracing import semconv as sc
from agentshield.tracing import setup_tracing
from agentshield.tracing.testing import record_trajectory

MLFLOW_PYTHON = os.environ.get("AGENTSHIELD_MLFLOW_PYTHON", "")

pytestmark = pytest.mark.skipif(
    not MLFLOW_PYTHON,
    reason="needs a real OTLP receiver: create a venv with mlflow==3.17.2 and set "
    "AGENTSHIELD_MLFLOW_PYTHON to its python (see this module's docstring)",
)

SERVER_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_MODEL_CATALOG_URI": "",  # else it fetches a price list at start
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # else 7 extra workers, 2 GB
}

#: Runs in the mlflow environment: poll search_traces until the run's spans are stored.
READ_BACK = r"""
import json, sys, time
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
run_id, deadline = sys.argv[2], time.time() + float(sys.argv[3])
while True:
    found = []
    for trace in mlflow.search_traces(experiment_ids=["0"], return_type="list"):
        spans = [{"name": s.name, "span_id": s.span_id, "parent_id": s.parent_id,
                  "attributes": s.attributes} for s in trace.data.spans]
        if any(a["attributes"].get("agentshield.run_id") == run_id for a in spans):
            found.append({"trace_id": trace.info.trace_id, "spans": spans})
    if found and len(found[0]["spans"]) >= int(sys.argv[4]) or time.time() > deadline:
        print(json.dumps(found, default=str))
        break
    time.sleep(0.5)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server on 127.0.0.1; yields its URL."""
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    log = root / "server.log"
    cmd = [
        MLFLOW_PYTHON,
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--default-artifact-root",
        str(root / "artifacts"),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
            env={**os.environ, **SERVER_ENV},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited with {proc.returncode}:\n{_log_tail(log)}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not become healthy:\n{_log_tail(log)}")
            time.sleep(0.5)
        yield url
    finally:
        # The server runs workers of its own: stop the whole process group it leads.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)
        except ProcessLookupError:
            pass


def _execute(name: str, args: Mapping[str, Any]) -> Result:
    return Result(json.dumps(sample_tool_impls()[name](**args)))


def _read_back(url: str, run_id: str, spans: int) -> list[dict[str, Any]]:
    out = subprocess.run(
        [MLFLOW_PYTHON, "-c", READ_BACK, url, run_id, "20", str(spans)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    found: list[dict[str, Any]] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def test_run_exported_over_otlp_is_found_in_mlflow(mlflow_server: str) -> None:
    run_id = f"e2e-{uuid.uuid4().hex[:12]}"
    handle = setup_tracing(
        endpoint=mlflow_server,
        headers={"x-mlflow-experiment-id": "0"},
        capture_content=True,
        service_name="agentshield-e2e",
    )
    shield = Shield(
        [
            {"name": "tool_rename_noise"},
            {"name": "tool_error", "mode": "raise", "when": tool_named("book_table")},
        ],
        seed=11,
    )
    record_trajectory(
        handle.recorder,
        sample_trajectory(run_id),
        agent_name="booker",
        shield=shield,
        execute=_execute,
    )
    assert handle.force_flush(30) is True, handle.stats()
    stats = handle.shutdown()
    assert (stats.exported, stats.failed, stats.dropped) == (stats.ended, 0, 0)
    assert stats.ended == 8

    (trace,) = _read_back(mlflow_server, run_id, 8)
    spans = trace["spans"]
    assert len(spans) == 8
    by_name: dict[str, list[dict[str, Any]]] = {}
    for s in spans:
        by_name.setdefault(s["name"].split(" ")[0], []).append(s)
    (root,) = by_name["invoke_agent"]
    assert root["parent_id"] is None
    assert root["attributes"][sc.GEN_AI_AGENT_NAME] == "booker"
    assert root["attributes"][sc.AS_OUTCOME] == "success"
    assert len(by_name["chat"]) == 4 and len(by_name["execute_tool"]) == 3
    assert all(s["parent_id"] == root["span_id"] for s in spans if s is not root)
    injected = [
        s["attributes"] for s in by_name["execute_tool"] if s["attributes"].get(sc.AS_INJECTED)
    ]
    assert len(injected) == 1
    assert injected[0][sc.AS_TOOL_REAL_NAME] == "book_table"
    assert injected[0][sc.AS_INJECTED_BY] == "tool_error"
    assert sc.GEN_AI_TOOL_CALL_ARGUMENTS in injected[0]
    names = root["attributes"][sc.AS_PERTURBATION_NAME]
    assert list(names) == ["tool_rename_noise", "tool_error"]
