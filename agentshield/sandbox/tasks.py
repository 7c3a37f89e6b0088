"""Tasks and the seeded task generator, with fixed train / test splits.

A task is a user request with its expected outcome (``success`` or ``refused``), the facts a
successful final answer states (or the booking it confirms), the shortest chain of real tools
that solves it, and the tool-valued parameters the shift catalogue needs to act on it (the
critical tool for ``unsolvable_task`` and ``new_prerequisite``, a dependent pair for
``dependency_inversion``, a dated argument for ``rule_change``). Test tasks only mention
cities, venues and people that no train task mentions.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from agentshield._rng import derive_rng
from agentshield.errors import ConfigError
from agentshield.sandbox import _templates, medical, poi
from agentshield.sandbox.base import Environment
from agentshield.sandbox.world import SPLITS, Venue, Vocabulary, World, calendar

Expected = Literal["success", "refused"]
DOMAINS: tuple[str, ...] = ("poi", "medical")
#: Default number of tasks per domain and split.
SIZES: dict[str, int] = {"train": 200, "test": 60}
_MIX = (
    "book",
    "hours",
    "best",
    "book_best",
    "phone",
    "route",
    "reviews",
    "missing_entity",
    "book",
    "unsupported",
)
_CHAINS: dict[str, tuple[str, ...]] = {
    "best": ("search",),
    "hours": ("search", "hours"),
    "phone": ("search", "details"),
    "reviews": ("search", "reviews"),
    "route": ("search", "search", "route"),
    "book": ("search", "availability", "book", "confirm"),
    "book_best": ("search", "availability", "book", "confirm"),
    "missing_entity": ("search",),
    "unsupported": (),
}
_DEPENDENCY: dict[str, tuple[str, str]] = {
    "best": ("search", "categories"),
    "hours": ("hours", "details"),
    "phone": ("details", "hours"),
    "reviews": ("reviews", "details"),
    "route": ("route", "details"),
    "book": ("availability", "hours"),
    "book_best": ("availability", "hours"),
    "missing_entity": ("search", "categories"),
    "unsupported": ("search", "categories"),
}


@dataclass(frozen=True)
class BookingGoal:
    """The booking a task asks for: venue, day, time, party size and the name it is under."""

    venue_id: str
    venue_name: str
    date: str
    time: str
    party_size: int
    person: str


@dataclass(frozen=True)
class Task:
    """One sandbox task.

    Attributes:
        id: ``<domain>-<split>-<index>``.
        domain: ``"poi"`` or ``"medical"``.
        split: ``"train"`` or ``"test"``.
        kind: The template family (``hours``, ``book``, ``unsupported``, ...).
        query: The user's request.
        expected: ``"success"`` or ``"refused"`` (unsolvable: refuse and say why).
        facts: Strings a successful final answer contains.
        chain: The real tools of the shortest correct path, in call order.
        critical_tool: A real tool whose removal makes the task unsolvable.
        dependency: ``(first, then)``: ``first`` is in the chain, ``then`` can run on the
            arguments of ``first`` alone (for ``dependency_inversion``).
        dated_param: ``(tool, param)``: the domain's date argument (for ``rule_change``; it
            acts on the chain of booking tasks only).
        booking: The booking a booking task must confirm.
        reason: Why an unsolvable task cannot be done.
        entities: The cities, venues and people the query names (held out between splits).
    """

    id: str
    domain: str
    split: str
    kind: str
    query: str
    expected: Expected
    facts: tuple[str, ...]
    chain: tuple[str, ...]
    critical_tool: str
    dependency: tuple[str, str]
    dated_param: tuple[str, str]
    booking: BookingGoal | None = None
    reason: str | None = None
    entities: tuple[str, ...] = ()

    @property
    def steps(self) -> int:
        """The number of tool calls of the shortest correct path."""
        return len(self.chain)

    def perturbation_params(self, name: str) -> dict[str, Any]:
        """The tool-valued parameters perturbation ``name`` needs for this task (``{}`` when
        it needs none)."""
        if name in ("unsolvable_task", "new_prerequisite"):
            return {"tool": self.critical_tool}
        if name == "dependency_inversion":
            return {"first": self.dependency[0], "then": self.dependency[1]}
        if name == "rule_change":
            return {"tool": self.dated_param[0], "param": self.dated_param[1]}
        return {}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (round-trips through :meth:`from_dict`)."""
        out = asdict(self)
        for key in ("facts", "chain", "dependency", "dated_param", "entities"):
            out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        for key in ("facts", "chain", "dependency", "dated_param", "entities"):
            fields[key] = tuple(fields[key])
        if fields.get("booking") is not None:
            fields["booking"] = BookingGoal(**fields["booking"])
        return cls(**fields)


@dataclass(frozen=True)
class _Domain:
    roles: Mapping[str, str]
    dated: tuple[str, str]
    vocab: Vocabulary
    world: Callable[[], World]
    environment: type[Environment]
    templates: Mapping[str, tuple[str, ...]]
    unsupported: tuple[tuple[str, str], ...]


_DOMAINS: dict[str, _Domain] = {
    "poi": _Domain(
        poi.ROLES,
        poi.DATED_PARAM,
        poi.VOCAB,
        poi.world,
        poi.PoiEnvironment,
        _templates.POI,
        _templates.POI_UNSUPPORTED,
    ),
    "medical": _Domain(
        medical.ROLES,
        medical.DATED_PARAM,
        medical.VOCAB,
        medical.world,
        medical.MedicalEnvironment,
        _templates.MEDICAL,
        _templates.MEDICAL_UNSUPPORTED,
    ),
}


