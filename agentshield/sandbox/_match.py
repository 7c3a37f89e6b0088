"""Reading a shown tool schema the way a careful agent does: what each tool is for (its role)
and what each parameter means (its concept), from descriptions, names and parameter
structure together, so renamed tools, renamed parameters and stripped descriptions all stay
readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from agentshield.trajectory import ToolSpec

#: Parameter concepts, tried in order (the first whose words occur wins).
_CONCEPTS: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(words.split()))
    for name, words in (
        ("token", "token"),
        ("slot", "slot slots timeslot window opening"),
        ("hold", "hold reservation booking"),
        ("person", "customer patient client person member"),
        ("party", "party people persons guests group size"),
        ("date", "date day calendar"),
        ("time", "time hour clock start"),
        ("city", "city town municipality locality"),
        ("category", "category kind type class specialty speciality"),
        ("name", "name title label"),
        ("mode", "mode transport travel"),
        ("entity", "id ref key handle identifier reference"),
    )
)
_TARGET = frozenset({"destination", "dest"})

#: Words that say what a tool does, per role.
ROLE_WORDS: dict[str, frozenset[str]] = {
    role: frozenset(words.split())
    for role, words in {
        "search": "search find locate lookup query look",
        "categories": "categories category specialties specialty kinds types list",
        "details": "details detail contact phone address profile info information summary website",
        "hours": "hours hour opening open opens closes closing schedule timetable times office "
        "business",
        "reviews": "reviews review ratings rating feedback opinions opinion score comments",
        "route": "route directions distance travel path itinerary km estimate",
        "availability": "availability available free slots openings capacity check",
        "book": "book hold reserve reservation secure",
        "confirm": "confirm confirmation verification finalize validate complete code",
    }.items()
}
_LEGACY = re.compile(r"\b(legacy|stale|deprecated)\b", re.IGNORECASE)


def words(text: str) -> list[str]:
    """Lower-case words of a name (snake/camel case) or of prose."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.findall(r"[a-z0-9]+", spaced.lower())


def close(word: str, target: str) -> bool:
    """``word`` is ``target`` up to one typo (optimal string alignment distance 1: a swap, a
    drop, a double or a wrong key). Targets shorter than four letters must match exactly:
    one typo away from a three-letter word is too many other words."""
    if word == target:
        return True
    if len(target) < 4 or len(word) < 3 or abs(len(word) - len(target)) > 1:
        return False
    return _osa(word, target) <= 1


def _osa(a: str, b: str) -> int:
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@dataclass(frozen=True)
class Param:
    """One shown parameter: its key, concept, schema and whether it is required."""

    key: str
    concept: str | None
    schema: dict[str, Any]
    required: bool

    @property
    def description(self) -> str:
        """The parameter's description ("" when stripped)."""
        return str(self.schema.get("description") or "")


@dataclass(frozen=True)
class ToolInfo:
    """One shown tool as read by the oracle."""

    spec: ToolSpec
    index: int
    role: str | None
    score: int
    legacy: bool
    params: tuple[Param, ...] = field(default=())

    @property
    def name(self) -> str:
        """The shown name."""
        return self.spec.name

    def param(self, concept: str) -> Param | None:
        """The parameter carrying ``concept``, if any."""
        return next((p for p in self.params if p.concept == concept), None)


def concept_of(key: str, schema: dict[str, Any]) -> str | None:
    """What one parameter means, from its key and description together."""
    name_words = set(words(key))
    all_words = name_words | set(words(str(schema.get("description") or "")))
    if "token" in all_words:
        return "token"
    if "to" in name_words or all_words & _TARGET:
        return "target"
    for concept, vocab in _CONCEPTS:
        if all_words & vocab:
            return concept
    return None


def read_tools(specs: Sequence[ToolSpec]) -> list[ToolInfo]:
    """Read every shown tool: its parameters' concepts and its role."""
    return list(_read(tuple(json.dumps(s.to_dict()) for s in specs)))


