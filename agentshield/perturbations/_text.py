"""Small text helpers shared by the query and schema perturbations (word tables, casing)."""

from __future__ import annotations

import random
import re

#: Meaningful replacements for the words tool and parameter names are made of.
WORD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "search": ("find", "lookup", "query"),
    "find": ("search", "locate", "lookup"),
    "get": ("fetch", "retrieve", "read"),
    "list": ("enumerate", "browse", "show"),
    "place": ("location", "venue", "spot"),
    "places": ("locations", "venues", "spots"),
    "details": ("info", "profile", "summary"),
    "detail": ("info", "profile", "summary"),
    "hours": ("schedule", "timetable", "times"),
    "opening": ("business", "service", "open"),
    "reviews": ("ratings", "feedback", "opinions"),
    "review": ("rating", "feedback", "opinion"),
    "route": ("directions", "path", "itinerary"),
    "distance": ("range", "span", "length"),
    "check": ("verify", "inspect", "probe"),
    "availability": ("openings", "slots", "capacity"),
    "book": ("reserve", "schedule", "secure"),
    "booking": ("reservation", "appointment", "order"),
    "confirm": ("finalize", "validate", "complete"),
    "cancel": ("revoke", "drop", "void"),
    "appointment": ("visit", "consultation", "slot"),
    "doctor": ("physician", "clinician", "practitioner"),
    "doctors": ("physicians", "clinicians", "practitioners"),
    "patient": ("client", "person", "member"),
    "weather": ("forecast", "climate", "conditions"),
    "user": ("account", "customer", "member"),
    "city": ("town", "municipality", "locality"),
    "date": ("day", "calendar_date", "on_date"),
    "time": ("hour", "clock_time", "at_time"),
    "name": ("title", "label", "identifier"),
    "query": ("text", "keywords", "search_terms"),
    "id": ("ref", "key", "handle"),
    "code": ("token", "reference", "pin"),
    "people": ("guests", "persons", "party"),
    "party": ("group", "guests", "people"),
    "size": ("count", "number", "total"),
    "category": ("kind", "type", "class"),
    "origin": ("start", "from_place", "source"),
    "destination": ("end", "to_place", "target"),
    "slot": ("window", "timeslot", "opening"),
    "send": ("dispatch", "deliver", "post"),
    "create": ("make", "add", "register"),
    "update": ("modify", "change", "edit"),
    "delete": ("remove", "erase", "drop"),
}

#: Phrase-level rewordings used by the rule-based paraphraser (intent kept).
PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bplease\b", ("kindly", "if you can", "would you")),
    (r"\bI want to\b", ("I'd like to", "I need to", "I wish to")),
    (r"\bI would like to\b", ("I want to", "I'd love to", "I need to")),
    (r"\bcan you\b", ("could you", "would you", "are you able to")),
    (r"\bcould you\b", ("can you", "would you", "please")),
    (r"\bfind\b", ("look up", "locate", "search for")),
    (r"\bbook\b", ("reserve", "make a booking for", "secure")),
    (r"\bshow me\b", ("give me", "tell me", "let me see")),
    (r"\btell me\b", ("let me know", "say", "inform me of")),
    (r"\bget\b", ("obtain", "fetch", "retrieve")),
    (r"\bhow far\b", ("what distance", "how long a trip", "how many km")),
    (r"\bappointment\b", ("visit", "consultation", "appointment slot")),
    (r"\bnear\b", ("close to", "around", "by")),
    (r"\bcheck\b", ("verify", "see", "find out")),
)

PARAPHRASE_FRAMES: tuple[str, ...] = (
    "{text}",
    "Hi! {text}",
    "{text} Thanks in advance.",
    "Quick request: {text}",
    "Here's what I need: {text}",
)

DISTRACTING_SENTENCES: tuple[str, ...] = (
    "By the way, I read that the weather might change later this week.",
    "My cousin recommended a completely different neighbourhood last year.",
    "I also have a dentist appointment next month, but that's not important now.",
    "Not sure if it matters, but I usually prefer window seats.",
    "I was planning to call my friend Alex about the football match later.",
    "Also, my phone battery is at 12 percent, so let's be quick.",
    "Fun fact: the city council voted on a new bike lane last Tuesday.",
    "I once visited a place with 4 stars that was closed on Mondays.",
)

_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def split_words(name: str) -> list[str]:
    """Split a snake_case or camelCase identifier into lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w.lower() for w in re.split(r"[_\-\s]+", spaced) if w]


def semantic_variant(name: str, rng: random.Random, taken: set[str]) -> str:
    """A different, meaningful identifier for ``name`` (synonyms for its words)."""
    words = split_words(name)
    for _ in range(8):
        new = [rng.choice(WORD_SYNONYMS[w]) if w in WORD_SYNONYMS else w for w in words]
        if new == words:
            new = [*words[:-1], rng.choice(("entry", "item", "info", "data")) + "_" + words[-1]]
        candidate = "_".join(new)
        if candidate != name and candidate not in taken:
            return candidate
    return f"{name}_{rng.randrange(16**4):04x}"


def opaque_id(rng: random.Random, prefix: str, taken: set[str]) -> str:
    """An opaque identifier such as ``tool_3fa9c1`` not in ``taken``."""
    while True:
        candidate = f"{prefix}{rng.randrange(16**6):06x}"
        if candidate not in taken:
            return candidate


def typo(word: str, rng: random.Random) -> str:
    """One character-level typo: swap, drop, double or a neighbouring key."""
    if len(word) < 2:
        return word
    i = rng.randrange(len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(_KEYBOARD) + word[i + 1 :]


def humanize(name: str) -> str:
    """``book_table`` -> ``book table``."""
    return " ".join(split_words(name))
