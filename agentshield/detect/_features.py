"""Feature extraction shared by the profile and the detectors: pure functions, no state.

* tool fingerprints: a schema's *structure* (parameter names, types, enums, required) apart
  from its *documentation* (descriptions), so a reworded description and a changed
  parameter are told apart;
* observation shape: the format of a tool result and its flattened key paths with types;
* query text: entity-masked character trigrams (names, numbers and dates are masked, since
  they legitimately differ between requests);
* answer identifiers: codes, ids and long numbers that an answer could have invented.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from agentshield.trajectory import ToolSpec

#: Paths deeper than this are not tracked (bounded work and profile size).
MAX_DEPTH = 3
#: List elements looked at per list.
MAX_ELEMENTS = 3

_DOC_KEYS = frozenset({"description", "title", "examples", "example"})


def _strip_docs(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _strip_docs(v) for k, v in value.items() if k not in _DOC_KEYS}
    if isinstance(value, list | tuple):
        return [_strip_docs(v) for v in value]
    return value


def docs(value: Any, out: list[str] | None = None) -> list[str]:
    """Every ``description`` string inside a JSON schema, in key order."""
    out = [] if out is None else out
    if isinstance(value, Mapping):
        for k in sorted(value):
            if k == "description" and isinstance(value[k], str):
                out.append(value[k])
            else:
                docs(value[k], out)
    elif isinstance(value, list | tuple):
        for v in value:
            docs(v, out)
    return out


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def structure_fingerprint(spec: ToolSpec) -> str:
    """A digest of the parameter schema without its descriptions."""
    return _digest(_strip_docs(spec.parameters))


def doc_fingerprint(spec: ToolSpec) -> str:
    """A digest of the tool description and every parameter description."""
    return _digest([spec.description, *docs(spec.parameters, [])])


def param_types(spec: ToolSpec) -> dict[str, str]:
    """``{parameter: JSON type}`` (``"any"`` where the schema gives none)."""
    return {k: str(v.get("type", "any")) for k, v in spec.properties.items()}


_TYPES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def type_name(value: Any) -> str:
    """The JSON type of a decoded value."""
    return _TYPES.get(type(value), "other")


_DECODER = json.JSONDecoder()


def parse_observation(content: str) -> tuple[str, Any]:
    """``(format, value)``: format is ``object``, ``array``, ``scalar`` or ``text``."""
    text = content.strip()
    if not text or text[0] not in '{["-0123456789tfn':
        return "text", None
    # ``json.loads`` without its wrapper (this is on every tool call's path); the text is
    # stripped, so anything after the value is extra data.
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return "text", None
    if end != len(text):
        return "text", None
    if isinstance(value, dict):
        return "object", value
    if isinstance(value, list):
        return "array", value
    return "scalar", value


def flatten(value: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """``(path, type)`` pairs of a decoded JSON value: ``a.b`` for keys, ``a[]`` for list
    elements (the first few), down to :data:`MAX_DEPTH`."""
    if depth >= MAX_DEPTH:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            yield path, type_name(v)
            yield from flatten(v, path, depth + 1)
    elif isinstance(value, list):
        path = f"{prefix}[]"
        for v in value[:MAX_ELEMENTS]:
            yield path, type_name(v)
            yield from flatten(v, path, depth + 1)


def shape(value: Any) -> dict[str, str]:
    """``{path: type}`` of :func:`flatten` (the first type seen per path), built directly."""
    out: dict[str, str] = {}
    _shape(value, "", 0, out)
    return out


def _shape(value: Any, prefix: str, depth: int, out: dict[str, str]) -> None:
    if depth >= MAX_DEPTH:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            kind = _TYPES.get(type(v), "other")
            out.setdefault(path, kind)
            if kind == "object" or kind == "array":
                _shape(v, path, depth + 1, out)
    elif isinstance(value, list):
        path = f"{prefix}[]"
        for v in value[:MAX_ELEMENTS]:
            kind = _TYPES.get(type(v), "other")
            out.setdefault(path, kind)
            if kind == "object" or kind == "array":
                _shape(v, path, depth + 1, out)


def parent_of(path: str) -> str:
    """The path one level up (``""`` at the top)."""
    if path.endswith("[]"):
        return path[:-2]
    head, _, _ = path.rpartition(".")
    return head


def log_clamped(seconds: float, floor_s: float) -> float:
    """``log(max(seconds, floor_s))``: latencies under the floor all count as the floor."""
    return math.log(max(seconds, floor_s))


# Query text -----------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")
_PROPER = re.compile(r"(?<=[a-z0-9,;:] )[A-Z][\w'’-]*")
_SPACES = re.compile(r"\s+")


def mask_query(text: str) -> str:
    """Lower-cased text with digits as ``0`` and capitalised words inside a sentence (names,
    places) as ``N``: what stays is the request's wording."""
    masked = _PROPER.sub("N", _DIGITS.sub("0", text))
    return _SPACES.sub(" ", masked).strip().lower()


def trigrams(masked: str) -> set[str]:
    """Character trigrams of each word, with word boundaries (``" bo"``, ``"ok "``), plus
    each whole word (``"#book"``): a typo can make a new word of familiar trigrams."""
    out: set[str] = set()
    for word in masked.split(" "):
        out.add("#" + word)
        padded = f" {word} "
        out.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


# Answers ----------------------------------------------------------------------------------------

_CODE = re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+\b")
_ALNUM = re.compile(r"\b(?=\w*\d)(?=\w*[A-Za-z])[A-Za-z0-9]{5,}\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)+(?![\w])|(?<![\w.])\d{3,}(?![\w])")


def identifiers(text: str) -> set[str]:
    """Codes (``VC-UJR4HV``, ``H-4CC8C7``, ``AB12345``) and numbers with three or more digits
    or a decimal part, as they appear in ``text``."""
    found = set(_CODE.findall(text)) | set(_ALNUM.findall(text)) | set(_NUMBER.findall(text))
    found = {f for f in found if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", f)}
    return {f for f in found if not any(f != g and f in g for g in found)}


REFUSAL = re.compile(
    r"\b(can ?not|can't|can’t|unable|not able|won't|impossible|not possible|no tool|"
    r"couldn't|could not|does not exist|doesn't exist)\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """Whether an answer declines the task (and is not a question back to the user)."""
    stripped = text.strip()
    return not stripped.endswith("?") and REFUSAL.search(stripped) is not None


def error_signature(text: str) -> str:
    """The shape of an error message: its first words with names, numbers and quoted values
    masked (``"Error 0: invalid value '' for ''"``)."""
    masked = re.sub(r"'[^']*'|\"[^\"]*\"", "''", text[:160])
    masked = re.sub(r"\b\w*\d\w*\b", "0", masked)
    masked = re.sub(r"\b[A-Za-z]+_[\w]+\b", "T", masked)
    return " ".join(masked.lower().split()[:6])
