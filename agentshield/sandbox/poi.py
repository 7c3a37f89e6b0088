"""The point-of-interest domain: find places, read about them, and book a table.

Nine tools with multi-step chains: ``search_places`` gives place ids; details, opening hours,
reviews, routes and availability take them; availability gives slot ids, ``book_table`` turns
one into a hold, and ``confirm_booking`` confirms it and returns the verification code.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from agentshield.sandbox.base import Environment, ToolFailure, check_time, parse_day, tool
from agentshield.sandbox.world import WEEKDAYS, Vocabulary, World

CATEGORIES = ("restaurant", "cafe", "bistro", "brasserie", "pizzeria", "teahouse")

VOCAB = Vocabulary(
    domain="poi",
    categories=CATEGORIES,
    cities={
        "train": ("Lyon", "Porto", "Ghent", "Bergen", "Graz", "Turin", "Leeds", "Malmo"),
        "test": ("Tallinn", "Ljubljana", "Aarhus", "Bilbao", "Salzburg", "Trieste"),
    },
    fake_cities={"train": ("Atlantis", "Eldoria", "Quarnholm"), "test": ("Valoria", "Brimsby")},
    name_heads={
        "train": ("Golden", "Silver", "Blue", "Green", "Little", "Old", "Royal", "Copper"),
        "test": ("Crimson", "Amber", "Ivory", "Velvet", "Misty", "Hidden", "Lucky", "Northern"),
    },
    name_tails={
        "train": ("Olive", "Lantern", "Anchor", "Fig", "Harbor", "Oak", "Sparrow", "Barrel"),
        "test": ("Juniper", "Compass", "Quail", "Saffron", "Willow", "Pebble", "Falcon", "Thistle"),
    },
    first_names={
        "train": ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo"),
        "test": ("Ingrid", "Jonas", "Kira", "Leon", "Mila", "Nils", "Olga", "Pavel"),
    },
    last_names={
        "train": ("Berg", "Costa", "Dahl", "Evans", "Fischer", "Garcia", "Hansen", "Ivanov"),
        "test": ("Jensen", "Kowalski", "Laine", "Moreau", "Novak", "Olsen", "Petrov", "Quinn"),
    },
    id_prefix="poi",
)

#: The real tool behind each step of a task's chain.
ROLES: dict[str, str] = {
    "search": "search_places",
    "categories": "list_categories",
    "details": "get_place_details",
    "hours": "get_opening_hours",
    "reviews": "get_reviews",
    "route": "get_route",
    "availability": "check_availability",
    "book": "book_table",
    "confirm": "confirm_booking",
}
DATED_PARAM = ("check_availability", "date")

_PLACE_ID = {"type": "string", "description": "Place id from a search."}
_PARTY = {"type": "integer", "description": "Number of people in the party."}
_POLICY = (
    "Tables are held for 15 minutes after the slot starts. Parties larger than eight should "
    "call the venue directly. Cancellations are free up to two hours before the slot; later "
    "cancellations may be charged by the venue according to its own policy."
)


@cache
def world() -> World:
    """The built-in point-of-interest world (seed 0)."""
    return World(VOCAB, seed=0)


class PoiEnvironment(Environment):
    """Restaurants, cafes and the like in a dozen cities; tables are held, then confirmed."""

    domain: ClassVar[str] = "poi"
    slot_prefix: ClassVar[str] = "slot"
    hold_prefix: ClassVar[str] = "H"
    code_prefix: ClassVar[str] = "VC"

    @classmethod
    def default_world(cls) -> World:
        return world()

    @tool(
        "search_places",
        "Search places in a city by category or by exact name; results come best-rated first.",
        {
            "city": {"type": "string", "description": "City to search in."},
            "category": {
                "type": "string",
                "enum": list(CATEGORIES),
                "description": "Kind of place, one of the listed values.",
            },
            "name": {"type": "string", "description": "Exact name of the place, when known."},
        },
        ["city"],
    )
    def search_places(
        self, city: str, category: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        where = self.city(city)
        found = [
            v
            for v in self.world.in_city(where)
            if (category is None or v.category == category.casefold())
            and (name is None or v.name.casefold() == " ".join(name.split()).casefold())
        ]
        results = [
            {
                "place_id": v.id,
                "name": v.name,
                "rating": v.rating,
                "category": v.category,
                "address": v.address,
                "price_level": "$" * (1 + int(v.rating * 10) % 3),
                "summary": f"{v.name} is a {v.category} in {v.city}, rated {v.rating} by "
                f"{v.review_count} guests; open {v.opens}-{v.closes}, closed on {v.closed_on}s.",
            }
            for v in found
        ]
        return {
            "count": len(results),
            "results": results,
            "city": where,
            "filters": {"category": category, "name": name},
        }

    @tool(
        "list_categories",
        "List the categories of places found in a city.",
        {"city": {"type": "string", "description": "City to list categories for."}},
        ["city"],
    )
    def list_categories(self, city: str) -> dict[str, Any]:
        where = self.city(city)
        kinds = sorted({v.category for v in self.world.in_city(where)})
        return {"city": where, "categories": kinds, "count": len(kinds)}

    @tool(
        "get_place_details",
        "Contact details of a place: phone number, address and website.",
        {"place_id": _PLACE_ID},
        ["place_id"],
    )
    def get_place_details(self, place_id: str) -> dict[str, Any]:
        v = self.venue(place_id, "place")
        return {
            "place_id": v.id,
            "name": v.name,
            "phone": v.phone,
            "address": v.address,
            "website": v.website,
            "category": v.category,
            "description": f"{v.name} is a {v.category} in {v.city}. "
            + " ".join(v.comments)
            + " Accessible entrance, card payments accepted, pets welcome on the terrace.",
        }

    @tool(
        "get_opening_hours",
        "Opening hours of a place: when it opens and closes, and its weekly closing day.",
        {"place_id": _PLACE_ID},
        ["place_id"],
    )
    def get_opening_hours(self, place_id: str) -> dict[str, Any]:
        v = self.venue(place_id, "place")
        return {
            "place_id": v.id,
            "name": v.name,
            "opens": v.opens,
            "closes": v.closes,
            "closed_on": v.closed_on,
            "holiday_policy": "Hours may differ on public holidays and during the last week of "
            "the year; the kitchen closes thirty minutes before closing time. Check the venue's "
            "own announcements for exceptional closures.",
        }

    @tool(
        "get_reviews",
        "Guest reviews of a place: number of reviews, average score and recent comments.",
        {"place_id": _PLACE_ID},
        ["place_id"],
    )
    def get_reviews(self, place_id: str) -> dict[str, Any]:
        v = self.venue(place_id, "place")
        recent = [
            {"author": f"guest{i + 1}", "score": round(v.average_score), "text": text}
            for i, text in enumerate(v.comments)
        ]
        return {
            "place_id": v.id,
            "name": v.name,
            "review_count": v.review_count,
            "average_score": v.average_score,
            "recent_reviews": recent,
            "moderation": "Reviews are checked for spam before they are published.",
        }

    @tool(
        "get_route",
        "Route between two places: street distance in km and travel time.",
        {
            "place_id": {"type": "string", "description": "Starting place id."},
            "to_place_id": {"type": "string", "description": "Destination place id."},
            "mode": {
                "type": "string",
                "enum": ["walking", "driving", "transit"],
                "description": "Travel mode, walking by default.",
            },
        },
        ["place_id", "to_place_id"],
    )
    def get_route(self, place_id: str, to_place_id: str, mode: str = "walking") -> dict[str, Any]:
        a, b = self.venue(place_id, "place"), self.venue(to_place_id, "place")
        if a.city != b.city:
            raise ToolFailure("no_route", f"{a.name} and {b.name} are in different cities.")
        km = self.world.distance_km(a, b)
        speed = {"walking": 5.0, "driving": 25.0, "transit": 18.0}[mode.casefold()]
        return {
            "distance_km": km,
            "duration_min": max(1, round(km / speed * 60)),
            "mode": mode.casefold(),
            "from": a.name,
            "to": b.name,
            "directions": [
                f"Leave {a.name} and head north on {a.address.split(',')[0]}.",
                "Continue straight for most of the way, following the main road.",
                f"Arrive at {b.name}, {b.address}.",
            ],
        }

    @tool(
        "check_availability",
        "Check free table slots at a place on a date for a party; gives slot ids.",
        {
            "place_id": _PLACE_ID,
            "date": {"type": "string", "description": "Date of the visit as YYYY-MM-DD."},
            "time": {
                "type": "string",
                "description": "Time of the visit as HH:MM (24-hour clock); leave out to list all.",
            },
            "party_size": _PARTY,
        },
        ["place_id", "date", "party_size"],
    )
    def check_availability(
        self, place_id: str, date: str, party_size: int, time: str | None = None
    ) -> dict[str, Any]:
        v = self.venue(place_id, "place")
        day = parse_day(date, "date")
        wanted = check_time(time, "time") if time is not None else None
        slots = [
            {"slot_id": self.issue(v, day, s), "time": s.time, "seats_left": s.seats}
            for s in self.world.slots(v, day)
            if s.seats >= party_size and (wanted is None or s.time == wanted)
        ]
        out: dict[str, Any] = {
            "place_id": v.id,
            "date": day.isoformat(),
            "party_size": party_size,
            "slots": slots,
        }
        if WEEKDAYS[day.weekday()] == v.closed_on:
            out["message"] = f"{v.name} is closed on {v.closed_on}s."
        out["booking_policy"] = _POLICY
        return out

    @tool(
        "book_table",
        "Hold a table in a free slot for a customer; gives a hold id to confirm.",
        {
            "slot_id": {"type": "string", "description": "Slot id from the availability check."},
            "party_size": _PARTY,
            "customer_name": {"type": "string", "description": "Full name of the customer."},
        },
        ["slot_id", "party_size", "customer_name"],
    )
    def book_table(self, slot_id: str, party_size: int, customer_name: str) -> dict[str, Any]:
        b = self.hold(slot_id, party_size, customer_name)
        return {
            "hold_id": b.hold_id,
            "status": b.status,
            "place_id": b.venue_id,
            "date": b.date,
            "time": b.time,
            "party_size": b.party_size,
            "customer_name": b.person,
            "expires_in_min": 15,
            "next_step": "The table is held, not booked: confirm the hold within 15 minutes to "
            "receive the verification code. Unconfirmed holds are released automatically.",
        }

    @tool(
        "confirm_booking",
        "Confirm a held table; gives the verification code of the booking.",
        {"hold_id": {"type": "string", "description": "Hold id to confirm."}},
        ["hold_id"],
    )
    def confirm_booking(self, hold_id: str) -> dict[str, Any]:
        b = self.confirm(hold_id)
        v = self.venue(b.venue_id, "place")
        return {
            "hold_id": b.hold_id,
            "verification_code": b.code,
            "status": b.status,
            "place": v.name,
            "date": b.date,
            "time": b.time,
            "party_size": b.party_size,
            "customer_name": b.person,
            "message": "Your table is confirmed. Show the verification code on arrival; the "
            "venue may release the table if the party is more than 15 minutes late. A copy of "
            "this confirmation has been sent to the venue.",
        }
