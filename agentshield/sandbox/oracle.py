"""The scripted oracle: solves every solvable sandbox task by the shortest correct path and
refuses the unsolvable ones, under every shift of the catalogue.

It is a policy — ``oracle(messages, shown_tools) -> next assistant message`` — and a pure
function of what it is shown. It picks tools by what they do (descriptions, parameter
structure, then names; never decoys marked legacy), fills arguments by what each parameter
means, reads observations in any format, retries transient failures, follows redirections,
fetches tokens and makes required prior calls when the schema or an error says so, rewrites
values when a rule changes, asks when the request lacks a detail the tools need, and refuses
(saying why) when no shown tool can do what is asked or the entity does not exist. Its
recorded runs are the "static" training data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentshield.sandbox._match import ToolInfo, candidates, fill_args, match_enum, norm
from agentshield.sandbox._parse import find, records, text_of
from agentshield.sandbox._query import Request, understand
from agentshield.sandbox._state import Entry, State
from agentshield.trajectory import Message, ToolCall, ToolSpec

_ROLES = {
    "best": ("search",),
    "hours": ("search", "hours"),
    "phone": ("search", "details"),
    "reviews": ("search", "reviews"),
    "route": ("search", "route"),
    "book": ("search", "availability", "book", "confirm"),
}
_ABILITY = {
    "search": "search for places",
    "details": "look up contact details",
    "hours": "look up opening hours",
    "reviews": "read reviews",
    "route": "compute distances",
    "availability": "check free slots",
    "book": "hold a booking",
    "confirm": "confirm a booking",
}
_ID, _NAME, _RATING = ("place_id", "clinic_id"), ("name", "clinic_name"), ("rating", "stars")
_FIELDS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "phone_number"),
    "opens": ("opens", "opens_at"),
    "closes": ("closes", "closes_at"),
    "reviews": ("review_count", "number_of_reviews"),
    "km": ("distance_km", "km"),
    "hold": ("hold_id", "reservation_id"),
    "code": ("verification_code", "confirmation_code"),
}
_SLOT_ID, _SLOT_TIME = ("slot_id", "slot_ref"), ("time", "starts_at")
_LISTS = ("results", "clinics", "slots", "free_slots")
_NOT_FOUND = ("unknown_city", "not_found")


class _Reply(Exception):
    """Control flow: the oracle's next message, raised from deep in a plan."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.content)
        self.message = message


