"""Understanding a user request robustly: the intent, the entities and the details, through
paraphrase, typos and distracting sentences.

Entities are capitalised spans (names have two words or more; the city follows "in"), which
typo noise never touches; intent words are matched allowing one typo each. Only the sentence
that carries the request (the one naming a city) is read, so padding around it is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from agentshield.sandbox._match import close, words

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_NUMBER = re.compile(r"\b\d+\b")
_CAPITAL = re.compile(r"^[A-Z][\w'’-]*$")

#: Requests no sandbox tool serves, with what the refusal says cannot be done.
UNSUPPORTED: tuple[tuple[str, str], ...] = (
    ("cancel", "cancel a booking"),
    ("taxi", "order a taxi"),
    ("weather", "tell the weather"),
    ("forecast", "tell the weather"),
    ("pay", "make payments"),
    ("refund", "issue refunds"),
    ("prescription", "renew prescriptions"),
    ("renew", "renew prescriptions"),
    ("lab", "send lab results"),
)
#: Intent cue words, in priority order.
INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "book",
        (
            "book",
            "reserve",
            "booking",
            "reservation",
            "appointment",
            "visit",
            "consultation",
            "secure",
        ),
    ),
    ("route", ("far", "distance", "km", "route", "directions", "trip")),
    ("hours", ("hours", "opening", "open", "opens", "schedule", "timetable")),
    ("phone", ("phone", "telephone", "number")),
    ("reviews", ("reviews", "review", "many")),
    ("best", ("best", "rated", "rating", "top", "highest")),
)


@dataclass(frozen=True)
class Request:
    """What a user request asks for.

    Attributes:
        intent: ``book``, ``route``, ``hours``, ``phone``, ``reviews``, ``best`` or ``None``.
        unsupported: What was asked that no tool does (e.g. "order a taxi"), if anything.
        city: The city named after "in".
        names: Venue names, in order of mention.
        person: The name a booking is under.
        date: ``YYYY-MM-DD``, if given.
        time: ``HH:MM``, if given.
        party: The number of people, if given.
        words: The request's lower-case words other than names (for categories).
    """

    intent: str | None
    unsupported: str | None
    city: str | None
    names: tuple[str, ...]
    person: str | None
    date: str | None
    time: str | None
    party: int | None
    words: tuple[str, ...]


@lru_cache(maxsize=1024)
def understand(query: str) -> Request:
    """Read one user request."""
    sentences = _SENTENCE.split(query.strip())
    main = next((s for s in sentences if re.search(r"\bin\s+[A-Z]", s)), query.strip())
    tokens = main.split()
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for i, token in enumerate(tokens):
        bare = token.strip(',.;:!?()"')
        if _CAPITAL.match(bare):
            start = i if start is None else start
            if token[-1] in ",.;:!?)":
                spans.append((start, i + 1))
                start = None
        elif start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(tokens)))

    def text(span: tuple[int, int]) -> str:
        return " ".join(t.strip(',.;:!?()"') for t in tokens[span[0] : span[1]])

    city_span = next((s for s in spans if s[0] > 0 and tokens[s[0] - 1] == "in"), None)
    named = [s for s in spans if s != city_span and s[1] - s[0] >= 2]
    covered = {i for s in [*named, *([city_span] if city_span else [])] for i in range(*s)}
    plain = tuple(w for i, t in enumerate(tokens) if i not in covered for w in words(t))
    unsupported = next((why for cue, why in UNSUPPORTED if any(_cue(w, cue) for w in plain)), None)
    intent = next(
        (name for name, cues in INTENTS if any(_cue(w, c) for w in plain for c in cues)), None
    )
    names = [text(s) for s in named]
    if intent is None and len(names) == 2:
        intent = "route"  # "How f4r is it from A to B": two places and nothing else
    person = names.pop() if intent == "book" and names else None
    rest = _TIME.sub(" ", _DATE.sub(" ", main))
    date, time, number = _DATE.search(main), _TIME.search(main), _NUMBER.search(rest)
    return Request(
        intent=intent,
        unsupported=unsupported,
        city=text(city_span) if city_span else None,
        names=tuple(names),
        person=person,
        date=date.group() if date else None,
        time=_pad(time.group()) if time else None,
        party=int(number.group()) if number else None,
        words=plain,
    )


def _cue(word: str, cue: str) -> bool:
    """``word`` is ``cue`` up to one typo, or a run-together compound starting or ending with
    it (``bestrated``: a typo that dropped the hyphen)."""
    if close(word, cue):
        return True
    compound = len(cue) >= 4 and len(word) >= len(cue) + 3
    return compound and (word.startswith(cue) or word.endswith(cue))


def _pad(hhmm: str) -> str:
    hours, minutes = hhmm.split(":")
    return f"{int(hours):02d}:{minutes}"
