"""The AgentShield exception tree.

Every error we raise on purpose derives from :class:`AgentShieldError` and also from the
builtin it behaves like, so ``except ValueError`` in user code keeps working::

    AgentShieldError
    ├── ConfigError (ValueError)              bad configuration, raised at construction
    │   └── UnknownPerturbationError (KeyError)
    ├── EndpointError (RuntimeError)          a model endpoint answered with an error
    │   └── EndpointUnreachableError (ConnectionError)  no answer: refused, timed out
    └── InjectedFault                         a fault injected on purpose by a perturbation
        ├── InjectedToolError (RuntimeError)  a tool call failed
        ├── InjectedRateLimit (RuntimeError)  HTTP 429 with a retry-after
        └── InjectedTimeout (TimeoutError)    the call timed out

Injected faults are raised into the agent exactly where a real fault would surface, so the
user's own error handling treats them like real ones; ``isinstance(e, InjectedFault)`` tells
them apart.
"""

from __future__ import annotations


class AgentShieldError(Exception):
    """Base class of every error AgentShield raises on purpose."""


class ConfigError(AgentShieldError, ValueError):
    """A configuration value is invalid; the message names the value and the fix."""


class UnknownPerturbationError(ConfigError, KeyError):
    """A perturbation name is not registered; the message lists the registered names."""

    def __str__(self) -> str:
        # KeyError.__str__ quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class EndpointError(AgentShieldError, RuntimeError):
    """A model endpoint (an OpenAI-compatible server) failed; the message names its URL and
    what to check. ``status_code`` is the HTTP status when the server answered."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class EndpointUnreachableError(EndpointError, ConnectionError):
    """The endpoint did not answer: connection refused, DNS failure, or a timeout."""


class InjectedFault(AgentShieldError):
    """A fault injected on purpose. ``perturbation`` names the perturbation that caused it."""

    def __init__(self, message: str, *, perturbation: str) -> None:
        super().__init__(message)
        self.perturbation = perturbation


class InjectedToolError(InjectedFault, RuntimeError):
    """An injected tool failure."""


class InjectedRateLimit(InjectedFault, RuntimeError):
    """An injected HTTP 429; ``retry_after_s`` says when to retry."""

    def __init__(self, message: str, *, perturbation: str, retry_after_s: float) -> None:
        super().__init__(message, perturbation=perturbation)
        self.retry_after_s = retry_after_s


class InjectedTimeout(InjectedFault, TimeoutError):
    """An injected timeout."""
