"""Content capture switches and the redactor's rules and hooks."""

from __future__ import annotations

import json

import pytest

from agentshield import settings
from agentshield.errors import ConfigError
from agentshield.tracing.capture import ContentPolicy, RedactionRule, Redactor, luhn_valid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", False), ("true", True), ("1", True), ("YES", True), ("off", False), ("0", False)],
)
def test_capture_env_var(raw: str, expected: bool) -> None:
    assert settings.capture_content({settings.CAPTURE_CONTENT_ENV: raw}) is expected


def test_capture_env_var_rejects_non_booleans() -> None:
    with pytest.raises(ConfigError, match="AGENTSHIELD_CAPTURE_CONTENT"):
        settings.capture_content({settings.CAPTURE_CONTENT_ENV: "maybe"})


def test_policy_is_off_by_default_and_argument_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.CAPTURE_CONTENT_ENV, raising=False)
    assert ContentPolicy.resolve().capture is False
    monkeypatch.setenv(settings.CAPTURE_CONTENT_ENV, "true")
    assert ContentPolicy.resolve().capture is True
    assert ContentPolicy.resolve(False).capture is False
    assert ContentPolicy().text("hello") is None
    assert ContentPolicy().json({"a": 1}) is None


def test_settings_trace_dir_and_endpoint() -> None:
    assert settings.trace_dir({}) == settings.DEFAULT_TRACE_DIR
    assert str(settings.trace_dir({settings.TRACE_DIR_ENV: "/x/y"})) == "/x/y"
    assert settings.otlp_traces_endpoint({}) is None
    env = {settings.OTLP_ENDPOINT_ENV: "http://c:4318"}
    assert settings.otlp_traces_endpoint(env) == "http://c:4318"


@pytest.mark.parametrize(
    ("text", "secret", "rule"),
    [
        ("mail me at jane.doe+x@example.co.uk now", "jane.doe+x@example.co.uk", "email"),
        ("key sk-proj-AbCdEf0123456789xyzXYZ ok", "sk-proj-AbCdEf0123456789xyzXYZ", "api_key"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghijklmnop", "api_key"),
        ("Authorization: Bearer eyJhbGciOi.J9abc-def_ghiXYZ", "eyJhbGciOi.J9abc", "bearer"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA", "bearer"),
        ("api_key=abc123XYZ&x=1", "abc123XYZ", "credential"),
        ('{"password": "hunter22"}', "hunter22", "credential"),
        ("client_secret: s3cr3t-v4lue", "s3cr3t-v4lue", "credential"),
        ("card 4111 1111 1111 1111 exp", "4111 1111 1111 1111", "card"),
        ("card 5500-0000-0000-0004.", "5500-0000-0000-0004", "card"),
    ],
)
def test_builtin_rules(text: str, secret: str, rule: str) -> None:
    out = Redactor()(text)
    assert secret not in out
    assert f"[REDACTED:{rule}]" in out


@pytest.mark.parametrize(
    "text",
    [
        "order 1234 5678 9012 3456 shipped",  # 16 digits, fails Luhn
        "booked for 2026-12-03 at 19:00, code BK-p1-2",
        '{"access_token": "tok-3fa9c1d2", "tool": "book_table"}',  # workflow tokens stay
        "basic information about the bearer of this note",
    ],
)
def test_builtin_rules_leave_ordinary_text(text: str) -> None:
    assert Redactor()(text) == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("4111")


def test_redacted_json_stays_valid() -> None:
    text = json.dumps({"api_key": "abcdef123", "who": "a@b.io", "n": [1, "sk-" + "x" * 20]})
    assert json.loads(Redactor()(text))["api_key"] == "[REDACTED:credential]"


def test_custom_rules_hooks_and_no_builtins() -> None:
    employee = RedactionRule.of("employee", r"\bEMP-\d{6}\b")
    red = Redactor(rules=[employee], hooks=[lambda s: s.replace("Lyon", "<city>")])
    assert red("EMP-123456 in Lyon, x@y.org") == ("[REDACTED:employee] in <city>, [REDACTED:email]")
    assert Redactor(builtins=False)("x@y.org") == "x@y.org"


def test_group_rules_keep_the_key() -> None:
    rule = RedactionRule.of("pin", r"pin=(?P<secret>\d+)")
    assert rule.apply("pin=1234;") == "pin=[REDACTED:pin];"


def test_redact_value_is_deep_and_key_aware() -> None:
    value = {
        "query": "cafe",
        "password": "pw",
        "nested": [{"email": "a@b.io"}],
        "n": 3,
        "secret_key": None,
    }
    out = Redactor().redact_value(value)
    assert out == {
        "query": "cafe",
        "password": "[REDACTED:credential]",
        "nested": [{"email": "[REDACTED:email]"}],
        "n": 3,
        "secret_key": None,
    }


def test_policy_applies_redaction_to_text_and_json() -> None:
    policy = ContentPolicy(capture=True, redactor=Redactor())
    assert policy.text("x a@b.io") == "x [REDACTED:email]"
    assert json.loads(policy.json({"token": "a@b.io"}) or "") == {"token": "[REDACTED:email]"}
    assert ContentPolicy(capture=True, redactor=None).text("a@b.io") == "a@b.io"
    assert ContentPolicy.resolve(True, redactor=False).redactor is None
