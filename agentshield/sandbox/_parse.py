"""Robust reading of observations: JSON (also cut short or followed by text), ``key: value``
text, XML and CSV, with keys normalised (``placeId`` / ``PLACE_ID`` -> ``place_id``).

Everything here is best effort and never raises: what cannot be read is left out.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from typing import Any

_MARKER = re.compile(r"\s*(?:…|\.\.\.)?\s*\[truncated\]\s*$")
_LITERAL = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")
_KV = re.compile(r"^([^:\s][^:]*?):(?:\s+(.*))?$")
_NULLS = {"", "none", "null"}


class _Eof(Exception):
    pass


def is_truncated(text: str) -> bool:
    """Whether the observation says it was cut short."""
    return _MARKER.search(text) is not None


def parse(text: str) -> Any:
    """The structured value of an observation (dicts, lists, scalars), keys normalised."""
    body = _MARKER.sub("", text).strip()
    if not body:
        return None
    if body[0] in "{[":
        try:
            value, _ = json.JSONDecoder().raw_decode(body)
        except ValueError:
            value = _Partial(body).parse()
    elif body.startswith("<"):
        value = _xml(body)
    elif _looks_csv(body):
        value = _csv(body)
    else:
        value = _text(body)
    return _normalise(value)


def normalise_key(key: str) -> str:
    """``placeId`` / ``PLACE_ID`` / ``place-id`` -> ``place_id``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key))
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def dicts(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside ``value``, outermost first."""
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from dicts(v)


def find(value: Any, keys: Iterable[str]) -> Any:
    """The first non-null value stored under one of ``keys`` anywhere in ``value``."""
    wanted = tuple(keys)
    for d in dicts(value):
        for key in wanted:
            if d.get(key) is not None:
                return d[key]
    return None


def records(value: Any, keys: Iterable[str]) -> list[dict[str, Any]] | None:
    """The first list of dicts (anywhere in ``value``) whose items carry one of ``keys``."""
    wanted = set(keys)
    stack = [value]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            rows = [r for r in item if isinstance(r, dict)]
            if rows and any(wanted & set(r) for r in rows):
                return rows
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return None


def text_of(value: Any) -> str | None:
    """A scalar as the text an answer would quote (``None`` for nulls and containers)."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip() or None


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {normalise_key(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


class _Partial:
    """A JSON reader that returns what it has read when the text ends early."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def parse(self) -> Any:
        try:
            return self._value()
        except (_Eof, ValueError, IndexError):
            return None

    def _ws(self) -> str:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1
        if self.i >= len(self.s):
            raise _Eof
        return self.s[self.i]

    def _value(self) -> Any:
        c = self._ws()
        if c == "{":
            return self._container("}", {})
        if c == "[":
            return self._container("]", [])
        if c == '"':
            return self._string()
        m = _LITERAL.match(self.s, self.i)
        if m is None:
            raise ValueError(f"unexpected {c!r}")
        if m.end() >= len(self.s) or self.s[m.end()] not in ",]} \t\r\n":
            raise _Eof  # a number at the very end, or cut mid-way ("3."), may be incomplete
        self.i = m.end()
        return json.loads(m.group())

    def _string(self) -> str:
        end = self.i + 1
        while True:
            end = self.s.find('"', end)
            if end < 0:
                raise _Eof
            backslashes = len(self.s[:end]) - len(self.s[:end].rstrip("\\"))
            if backslashes % 2 == 0:
                break
            end += 1
        text = json.loads(self.s[self.i : end + 1])
        self.i = end + 1
        return str(text)

    def _container(self, close: str, out: Any) -> Any:
        self.i += 1
        try:
            while True:
                c = self._ws()
                if c == close:
                    self.i += 1
                    return out
                if c == ",":
                    self.i += 1
                    continue
                if isinstance(out, dict):
                    key = self._string()
                    if self._ws() != ":":
                        raise ValueError("expected ':'")
                    self.i += 1
                    out[key] = self._value()
                else:
                    out.append(self._value())
        except _Eof:
            self.i = len(self.s)
            return out


def _xml(text: str) -> Any:
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        pairs = re.findall(r"<(\w+)>([^<>]*)</\1>", text)
        return {k: _scalar(v) for k, v in pairs}

    def convert(el: ET.Element) -> Any:
        children = list(el)
        if not children:
            return _scalar(el.text or "")
        if all(c.tag == "item" for c in children):
            return [convert(c) for c in children]
        return {c.tag: convert(c) for c in children}

    return convert(root)


def _looks_csv(text: str) -> bool:
    first = text.splitlines()[0]
    return "," in first and ": " not in first and re.fullmatch(r"[\w,]+", first) is not None


def _csv(text: str) -> Any:
    lines = text.splitlines()
    header = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        cells = _split_csv(line)
        rows.append({k: cells[i] if i < len(cells) else None for i, k in enumerate(header)})
    return rows[0] if len(rows) == 1 else rows


def _split_csv(line: str) -> list[Any]:
    """Split one CSV row; quoted JSON cells keep their (unescaped) inner quotes."""
    cells: list[Any] = []
    i = 0
    while i <= len(line):
        if line.startswith(('"[', '"{'), i):
            depth, j = 0, i + 1
            while j < len(line):
                depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(line[j], 0)
                j += 1
                if depth == 0:
                    break
            raw = line[i + 1 : j]
            try:
                cells.append(json.loads(raw))
            except ValueError:
                cells.append(raw)
            i = j + 1  # the closing quote
        elif line.startswith('"', i):
            j = line.find('"', i + 1)
            j = len(line) if j < 0 else j
            cells.append(_scalar(line[i + 1 : j]))
            i = j + 1
        else:
            j = line.find(",", i)
            j = len(line) if j < 0 else j
            cells.append(_scalar(line[i:j]))
            i = j
        i += 1  # the comma
    return cells


def _text(text: str) -> Any:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    value, _ = _block(lines, 0, _indent(lines[0]))
    return value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block(lines: list[str], i: int, indent: int) -> tuple[Any, int]:
    if lines[i].strip().startswith("- "):
        out: list[Any] = []
        while i < len(lines) and _indent(lines[i]) == indent and lines[i].strip().startswith("- "):
            body = lines[i].strip()[2:]
            j = i + 1
            while j < len(lines) and _indent(lines[j]) > indent:
                j += 1
            if _KV.match(body):
                item, _ = _block([" " * (indent + 2) + body, *lines[i + 1 : j]], 0, indent + 2)
                out.append(item)
            else:
                out.append(_scalar(body))
            i = j
        return out, i
    found: dict[str, Any] = {}
    while i < len(lines) and _indent(lines[i]) >= indent:
        if _indent(lines[i]) == indent and lines[i].strip().startswith("- "):
            break
        m = _KV.match(lines[i].strip())
        if _indent(lines[i]) > indent or m is None:
            i += 1
            continue
        key, rest = m.group(1).strip(), m.group(2)
        i += 1
        if rest is not None and rest.strip():
            found[key] = _scalar(rest)
        elif i < len(lines) and _indent(lines[i]) > indent:
            found[key], i = _block(lines, i, _indent(lines[i]))
        else:
            found[key] = []  # "key:" with nothing under it: an empty container
    return found, i


def _scalar(text: str) -> Any:
    value = text.strip()
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            pass
    return None if value.casefold() in _NULLS else value
