"""The environment base: tools are plain Python methods with JSON schemas, state is per episode.

A domain subclasses :class:`Environment` and marks its tool methods with :func:`tool`. An
environment never raises into the agent: unknown tools, bad arguments and unknown ids come
back as error observations (``is_error=True``) with a JSON body ``{"error": code,
"message": ...}``, the way a real API answers. Success is checked exactly from the state
(bookings confirmed with the right details) and the final answer (facts, verification code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from agentshield._rng import derive_rng
from agentshield.effects import Result
from agentshield.plan import UNKNOWN_TOOL_TEMPLATE
from agentshield.sandbox.world import Slot, Venue, World
from agentshield.trajectory import ToolSpec

if TYPE_CHECKING:
    from agentshield.sandbox.tasks import Task

F = TypeVar("F", bound=Callable[..., Any])
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ToolFailure(Exception):
    """Raised inside a tool to answer with an error observation (never leaves ``execute``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def tool(
    name: str, description: str, params: Mapping[str, Mapping[str, Any]], required: Sequence[str]
) -> Callable[[F], F]:
    """Mark an environment method as a tool with this name, description and JSON schema."""
    spec = ToolSpec(
        name,
        description,
        {"type": "object", "properties": dict(params), "required": list(required)},
    )

    def mark(fn: F) -> F:
        fn.__sandbox_tool__ = spec  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass
class Booking:
    """A hold on a slot; ``status`` becomes ``"confirmed"`` (with a ``code``) when confirmed."""

    hold_id: str
    venue_id: str
    date: str
    time: str
    party_size: int
    person: str
    status: str = "held"
    code: str | None = None


class Environment:
    """One episode's environment: a world, its tools, and the episode's booking state.

    Args:
        world: The static data (default: the domain's built-in world).
    """

    domain: ClassVar[str] = ""
    slot_prefix: ClassVar[str] = "S"
    hold_prefix: ClassVar[str] = "H"
    code_prefix: ClassVar[str] = "VC"
    _specs: ClassVar[dict[str, tuple[ToolSpec, Callable[..., dict[str, Any]]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._specs = {}
        for fn in cls.__dict__.values():
            spec = getattr(fn, "__sandbox_tool__", None)
            if isinstance(spec, ToolSpec):
                cls._specs[spec.name] = (spec, fn)

    def __init__(self, *, world: World | None = None) -> None:
        self.world = world if world is not None else self.default_world()
        self.issued: dict[str, tuple[str, str, Slot]] = {}
        self.holds: dict[str, Booking] = {}

    @classmethod
    def default_world(cls) -> World:
        """The domain's built-in world (overridden by each domain)."""
        raise NotImplementedError

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        """The tools' schemas, in declaration order."""
        return tuple(spec for spec, _ in self._specs.values())

    @property
    def bookings(self) -> tuple[Booking, ...]:
        """Every hold made in this episode (confirmed or not)."""
        return tuple(self.holds.values())

    def execute(self, name: str, args: Mapping[str, Any]) -> Result:
        """Run one tool; errors come back as error observations, never as exceptions."""
        entry = self._specs.get(name)
        if entry is None:
            message = UNKNOWN_TOOL_TEMPLATE.format(
                requested_tool=name, available_tools=", ".join(self._specs)
            )
            return Result(message, is_error=True)
        spec, fn = entry
        if not isinstance(args, Mapping):
            return _error("invalid_arguments", f"{name}: arguments must be a JSON object.")
        clean = {k: v for k, v in args.items() if v is not None}
        problem = _validate(spec, clean)
        if problem is not None:
            return _error("invalid_arguments", f"{name}: {problem}")
        try:
            out = fn(self, **clean)
        except ToolFailure as failure:
            return _error(failure.code, failure.message)
        return Result(json.dumps(out))

    def check(self, task: Task, final_answer: str | None) -> bool:
        """Whether ``task`` was done: the booking confirmed in this state and its code in the
        answer, or every expected fact in the answer. Unsolvable tasks never succeed."""
        if task.domain != self.domain or task.expected != "success" or not final_answer:
            return False
        goal = task.booking
        if goal is None:
            return all(contains_fact(final_answer, fact) for fact in task.facts)
        return any(
            b.status == "confirmed"
            and b.code is not None
            and (b.venue_id, b.date, b.time, b.party_size)
            == (goal.venue_id, goal.date, goal.time, goal.party_size)
            and b.person.casefold() == goal.person.casefold()
            and contains_fact(final_answer, b.code)
            for b in self.holds.values()
        ) and all(contains_fact(final_answer, fact) for fact in task.facts)

    # Helpers for the domains --------------------------------------------------------------

    def venue(self, venue_id: str, what: str) -> Venue:
        """The venue with this id, or a ``not_found`` failure naming the argument."""
        found = self.world.venue(venue_id)
        if found is None:
            raise ToolFailure("not_found", f"No {what} with id {venue_id!r}.")
        return found

    def city(self, name: str) -> str:
        """The canonical city name, or an ``unknown_city`` failure."""
        found = self.world.city(name)
        if found is None:
            raise ToolFailure("unknown_city", f"No city named {name!r} in the directory.")
        return found

    def issue(self, venue: Venue, day: date, slot: Slot) -> str:
        """Hand out an id for one free slot (the same id every time it is asked for)."""
        rng = derive_rng(self.world.seed, "slot-id", venue.id, day.isoformat(), slot.time)
        slot_id = f"{self.slot_prefix}-{rng.randrange(16**6):06x}"
        self.issued[slot_id] = (venue.id, day.isoformat(), slot)
        return slot_id

    def hold(self, slot_id: str, party_size: int, person: str) -> Booking:
        """Hold a handed-out slot (idempotent for the same slot, party and name)."""
        if slot_id not in self.issued:
            raise ToolFailure(
                "unknown_slot", f"Unknown slot {slot_id!r}; list the free slots first."
            )
        venue_id, day, slot = self.issued[slot_id]
        if party_size < 1 or party_size > slot.seats:
            raise ToolFailure(
                "not_enough_seats",
                f"Slot {slot_id} has {slot.seats} seat(s) free, not {party_size}.",
            )
        key = (venue_id, day, slot.time, party_size, person.casefold())
        for b in self.holds.values():
            if (b.venue_id, b.date, b.time, b.party_size, b.person.casefold()) == key:
                return b
        rng = derive_rng(self.world.seed, "hold", slot_id, party_size, person, len(self.holds))
        hold_id = f"{self.hold_prefix}-{rng.randrange(16**6):06X}"
        booking = Booking(hold_id, venue_id, day, slot.time, party_size, " ".join(person.split()))
        self.holds[hold_id] = booking
        return booking

    def confirm(self, hold_id: str) -> Booking:
        """Confirm a hold and give it a verification code (idempotent)."""
        booking = self.holds.get(hold_id)
        if booking is None:
            raise ToolFailure("not_found", f"No hold with id {hold_id!r}.")
        if booking.code is None:
            rng = derive_rng(self.world.seed, "code", hold_id)
            suffix = "".join(rng.choice(_CODE_ALPHABET) for _ in range(6))
            booking.code = f"{self.code_prefix}-{suffix}"
            booking.status = "confirmed"
        return booking


def parse_day(value: str, param: str) -> date:
    """A ``YYYY-MM-DD`` argument as a date, or an ``invalid_argument`` failure."""
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ToolFailure(
            "invalid_argument", f"{param} must be a date as YYYY-MM-DD, got {value!r}."
        ) from None


def check_time(value: str, param: str) -> str:
    """A ``HH:MM`` (24-hour) argument, or an ``invalid_argument`` failure."""
    if not _TIME.match(value):
        raise ToolFailure("invalid_argument", f"{param} must be a time as HH:MM, got {value!r}.")
    return value


def contains_fact(text: str, fact: str) -> bool:
    """Whether ``fact`` occurs in ``text`` as a whole token (case-insensitive)."""
    pattern = r"(?<![\w.])" + re.escape(fact.casefold()) + r"(?!\w)"
    return re.search(pattern, text.casefold()) is not None


def _error(code: str, message: str) -> Result:
    return Result(json.dumps({"error": code, "message": message}), is_error=True)


def _validate(spec: ToolSpec, args: Mapping[str, Any]) -> str | None:
    props = spec.properties
    unknown = sorted(set(args) - set(props))
    if unknown:
        return f"unexpected argument {unknown[0]!r}; valid arguments: {', '.join(props)}."
    missing = [k for k in spec.required if k not in args]
    if missing:
        return f"missing required argument {missing[0]!r}."
    for key, value in args.items():
        schema = props[key]
        kind = schema.get("type")
        if kind == "string" and not isinstance(value, str):
            return f"argument {key!r} must be a string, got {value!r}."
        if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
            return f"argument {key!r} must be an integer, got {value!r}."
        allowed = schema.get("enum")
        if allowed and str(value).casefold() not in {str(a).casefold() for a in allowed}:
            return f"argument {key!r} must be one of {', '.join(map(str, allowed))}; got {value!r}."
    return None
