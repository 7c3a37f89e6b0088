"""Query templates of the sandbox tasks, per domain and task kind.

Templates name venues and people in capitalised words, dates as ``YYYY-MM-DD`` and times as
``HH:MM``; every number in a query is a detail the task needs (so removing one always makes
the request under-specified). Unsupported requests come with what no tool can do.
"""

from __future__ import annotations

_ROUTE = (
    "How far is it from {name} to {other} in {city}?",
    "What is the distance from {name} to {other} in {city}?",
)
_WEATHER = ("What will the weather be like in {city} tomorrow?", "tell you the weather forecast")

POI: dict[str, tuple[str, ...]] = {
    "best": (
        "Which {category} in {city} has the best rating?",
        "What is the best-rated {category} in {city}?",
    ),
    "hours": ("What are the opening hours of {name} in {city}?", "When is {name} in {city} open?"),
    "phone": (
        "What is the phone number of {name} in {city}?",
        "Can you give me the phone number of {name} in {city}?",
    ),
    "reviews": ("How many reviews does {name} in {city} have?",),
    "route": _ROUTE,
    "book": (
        "Book a table at {name} in {city} on {date} at {time} for {party} people "
        "under the name {person}.",
        "I want to book a table for {party} people at {name} in {city} on {date} "
        "at {time}, under the name {person}.",
    ),
    "book_best": (
        "Book a table at the best-rated {category} in {city} on {date} at "
        "{time} for {party} people under the name {person}.",
    ),
}
POI_UNSUPPORTED: tuple[tuple[str, str], ...] = (
    ("Order a taxi from {name} in {city} to the train station.", "order a taxi"),
    ("Cancel my table reservation at {name} in {city}.", "cancel a reservation"),
    ("Pay my bill at {name} in {city} with my saved card.", "make a payment"),
    _WEATHER,
)
MEDICAL: dict[str, tuple[str, ...]] = {
    "best": (
        "Which {category} clinic in {city} has the best rating?",
        "What is the best-rated {category} clinic in {city}?",
    ),
    "hours": ("What are the office hours of {name} in {city}?", "When is {name} in {city} open?"),
    "phone": ("What is the phone number of {name} in {city}?",),
    "reviews": ("How many patient reviews does {name} in {city} have?",),
    "route": _ROUTE,
    "book": ("Book an appointment at {name} in {city} on {date} at {time} for patient {person}.",),
    "book_best": (
        "Book an appointment at the best-rated {category} clinic in {city} on "
        "{date} at {time} for patient {person}.",
    ),
}
MEDICAL_UNSUPPORTED: tuple[tuple[str, str], ...] = (
    ("Renew my prescription at {name} in {city}.", "renew a prescription"),
    ("Cancel my appointment at {name} in {city}.", "cancel an appointment"),
    ("Send my lab results from {name} in {city} to my email.", "send lab results"),
    _WEATHER,
)