@lru_cache(maxsize=256)
def _read(key: tuple[str, ...]) -> tuple[ToolInfo, ...]:
    specs = [ToolSpec.from_dict(json.loads(k)) for k in key]
    out = []
    for index, spec in enumerate(specs):
        required = set(spec.required)
        params = tuple(
            Param(k, concept_of(k, dict(v)), dict(v), k in required)
            for k, v in spec.properties.items()
        )
        role, score = _role(spec, {p.concept for p in params if p.concept})
        legacy = _LEGACY.search(spec.description) is not None
        out.append(ToolInfo(spec, index, role, score, legacy, params))
    return tuple(out)


def candidates(tools: Iterable[ToolInfo], role: str) -> list[ToolInfo]:
    """The tools that can play ``role``, best first (decoys marked legacy last)."""
    found = [t for t in tools if t.role == role]
    return sorted(found, key=lambda t: (t.legacy, -t.score, t.index))


def match_enum(values: Sequence[Any], wanted: Iterable[str]) -> Any | None:
    """The enum value matching one of ``wanted`` words (case-insensitive): an exact match,
    else the longest value one typo away (longer words are less likely to match by chance)."""
    words_ = [w.casefold() for w in wanted]
    exact = [v for v in values if str(v).casefold() in words_]
    if exact:
        return exact[0]
    fuzzy = [v for v in values if any(close(w, str(v).casefold()) for w in words_)]
    return max(fuzzy, key=lambda v: len(str(v))) if fuzzy else None


def fill_args(
    tool: ToolInfo, values: Mapping[str, Any], rules: Mapping[tuple[str, str], str]
) -> dict[str, Any]:
    """Arguments for ``tool`` from concept values, in the form its schema (or an error about
    a changed rule, ``rules[(tool, key)]``) asks for."""
    args: dict[str, Any] = {}
    for p in tool.params:
        if p.concept is None or values.get(p.concept) is None:
            continue
        value = values[p.concept]
        rule = p.description + " " + rules.get((tool.name, p.key), "")
        if p.concept == "date":
            day = datetime.strptime(norm("date", value), "%Y-%m-%d")
            fmt = "%Y-%m-%d"
            if "DD/MM/YYYY" in rule:
                fmt = "%d/%m/%Y"
            elif "MM/DD/YYYY" in rule:
                fmt = "%m/%d/%Y"
            value = day.strftime(fmt)
        elif p.concept == "time" and ("AM/PM" in rule or "12-hour" in rule):
            clock = datetime.strptime(norm("time", value), "%H:%M")
            value = clock.strftime("%I:%M %p").lstrip("0")
        elif p.schema.get("type") == "integer":
            value = int(value)
        if "enum" in p.schema:
            value = match_enum(list(p.schema["enum"]), [str(value)]) or value
        if "UPPER CASE" in rule and isinstance(value, str):
            value = value.upper()
        args[p.key] = value
    return args


def norm(concept: str, value: Any) -> str:
    """A value as comparable text: dates as ISO, times as 24-hour ``HH:MM``, case folded."""
    text = " ".join(str(value).split())
    if concept == "date":
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return datetime.strptime(text, fmt).strftime("%Y-%m-%d")
            except ValueError:
                pass
    if concept == "time":
        for fmt in ("%H:%M", "%I:%M %p"):
            try:
                return datetime.strptime(text.upper(), fmt).strftime("%H:%M")
            except ValueError:
                pass
    return text.casefold()


def _role(spec: ToolSpec, concepts: set[str]) -> tuple[str | None, int]:
    roles = _structural_roles(concepts - {"token", "mode"})
    if not roles:
        return None, 0
    desc, name = words(spec.description), words(spec.name)
    scores = {
        r: 2 * sum(w in ROLE_WORDS[r] for w in desc) + sum(w in ROLE_WORDS[r] for w in name)
        for r in roles
    }
    best = max(sorted(scores), key=lambda r: scores[r])
    if len(roles) > 1 and scores[best] == 0:
        return None, 0
    return best, scores[best]


def _structural_roles(c: set[str]) -> set[str]:
    if "hold" in c:
        return {"confirm"}
    if "slot" in c:
        return {"book"}
    if "entity" in c and "target" in c:
        return {"route"}
    if "entity" in c and "date" in c:
        return {"availability"}
    if "entity" in c and not c & {"city", "date", "time", "slot", "hold", "target"}:
        return {"details", "hours", "reviews"}
    if "city" in c and c & {"category", "name"}:
        return {"search"}
    if c == {"city"}:
        return {"categories"}
    return set()
