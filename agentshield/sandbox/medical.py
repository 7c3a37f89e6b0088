"""The held-out medical-appointment domain: the same structure as the point-of-interest one,
with different tool names, parameter names and observation keys (the domain shift).

``find_clinics`` gives clinic ids; profile, office hours, feedback, travel and slot listings
take them; ``list_slots`` gives slot references, ``reserve_slot`` reserves one for a patient,
and ``confirm_appointment`` returns the confirmation code.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from agentshield.sandbox.base import Environment, ToolFailure, check_time, parse_day, tool
from agentshield.sandbox.world import WEEKDAYS, Vocabulary, World

SPECIALTIES = ("cardiology", "dermatology", "pediatrics", "neurology", "orthopedics", "dentistry")
_TAILS = ("Clinic", "Health Centre", "Medical Practice", "Care Centre")

VOCAB = Vocabulary(
    domain="medical",
    categories=SPECIALTIES,
    cities={
        "train": ("Utrecht", "Bologna", "Krakow", "Seville", "Dresden", "Antwerp", "Cardiff"),
        "test": ("Brno", "Cork", "Tartu", "Kaunas", "Galway", "Aalborg"),
    },
    fake_cities={"train": ("Lorvania", "Mistral"), "test": ("Ostheim", "Caldora")},
    name_heads={
        "train": ("Linden", "Harlow", "Ashford", "Whitmore", "Brennan", "Calloway", "Dunmore"),
        "test": ("Fairbanks", "Greyson", "Holloway", "Kingsley", "Lockwood", "Merriman"),
    },
    name_tails={"train": _TAILS, "test": _TAILS},
    first_names={
        "train": ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo"),
        "test": ("Ingrid", "Jonas", "Kira", "Leon", "Mila", "Nils", "Olga", "Pavel"),
    },
    last_names={
        "train": ("Berg", "Costa", "Dahl", "Evans", "Fischer", "Garcia", "Hansen", "Ivanov"),
        "test": ("Jensen", "Kowalski", "Laine", "Moreau", "Novak", "Olsen", "Petrov", "Quinn"),
    },
    id_prefix="cl",
    slot_minutes=20,
    max_seats=1,
)

#: The real tool behind each step of a task's chain.
ROLES: dict[str, str] = {
    "search": "find_clinics",
    "categories": "list_specialties",
    "details": "clinic_profile",
    "hours": "office_hours",
    "reviews": "patient_feedback",
    "route": "travel_estimate",
    "availability": "list_slots",
    "book": "reserve_slot",
    "confirm": "confirm_appointment",
}
DATED_PARAM = ("list_slots", "day")

_CLINIC_ID = {"type": "string", "description": "Clinic identifier from a search."}
_TOWN = {"type": "string", "description": "Town or city."}
_DOCTORS = ("Dr. Varga", "Dr. Okafor", "Dr. Lindqvist", "Dr. Moreno", "Dr. Haddad")


@cache
def world() -> World:
    """The built-in medical world (seed 0)."""
    return World(VOCAB, seed=0)


class MedicalEnvironment(Environment):
    """Clinics by specialty; appointment slots are reserved for a patient, then confirmed."""

    domain: ClassVar[str] = "medical"
    slot_prefix: ClassVar[str] = "ref"
    hold_prefix: ClassVar[str] = "RSV"
    code_prefix: ClassVar[str] = "APPT"

    @classmethod
    def default_world(cls) -> World:
        return world()

    @tool(
        "find_clinics",
        "Find clinics in a town by medical specialty or by exact clinic name, best-rated first.",
        {
            "city": _TOWN,
            "specialty": {
                "type": "string",
                "enum": list(SPECIALTIES),
                "description": "Medical specialty, one of the listed values.",
            },
            "clinic_name": {"type": "string", "description": "Exact clinic name, when known."},
        },
        ["city"],
    )
    def find_clinics(
        self, city: str, specialty: str | None = None, clinic_name: str | None = None
    ) -> dict[str, Any]:
        where = self.city(city)
        wanted = " ".join(clinic_name.split()).casefold() if clinic_name is not None else None
        found = [
            v
            for v in self.world.in_city(where)
            if (specialty is None or v.category == specialty.casefold())
            and (wanted is None or v.name.casefold() == wanted)
        ]
        clinics = [
            {
                "clinic_id": v.id,
                "clinic_name": v.name,
                "stars": v.rating,
                "specialty": v.category,
                "address": v.address,
                "summary": f"{v.name} offers {v.category} consultations in {v.city}; "
                f"{v.review_count} patient reviews, open {v.opens}-{v.closes} "
                f"except {v.closed_on}.",
            }
            for v in found
        ]
        return {
            "matches": len(clinics),
            "clinics": clinics,
            "town": where,
            "filters": {"specialty": specialty, "clinic_name": clinic_name},
        }

    @tool(
        "list_specialties",
        "List the medical specialties offered in a town.",
        {"city": _TOWN},
        ["city"],
    )
    def list_specialties(self, city: str) -> dict[str, Any]:
        where = self.city(city)
        kinds = sorted({v.category for v in self.world.in_city(where)})
        return {"town": where, "specialties": kinds, "count": len(kinds)}

    @tool(
        "clinic_profile",
        "Profile of a clinic: phone number, address and head doctor.",
        {"clinic_id": _CLINIC_ID},
        ["clinic_id"],
    )
    def clinic_profile(self, clinic_id: str) -> dict[str, Any]:
        v = self.venue(clinic_id, "clinic")
        return {
            "clinic_id": v.id,
            "clinic_name": v.name,
            "phone_number": v.phone,
            "address": v.address,
            "website": v.website,
            "head_doctor": _DOCTORS[int(v.rating * 10) % len(_DOCTORS)],
            "about": f"{v.name} is a {v.category} practice in {v.city}. "
            + " ".join(v.comments)
            + " Step-free access; interpreters available on request.",
        }

    @tool(
        "office_hours",
        "Office hours of a clinic: opening and closing time, and the day it is closed.",
        {"clinic_id": _CLINIC_ID},
        ["clinic_id"],
    )
    def office_hours(self, clinic_id: str) -> dict[str, Any]:
        v = self.venue(clinic_id, "clinic")
        return {
            "clinic_id": v.id,
            "clinic_name": v.name,
            "opens_at": v.opens,
            "closes_at": v.closes,
            "closed_on": v.closed_on,
            "holiday_notice": "On public holidays the clinic runs an emergency service only; "
            "call the regional out-of-hours number for urgent care. Reception closes fifteen "
            "minutes before the last appointment of the day.",
        }

    @tool(
        "patient_feedback",
        "Patient feedback about a clinic: number of reviews, mean score and comments.",
        {"clinic_id": _CLINIC_ID},
        ["clinic_id"],
    )
    def patient_feedback(self, clinic_id: str) -> dict[str, Any]:
        v = self.venue(clinic_id, "clinic")
        return {
            "clinic_id": v.id,
            "clinic_name": v.name,
            "number_of_reviews": v.review_count,
            "mean_score": v.average_score,
            "comments": list(v.comments),
            "moderation": "Feedback is anonymised and checked before it is published.",
        }

    @tool(
        "travel_estimate",
        "Travel estimate between two clinics: distance in km and minutes.",
        {
            "clinic_id": {"type": "string", "description": "Starting clinic identifier."},
            "to_clinic_id": {"type": "string", "description": "Destination clinic identifier."},
            "transport": {
                "type": "string",
                "enum": ["foot", "car", "bus"],
                "description": "Means of transport, on foot by default.",
            },
        },
        ["clinic_id", "to_clinic_id"],
    )
    def travel_estimate(
        self, clinic_id: str, to_clinic_id: str, transport: str = "foot"
    ) -> dict[str, Any]:
        a, b = self.venue(clinic_id, "clinic"), self.venue(to_clinic_id, "clinic")
        if a.city != b.city:
            raise ToolFailure("no_route", f"{a.name} and {b.name} are in different towns.")
        km = self.world.distance_km(a, b)
        speed = {"foot": 5.0, "car": 25.0, "bus": 18.0}[transport.casefold()]
        return {
            "km": km,
            "minutes": max(1, round(km / speed * 60)),
            "transport": transport.casefold(),
            "from": a.name,
            "to": b.name,
            "directions": [
                f"Start at {a.address}.",
                "Follow the signs for the town centre, then the hospital district.",
                f"The destination is {b.name}, {b.address}.",
            ],
        }

    @tool(
        "list_slots",
        "List free appointment slots of a clinic on a day; gives slot references.",
        {
            "clinic_id": _CLINIC_ID,
            "day": {"type": "string", "description": "Calendar day as YYYY-MM-DD."},
            "start_time": {
                "type": "string",
                "description": "Start time as HH:MM (24-hour clock); leave out to list all.",
            },
        },
        ["clinic_id", "day"],
    )
    def list_slots(self, clinic_id: str, day: str, start_time: str | None = None) -> dict[str, Any]:
        v = self.venue(clinic_id, "clinic")
        when = parse_day(day, "day")
        wanted = check_time(start_time, "start_time") if start_time is not None else None
        slots = [
            {
                "slot_ref": self.issue(v, when, s),
                "starts_at": s.time,
                "doctor": _DOCTORS[int(s.time[:2]) % len(_DOCTORS)],
            }
            for s in self.world.slots(v, when)
            if wanted is None or s.time == wanted
        ]
        out: dict[str, Any] = {"clinic_id": v.id, "day": when.isoformat(), "free_slots": slots}
        if WEEKDAYS[when.weekday()] == v.closed_on:
            out["notice"] = f"{v.name} is closed on {v.closed_on}s."
        out["policy"] = (
            "Please arrive ten minutes early and bring your insurance card. Appointments "
            "missed without notice may be charged. Reservations expire after 10 minutes "
            "unless they are confirmed."
        )
        return out

    @tool(
        "reserve_slot",
        "Reserve a free slot for a patient; gives a reservation id to confirm.",
        {
            "slot_ref": {"type": "string", "description": "Reference of a free slot."},
            "patient_name": {"type": "string", "description": "Full name of the patient."},
        },
        ["slot_ref", "patient_name"],
    )
    def reserve_slot(self, slot_ref: str, patient_name: str) -> dict[str, Any]:
        b = self.hold(slot_ref, 1, patient_name)
        return {
            "reservation_id": b.hold_id,
            "state": "reserved",
            "clinic_id": b.venue_id,
            "day": b.date,
            "starts_at": b.time,
            "patient_name": b.person,
            "expires_in_min": 10,
            "next_step": "The slot is reserved, not booked: confirm the reservation within ten "
            "minutes to receive the confirmation code. Unconfirmed reservations lapse.",
        }

    @tool(
        "confirm_appointment",
        "Confirm a reservation; gives the appointment's confirmation code.",
        {"reservation_id": {"type": "string", "description": "Reservation to confirm."}},
        ["reservation_id"],
    )
    def confirm_appointment(self, reservation_id: str) -> dict[str, Any]:
        b = self.confirm(reservation_id)
        v = self.venue(b.venue_id, "clinic")
        return {
            "reservation_id": b.hold_id,
            "confirmation_code": b.code,
            "state": b.status,
            "clinic": v.name,
            "day": b.date,
            "starts_at": b.time,
            "patient_name": b.person,
            "message": "Your appointment is confirmed. Quote the confirmation code at the "
            "reception desk. To reschedule, contact the clinic at least one working day "
            "ahead; a reminder will be sent the day before the appointment.",
        }
