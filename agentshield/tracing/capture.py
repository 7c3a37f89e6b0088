"""Content capture and redaction: what may leave the process, and in what form.

Content (messages, tool definitions, tool arguments and results, final answers, error
messages) is **off by default**, as in the OTel GenAI conventions. It is turned on by an
explicit ``capture_content=True`` or by ``AGENTSHIELD_CAPTURE_CONTENT=true`` (see
:mod:`agentshield.settings`). When it is on, every content string passes through one
:class:`Redactor` before it is put on any span, so spans, stored files and the training rows
read back from them carry the same redacted text.

The built-in rules cover e-mail addresses, API keys (``sk-…``, ``AKIA…``, GitHub, Google,
Slack, ``api_key=…`` / ``"secret": "…"`` forms), bearer / basic credentials, JWTs and card
numbers (Luhn-checked, so order numbers and dates survive). Plain ``token`` fields are *not*
redacted by default: agents pass workflow tokens around (a new-prerequisite shift issues
one) and a training set needs them; add a :class:`RedactionRule` or a hook for your own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentshield import settings

RedactionHook = Callable[[str], str]
"""A plain function from text to redacted text; hooks run after the regex rules."""

__all__ = [
    "BUILTIN_RULES",
    "ContentPolicy",
    "RedactionHook",
    "RedactionRule",
    "Redactor",
    "luhn_valid",
]


def luhn_valid(digits: str) -> bool:
    """Whether a string of 13-19 digits (separators allowed) passes the Luhn check."""
    nums = [int(c) for c in digits if c.isdigit()]
    if not 13 <= len(nums) <= 19:
        return False
    total = 0
    for i, n in enumerate(reversed(nums)):
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


@dataclass(frozen=True)
class RedactionRule:
    """One regex rule: matches are replaced by ``[REDACTED:<name>]``.

    Args:
        name: The rule's name, shown in the replacement.
        pattern: The regex. When it has a group named ``secret``, only that group is
            replaced (keeps ``api_key=`` and quotes, so JSON stays valid).
        check: An extra test on the matched secret (e.g. :func:`luhn_valid`); a match it
            rejects is kept.
        needles: A fast pre-check: lowercase substrings one of which every match contains;
            the regex runs only on text holding one (``None``: always run it).
        min_digits: Another pre-check: skip text with fewer digits than this.
    """

    name: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    needles: tuple[str, ...] | None = None
    min_digits: int = 0

    @classmethod
    def of(
        cls,
        name: str,
        pattern: str,
        *,
        flags: int = 0,
        check: Callable[[str], bool] | None = None,
        needles: tuple[str, ...] | None = None,
        min_digits: int = 0,
    ) -> RedactionRule:
        """Build a rule from a pattern string."""
        return cls(name, re.compile(pattern, flags), check, needles, min_digits)

    def apply(self, text: str) -> str:
        """Replace every accepted match in ``text``."""
        has_group = "secret" in self.pattern.groupindex
        replacement = f"[REDACTED:{self.name}]"

        def sub(m: re.Match[str]) -> str:
            secret = m.group("secret") if has_group else m.group(0)
            if self.check is not None and not self.check(secret):
                return m.group(0)
            if not has_group:
                return replacement
            start, end = m.span("secret")
            whole = m.group(0)
            base = m.start(0)
            return whole[: start - base] + replacement + whole[end - base :]

        return self.pattern.sub(sub, text)


_SECRET_KEYS = (
    r"api[_-]?key|apikey|x-api-key|secret(?:[_-]?key)?|client[_-]?secret|password|passwd|pwd"
    r"|private[_-]?key|access[_-]?key(?:[_-]?id)?|secret[_-]?access[_-]?key|auth[_-]?token"
)

_NO_DIGITS = str.maketrans("", "", "0123456789")

# Needles make the common case cheap: most strings hold no "@", no "key", no "sk-" ...
BUILTIN_RULES: tuple[RedactionRule, ...] = (
    RedactionRule.of(
        "credential",
        rf"""(?:\b|["'])(?:{_SECRET_KEYS})["']?\s*[:=]\s*["']?(?P<secret>[^\s"',;&}}\]]{{3,}})""",
        flags=re.IGNORECASE,
        needles=("key", "secret", "pass", "pwd", "token"),
    ),
    RedactionRule.of(
        "bearer",
        r"\bbearer\s+(?P<secret>[A-Za-z0-9._~+/=-]{16,})",
        flags=re.IGNORECASE,
        needles=("bearer",),
    ),
    RedactionRule.of(
        "bearer",
        r"\bauthorization[\"']?\s*[:=]\s*[\"']?(?:basic\s+)?(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
        flags=re.IGNORECASE,
        needles=("authorization",),
    ),
    RedactionRule.of(
        "jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+", needles=("eyj",)
    ),
    RedactionRule.of("api_key", r"\bsk-(?:[A-Za-z]+-)?[A-Za-z0-9_-]{16,}", needles=("sk-",)),
    RedactionRule.of("api_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", needles=("akia", "asia")),
    RedactionRule.of(
        "api_key",
        r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    RedactionRule.of("api_key", r"\bAIza[0-9A-Za-z_-]{35}\b", needles=("aiza",)),
    RedactionRule.of("api_key", r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b", needles=("xox",)),
    RedactionRule.of(
        "email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b", needles=("@",)
    ),
    RedactionRule.of(
        "card", r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])", check=luhn_valid, min_digits=13
    ),
)

_SECRET_KEY = re.compile(rf"^(?:{_SECRET_KEYS})$", re.IGNORECASE)


class Redactor:
    """Regex rules plus callable hooks, applied to every content string.

    Args:
        rules: Extra rules, applied after the built-ins.
        hooks: Plain functions ``text -> text``, applied after all rules.
        builtins: Whether to apply :data:`BUILTIN_RULES` first.
    """

    def __init__(
        self,
        *,
        rules: Iterable[RedactionRule] = (),
        hooks: Iterable[RedactionHook] = (),
        builtins: bool = True,
    ) -> None:
        self.rules: tuple[RedactionRule, ...] = (*(BUILTIN_RULES if builtins else ()), *rules)
        self.hooks: tuple[RedactionHook, ...] = tuple(hooks)
        # One scan finds every needle present (a lookahead, so overlapping needles count);
        # only the rules whose needles occur run, plus the rules without needles.
        self._always = tuple(i for i, r in enumerate(self.rules) if r.needles is None)
        self._by_needle: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for needle in rule.needles or ():
                self._by_needle.setdefault(needle, []).append(i)
        needles = sorted(self._by_needle, key=len, reverse=True)
        self._needles = (
            re.compile(f"(?=({'|'.join(map(re.escape, needles))}))") if needles else None
        )

    def __call__(self, text: str) -> str:
        """Redact one string."""
        present = self._needles.findall(text.lower()) if self._needles is not None else ()
        order: Iterable[int] = (
            self._always
            if not present
            else sorted({*self._always, *(i for n in present for i in self._by_needle[n])})
        )
        digits = -1
        for i in order:
            rule = self.rules[i]
            if rule.min_digits:
                if digits < 0:
                    digits = len(text) - len(text.translate(_NO_DIGITS))
                if digits < rule.min_digits:
                    continue
            text = rule.apply(text)
        for hook in self.hooks:
            text = hook(text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Redact a JSON-like value deeply: every string, and every value under a secret key."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {
                str(k): "[REDACTED:credential]"
                if _SECRET_KEY.match(str(k)) and value[k] not in (None, "")
                else self.redact_value(value[k])
                for k in value
            }
        if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
            return [self.redact_value(v) for v in value]
        return value


@dataclass(frozen=True)
class ContentPolicy:
    """Whether content is captured, and the redactor every content string passes through.

    Build one with :meth:`resolve`; the Recorder holds one and uses it for every span.
    """

    capture: bool = False
    redactor: Redactor | None = field(default_factory=Redactor)

    @classmethod
    def resolve(
        cls, capture_content: bool | None = None, redactor: Redactor | bool | None = True
    ) -> ContentPolicy:
        """The policy for an explicit argument, else ``AGENTSHIELD_CAPTURE_CONTENT``.

        Args:
            capture_content: ``True``/``False`` to decide; ``None`` to read the environment.
            redactor: A :class:`Redactor`; ``True`` for the built-in one; ``False`` or
                ``None`` for none (content leaves unredacted).
        """
        capture = settings.capture_content() if capture_content is None else capture_content
        chosen = Redactor() if redactor is True else (redactor or None)
        return cls(capture=capture, redactor=chosen)

    def scrub(self, text: str) -> str:
        """Redact ``text`` (whether or not capture is on: used for free-text metadata)."""
        return self.redactor(text) if self.redactor is not None else text

    def text(self, text: str) -> str | None:
        """The content string to record, or ``None`` when capture is off."""
        return self.scrub(text) if self.capture else None

    def json(self, value: Any) -> str | None:
        """A JSON-like value redacted deeply and serialised, or ``None`` when capture is off."""
        if not self.capture:
            return None
        if self.redactor is not None:
            value = self.redactor.redact_value(value)
        return json.dumps(value, ensure_ascii=False, default=str)
