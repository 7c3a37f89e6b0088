"""Recording one sandbox episode as a trace: the run span, a chat span per model step and an
execute_tool span per call, through an optional :class:`~agentshield.tracing.Recorder`.

Every method is a no-op without a recorder, so the episode drivers call them unconditionally.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from agentshield.effects import Result
from agentshield.trajectory import Trajectory

if TYPE_CHECKING:
    from agentshield.sandbox.episode import _Call, _Episode, _Step
    from agentshield.sandbox.policy import Turn
    from agentshield.tracing import Recorder
    from agentshield.tracing.handles import ChatHandle, RunHandle, ToolHandle


class _ChatSpan:
    def __init__(self, handle: ChatHandle | None) -> None:
        self.handle = handle

    def done(self, turn: Turn) -> None:
        if self.handle is None:
            return
        reason = "tool_calls" if turn.message.tool_calls else "stop"
        self.handle.set_output([turn.message], finish_reasons=[reason])
        self.handle.set_usage(input_tokens=turn.input_tokens, output_tokens=turn.output_tokens)
        if turn.model:
            self.handle.set_response_model(turn.model)


class _ToolSpan:
    def __init__(self, handle: ToolHandle | None) -> None:
        self.handle = handle

    def done(self, result: Result) -> None:
        if self.handle is not None:
            self.handle.set_result(result.content, is_error=result.is_error)


class EpisodeTrace:
    """The spans of one episode (see the module docstring)."""

    def __init__(self, recorder: Recorder | None, episode: _Episode, agent_name: str) -> None:
        self.recorder, self.episode, self.agent_name = recorder, episode, agent_name
        self._run: RunHandle | None = None

    @contextmanager
    def run(self) -> Iterator[None]:
        if self.recorder is None:
            yield
            return
        ep = self.episode
        with self.recorder.agent_run(
            ep.run_id, agent_name=self.agent_name, task_id=ep.task.id
        ) as handle:
            self._run = handle
            yield

    @contextmanager
    def chat(self, need: _Step) -> Iterator[_ChatSpan]:
        if self.recorder is None:
            yield _ChatSpan(None)
            return
        with self.recorder.chat(
            self.episode.run_id, model=self.agent_name, messages=need.messages, tools=need.tools
        ) as handle:
            yield _ChatSpan(handle)

    @contextmanager
    def tool(self, need: _Call) -> Iterator[_ToolSpan]:
        if self.recorder is None:
            yield _ToolSpan(None)
            return
        shown = self.episode.view.find(need.call.name)
        with self.recorder.tool_call(
            self.episode.run_id,
            call_id=need.call.id,
            shown_name=need.call.name,
            real_name=shown.real if shown is not None else None,
            args=need.call.args,
        ) as handle:
            yield _ToolSpan(handle)

    def finish(self, trajectory: Trajectory) -> None:
        if self.recorder is None or self._run is None:
            return
        shield = self.episode.shield
        if shield is not None:
            self._run.record_decisions(shield.decisions(self.episode.run_id))
        self._run.set_outcome(trajectory.outcome)
