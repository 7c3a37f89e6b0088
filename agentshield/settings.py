"""Every environment variable AgentShield reads, in one place.

==========================================  ==================================================
``AGENTSHIELD_CAPTURE_CONTENT``             ``true`` / ``false`` (also ``1``/``0``, ``yes``/
                                            ``no``, ``on``/``off``): record message content,
                                            tool definitions, arguments and results on spans.
                                            Off when unset. An explicit ``capture_content=``
                                            argument always wins.
``AGENTSHIELD_TRACE_DIR``                   The embedded trace store's folder; default
                                            ``.agentshield/traces`` under the working
                                            directory.
``AGENTSHIELD_CACHE``                       The user cache (downloaded and converted models);
                                            default ``$XDG_CACHE_HOME/agentshield``, else
                                            ``~/.cache/agentshield``.
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``      Read only to decide whether a collector is
``OTEL_EXPORTER_OTLP_ENDPOINT``             configured (then spans go there instead of the
                                            local store). The OTLP exporter itself reads
                                            these and the other standard ``OTEL_EXPORTER_OTLP_*``
                                            variables (headers, timeout, compression, TLS).
``OPENAI_API_KEY``                          The API key :class:`~agentshield.eval.openai_agent.
                                            OpenAIPolicy` sends to a model endpoint (another
                                            variable's name can be given instead). A local
                                            server needs none.
==========================================  ==================================================

Functions take an optional ``environ`` mapping so tests never need to touch ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from agentshield.errors import ConfigError

CAPTURE_CONTENT_ENV = "AGENTSHIELD_CAPTURE_CONTENT"
TRACE_DIR_ENV = "AGENTSHIELD_TRACE_DIR"
CACHE_DIR_ENV = "AGENTSHIELD_CACHE"
OTLP_TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"

DEFAULT_TRACE_DIR = Path(".agentshield") / "traces"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

__all__ = [
    "CACHE_DIR_ENV",
    "CAPTURE_CONTENT_ENV",
    "DEFAULT_TRACE_DIR",
    "OPENAI_API_KEY_ENV",
    "OTLP_ENDPOINT_ENV",
    "OTLP_TRACES_ENDPOINT_ENV",
    "TRACE_DIR_ENV",
    "api_key",
    "capture_content",
    "otlp_traces_endpoint",
    "trace_dir",
]


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def capture_content(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``AGENTSHIELD_CAPTURE_CONTENT`` turns content capture on.

    Raises:
        ConfigError: The variable holds something other than a boolean word.
    """
    raw = _env(environ).get(CAPTURE_CONTENT_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(
        f"{CAPTURE_CONTENT_ENV}={raw!r} is not a boolean; set it to 'true' or 'false'"
    )


def trace_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The embedded trace store's folder (``AGENTSHIELD_TRACE_DIR`` or the default)."""
    raw = _env(environ).get(TRACE_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_TRACE_DIR


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user cache folder: ``AGENTSHIELD_CACHE``, else ``$XDG_CACHE_HOME/agentshield``,
    else ``~/.cache/agentshield``."""
    env = _env(environ)
    raw = env.get(CACHE_DIR_ENV, "").strip()
    if raw:
        return Path(raw).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "agentshield"


def otlp_traces_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP traces endpoint configured through the standard variables, if any."""
    env = _env(environ)
    for name in (OTLP_TRACES_ENDPOINT_ENV, OTLP_ENDPOINT_ENV):
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def api_key(name: str = OPENAI_API_KEY_ENV, environ: Mapping[str, str] | None = None) -> str | None:
    """The API key held by the environment variable ``name``, if it is set and not blank."""
    value = _env(environ).get(name, "").strip()
    return value or None
