"""Tier 1, query shifts: the user's request is reworded, noised, padded or under-specified.

Query perturbations rewrite user messages in the model request (never the caller's state);
each user message is its own target (key ``q<index>``), so the rewrite is the same every time
the conversation is shown to the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from agentshield.perturbations._text import (
    DISTRACTING_SENTENCES,
    PARAPHRASE_FRAMES,
    PHRASES,
    typo,
)
from agentshield.perturbations.base import (
    Perturbation,
    Tier,
    require_choice,
    require_positive,
    require_rate,
)
from agentshield.perturbations.registry import register
from agentshield.selectors import Target

#: Tokens that carry the task's entities (numbers, codes, capitalised names): never noised.
_ENTITY = re.compile(r"^(?:.*\d.*|[A-Z].*|\W+)$")


@register
@dataclass(frozen=True, kw_only=True)
class QueryParaphrase(Perturbation):
    """Reword the request, keeping its intent and every entity."""

    name: ClassVar[str] = "query_paraphrase"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "user request reworded, intent kept (rule-based or a rewriter)"

    rate: float = field(default=0.8, metadata={"help": "chance each known phrase is reworded"})
    rewriter: Callable[[str], str] | None = field(
        default=None,
        metadata={
            "help": "optional callable text -> paraphrase (e.g. an LLM); rule-based if unset"
        },
    )

    def __post_init__(self) -> None:
        require_rate(self.name, "rate", self.rate)

    def rewrite_query(self, text: str, target: Target) -> str:
        if self.rewriter is not None:
            return self.rewriter(text)
        rng = target.rng("paraphrase")
        out = text
        for pattern, choices in PHRASES:
            if rng.random() < self.rate:
                choice = rng.choice(choices)
                out = re.sub(pattern, choice, out, count=1, flags=re.IGNORECASE)
        frame = rng.choice(PARAPHRASE_FRAMES[1:] if out == text else PARAPHRASE_FRAMES)
        return frame.format(text=out)


@register
@dataclass(frozen=True, kw_only=True)
class QueryTypos(Perturbation):
    """Character-level noise at a set rate; entity tokens (numbers, names) are kept intact."""

    name: ClassVar[str] = "query_typos"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "character-level typos and noise at a set rate"

    rate: float = field(default=0.15, metadata={"help": "chance each eligible word gets a typo"})
    protect_entities: bool = field(
        default=True, metadata={"help": "leave numbers, codes and capitalised names intact"}
    )

    def __post_init__(self) -> None:
        require_rate(self.name, "rate", self.rate)

    def rewrite_query(self, text: str, target: Target) -> str:
        rng = target.rng("typos")
        parts = re.split(r"(\s+)", text)
        changed = False
        for i, word in enumerate(parts):
            if not word.strip() or (self.protect_entities and _ENTITY.match(word)):
                continue
            if len(word) > 2 and rng.random() < self.rate:
                parts[i] = typo(word, rng)
                changed = changed or parts[i] != word
        if not changed:
            # Guarantee the shift happens when the message has an eligible word at all.
            eligible = [
                i
                for i, w in enumerate(parts)
                if len(w) > 3 and not (self.protect_entities and _ENTITY.match(w))
            ]
            if eligible:
                i = rng.choice(eligible)
                parts[i] = typo(parts[i], rng)
        return "".join(parts)


@register
@dataclass(frozen=True, kw_only=True)
class QueryRedundancy(Perturbation):
    """Irrelevant or distracting sentences added around the request."""

    name: ClassVar[str] = "query_redundancy"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "irrelevant or distracting content added to the request"

    sentences: int = field(default=2, metadata={"help": "how many distracting sentences to add"})
    position: str = field(
        default="random", metadata={"help": "where to add them: before, after or random"}
    )

    def __post_init__(self) -> None:
        require_positive(self.name, "sentences", self.sentences)
        require_choice(self.name, "position", self.position, ("before", "after", "random"))

    def rewrite_query(self, text: str, target: Target) -> str:
        rng = target.rng("redundancy")
        k = min(int(self.sentences), len(DISTRACTING_SENTENCES))
        extra = rng.sample(DISTRACTING_SENTENCES, k)
        position = self.position if self.position != "random" else rng.choice(("before", "after"))
        if position == "before":
            return " ".join([*extra, text])
        return " ".join([text, *extra])


_DETAILS: dict[str, str] = {
    "date": r"\b(?:on\s+)?\d{4}-\d{2}-\d{2}\b",
    "time": r"\b(?:at\s+)?\d{1,2}:\d{2}\b",
    "number": (
        r"\b(?:for\s+)?(?<![-:/\d])\d+(?![-:/]?\d)"
        r"(?:\s+(?:people|persons|guests|nights|km|minutes))?\b"
    ),
    "quoted": r"\"[^\"]+\"|'[^']+'",
}


@register
@dataclass(frozen=True, kw_only=True)
class QueryUnderspecified(Perturbation):
    """A required detail is removed; the right behaviour is to ask for it (or refuse)."""

    name: ClassVar[str] = "query_underspecified"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "a required detail removed; right behaviour: ask or refuse"

    detail: str = field(
        default="auto",
        metadata={"help": "what to remove: auto (first found), date, time, number or quoted"},
    )
    pattern: str | None = field(
        default=None, metadata={"help": "a custom regex for the detail (overrides 'detail')"}
    )

    def __post_init__(self) -> None:
        require_choice(self.name, "detail", self.detail, ("auto", *_DETAILS))
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                from agentshield.errors import ConfigError

                raise ConfigError(f"{self.name}.pattern is not a valid regex: {exc}") from None

    def _find(self, text: str) -> tuple[str, re.Match[str]] | None:
        if self.pattern is not None:
            m = re.search(self.pattern, text)
            return ("detail", m) if m else None
        kinds = list(_DETAILS) if self.detail == "auto" else [self.detail]
        for kind in kinds:
            m = re.search(_DETAILS[kind], text)
            if m:
                return kind, m
        return None

    def rewrite_query(self, text: str, target: Target) -> str:
        found = self._find(text)
        if found is None:
            return text
        _, m = found
        cut = re.sub(r"\s{2,}", " ", text[: m.start()] + text[m.end() :])
        return re.sub(r"\s+([.,!?;:])", r"\1", cut).strip()

    def reply(self, original: str, rewritten: str, target: Target) -> str | None:
        found = self._find(original)
        if found is None or rewritten == original:
            return None
        kind = found[0]
        what = {"quoted": "name", "detail": "detail"}.get(kind, kind)
        return (
            f"Your request doesn't say which {what} you mean, and I need it to do this "
            f"correctly. Which {what} should I use?"
        )
