"""A deliberately brittle reference agent: what a statically trained agent does under shift.

:class:`BrittleAgent` has memorised the clean world. For each request it replays the
oracle's clean solution — the same calls, by the tools' original names and parameters, in the
same order — and ends with the clean run's final answer. It never reads an observation, so it
ignores errors: a renamed tool, an injected fault, a redirection, a new prerequisite or a
removed tool all end in a confident answer that the environment's state does not back (the
failure mode the study reports for static SFT). Shifts it does not look at — the format of an
observation, an injected instruction — cannot hurt it. Evaluated against the oracle, it shows
the expected drops per tier.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from agentshield.sandbox.episode import SYSTEM_PROMPT
from agentshield.sandbox.oracle import OracleAgent
from agentshield.sandbox.tasks import DOMAINS, make_environment
from agentshield.trajectory import Message, ToolSpec

__all__ = ["BrittleAgent"]

_WORD = re.compile(r"[a-z]+")


def _words(tools: Sequence[ToolSpec]) -> set[str]:
    out: set[str] = set()
    for t in tools:
        out.update(_WORD.findall(t.name.lower()))
        out.update(_WORD.findall(t.description.lower()))
        for param in t.parameters.get("properties") or {}:
            out.update(_WORD.findall(str(param).lower()))
    return out


@functools.cache
def _domain_words() -> dict[str, set[str]]:
    return {d: _words(make_environment(d).tools) for d in DOMAINS}


@functools.lru_cache(maxsize=4096)
def _script(domain: str, query: str, max_steps: int) -> tuple[Message, ...]:
    """The oracle's assistant messages for ``query`` in a clean environment of ``domain``."""
    env = make_environment(domain)
    oracle = OracleAgent()
    messages = [Message("system", SYSTEM_PROMPT), Message("user", query)]
    script: list[Message] = []
    for _ in range(max_steps):
        reply = oracle(messages, env.tools)
        script.append(reply)
        messages.append(reply)
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            result = env.execute(call.name, call.args)
            messages.append(
                Message(
                    "tool",
                    result.content,
                    tool_call_id=call.id,
                    name=call.name,
                    is_error=result.is_error,
                )
            )
    return tuple(script)


class BrittleAgent:
    """The brittle reference policy (see the module docstring).

    Args:
        max_steps: The longest script it memorises.
    """

    def __init__(self, *, max_steps: int = 20) -> None:
        self.max_steps = max_steps

    def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        query = next((m.content for m in messages if m.role == "user"), "")
        script = _script(self._domain(tools), query, self.max_steps)
        done = sum(1 for m in messages if m.role == "assistant")
        if done < len(script):
            return script[done]
        final = script[-1]
        return final if not final.tool_calls else Message("assistant", "Done.")

    @staticmethod
    def _domain(tools: Sequence[ToolSpec]) -> str:
        """The domain whose clean tools share the most words with the tools shown."""
        shown = _words(tools)

        def overlap(domain: str) -> float:
            known = _domain_words()[domain]
            return len(shown & known) / max(1, len(shown | known))

        return max(DOMAINS, key=overlap)
