"""The Recorder: the spans framework adapters emit for runs, model calls and tool calls.

Adapters call it at the framework's official hooks::

    with recorder.agent_run(run_id, agent_name="booker", task_id="t1") as run:
        with recorder.chat(run_id, model="m", messages=msgs, tools=specs) as chat:
            chat.set_output([reply]); chat.set_usage(input_tokens=812, output_tokens=40)
        with recorder.tool_call(run_id, call_id="c1", shown_name="tool_3f", real_name="search",
                                args={"q": "cafe"}) as tool:
            tool.set_result(observation)
            tool.record_decisions(shield.decisions(run_id))
        run.set_outcome(Outcome("success"))

Spans: ``invoke_agent {agent}`` > ``chat {model}`` and ``execute_tool {shown name}``, with the
GenAI attribute names of :mod:`.semconv` plus ``agentshield.*`` provenance. A span nests under
the current span when that one belongs to the run's trace (so it sits under OpenInference or
OTel LangChain spans), else directly under the run's span (thread pools that do not carry the
context). The Recorder uses the tracer provider it is given, or the global one.

Never hurts the host: the agent's exceptions pass through untouched (control-flow exceptions
named in ``control_flow`` end the span without an error status); any error of our own is
logged and counted in :attr:`Recorder.errors`, never raised. Content follows the
:class:`~agentshield.tracing.capture.ContentPolicy`; without capture an error keeps only its
type, since exception messages often quote arguments.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from contextvars import Token
from types import TracebackType
from typing import Any, Generic, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, TracerProvider

from agentshield.tracing import semconv as sc
from agentshield.tracing.capture import ContentPolicy, Redactor
from agentshield.tracing.handles import ChatHandle, DecisionLike, RunHandle, SpanHandle, ToolHandle
from agentshield.tracing.messages import MessageLike, ToolLike, to_genai_messages, to_genai_tools
from agentshield.trajectory import Outcome

_log = logging.getLogger(__name__)

__all__ = ["Recorder", "SpanScope"]


H = TypeVar("H", bound=SpanHandle)


class SpanScope(Generic[H]):
    """A context manager around one span; yields the span's handle. Never raises its own errors."""

    __slots__ = ("_attrs", "_handle", "_kind", "_make", "_name", "_parent", "_recorder", "_token")

    def __init__(
        self,
        recorder: Recorder,
        name: str,
        kind: SpanKind,
        parent: context_api.Context | None,
        attrs: dict[str, Any],
        make: type[H],
    ) -> None:
        self._recorder, self._name, self._kind, self._parent = recorder, name, kind, parent
        self._attrs, self._make = attrs, make
        self._token: Token[context_api.Context] | None = None
        self._handle: H | None = None

    def __enter__(self) -> H:
        rec = self._recorder
        try:
            span = rec._tracer.start_span(self._name, self._parent, self._kind, self._attrs)
            if span.get_span_context().is_valid:  # no provider: leave the context alone
                self._token = context_api.attach(trace.set_span_in_context(span, self._parent))
            self._handle = self._make(span, rec, self._attrs)
        except Exception:
            rec._error("could not start span %r", self._name)
            self._handle = self._make(INVALID_SPAN, rec, self._attrs)
        return self._handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handle = self._handle
        if handle is None:  # __exit__ without __enter__
            return
        try:
            if isinstance(exc, Exception) and not isinstance(exc, self._recorder.control_flow):
                handle.set_error(exc)
            handle._close()
        except Exception:
            self._recorder._error("could not finish span %r", self._name)
        finally:
            if self._token is not None:
                context_api.detach(self._token)
            try:
                handle.span.end()
            except Exception:
                self._recorder._error("could not end span %r", self._name)