class OracleAgent:
    """The scripted reference agent.

    Args:
        max_attempts: Calls the oracle makes for one step (same tool, same values) before it
            gives up on the task.
    """

    def __init__(self, *, max_attempts: int = 10) -> None:
        self.max_attempts = max_attempts

    def __call__(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Message:
        """The next assistant message: tool calls, or the final answer."""
        state = State.read(messages, tools)
        try:
            return Message("assistant", self._solve(state, understand(state.query)))
        except _Reply as reply:
            return reply.message

    # The plans ------------------------------------------------------------------------------

    def _solve(self, s: State, req: Request) -> str:
        if req.unsupported is not None:
            return _refusal(f"none of the tools available to me can {req.unsupported}")
        if req.intent is None:
            return _refusal("none of the tools available to me can do what you ask")
        self._check_details(s, req)
        for role in _ROLES[req.intent]:
            if self._pick(s, role) is None:
                return _refusal(f"none of the tools available to me can {_ABILITY[role]}")
        city = req.city or ""
        if req.intent == "best":
            category = self._category(s, req)
            name, rating = self._best(s, city, category)
            return f"The best-rated {category} in {city} is {name}, rated {rating}."
        if req.intent == "route":
            (a, a_name), (b, b_name) = (self._resolve(s, city, n) for n in req.names[:2])
            km = self._need(s, "route", {"entity": a, "target": b}, _field("km"))
            return f"{a_name} is {km} km from {b_name} in {city}."
        if req.intent == "book":
            return self._book(s, req, city)
        venue, name = self._resolve(s, city, req.names[0])
        if req.intent == "hours":
            opens = self._need(s, "hours", {"entity": venue}, _field("opens"))
            closes = self._need(s, "hours", {"entity": venue}, _field("closes"))
            return f"{name} in {city} opens at {opens} and closes at {closes}."
        if req.intent == "phone":
            phone = self._need(s, "details", {"entity": venue}, _field("phone"))
            return f"The phone number of {name} in {city} is {phone}."
        count = self._need(s, "reviews", {"entity": venue}, _field("reviews"))
        return f"{name} in {city} has {count} reviews."

    def _book(self, s: State, req: Request, city: str) -> str:
        if req.names:
            venue, name = self._resolve(s, city, req.names[0])
        else:
            category = self._category(s, req)
            name, _ = self._best(s, city, category)
            venue, name = self._resolve(s, city, name, category=category)
        values = {"entity": venue, "date": req.date, "time": req.time, "party": req.party}
        slot = self._need(s, "availability", values, _slot(req.time or ""))
        hold = self._need(
            s, "book", {"slot": slot, "person": req.person, "party": req.party}, _field("hold")
        )
        code = self._need(s, "confirm", {"hold": hold}, _field("code"))
        who = f"{req.person}" + (f", {req.party} people" if req.party else "")
        return (
            f"Done: your booking at {name} in {city} on {req.date} at {req.time} ({who}) is "
            f"confirmed. Verification code: {code}."
        )

    def _check_details(self, s: State, req: Request) -> None:
        missing = []
        if req.city is None:
            missing.append("city")
        if req.intent in ("hours", "phone", "reviews") and not req.names:
            missing.append("place")
        if req.intent == "route" and len(req.names) < 2:
            missing.append("pair of places")
        if req.intent == "book":
            missing += [k for k in ("date", "time", "person") if getattr(req, k) is None]
            party_needed = any(
                p.concept == "party" and p.required
                for role in ("availability", "book")
                for t in candidates(s.tools, role)
                for p in t.params
            )
            if party_needed and req.party is None:
                missing.append("party")
        if missing:
            what = {"person": "name the booking should be under", "party": "number of people"}
            words = " and ".join(what.get(m, m) for m in missing)
            raise _Reply(
                Message(
                    "assistant",
                    f"Your request doesn't say which {words} you mean, and I need it to do this "
                    f"correctly. Which {words} should I use?",
                )
            )

    def _category(self, s: State, req: Request) -> str:
        search = self._pick(s, "search")
        param = search.param("category") if search else None
        allowed = list(param.schema.get("enum", ())) if param else []
        found = match_enum(allowed, req.words) if allowed else None
        if found is None:
            raise _Reply(Message("assistant", "Which kind of place do you mean?"))
        return str(found).casefold()

    def _best(self, s: State, city: str, category: str) -> tuple[str, str]:
        rows = self._search(s, {"city": city, "category": category}, f"a {category} in {city}")
        _, best = max(((float(r[2]), r) for r in rows), key=lambda pair: pair[0])
        return best[1], best[2]

    def _resolve(
        self, s: State, city: str, name: str, *, category: str | None = None
    ) -> tuple[str, str]:
        """The id of the venue called ``name`` (already known from a category search, or
        searched by name)."""
        if category is not None:
            rows = self._search(s, {"city": city, "category": category}, name)
        else:
            rows = self._search(s, {"city": city, "name": name}, f"{name} in {city}")
        wanted = " ".join(name.split()).casefold()
        for venue_id, found, _ in rows:
            if found.casefold() == wanted:
                return venue_id, found
        raise _Reply(Message("assistant", _refusal(f"I couldn't find {name} in {city}")))

    def _search(self, s: State, values: dict[str, str], what: str) -> list[tuple[str, str, str]]:
        by_name = "category" not in values

        def rows(parsed: Any) -> list[tuple[str, str, str]] | None:
            found = records(parsed, _ID)
            if found:
                out = [(_text(r, _ID), _text(r, _NAME), _text(r, _RATING)) for r in found]
                # A category search ranks by rating: rows must carry one to count.
                usable = [(i, n, r) for i, n, r in out if i and n and (_number(r) or by_name)]
                return usable or None
            if text_of(find(parsed, ("count", "matches"))) == "0" or find(parsed, _LISTS) == []:
                return []
            return None

        found: list[tuple[str, str, str]] = self._need(s, "search", values, rows)
        if not found:
            raise _Reply(Message("assistant", _refusal(f"I couldn't find {what}")))
        return found

    # One step ---------------------------------------------------------------------------------

    def _need(
        self, s: State, role: str, values: Mapping[str, Any], extract: Callable[[Any], Any]
    ) -> Any:
        """What ``extract`` reads from the calls made for (role, values) — newest first —
        or, when nothing readable came back yet, the next call to make."""
        wanted = {k: norm(k, v) for k, v in values.items() if v is not None}
        made = [e for e in s.entries if e.role == role and _same(e, wanted, s)]
        for entry in reversed(made):
            if not entry.is_error:
                value = extract(entry.parsed)
                if value is not None:
                    return value
        self._stop_if_hopeless(made)
        raise _Reply(self._call(s, role, values))

    def _stop_if_hopeless(self, made: Sequence[Entry]) -> None:
        """Refuse when a call said the entity does not exist; give up after too many tries."""
        for entry in made:
            code = text_of(find(entry.parsed, ("error",))) if entry.is_error else None
            if code in _NOT_FOUND:
                message = text_of(find(entry.parsed, ("message",))) or "it does not exist"
                raise _Reply(Message("assistant", _refusal(message.rstrip("."))))
        if len(made) >= self.max_attempts:
            last = made[-1].content[:200]
            raise _Reply(Message("assistant", _refusal(f"the tools kept failing ({last})")))

    def _pick(self, s: State, role: str) -> ToolInfo | None:
        for tool in candidates(s.tools, role):
            seen: set[str] = set()
            while tool.name in s.redirects and tool.name not in seen:
                seen.add(tool.name)
                nxt = s.info(s.redirects[tool.name])
                if nxt is None:
                    break
                tool = nxt
            if not tool.legacy and tool.name not in s.bad and tool.name not in s.redirects:
                return tool
        return None

    def _call(self, s: State, role: str, values: Mapping[str, Any]) -> Message:
        tool = self._pick(s, role)
        if tool is None:
            raise _Reply(Message("assistant", _refusal(f"no tool can {_ABILITY[role]}")))
        prior = s.info(s.needs_prior.get(tool.name, ""))
        if prior is not None and prior.name not in s.succeeded:
            self._stop_if_hopeless([e for e in s.entries if e.call.name == prior.name])
            return self._message(s, prior, fill_args(prior, values, s.rules))
        args = fill_args(tool, values, s.rules)
        if tool.name in s.needs_token:
            token_tool, param = s.needs_token[tool.name]
            token = s.token_for(tool.name)
            issuer = s.info(token_tool)
            if token is None and issuer is not None:
                target = s.token_alias.get(tool.name, tool.name)
                return self._message(s, issuer, {p.key: target for p in issuer.params[:1]})
            if token is not None:
                args[param] = token
        return self._message(s, tool, args)

    def _message(self, s: State, tool: ToolInfo, args: dict[str, Any]) -> Message:
        call = ToolCall(f"call_{s.calls_made + 1}", tool.name, args)
        return Message("assistant", "", tool_calls=(call,))


def _same(entry: Entry, wanted: Mapping[str, str], s: State) -> bool:
    tool = s.info(entry.call.name)
    shown = {p.concept for p in tool.params} if tool else set(entry.concepts)
    return all(entry.concepts.get(k) == v for k, v in wanted.items() if k in shown)


def _field(name: str) -> Callable[[Any], str | None]:
    keys = _FIELDS[name]
    return lambda parsed: text_of(find(parsed, keys))


def _slot(time: str) -> Callable[[Any], str | None]:
    def extract(parsed: Any) -> str | None:
        for row in records(parsed, _SLOT_ID) or []:
            if _text(row, _SLOT_TIME) and norm("time", _text(row, _SLOT_TIME)) == time:
                return _text(row, _SLOT_ID)
        if find(parsed, ("slots", "free_slots")) == [] or records(parsed, _SLOT_ID):
            raise _Reply(Message("assistant", _refusal(f"there is no free slot at {time}")))
        return None

    return extract


def _text(row: Mapping[str, Any], keys: Sequence[str]) -> str:
    return next((text_of(row.get(k)) or "" for k in keys if row.get(k) is not None), "")


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _refusal(why: str) -> str:
    return f"I can't complete this request: {why}. I won't guess or make up a result."
