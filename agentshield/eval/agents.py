"""Which agent ``agentshield eval`` runs: ``--agent`` names one, or ``--base-url`` points at a
model behind an OpenAI-compatible endpoint.

- ``oracle`` and ``brittle``: the sandbox's scripted reference agents.
- ``module:attr``: an object with ``arun`` (an :class:`~agentshield.eval.runner.Agent`), a
  policy (``(messages, tools) -> message``, sync or async), or anything an installed
  resolver accepts — ``agentshield-langchain`` accepts a LangGraph graph factory taking the
  tools.
- Other bare names: resolvers of installed packages (the trainer resolves ``embedded``).
- Nothing: :data:`EMBEDDED`, the embedded baseline model, when a resolver accepts it.

Resolvers register in the entry-point group ``agentshield.agents``: a function
``resolve(target, **options) -> Agent | None`` given the imported object or the bare name,
and the options the user set (``adapter``: a LoRA adapter folder, ``base_model``: a local
model folder).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, cast

from agentshield.errors import ConfigError
from agentshield.eval.runner import Agent, PolicyAgent

__all__ = ["AGENT_ENTRY_POINTS", "EMBEDDED", "import_target", "resolve_agent"]

AGENT_ENTRY_POINTS = "agentshield.agents"
#: The agent evaluated when none is named (the trainer's embedded baseline model).
EMBEDDED = "embedded"


def _resolvers() -> list[Callable[..., Agent | None]]:
    found = []
    for ep in entry_points(group=AGENT_ENTRY_POINTS):
        try:
            found.append(ep.load())
        except Exception as exc:
            raise ConfigError(
                f"agent resolver {ep.name!r} ({ep.value}) failed to load: {exc}; "
                "reinstall the package that provides it"
            ) from exc
    return found


def _named(agent: Agent, name: str | None) -> Agent:
    if name:
        agent.name = name
    return agent


def import_target(spec: str) -> object:
    """Import ``module:attr`` (``attr`` may be dotted).

    Raises:
        ConfigError: The module or attribute does not exist.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{spec!r} is not of the form module:attr (e.g. my_agent:build)")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"cannot import {module_name!r} for --agent {spec}: {exc}; is it on PYTHONPATH "
            "(run from its folder) or installed?"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{module_name!r} has no attribute {attr!r}") from None
    return cast(object, obj)


def _positional(obj: object) -> int | None:
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in kinds and p.default is p.empty for p in sig.parameters.values())


def resolve_agent(
    agent: str | None = None,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    name: str | None = None,
    adapter: str | None = None,
    base_model: str | None = None,
    max_tokens: int = 512,
) -> Agent:
    """The agent to evaluate (see the module docstring).

    Raises:
        ConfigError: Nothing or two things chosen, or a target no resolver accepts.
    """
    given = {"adapter": adapter, "base_model": base_model}
    options = {k: v for k, v in given.items() if v is not None}
    if base_url is not None:
        if options:
            raise ConfigError(
                "--adapter and --base-model are for a local model; a served model has its own"
            )
        if agent not in (None, "openai"):
            raise ConfigError("give either --agent or --base-url, not both")
        if not model:
            raise ConfigError("--base-url needs --model (the model name the server serves)")
        from agentshield.eval.openai_agent import OpenAIPolicy

        policy = OpenAIPolicy(
            base_url=base_url, model=model, api_key_env=api_key_env, max_tokens=max_tokens
        )
        return PolicyAgent(policy, name=name or model)
    if agent is None:
        found = next((f for r in _resolvers() if (f := r(EMBEDDED, **options)) is not None), None)
        if found is None:
            raise ConfigError(
                "choose an agent: --agent oracle|brittle|module:attr, or --base-url "
                "(install agentshield-trainer for the default, the embedded baseline model)"
            )
        return _named(found, name)
    if agent in ("oracle", "brittle") and not options:
        from agentshield.sandbox import OracleAgent
        from agentshield.sandbox.brittle import BrittleAgent

        policy_obj = OracleAgent() if agent == "oracle" else BrittleAgent()
        return PolicyAgent(policy_obj, name=name or agent)
    target: object = import_target(agent) if ":" in agent else agent
    if hasattr(target, "arun") and hasattr(target, "name"):
        return cast(Agent, target)
    for resolve in _resolvers():
        found = resolve(target, **options)
        if found is not None:
            return _named(found, name)
    if options:
        raise ConfigError(
            f"--adapter and --base-model do not apply to {agent!r}; use them with the embedded "
            "model (--agent embedded, needs agentshield-trainer)"
        )
    if isinstance(target, str):
        raise ConfigError(
            f"unknown agent {agent!r}; use oracle, brittle, module:attr, or --base-url "
            "(the embedded model needs agentshield-trainer installed)"
        )
    if callable(target) and _positional(target) == 2:
        return PolicyAgent(cast(Any, target), name=name or agent)
    raise ConfigError(
        f"{agent} is not an agent: give an object with name and arun(), a policy "
        "(messages, tools) -> message, or a LangGraph graph factory build(tools, middleware=()) "
        "(with agentshield-langchain installed)"
    )