class Recorder:
    """Emits the agent-run, chat and tool-call spans; see the module docstring.

    Args:
        tracer_provider: Where spans go; the global provider when ``None``.
        capture_content: Record content; ``None`` reads ``AGENTSHIELD_CAPTURE_CONTENT``.
        redactor: The :class:`Redactor` for content (``True``: the built-in one; ``None`` or
            ``False``: no redaction).
        control_flow: Exception types that are control flow, not errors (an adapter passes
            its framework's, e.g. LangGraph's ``GraphBubbleUp``).
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        capture_content: bool | None = None,
        redactor: Redactor | bool | None = True,
        control_flow: tuple[type[BaseException], ...] = (),
    ) -> None:
        from agentshield import __version__

        provider = tracer_provider or trace.get_tracer_provider()
        self._tracer = provider.get_tracer("agentshield", __version__)
        self.policy = ContentPolicy.resolve(capture_content, redactor)
        self.control_flow = control_flow
        self._runs: dict[str, RunHandle] = {}
        self._open: dict[str, RunHandle] = {}  # runs of start_run, until end_run
        self._lock = threading.Lock()
        self._errors = 0

    @property
    def errors(self) -> int:
        """Internal errors logged and swallowed so far."""
        return self._errors

    def _error(self, message: str, *args: object) -> None:
        _log.exception("agentshield tracing: " + message, *args)
        with self._lock:
            self._errors += 1

    # Runs ---------------------------------------------------------------------------------------

    def agent_run(
        self,
        run_id: str,
        *,
        agent_name: str,
        task_id: str | None = None,
        conversation_id: str | None = None,
    ) -> SpanScope[RunHandle]:
        """A context manager for one agent run (span ``invoke_agent {agent_name}``)."""
        attrs: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: agent_name,
            sc.AS_RUN_ID: run_id,
            sc.AS_CAPTURE_CONTENT: self.policy.capture,
        }
        if task_id is not None:
            attrs[sc.AS_TASK_ID] = task_id
        if conversation_id is not None:
            attrs[sc.GEN_AI_CONVERSATION_ID] = conversation_id
        return SpanScope(
            self, f"{sc.OP_INVOKE_AGENT} {agent_name}", SpanKind.INTERNAL, None, attrs, RunHandle
        )

    def start_run(
        self,
        run_id: str,
        *,
        agent_name: str,
        task_id: str | None = None,
        conversation_id: str | None = None,
    ) -> RunHandle:
        """Open a run span that a later :meth:`end_run` closes, for frameworks whose start and
        end of a run are two separate hooks (a context manager cannot span them).

        Unlike :meth:`agent_run` the span is not made the current span (the two hooks may run
        in different threads or contexts); the run's chat and tool spans still nest under it,
        found by ``run_id``. A run of the same id still open is ended first, as abandoned (a
        run that raised never reaches its end hook). Never raises.
        """
        self.end_run(run_id, abandoned=True)
        scope = self.agent_run(
            run_id, agent_name=agent_name, task_id=task_id, conversation_id=conversation_id
        )
        try:
            span = self._tracer.start_span(scope._name, None, scope._kind, scope._attrs)
            handle = RunHandle(span, self, scope._attrs)
            with self._lock:
                self._open[run_id] = handle
            return handle
        except Exception:
            self._error("could not start run %r", run_id)
            return RunHandle(INVALID_SPAN, self, scope._attrs)

    def end_run(
        self,
        run_id: str,
        *,
        outcome: Outcome | None = None,
        error: BaseException | None = None,
        abandoned: bool = False,
    ) -> None:
        """Close the run span :meth:`start_run` opened (no-op when none is open). ``error``
        marks it failed (control-flow exceptions excepted); ``abandoned`` marks a run ended
        without its end hook. Never raises."""
        with self._lock:
            handle = self._open.pop(run_id, None)
        if handle is None:
            return
        try:
            if outcome is not None:
                handle.set_outcome(outcome)
            if isinstance(error, Exception) and not isinstance(error, self.control_flow):
                handle.set_error(error)
            if abandoned:
                handle.set_attribute(sc.AS_RUN_ABANDONED, True)
            handle._close()
        except Exception:
            self._error("could not finish run %r", run_id)
        finally:
            try:
                handle.span.end()
            except Exception:
                self._error("could not end run %r", run_id)

    def _register(self, handle: RunHandle) -> RunHandle | None:
        with self._lock:
            previous = self._runs.get(handle.run_id)
            self._runs[handle.run_id] = handle
            return previous

    def _unregister(self, handle: RunHandle, previous: RunHandle | None) -> None:
        with self._lock:
            if self._runs.get(handle.run_id) is handle:
                if previous is None:
                    del self._runs[handle.run_id]
                else:
                    self._runs[handle.run_id] = previous

    def _run(self, run_id: str) -> RunHandle | None:
        return self._runs.get(run_id)

    def _parent(self, run_id: str) -> context_api.Context | None:
        """``None`` (the current context) when the current span is in the run's trace."""
        run = self._runs.get(run_id)
        if run is None:
            return None
        current = trace.get_current_span().get_span_context()
        if current.is_valid and current.trace_id == run.span.get_span_context().trace_id:
            return None
        return trace.set_span_in_context(run.span)

    # Model and tool calls -----------------------------------------------------------------------

    def chat(
        self,
        run_id: str,
        *,
        model: str,
        messages: Sequence[MessageLike],
        tools: Sequence[ToolLike] = (),
        provider: str | None = None,
    ) -> SpanScope[ChatHandle]:
        """A context manager for one model call (span ``chat {model}``); yields a ChatHandle."""
        attrs: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
            sc.GEN_AI_REQUEST_MODEL: model,
            sc.AS_RUN_ID: run_id,
        }
        try:
            if provider is not None:
                attrs[sc.GEN_AI_PROVIDER_NAME] = provider
            genai_tools = to_genai_tools(tools)
            attrs[sc.AS_TOOL_NAMES] = [t["name"] for t in genai_tools]
            if self.policy.capture:
                attrs[sc.GEN_AI_INPUT_MESSAGES] = self.policy.json(to_genai_messages(messages))
                if genai_tools:
                    attrs[sc.GEN_AI_TOOL_DEFINITIONS] = self.policy.json(genai_tools)
        except Exception:
            self._error("could not encode the chat input")
        return SpanScope(
            self, f"{sc.OP_CHAT} {model}", SpanKind.CLIENT, self._parent(run_id), attrs, ChatHandle
        )

    def tool_call(
        self,
        run_id: str,
        *,
        call_id: str,
        shown_name: str,
        real_name: str | None = None,
        args: Mapping[str, Any] | None = None,
    ) -> SpanScope[ToolHandle]:
        """A context manager for one tool call (span ``execute_tool {shown_name}``).

        ``shown_name`` is the name the model called; ``real_name`` the tool that runs
        (``None`` when none does: a distractor or a removed tool). ``args`` are the
        arguments as the model sent them. Yields a ToolHandle.
        """
        attrs: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: shown_name,
            sc.GEN_AI_TOOL_CALL_ID: call_id,
            sc.GEN_AI_TOOL_TYPE: "function",
            sc.AS_RUN_ID: run_id,
            sc.AS_TOOL_SHOWN_NAME: shown_name,
        }
        if real_name is not None:
            attrs[sc.AS_TOOL_REAL_NAME] = real_name
        if args is not None and self.policy.capture:
            try:
                attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = self.policy.json(dict(args))
            except Exception:
                self._error("could not encode tool arguments")
        return SpanScope(
            self,
            f"{sc.OP_EXECUTE_TOOL} {shown_name}",
            SpanKind.INTERNAL,
            self._parent(run_id),
            attrs,
            ToolHandle,
        )

    # Run-level records --------------------------------------------------------------------------

    def record_decisions(self, run_id: str, decisions: Iterable[DecisionLike]) -> None:
        """Attach Shield decisions to the run's span (each decision once, however often given)."""
        run = self._run(run_id)
        if run is not None:
            run.record_decisions(decisions)

    def set_outcome(self, run_id: str, outcome: Outcome) -> None:
        """Record how the run ended on its span (while the run is open)."""
        run = self._run(run_id)
        if run is not None:
            run.set_outcome(outcome)

    def record_detection(
        self,
        run_id: str,
        *,
        detector: str,
        verdict: str,
        tier: int | None = None,
        score: float | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """A detector verdict as an event on the current span of the run (else the run span)."""
        try:
            run = self._run(run_id)
            span: Span = trace.get_current_span()
            if run is not None and self._parent(run_id) is not None:
                span = run.span
            attrs: dict[str, Any] = {sc.AS_DETECTOR_NAME: detector, sc.AS_DETECTOR_VERDICT: verdict}
            if tier is not None:
                attrs[sc.AS_DETECTOR_TIER] = tier
            if score is not None:
                attrs[sc.AS_DETECTOR_SCORE] = float(score)
            if detail:
                attrs[sc.AS_DETECTOR_DETAIL] = self.policy.scrub(json.dumps(detail, default=str))
            span.add_event(sc.AS_DETECTION_EVENT, attrs)
        except Exception:
            self._error("could not record a detection")