def make_environment(domain: str) -> Environment:
    """A fresh environment (new episode state) for ``domain``."""
    return _domain(domain).environment()


def generate_tasks(
    domain: str, split: str, *, n: int | None = None, seed: int = 0
) -> tuple[Task, ...]:
    """The ``n`` first tasks of one domain and split (default: :data:`SIZES`).

    The same arguments always give the same tasks, and a longer list starts with the
    shorter one: task ``i`` depends only on (seed, domain, split, i).

    Raises:
        ConfigError: An unknown domain or split, or a negative ``n``.
    """
    spec = _domain(domain)
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; use one of {list(SPLITS)}")
    count = SIZES[split] if n is None else n
    if count < 0:
        raise ConfigError(f"n must be >= 0, got {count}")
    return tuple(_task(spec, domain, split, i, seed) for i in range(count))


def all_tasks(*, seed: int = 0) -> tuple[Task, ...]:
    """Every default task of every domain and split."""
    return tuple(t for d in DOMAINS for s in SPLITS for t in generate_tasks(d, s, seed=seed))


def _domain(name: str) -> _Domain:
    if name not in _DOMAINS:
        raise ConfigError(f"unknown sandbox domain {name!r}; use one of {list(DOMAINS)}")
    return _DOMAINS[name]


def _task(spec: _Domain, domain: str, split: str, index: int, seed: int) -> Task:
    rng = derive_rng(seed, "sandbox-task", domain, split, index)
    kind = _MIX[index % len(_MIX)]
    world, vocab = spec.world(), spec.vocab
    city = rng.choice(vocab.cities[split])
    venues = world.in_city(city)
    category = rng.choice(sorted({v.category for v in venues}))
    venue = rng.choice(venues)
    person = f"{rng.choice(vocab.first_names[split])} {rng.choice(vocab.last_names[split])}"
    values: dict[str, Any] = {
        "city": city,
        "category": category,
        "name": venue.name,
        "person": person,
    }
    facts: tuple[str, ...] = ()
    booking = None
    expected: Expected = "success"
    reason = None
    template = rng.choice(spec.templates.get(kind, ("",)))
    if kind == "best":
        facts = (next(v for v in venues if v.category == category).name,)
    elif kind == "hours":
        facts = (venue.opens, venue.closes)
    elif kind == "phone":
        facts = (venue.phone,)
    elif kind == "reviews":
        facts = (str(venue.review_count),)
    elif kind == "route":
        other = rng.choice([v for v in venues if v is not venue])
        values["other"] = other.name
        facts = (str(world.distance_km(venue, other)),)
    elif kind in ("book", "book_best"):
        if kind == "book_best":
            venue = next(v for v in venues if v.category == category)
        booking = _booking(world, vocab, venue, person, rng)
        values.update(
            name=venue.name, date=booking.date, time=booking.time, party=booking.party_size
        )
    elif kind == "missing_entity":
        expected, template, values, reason = _missing(spec, split, city, venues, values, rng)
    else:
        expected = "refused"
        template, why = rng.choice(spec.unsupported)
        reason = f"no tool can {why}"
    query = template.format(**values)
    mentioned = (values["city"], values["name"], values.get("other"), values["person"])
    entities = tuple(e for e in mentioned if e and e in query)
    chain = tuple(spec.roles[r] for r in _CHAINS[kind])
    first, then = _DEPENDENCY[kind]
    critical = chain[-1] if chain and kind != "missing_entity" else spec.roles["search"]
    return Task(
        id=f"{domain}-{split}-{index:04d}",
        domain=domain,
        split=split,
        kind=kind,
        query=query,
        expected=expected,
        facts=facts,
        chain=chain,
        critical_tool=critical,
        dependency=(spec.roles[first], spec.roles[then]),
        dated_param=spec.dated,
        booking=booking,
        reason=reason,
        entities=entities,
    )


def _booking(
    world: World, vocab: Vocabulary, venue: Venue, person: str, rng: random.Random
) -> BookingGoal:
    party = rng.randint(2, 6) if vocab.max_seats > 1 else 1
    days = calendar()
    rng.shuffle(days)
    for day in days:
        free = [s for s in world.slots(venue, day) if s.seats >= party]
        if free:
            slot = rng.choice(free)
            return BookingGoal(venue.id, venue.name, day.isoformat(), slot.time, party, person)
    raise AssertionError(f"no free slot at {venue.id} for {party}")  # pragma: no cover


def _missing(
    spec: _Domain,
    split: str,
    city: str,
    venues: list[Venue],
    values: dict[str, Any],
    rng: random.Random,
) -> tuple[Expected, str, dict[str, Any], str]:
    """A request about a venue (or a city) that does not exist."""
    vocab = spec.vocab
    taken = {v.name for v in venues}
    names = [f"{h} {t}" for h in vocab.name_heads[split] for t in vocab.name_tails[split]]
    fake = rng.choice(sorted(set(names) - taken))
    kind = rng.choice(("hours", "phone", "book"))
    template = rng.choice(spec.templates[kind])
    out = dict(values, name=fake)
    reason = f"there is no place called {fake} in {city}"
    if rng.random() < 0.3:
        out["city"] = rng.choice(vocab.fake_cities[split])
        out["name"] = values["name"]
        reason = f"there is no city called {out['city']}"
    if kind == "book":
        day = rng.choice(calendar())
        out.update(
            date=day.isoformat(),
            time=f"{rng.randint(12, 18)}:30",
            party=rng.randint(2, 6) if vocab.max_seats > 1 else 1,
        )
    return "refused", template, out, reason
