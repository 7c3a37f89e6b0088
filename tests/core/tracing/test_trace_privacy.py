"""Privacy: without capture no content leaves; with capture, no planted secret does."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from agentshield import Outcome
from agentshield.testing import sample_tools
from agentshield.tracing import Recorder, read_trajectories, setup_tracing, write_rows
from agentshield.tracing.export import FORMATS
from agentshield.trajectory import Message, ToolCall, Trajectory

SECRETS = [
    "jane.doe@example.com",
    "sk-proj-9fK2mQ7xLw3vB8nR4tYz",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_R2d2C3poR2d2C3poR2d2C3poR2d2C3po1234",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "4111 1111 1111 1111",
    "5500000000000004",
    "hunter2-Passw0rd",
    "Zm9vYmFyYmF6cXV4MTIzNDU2",
]
#: Words that only occur in content (never in names, ids or settings).
CONTENT = ["zebracanary", "Quokka Bistro", "violet-lantern", "marmalade"]


def planted_run(run_id: str = "secret-run") -> Trajectory:
    call = ToolCall(
        "c1",
        "book_table",
        {
            "place_id": "p1",
            "date": "2026-12-03",
            "people": 2,
            "note": "zebracanary",
            "contact": SECRETS[0],
            "api_key": SECRETS[2],
            "password": SECRETS[7],
        },
    )
    return Trajectory(
        run_id=run_id,
        messages=(
            Message("system", f"marmalade assistant. Use Authorization: Bearer {SECRETS[8]}"),
            Message(
                "user",
                f"Book Quokka Bistro for me ({SECRETS[0]}), card {SECRETS[5]}, "
                f"my key is {SECRETS[1]} and token {SECRETS[4]}",
            ),
            Message("assistant", "violet-lantern", tool_calls=(call,)),
            Message(
                "tool",
                f'{{"status": "booked", "charged": "{SECRETS[6]}", '
                f'"gh": "{SECRETS[3]}", "password": "{SECRETS[7]}"}}',
                tool_call_id="c1",
                name="book_table",
            ),
            Message("assistant", f"Booked Quokka Bistro, receipt sent to {SECRETS[0]}."),
        ),
        tools=sample_tools(),
        outcome=Outcome("success", answer=f"zebracanary {SECRETS[1]}", detail=f"card {SECRETS[5]}"),
    )


def record(recorder: Recorder, trajectory: Trajectory) -> None:
    from agentshield.tracing.testing import record_trajectory

    record_trajectory(recorder, trajectory)
    # A tool whose exception message quotes its arguments.
    with (
        pytest.raises(RuntimeError),
        recorder.agent_run("crash", agent_name="a"),
        recorder.tool_call("crash", call_id="x", shown_name="t", args={"k": SECRETS[1]}),
    ):
        raise RuntimeError(f"zebracanary failed for {SECRETS[0]} with {SECRETS[2]}")


def stored_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()))


def test_without_capture_no_content_leaves(tmp_path: Path) -> None:
    with setup_tracing(store=tmp_path, capture_content=False) as handle:
        record(handle.recorder, planted_run())
    data = stored_bytes(tmp_path)
    assert b"execute_tool book_table" in data  # the run itself is there
    for needle in SECRETS + CONTENT:
        assert needle.encode() not in data, needle


def test_capture_env_var_default_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTSHIELD_CAPTURE_CONTENT", raising=False)
    with setup_tracing(store=tmp_path) as handle:
        record(handle.recorder, planted_run())
    assert b"zebracanary" not in stored_bytes(tmp_path)


def test_with_capture_no_secret_leaves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSHIELD_CAPTURE_CONTENT", "true")
    with setup_tracing(store=tmp_path) as handle:
        assert handle.recorder.policy.capture is True
        record(handle.recorder, planted_run())
    data = stored_bytes(tmp_path).decode()
    for needle in CONTENT:
        assert needle in data  # content is captured ...
    for secret in SECRETS:  # ... and every secret is redacted, wherever it was
        assert secret not in data, secret
        assert secret.replace(" ", "") not in data.replace(" ", ""), secret
    assert "[REDACTED:credential]" in data and "[REDACTED:card]" in data
    trajectories, _ = read_trajectories(tmp_path)
    for fmt in FORMATS:
        out = io.StringIO()
        assert write_rows(trajectories, out, fmt) == 2  # type: ignore[arg-type]
        rows = out.getvalue()
        assert "Quokka Bistro" in rows
        for secret in SECRETS:
            assert secret not in rows, (fmt, secret)
