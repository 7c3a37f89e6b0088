"""Seeded worlds behind the sandbox domains: venues, their hours, reviews, map positions and
free slots.

A world is static data, generated once from a :class:`Vocabulary` and a seed; environments
add the mutable part (slots handed out, holds, confirmed bookings) per episode. Train and test
cities are disjoint and their venues are named from disjoint word pools, so test tasks only
mention entities never seen in training.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from agentshield._rng import derive_rng

SPLITS: tuple[str, ...] = ("train", "test")
WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
FIRST_DATE = date(2026, 12, 1)
DAYS = 90

_OPENS = ("07:00", "08:00", "09:00", "10:00", "11:00")
_CLOSES = ("19:00", "20:00", "21:00", "22:00", "23:00")
_STREETS = ("Mill", "Station", "Harbour", "Market", "Chapel", "River", "Bridge", "Orchard")
_COMMENTS = (
    "Friendly staff and quick service.",
    "A bit noisy at peak times but worth it.",
    "Clean, well organised and easy to reach.",
    "Would come back again without hesitation.",
    "Good value; booking ahead is a must.",
)


@dataclass(frozen=True)
class Vocabulary:
    """The words one domain's world and tasks are made of.

    Attributes:
        domain: The domain's name.
        categories: Venue categories (POI kinds, medical specialties).
        cities: Real cities per split (disjoint).
        fake_cities: Cities that do not exist in the world, per split.
        name_heads: First words of venue names, per split (disjoint).
        name_tails: Last words of venue names, per split.
        first_names: People's first names, per split (disjoint).
        last_names: People's last names, per split (disjoint).
        id_prefix: Prefix of venue ids.
        slot_minutes: Minutes between two slot start times.
        max_seats: Most seats a slot can have free (1 for one-patient appointments).
    """

    domain: str
    categories: tuple[str, ...]
    cities: Mapping[str, tuple[str, ...]]
    fake_cities: Mapping[str, tuple[str, ...]]
    name_heads: Mapping[str, tuple[str, ...]]
    name_tails: Mapping[str, tuple[str, ...]]
    first_names: Mapping[str, tuple[str, ...]]
    last_names: Mapping[str, tuple[str, ...]]
    id_prefix: str
    slot_minutes: int = 30
    max_seats: int = 8


@dataclass(frozen=True)
class Venue:
    """One bookable place (a restaurant, a clinic) with everything its tools report."""

    id: str
    name: str
    city: str
    category: str
    split: str
    rating: float
    phone: str
    address: str
    website: str
    opens: str
    closes: str
    closed_on: str
    review_count: int
    average_score: float
    comments: tuple[str, ...]
    x_km: float
    y_km: float


@dataclass(frozen=True)
class Slot:
    """A free slot of a venue on a day: its start time and the seats still free."""

    time: str
    seats: int


class World:
    """The static data of one domain, generated from ``vocab`` and ``seed``."""

    def __init__(self, vocab: Vocabulary, *, seed: int = 0) -> None:
        self.vocab = vocab
        self.seed = seed
        venues: list[Venue] = []
        for split in SPLITS:
            for city in vocab.cities[split]:
                venues.extend(self._city(city, split))
        self.venues: tuple[Venue, ...] = tuple(venues)

    @cached_property
    def _by_id(self) -> dict[str, Venue]:
        return {v.id: v for v in self.venues}

    def venue(self, venue_id: str) -> Venue | None:
        """The venue with this id, if any."""
        return self._by_id.get(venue_id)

    def city(self, name: str) -> str | None:
        """The canonical spelling of a city of the world (case-insensitive), if it exists."""
        wanted = " ".join(name.split()).casefold()
        for split in SPLITS:
            for city in self.vocab.cities[split]:
                if city.casefold() == wanted:
                    return city
        return None

    def in_city(self, city: str) -> list[Venue]:
        """The venues of a city, best-rated first."""
        return sorted((v for v in self.venues if v.city == city), key=lambda v: -v.rating)

    def slots(self, venue: Venue, day: date) -> list[Slot]:
        """The free slots of ``venue`` on ``day`` (none on its closing day)."""
        if WEEKDAYS[day.weekday()] == venue.closed_on:
            return []
        start = _minutes(venue.opens) + 60
        end = _minutes(venue.closes) - 120
        out: list[Slot] = []
        for minute in range(start, end + 1, self.vocab.slot_minutes):
            rng = derive_rng(self.seed, "slot", venue.id, day.isoformat(), minute)
            seats = rng.randrange(self.vocab.max_seats + 1) if rng.random() < 0.75 else 0
            if seats:
                out.append(Slot(f"{minute // 60:02d}:{minute % 60:02d}", seats))
        return out

    def distance_km(self, a: Venue, b: Venue) -> float:
        """The street distance between two venues, in km (one decimal)."""
        return max(0.3, round(math.hypot(a.x_km - b.x_km, a.y_km - b.y_km) * 1.3, 1))

    def _city(self, city: str, split: str) -> list[Venue]:
        vocab = self.vocab
        rng = derive_rng(self.seed, vocab.domain, "city", city)
        names = [f"{h} {t}" for h in vocab.name_heads[split] for t in vocab.name_tails[split]]
        rng.shuffle(names)
        out: list[Venue] = []
        for category in vocab.categories:
            ratings = rng.sample([round(3.5 + i / 10, 1) for i in range(15)], rng.choice((2, 3)))
            for rating in ratings:
                name = names.pop()
                code = f"{len(out) + 1:02d}{rng.randrange(16**3):03x}"
                opens, closes = rng.choice(_OPENS), rng.choice(_CLOSES)
                street = f"{rng.randrange(1, 200)} {rng.choice(_STREETS)} Street, {city}"
                slug = name.lower().replace(" ", "-")
                count = rng.randrange(12, 900)
                out.append(
                    Venue(
                        id=f"{vocab.id_prefix}-{city[:3].lower()}-{code}",
                        name=name,
                        city=city,
                        category=category,
                        split=split,
                        rating=rating,
                        phone=f"+{rng.randrange(30, 49)} {rng.randrange(100, 999)} "
                        f"{rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
                        address=street,
                        website=f"https://{slug}.example.com",
                        opens=opens,
                        closes=closes,
                        closed_on=rng.choice(WEEKDAYS),
                        review_count=count,
                        average_score=round(min(5.0, rating + rng.uniform(-0.3, 0.3)), 1),
                        comments=tuple(rng.sample(_COMMENTS, 2)),
                        x_km=round(rng.uniform(0, 8), 2),
                        y_km=round(rng.uniform(0, 8), 2),
                    )
                )
        return out


def calendar() -> list[date]:
    """The days tasks may ask about."""
    return [FIRST_DATE + timedelta(days=i) for i in range(DAYS)]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)
