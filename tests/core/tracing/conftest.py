"""Tracing test fixtures: the in-memory span fixtures we ship for users' own tests."""

from agentshield.tracing.testing import content_recorder, recorder, span_capture

__all__ = ["content_recorder", "recorder", "span_capture"]
