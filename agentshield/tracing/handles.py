"""The handles the Recorder's context managers yield: one per span, never raising.

Every method catches its own errors, logs and counts them on the Recorder, and returns
normally; an agent never sees a tracing error. Content goes through the Recorder's
:class:`~agentshield.tracing.capture.ContentPolicy` (captured or not, always redacted).

Seeds are written as decimal strings: they are unsigned 64-bit, beyond OTLP's int64.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from agentshield.errors import InjectedFault
from agentshield.tracing import semconv as sc
from agentshield.tracing.messages import MessageLike, to_genai_messages
from agentshield.trajectory import Outcome

if TYPE_CHECKING:
    from agentshield.tracing.recorder import Recorder

__all__ = ["ChatHandle", "DecisionLike", "RunHandle", "SpanHandle", "ToolHandle"]

P = ParamSpec("P")
H = TypeVar("H", bound="SpanHandle")


class DecisionLike(Protocol):
    """What the Recorder reads from a decision (the Shield's :class:`~agentshield.Decision`)."""

    @property
    def surface(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def perturbation(self) -> str: ...
    @property
    def tier(self) -> int: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def seed(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, Any]: ...


def _guarded(method: Callable[Concatenate[H, P], None]) -> Callable[Concatenate[H, P], None]:
    def wrapper(self: H, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception:
            self._rec._error("%s.%s failed", type(self).__name__, method.__name__)

    wrapper.__name__ = method.__name__
    wrapper.__qualname__ = method.__qualname__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)


class SpanHandle:
    """The span behind one Recorder context manager (``span`` is the OTel span)."""

    def __init__(self, span: Span, recorder: Recorder, attrs: Mapping[str, Any]) -> None:
        self.span = span
        self._rec = recorder
        self._seen: set[str] = set()
        self._perturbations: dict[str, tuple[str, int, str, str]] = {}

    @property
    def recording(self) -> bool:
        """Whether the span records anything (``False`` when tracing is off)."""
        return self.span.is_recording()

    @_guarded
    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (identifiers only: content must go through the typed setters)."""
        self.span.set_attribute(key, value)

    @_guarded
    def set_error(self, error: BaseException) -> None:
        """Mark the span failed by ``error``; injected faults are labelled as such."""
        if not self.span.is_recording():
            return
        kind = type(error).__qualname__
        self.span.set_attribute(sc.ERROR_TYPE, kind)
        message = self._rec.policy.text(str(error))
        self.span.set_status(Status(StatusCode.ERROR, message or kind))
        if isinstance(error, InjectedFault):
            self.span.set_attribute(sc.AS_INJECTED, True)
            self.span.set_attribute(sc.AS_INJECTED_BY, error.perturbation)

    @_guarded
    def record_decisions(self, decisions: Iterable[DecisionLike]) -> None:
        """Attach decisions as events (each once) and as the span's perturbation arrays."""
        if not self.span.is_recording():
            return
        scrub = self._rec.policy.scrub
        changed = False
        for d in decisions:
            params = scrub(_dumps(dict(d.params)))
            event: dict[str, AttributeValue] = {
                sc.AS_PERTURBATION_NAME: d.perturbation,
                sc.AS_PERTURBATION_TIER: int(d.tier),
                sc.AS_PERTURBATION_PARAMS: params,
                sc.AS_PERTURBATION_SEED: str(d.seed),
                sc.AS_DECISION_SURFACE: d.surface,
                sc.AS_DECISION_KEY: d.key,
                sc.AS_DECISION_ACTION: d.action,
                sc.AS_DECISION_DETAIL: scrub(_dumps(dict(d.detail))),
            }
            ident = _dumps(event)
            if ident in self._seen:
                continue
            self._seen.add(ident)
            self.span.add_event(sc.AS_PERTURBATION_EVENT, event)
            key = _dumps([d.perturbation, int(d.tier), params, str(d.seed)])
            if key not in self._perturbations:
                self._perturbations[key] = (d.perturbation, int(d.tier), params, str(d.seed))
                changed = True
        if changed:
            rows = list(self._perturbations.values())
            self.span.set_attribute(sc.AS_PERTURBATION_NAME, [r[0] for r in rows])
            self.span.set_attribute(sc.AS_PERTURBATION_TIER, [r[1] for r in rows])
            self.span.set_attribute(sc.AS_PERTURBATION_PARAMS, [r[2] for r in rows])
            self.span.set_attribute(sc.AS_PERTURBATION_SEED, [r[3] for r in rows])

    def _close(self) -> None:
        """Called once when the context manager exits."""


class RunHandle(SpanHandle):
    """The ``invoke_agent`` span of one run."""

    def __init__(self, span: Span, recorder: Recorder, attrs: Mapping[str, Any]) -> None:
        super().__init__(span, recorder, attrs)
        self.run_id = str(attrs.get(sc.AS_RUN_ID, ""))
        self._previous = recorder._register(self) if span.get_span_context().is_valid else None

    @_guarded
    def set_outcome(self, outcome: Outcome) -> None:
        """How the run ended; the answer and detail are content."""
        if not self.span.is_recording():
            return
        self.span.set_attribute(sc.AS_OUTCOME, outcome.status)
        policy = self._rec.policy
        for key, text in (
            (sc.AS_OUTCOME_ANSWER, outcome.answer),
            (sc.AS_OUTCOME_DETAIL, outcome.detail),
        ):
            value = policy.text(text) if text is not None else None
            if value is not None:
                self.span.set_attribute(key, value)

    def _close(self) -> None:
        if self.span.get_span_context().is_valid:
            self._rec._unregister(self, self._previous)


class ChatHandle(SpanHandle):
    """The ``chat`` span of one model call."""

    @_guarded
    def set_output(
        self, messages: Sequence[MessageLike], *, finish_reasons: Sequence[str] | None = None
    ) -> None:
        """The model's reply (content) and its finish reasons (always)."""
        if not self.span.is_recording():
            return
        if finish_reasons:
            self.span.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, list(finish_reasons))
        policy = self._rec.policy
        if policy.capture:
            reason = finish_reasons[0] if finish_reasons else None
            self.span.set_attribute(
                sc.GEN_AI_OUTPUT_MESSAGES, policy.json(to_genai_messages(messages, reason))
            )

    @_guarded
    def set_usage(
        self, *, input_tokens: int | None = None, output_tokens: int | None = None
    ) -> None:
        """Token counts, when the model reports them."""
        if input_tokens is not None:
            self.span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, int(input_tokens))
        if output_tokens is not None:
            self.span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, int(output_tokens))

    @_guarded
    def set_response_model(self, model: str) -> None:
        """The model that actually answered."""
        self.span.set_attribute(sc.GEN_AI_RESPONSE_MODEL, model)


