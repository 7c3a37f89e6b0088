"""Sandbox environments: tools are JSON-schema'd Python, errors are observations, state is
per episode and success is checked exactly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from agentshield.effects import Result
from agentshield.sandbox import (
    DOMAINS,
    BookingGoal,
    Environment,
    MedicalEnvironment,
    PoiEnvironment,
    Task,
    generate_tasks,
    make_environment,
)
from agentshield.sandbox.world import Venue, calendar

# Real names per domain: (search, details, hours, reviews, route, availability, book, confirm).
NAMES = {
    "poi": {
        "search": "search_places",
        "categories": "list_categories",
        "details": "get_place_details",
        "hours": "get_opening_hours",
        "reviews": "get_reviews",
        "route": "get_route",
        "availability": "check_availability",
        "book": "book_table",
        "confirm": "confirm_booking",
        "id": "place_id",
        "to": "to_place_id",
        "date": "date",
        "time": "time",
        "slot": "slot_id",
        "person": "customer_name",
        "hold": "hold_id",
        "category": "category",
        "code": "verification_code",
        "slots": "slots",
    },
    "medical": {
        "search": "find_clinics",
        "categories": "list_specialties",
        "details": "clinic_profile",
        "hours": "office_hours",
        "reviews": "patient_feedback",
        "route": "travel_estimate",
        "availability": "list_slots",
        "book": "reserve_slot",
        "confirm": "confirm_appointment",
        "id": "clinic_id",
        "to": "to_clinic_id",
        "date": "day",
        "time": "start_time",
        "slot": "slot_ref",
        "person": "patient_name",
        "hold": "reservation_id",
        "category": "specialty",
        "code": "confirmation_code",
        "slots": "free_slots",
    },
}


def call(env: Environment, tool: str, /, **args: Any) -> dict[str, Any]:
    result = env.execute(tool, args)
    assert isinstance(result, Result)
    body = json.loads(result.content)
    assert isinstance(body, dict)
    body["_is_error"] = result.is_error
    return body


def error(env: Environment, tool: str, /, **args: Any) -> str:
    result = env.execute(tool, args)
    assert result.is_error, result.content
    return str(json.loads(result.content)["error"])


def free_slot(env: Environment, venue: Venue) -> tuple[str, str]:
    """A day and time with a free slot for two (or one) at ``venue``."""
    for day in calendar():
        for slot in env.world.slots(venue, day):
            if slot.seats >= 2 or env.domain == "medical":
                return day.isoformat(), slot.time
    raise AssertionError("no free slot")


def book(env: Environment, venue: Venue, person: str = "Anna Berg") -> tuple[str, str, str]:
    """Run availability -> book -> confirm by hand; return (day, time, code)."""
    n = NAMES[env.domain]
    day, time = free_slot(env, venue)
    party = {"party_size": 2} if env.domain == "poi" else {}
    listed = call(
        env, n["availability"], **{n["id"]: venue.id, n["date"]: day, n["time"]: time}, **party
    )
    slot = listed[n["slots"]][0][n["slot"]]
    held = call(env, n["book"], **{n["slot"]: slot, n["person"]: person}, **party)
    confirmed = call(env, n["confirm"], **{n["hold"]: held[n["hold"]]})
    return day, time, str(confirmed[n["code"]])


def test_domains_have_at_least_eight_tools_with_different_names() -> None:
    poi, medical = PoiEnvironment().tools, MedicalEnvironment().tools
    assert len(poi) >= 8 and len(medical) >= 8
    assert not {t.name for t in poi} & {t.name for t in medical}
    for spec in (*poi, *medical):
        assert spec.description and spec.parameters["type"] == "object"
        assert set(spec.required) <= set(spec.properties)
        assert all(p.get("description") for p in spec.properties.values())


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_tool_rejects_bad_arguments_with_an_error_observation(domain: str) -> None:
    env = make_environment(domain)
    for spec in env.tools:
        assert error(env, spec.name) == "invalid_arguments"  # every tool has required args
        assert error(env, spec.name, bogus=1) == "invalid_arguments"
    bad_tool = env.execute("launch_rocket", {})
    assert bad_tool.is_error and "is not a valid tool" in bad_tool.content


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_tool_answers_unknown_values_with_a_realistic_error(domain: str) -> None:
    env = make_environment(domain)
    n = NAMES[domain]
    venue = env.world.in_city(env.world.vocab.cities["train"][0])[0]
    far = env.world.in_city(env.world.vocab.cities["test"][0])[0]
    assert error(env, n["search"], city="Atlantis Prime") == "unknown_city"
    assert error(env, n["categories"], city="Atlantis Prime") == "unknown_city"
    assert error(env, n["search"], city=venue.city, **{n["category"]: "museum"}) == (
        "invalid_arguments"
    )
    assert error(env, n["search"], city=42) == "invalid_arguments"
    for role in ("details", "hours", "reviews"):
        assert error(env, n[role], **{n["id"]: "nope-1"}) == "not_found"
    assert error(env, n["route"], **{n["id"]: venue.id, n["to"]: "nope-1"}) == "not_found"
    assert error(env, n["route"], **{n["id"]: venue.id, n["to"]: far.id}) == "no_route"
    party = {"party_size": 2} if domain == "poi" else {}
    slots = {n["id"]: venue.id, **party}
    assert error(env, n["availability"], **{n["date"]: "03/12/2026"}, **slots) == (
        "invalid_argument"
    )
    assert (
        error(env, n["availability"], **{n["date"]: "2026-12-03", n["time"]: "7pm"}, **slots)
        == "invalid_argument"
    )
    assert (
        error(env, n["availability"], **{n["id"]: "nope-1", n["date"]: "2026-12-03"}, **party)
        == "not_found"
    )
    assert error(env, n["book"], **{n["slot"]: "S-000000", n["person"]: "Ann Lee"}, **party) == (
        "unknown_slot"
    )
    assert error(env, n["confirm"], **{n["hold"]: "H-NOPE"}) == "not_found"
    if domain == "poi":
        assert (
            error(
                env,
                n["availability"],
                **{n["date"]: "2026-12-03"},
                place_id=venue.id,
                party_size="two",
            )
            == "invalid_arguments"
        )
        day, time = free_slot(env, venue)
        listed = call(env, n["availability"], place_id=venue.id, date=day, time=time, party_size=1)
        slot = listed["slots"][0]
        assert (
            error(
                env,
                n["book"],
                slot_id=slot["slot_id"],
                party_size=slot["seats_left"] + 1,
                customer_name="Ann Lee",
            )
            == "not_enough_seats"
        )


@pytest.mark.parametrize("domain", DOMAINS)
def test_environment_never_raises_on_junk(domain: str) -> None:
    env = make_environment(domain)
    junk: list[Mapping[str, Any]] = [
        {},
        {"city": None},
        {"city": ["Lyon"]},
        {"place_id": {}},
        {"clinic_id": 3.5},
        {"date": "2026-02-30"},
        {"day": ""},
        {"party_size": True},
        {"hold_id": ""},
    ]
    for spec in env.tools:
        for args in junk:
            result = env.execute(spec.name, {**dict.fromkeys(spec.required, "x"), **args})
            assert isinstance(result, Result)
            json.loads(result.content)


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_booking_chain_is_checked_exactly_from_state_and_answer(domain: str) -> None:
    env = make_environment(domain)
    venue = env.world.in_city(env.world.vocab.cities["train"][1])[0]
    day, time, code = book(env, venue)
    party = 2 if domain == "poi" else 1
    goal = BookingGoal(venue.id, venue.name, day, time, party, "anna berg")
    task = Task(
        id="t",
        domain=domain,
        split="train",
        kind="book",
        query="...",
        expected="success",
        facts=(),
        chain=(),
        critical_tool="x",
        dependency=("x", "y"),
        dated_param=("x", "y"),
        booking=goal,
    )
    assert env.check(task, f"Booked. Verification code: {code}.")
    assert not env.check(task, "Booked, code VC-XXXXXX.")  # an invented code
    assert not env.check(task, None)
    assert not make_environment(domain).check(task, f"code {code}")  # fresh state: no booking
    other = BookingGoal(venue.id, venue.name, day, time, party, "Someone Else")
    assert not env.check(Task(**{**task.__dict__, "booking": other}), f"code {code}")


@pytest.mark.parametrize("domain", DOMAINS)
def test_holds_and_confirmations_are_idempotent(domain: str) -> None:
    env = make_environment(domain)
    n = NAMES[domain]
    venue = env.world.in_city(env.world.vocab.cities["test"][0])[0]
    _, _, code = book(env, venue)
    again = book(env, venue)[2]
    assert again == code and len(env.bookings) == 1
    hold = env.bookings[0].hold_id
    assert call(env, n["confirm"], **{n["hold"]: hold})[n["code"]] == code
    assert env.bookings[0].status == "confirmed"


def test_observations_are_json_and_search_ranks_best_first() -> None:
    env = PoiEnvironment()
    city = env.world.vocab.cities["train"][0]
    found = call(env, "search_places", city=city.upper(), category="cafe")
    ratings = [r["rating"] for r in found["results"]]
    assert ratings == sorted(ratings, reverse=True) and found["count"] == len(ratings)
    assert all(r["category"] == "cafe" for r in found["results"])
    none = call(env, "search_places", city=city, name="No Such Place")
    assert none["count"] == 0 and none["results"] == [] and not none["_is_error"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_info_tasks_succeed_only_with_every_fact(domain: str) -> None:
    env = make_environment(domain)
    task = next(t for t in generate_tasks(domain, "train") if t.kind == "hours")
    opens, closes = task.facts
    assert env.check(task, f"It opens at {opens} and closes at {closes}.")
    assert not env.check(task, f"It opens at {opens}.")
    refused = next(t for t in generate_tasks(domain, "train") if t.expected == "refused")
    assert not env.check(refused, "Anything at all.")
    assert date.fromisoformat("2026-12-01") == calendar()[0]
