"""The statement models accept well-formed xAPI 1.0.3 and refuse each thing the spec forbids."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls
from pydantic import ValidationError

from xapi.models import MAX_CLOCK_SKEW, Statement, is_iri, render_timestamp

EXT = "https://mentor-lti.example/xapi/extensions/skill"
DELETE = object()


def valid_statement() -> dict[str, Any]:
    return {
        "id": "9f0d7a9e-3d1c-4b7a-9a53-3f1d2e4c5b6a",
        "actor": {
            "objectType": "Agent",
            "name": "Ada",
            "account": {"homePage": "https://canvas.example.edu", "name": "a6c2e0f4"},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended"}},
        "object": {
            "objectType": "Activity",
            "id": "https://mentor.example.edu/xapi/activities/meeting/s-1",
            "definition": {
                "type": "http://adlnet.gov/expapi/activities/meeting",
                "name": {"en-US": "Mentoring session"},
                "extensions": {EXT: "communication"},
            },
        },
        "result": {
            "score": {"scaled": 0.7, "raw": 7, "min": 0, "max": 10},
            "success": True,
            "completion": True,
            "response": "weekly",
            "duration": "PT45M",
            "extensions": {EXT: {"communication": 3}},
        },
        "context": {
            "registration": "2b1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "instructor": {"objectType": "Agent", "account": {"homePage": "https://canvas.example.edu", "name": "m"}},
            "contextActivities": {
                "parent": [{"id": "https://mentor.example.edu/xapi/activities/course/c-1"}],
                "grouping": [{"id": "https://mentor.example.edu/xapi/activities/program/p-1"}],
                "category": [
                    {
                        "id": "https://mentor-lti.example/xapi/profile/v1",
                        "definition": {"type": "http://adlnet.gov/expapi/activities/profile"},
                    }
                ],
            },
            "platform": "Canvas",
            "language": "en-US",
            "extensions": {EXT: "communication"},
        },
        "timestamp": "2025-06-01T10:00:00.250Z",
    }


def changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    statement = copy.deepcopy(valid_statement())
    target = statement
    for key in path[:-1]:
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return statement


def test_a_complete_statement_is_accepted_and_keeps_its_content() -> None:
    data = valid_statement()
    statement = Statement.model_validate(data)
    assert statement.to_dict() == {
        **data,
        "context": {
            **data["context"],
            "contextActivities": {
                # The LRS default objectType is written out, so what we send is explicit.
                key: [{"objectType": "Activity", **activity} for activity in activities]
                for key, activities in data["context"]["contextActivities"].items()
            },
        },
    }


def test_a_minimal_statement_is_accepted_without_optional_parts() -> None:
    data = valid_statement()
    for key in ("result", "context"):
        del data[key]
    del data["object"]["definition"]
    assert set(Statement.model_validate(data).to_dict()) == {"id", "actor", "verb", "object", "timestamp"}


class future:
    """A timestamp `delta` ahead of the moment the test runs (not of import time: a long suite would age it)."""

    def __init__(self, delta: timedelta) -> None:
        self.delta = delta

    def __str__(self) -> str:
        return (datetime.now(UTC) + self.delta).isoformat()


REFUSED: list[tuple[str, tuple[str, ...], Any, str]] = [
    # Verb and extension ids must be absolute IRIs.
    ("verb id without scheme", ("verb", "id"), "attended", "absolute IRI"),
    ("verb id relative path", ("verb", "id"), "/verbs/attended", "absolute IRI"),
    ("verb id http without host", ("verb", "id"), "http://", "absolute IRI"),
    ("verb id with a space", ("verb", "id"), "http://adlnet.gov/expapi/verbs/at tended", "absolute IRI"),
    ("verb id with a bad escape", ("verb", "id"), "http://adlnet.gov/expapi/verbs/%zz", "absolute IRI"),
    ("verb id empty", ("verb", "id"), "", "absolute IRI"),
    ("activity id not an IRI", ("object", "id"), "meeting-1", "absolute IRI"),
    ("context extension key not an IRI", ("context", "extensions"), {"skill": "x"}, "absolute IRI"),
    ("result extension key not an IRI", ("result", "extensions"), {"score by skill": {"a": 1}}, "absolute IRI"),
    ("activity extension key not an IRI", ("object", "definition", "extensions"), {"k": 1}, "absolute IRI"),
    # UUIDs in the canonical RFC 4122 form only.
    ("id not a uuid", ("id",), "not-a-uuid", "RFC 4122"),
    ("id without hyphens", ("id",), "9f0d7a9e3d1c4b7a9a533f1d2e4c5b6a", "RFC 4122"),
    ("id in braces", ("id",), "{9f0d7a9e-3d1c-4b7a-9a53-3f1d2e4c5b6a}", "RFC 4122"),
    ("id nil uuid", ("id",), "00000000-0000-0000-0000-000000000000", "RFC 4122"),
    ("id as a number", ("id",), 12345, "RFC 4122"),
    ("registration not a uuid", ("context", "registration"), "enrolment-42", "RFC 4122"),
    # Timestamps: a time zone, ISO 8601, not in the future.
    ("timestamp without time zone", ("timestamp",), "2025-06-01T10:00:00", "time zone"),
    ("timestamp not ISO 8601", ("timestamp",), "yesterday", "ISO 8601 timestamp"),
    ("timestamp as epoch seconds", ("timestamp",), 1_750_000_000, "ISO 8601 timestamp"),
    ("timestamp an hour ahead", ("timestamp",), future(timedelta(hours=1)), "future"),
    ("timestamp just past the skew", ("timestamp",), future(MAX_CLOCK_SKEW + timedelta(seconds=30)), "future"),
    ("timestamp missing", ("timestamp",), DELETE, "Field required"),
    # Durations.
    ("duration without P", ("result", "duration"), "45M", "ISO 8601 duration"),
    ("duration P alone", ("result", "duration"), "P", "ISO 8601 duration"),
    ("duration PT alone", ("result", "duration"), "PT", "ISO 8601 duration"),
    ("duration hours before T", ("result", "duration"), "P1H", "ISO 8601 duration"),
    ("duration negative", ("result", "duration"), "-PT5M", "ISO 8601 duration"),
    ("duration lowercase", ("result", "duration"), "pt45m", "ISO 8601 duration"),
    ("duration trailing T", ("result", "duration"), "P1DT", "ISO 8601 duration"),
    ("duration as seconds", ("result", "duration"), 2700, "valid string"),
    # Scores.
    ("scaled above 1", ("result", "score", "scaled"), 1.5, "less than or equal to 1"),
    ("scaled below -1", ("result", "score", "scaled"), -1.01, "greater than or equal to -1"),
    ("scaled a boolean", ("result", "score", "scaled"), True, "valid integer"),
    ("scaled a string", ("result", "score", "scaled"), "0.5", "valid integer"),
    ("raw above max", ("result", "score", "raw"), 11, "raw must not exceed"),
    ("raw below min", ("result", "score", "raw"), -1, "raw must not be below"),
    ("min above max", ("result", "score", "min"), 20, "min must not exceed"),
    # Nulls, anywhere.
    ("null result", ("result",), None, "null"),
    ("null success", ("result", "success"), None, "null"),
    ("null platform", ("context", "platform"), None, "null"),
    ("null actor name", ("actor", "name"), None, "null"),
    ("null verb display", ("verb", "display"), None, "null"),
    ("null extension value", ("context", "extensions"), {EXT: None}, "null"),
    ("null nested in an extension", ("result", "extensions"), {EXT: {"a": [1, None]}}, "null"),
    ("null in a language map", ("verb", "display"), {"en-US": None}, "valid string"),
    # Empty objects, anywhere.
    ("empty result", ("result",), {}, "empty object"),
    ("empty context", ("context",), {}, "empty object"),
    ("empty score", ("result", "score"), {}, "empty object"),
    ("empty context extensions", ("context", "extensions"), {}, "at least 1 item"),
    ("empty result extensions", ("result", "extensions"), {}, "at least 1 item"),
    ("empty object nested in an extension", ("context", "extensions"), {EXT: {"a": {}}}, "empty object"),
    ("empty contextActivities", ("context", "contextActivities"), {}, "empty object"),
    ("empty parent list", ("context", "contextActivities", "parent"), [], "at least 1 item"),
    ("empty activity definition", ("object", "definition"), {}, "empty object"),
    ("empty verb display", ("verb", "display"), {}, "at least 1 item"),
    ("empty string in a language map", ("verb", "display"), {"en-US": ""}, "at least 1 character"),
    ("empty response", ("result", "response"), "", "at least 1 character"),
    # Actors need exactly one inverse functional identifier.
    ("actor without identifier", ("actor", "account"), DELETE, "exactly one"),
    ("actor with account and mbox", ("actor", "mbox"), "mailto:ada@example.edu", "exactly one"),
    ("actor with account and openid", ("actor", "openid"), "https://openid.example/ada", "exactly one"),
    ("mbox without mailto", ("actor",), {"objectType": "Agent", "mbox": "ada@example.edu"}, "mailto"),
    ("sha1 not hex", ("actor",), {"objectType": "Agent", "mbox_sha1sum": "not-a-sha1"}, "SHA-1"),
    ("account home page not a URL", ("actor", "account", "homePage"), "canvas", "absolute IRI"),
    ("account without name", ("actor", "account"), {"homePage": "https://canvas.example.edu"}, "Field required"),
    ("actor a Group", ("actor", "objectType"), "Group", "'Agent'"),
    ("instructor with two identifiers", ("context", "instructor", "mbox"), "mailto:m@example.edu", "exactly one"),
    # Language tags.
    ("language with underscore", ("context", "language"), "en_US", "RFC 5646"),
    ("language not a tag", ("context", "language"), "English!", "RFC 5646"),
    ("display map key not a tag", ("verb", "display"), {"en_US": "attended"}, "RFC 5646"),
    # Unknown or LRS-owned fields.
    ("version in the body", ("version",), "1.0.3", "Extra inputs"),
    ("stored in the body", ("stored",), "2025-06-01T10:00:00.000Z", "Extra inputs"),
    (
        "authority in the body",
        ("authority",),
        {"objectType": "Agent", "mbox": "mailto:lrs@example.edu"},
        "Extra inputs",
    ),
    ("unknown verb field", ("verb", "label"), "attended", "Extra inputs"),
    ("unknown result field", ("result", "grade"), "A", "Extra inputs"),
    # Spec rules across fields.
    ("voided verb on an activity", ("verb", "id"), "http://adlnet.gov/expapi/verbs/voided", "StatementRef"),
    ("object of unknown type", ("object", "objectType"), "Agent", "'Activity'"),
]


@pytest.mark.parametrize(("path", "value", "reason"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_forbidden_statements_are_refused(path: tuple[str, ...], value: Any, reason: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(reason)):
        Statement.model_validate(changed(path, str(value) if isinstance(value, future) else value))


def test_platform_is_refused_when_the_object_is_a_statement_ref() -> None:
    data = valid_statement()
    data["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}}
    data["object"] = {"objectType": "StatementRef", "id": "2b1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}
    del data["result"]
    with pytest.raises(ValidationError, match="platform"):
        Statement.model_validate(data)
    del data["context"]["platform"]
    assert Statement.model_validate(data).to_dict()["object"]["objectType"] == "StatementRef"


def test_statement_ref_needs_its_object_type() -> None:
    data = changed(("object",), {"id": "2b1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"})
    with pytest.raises(ValidationError):
        Statement.model_validate(data)


@pytest.mark.parametrize("duration", ["PT45M", "PT45M00S", "P1DT2H", "PT0.5S", "P2W", "P1Y2M3DT4H5M6.789S", "PT1H30M"])
def test_valid_durations_are_kept_exactly_as_given(duration: str) -> None:
    statement = Statement.model_validate(changed(("result", "duration"), duration))
    assert statement.to_dict()["result"]["duration"] == duration
    assert f'"duration":"{duration}"'.encode() in statement.to_json_bytes()


@pytest.mark.parametrize(
    "iri",
    [
        "urn:uuid:2b1f3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "https://example.edu/activities/caf%C3%A9",
        "https://example.edu/activités/café",
        "http://example.edu:8080/a?b=c#d",
        "tag:example.edu,2026:mentoring",
    ],
)
def test_iri_forms_are_accepted_as_activity_ids(iri: str) -> None:
    assert Statement.model_validate(changed(("object", "id"), iri)).object.id == iri


@pytest.mark.parametrize("language", ["en", "en-US", "de-CH", "zh-Hant-TW", "es-419", "x-klingon"])
def test_language_tags_are_accepted(language: str) -> None:
    statement = Statement.model_validate(changed(("context", "language"), language))
    assert statement.context is not None
    assert statement.context.language == language


def test_timestamps_are_rendered_in_utc_with_milliseconds() -> None:
    statement = Statement.model_validate(changed(("timestamp",), "2025-06-01T12:00:00.123456+02:00"))
    assert statement.to_dict()["timestamp"] == "2025-06-01T10:00:00.123Z"
    whole_second = Statement.model_validate(changed(("timestamp",), "2025-06-01T10:00:00Z"))
    assert whole_second.to_dict()["timestamp"] == "2025-06-01T10:00:00.000Z"


def test_a_timestamp_within_the_clock_skew_is_accepted() -> None:
    Statement.model_validate(changed(("timestamp",), str(future(MAX_CLOCK_SKEW / 2))))


def test_canonical_bytes_are_sorted_compact_and_stable() -> None:
    statement = Statement.model_validate(valid_statement())
    raw = statement.to_json_bytes()
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert b" " not in raw.replace(b"Mentoring session", b"")
    assert b"null" not in raw
    assert b'"version"' not in raw
    # Re-validating what we send gives back the very same bytes: a retry never drifts.
    assert Statement.model_validate_json(raw).to_json_bytes() == raw
    assert Statement.model_validate(statement.to_dict()).to_json_bytes() == raw


def test_models_are_immutable() -> None:
    statement = Statement.model_validate(valid_statement())
    with pytest.raises(ValidationError):
        statement.timestamp = datetime.now(UTC)


@given(
    st.datetimes(
        # Hypothesis takes naive bounds and applies `timezones` itself.
        min_value=datetime(1970, 1, 2),  # noqa: DTZ001
        max_value=datetime(2025, 12, 31),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
    )
)
def test_any_aware_past_timestamp_renders_as_utc_milliseconds(moment: datetime) -> None:
    statement = Statement.model_validate(changed(("timestamp",), moment))
    rendered = statement.to_dict()["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rendered)
    parsed = datetime.fromisoformat(rendered)
    assert timedelta(0) <= moment - parsed < timedelta(milliseconds=1)
    assert render_timestamp(statement.timestamp) == rendered


@given(urls())
def test_urls_are_iris(url: str) -> None:
    assert is_iri(url)


@pytest.mark.parametrize(
    "text", ["", "no-scheme", "1http://x.example", "http//x.example", "https://", "http://x.example/a b", "a:"]
)
def test_non_iris_are_recognised(text: str) -> None:
    assert not is_iri(text)