class ToolHandle(SpanHandle):
    """The ``execute_tool`` span of one tool call."""

    @_guarded
    def set_result(self, result: Any, *, is_error: bool = False) -> None:
        """The observation returned to the model (content); ``is_error`` marks a failed call
        that answered instead of raising."""
        if not self.span.is_recording():
            return
        policy = self._rec.policy
        if policy.capture:
            text = policy.text(result) if isinstance(result, str) else policy.json(result)
            if text is not None:
                self.span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, text)
        if is_error:
            self.span.set_attribute(sc.AS_TOOL_IS_ERROR, True)
            self.span.set_attribute(sc.ERROR_TYPE, "tool_error")
            self.span.set_status(Status(StatusCode.ERROR, "tool_error"))

    @_guarded
    def set_injected(self, perturbation: str | None = None) -> None:
        """Mark the call's outcome as injected by a perturbation (not a real fault)."""
        self.span.set_attribute(sc.AS_INJECTED, True)
        if perturbation is not None:
            self.span.set_attribute(sc.AS_INJECTED_BY, perturbation)

    @_guarded
    def set_real_args(self, args: Mapping[str, Any]) -> None:
        """The arguments the real tool ran with, after schema shifts were mapped back."""
        value = self._rec.policy.json(dict(args))
        if value is not None:
            self.span.set_attribute(sc.AS_TOOL_REAL_ARGUMENTS, value)
