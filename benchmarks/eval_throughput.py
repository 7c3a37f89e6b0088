"""Benchmark: evaluation episodes/s against a model endpoint with a fixed latency, by concurrency.

Run with ``python benchmarks/eval_throughput.py [--latency-s 1.0] [--levels 1,8,32,64]``.

The endpoint is a real OpenAI-compatible HTTP/1.1 server (raw asyncio, keep-alive) in its own
process on 127.0.0.1. It answers every ``POST /v1/chat/completions`` after ``--latency-s`` of
artificial latency with what the scripted :class:`~agentshield.sandbox.OracleAgent` does next
on the messages and tools it received — so episodes are real multi-step tool-calling runs
(1 to 5 model calls each) that end in the right answer. The client is what ``agentshield
eval --base-url`` runs: :func:`agentshield.eval.runner.arun_suite` with a
:class:`~agentshield.eval.runner.PolicyAgent` around one
:class:`~agentshield.eval.openai_agent.OpenAIPolicy` (one connection pool), bounded by the
runner's semaphore.

Each level runs the ten kinds of POI test task, repeated so every level has at least
(``--rounds`` + 1) × its concurrency episodes. Episodes take 1 to 5 model calls, so the run's
last wave leaves slots idle while it drains; ``eps/s`` is therefore measured while every slot
is busy: episodes finished up to the moment episode number (total − concurrency) finished,
divided by that time (``wall eps/s`` includes the drain). Scaling efficiency at concurrency c
(``× linear``) = eps(c) / (c · eps(1)); 1.0 is linear. The in-process columns run the same
oracle behind the same latency without HTTP, which separates the endpoint path's cost (SDK,
HTTP, JSON, the server) from the runner's.

The in-process model's side (the embedded model's batched generation and prefix caches
against one episode at a time) is ``benchmarks/local_inference.py``: there the model, not an
endpoint's latency, is the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentshield.eval.openai_agent import OpenAIPolicy
from agentshield.eval.runner import PolicyAgent, arun_suite
from agentshield.sandbox import OracleAgent, generate_tasks
from agentshield.trajectory import Message, ToolSpec

# -- the endpoint (runs in its own process) ---------------------------------------------------


def _completion(message: Message) -> dict[str, Any]:
    reply: dict[str, Any] = {"role": "assistant", "content": message.content or None}
    if message.tool_calls:
        reply["tool_calls"] = [c.to_dict() for c in message.tool_calls]
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "oracle",
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": "tool_calls" if message.tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


async def _answer(body: bytes, latency_s: float) -> tuple[int, dict[str, Any]]:
    request = json.loads(body)
    messages = [Message.from_dict(m) for m in request["messages"]]
    tools = [ToolSpec.from_dict(t) for t in request.get("tools", ())]
    await asyncio.sleep(latency_s)
    return 200, _completion(OracleAgent()(messages, tools))


async def _connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency_s: float
) -> None:
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            _, path, _ = head[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in head[1:] if h)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if path.endswith("/chat/completions"):
                status, payload = await _answer(body, latency_s)
            else:
                status, payload = 404, {"error": {"message": f"no route {path}"}}
            data = json.dumps(payload).encode()
            writer.write(
                f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                + data
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed its keep-alive connection
    finally:
        writer.close()


async def _serve(latency_s: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: _connection(r, w, latency_s), "127.0.0.1", 0, backlog=1024
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


# -- the client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One concurrency level's measurement."""

    concurrency: int
    episodes: int
    calls: int
    wall_s: float
    correct: int
    #: Seconds from the start until episode ``episodes - concurrency`` finished: until then
    #: every slot was busy (after it, the run drains and slots fall idle).
    saturated_s: float

    @property
    def eps(self) -> float:
        """Episodes per second while every slot was busy (the steady state)."""
        return (self.episodes - self.concurrency) / self.saturated_s

    @property
    def wall_eps(self) -> float:
        """Episodes per second over the whole run, the drain included."""
        return self.episodes / self.wall_s


class LatentOracle:
    """The in-process comparison: the oracle behind the same latency, without HTTP."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.oracle = OracleAgent()

    async def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        await asyncio.sleep(self.latency_s)
        return self.oracle(messages, tools)


async def measure(policy: Any, concurrency: int, rounds: int) -> Level:
    """Run at least ``rounds`` × ``concurrency`` + ``concurrency`` episodes at ``concurrency``."""
    tasks = generate_tasks("poi", "test", n=10)  # one of each kind
    repeats = max(1, -(-(rounds + 1) * concurrency // len(tasks)))
    finished: list[float] = []
    started = time.perf_counter()
    results = await arun_suite(
        PolicyAgent(policy, name="bench"),
        tasks,
        [],
        repeats=repeats,
        concurrency=concurrency,
        timeout_s=None,
        on_result=lambda _: finished.append(time.perf_counter()),
    )
    wall = time.perf_counter() - started
    return Level(
        concurrency,
        len(results),
        sum(r.steps for r in results),
        wall,
        sum(r.correct for r in results),
        saturated_s=finished[len(results) - concurrency - 1] - started,
    )


async def run_levels(
    base_url: str, latency_s: float, levels: Sequence[int], rounds: int
) -> list[tuple[Level, Level]]:
    out = []
    async with OpenAIPolicy(
        base_url=base_url, model="oracle", timeout_s=60, max_retries=0
    ) as policy:
        await policy([Message("user", "warm up")], [])  # connect and import once
        for c in levels:
            endpoint = await measure(policy, c, rounds)
            local = await measure(LatentOracle(latency_s), c, rounds)
            out.append((endpoint, local))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-s", type=float, default=1.0, help="endpoint latency per call")
    parser.add_argument("--levels", default="1,8,32,64", help="concurrency levels")
    parser.add_argument("--rounds", type=int, default=4, help="episodes per slot, at least")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.latency_s))
        return
    levels = [int(x) for x in args.levels.split(",")]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--latency-s", str(args.latency_s)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        rows = asyncio.run(
            run_levels(f"http://127.0.0.1:{port}/v1", args.latency_s, levels, args.rounds)
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"eval throughput · latency {args.latency_s:g} s per model call · "
        f"python {platform.python_version()} · {platform.machine()} · {os.cpu_count()} CPUs"
    )
    print(
        f"{'conc':>5} {'episodes':>8} {'calls':>6} {'wall s':>7} {'eps/s':>7} {'× linear':>8} "
        f"{'wall eps/s':>10} {'correct':>8} | {'in-process eps/s':>16} {'× linear':>8}"
    )
    first, first_local = rows[0]
    for endpoint, local in rows:
        c = endpoint.concurrency
        linear = c * first.eps / first.concurrency
        linear_local = c * first_local.eps / first_local.concurrency
        print(
            f"{c:>5} {endpoint.episodes:>8} {endpoint.calls:>6} {endpoint.wall_s:>7.2f} "
            f"{endpoint.eps:>7.2f} {endpoint.eps / linear:>8.2f} {endpoint.wall_eps:>10.2f} "
            f"{endpoint.correct:>4}/{endpoint.episodes:<3} | {local.eps:>16.2f} "
            f"{local.eps / linear_local:>8.2f}"
        )


if __name__ == "__main__":
    main()
