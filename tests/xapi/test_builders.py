"""Each domain event builds a statement that our models, Ralph's models and our xAPI Profile accept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from ralph.models.xapi.base.statements import BaseXapiStatement

from tests.xapi.samples import (
    ENROLMENT,
    ISSUER,
    MENTEE,
    MENTOR,
    WHEN,
    build_all_events,
    ids,
    make_context,
    make_launch,
)
from xapi import builders
from xapi import vocabulary as v
from xapi.events import ActorPrivacy, ScoreInput
from xapi.exceptions import StatementBuildError
from xapi.models import Statement
from xapi.profile import check_statement_against_profile, matching_templates
from xapi.vocabulary import DEFAULT_VOCABULARY, Vocabulary

EVENTS = build_all_events()
EXPECTED_VERBS = {
    "lti-launch": v.LAUNCHED,
    "lti-launch+program": v.LAUNCHED,
    "profile-completed": v.COMPLETED,
    "match-published": DEFAULT_VOCABULARY.matched,
    "rematch-requested": DEFAULT_VOCABULARY.requested_rematch,
    "agreement-accepted": v.ACCEPTED,
    "checkin-requested": DEFAULT_VOCABULARY.requested_checkin,
    "session-logged": v.ATTENDED,
    "session-confirmed": v.ATTENDED,
    "goal-set": DEFAULT_VOCABULARY.set_goal,
    "goal-completed": v.COMPLETED,
    "assessment-submitted": v.SCORED,
    "survey-answered": v.ANSWERED,
    "voiding": v.VOIDED,
    "mentor-requested": v.REQUESTED,
    "mentor-request-accepted": v.ACCEPTED,
    "mentor-request-declined": v.REJECTED,
    "mentor-request-approved": v.APPROVED,
    "mentor-request-cancelled": v.CANCELLED,
    "mentor-request-withdrawn": v.RETRACTED,
    "mentor-request-closed": v.CANCELLED,
    "mentor-request-expired": DEFAULT_VOCABULARY.expired,
}
# Logged and confirmed attendance share every determining property, so one template covers both; so do a
# staff cancel and the closing of a request whose mentee was matched meanwhile (only the actor differs).
EXPECTED_TEMPLATE = {
    "lti-launch+program": "lti-launch",
    "session-logged": "mentoring-session-attended",
    "session-confirmed": "mentoring-session-attended",
    "mentor-request-closed": "mentor-request-cancelled",
}


def all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *all_strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in all_strings(item)]
    return []


def test_every_event_has_a_builder_output() -> None:
    assert set(EVENTS) == set(EXPECTED_VERBS)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_statement_has_the_event_verb(event: str) -> None:
    assert EVENTS[event].verb.id == EXPECTED_VERBS[event]
    assert EVENTS[event].verb.display == {"en-US": DEFAULT_VOCABULARY.display_name(EXPECTED_VERBS[event])}


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_statement_passes_ralphs_independent_model(event: str) -> None:
    data = EVENTS[event].to_dict()
    checked = BaseXapiStatement.model_validate(data)
    assert str(checked.id) == data["id"]


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_statement_matches_its_profile_template(event: str, profile: dict[str, Any]) -> None:
    data = EVENTS[event].to_dict()
    assert check_statement_against_profile(data, profile) == []
    template_ids = [t["id"] for t in matching_templates(data, profile)]
    expected = EXPECTED_TEMPLATE.get(event, event)
    assert template_ids == [DEFAULT_VOCABULARY.iri("profile", "v1", "templates", expected)]


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_statement_survives_a_round_trip_through_our_model(event: str) -> None:
    raw = EVENTS[event].to_json_bytes()
    assert Statement.model_validate_json(raw).to_json_bytes() == raw


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_common_context(event: str) -> None:
    data = EVENTS[event].to_dict()
    context = data["context"]
    activities = context["contextActivities"]
    course = activities["parent"][0]
    assert course["id"].startswith("https://mentor.example.edu/xapi/activities/course/")
    assert course["definition"]["type"] == v.COURSE
    assert activities["category"] == [
        {
            "objectType": "Activity",
            "id": DEFAULT_VOCABULARY.profile_version,
            "definition": {"type": v.XAPI_PROFILE},
        }
    ]
    assert context["language"] == "en-US"  # normalised from the LMS's en_US
    extensions = context["extensions"]
    assert extensions[DEFAULT_VOCABULARY.lti_issuer] == ISSUER
    assert extensions[DEFAULT_VOCABULARY.lti_deployment_id] == "1:6fd1b1f0"
    assert extensions[DEFAULT_VOCABULARY.lti_context_id] == "ctx-biology-101"
    assert extensions[DEFAULT_VOCABULARY.lti_resource_link_id] == "rl-7"
    if event == "lti-launch":
        # A launch outside any program has no enrolment to register.
        assert "registration" not in context
        assert "grouping" not in activities
    else:
        assert context["registration"] == str(ENROLMENT.registration)
        program = activities["grouping"][0]
        assert program["id"] == "https://mentor.example.edu/xapi/activities/program/peer-2026"
        assert program["definition"]["type"] == DEFAULT_VOCABULARY.program
    if event == "voiding":
        assert "platform" not in context
        assert data["object"] == {"objectType": "StatementRef", "id": str(builders.event_statement_id("goal:1:set"))}
    else:
        assert context["platform"] == "Canvas"


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_default_identity_is_pseudonymous_and_iris_carry_no_personal_data(event: str) -> None:
    data = EVENTS[event].to_dict()
    assert "name" not in data["actor"] and "mbox" not in data["actor"]
    assert data["actor"]["account"]["homePage"] == ISSUER
    iris = [s for s in all_strings(data) if s.startswith(("http://", "https://"))]
    for secret in (MENTEE.sub, MENTOR.sub, "Ada", "Grace", "ada@", "grace@"):
        assert not any(secret in iri for iri in iris), secret
    assert all(secret not in json.dumps(data) for secret in ("Ada", "Grace", "@example.edu"))


def test_mentor_is_the_instructor_where_one_fits() -> None:
    for event in ("match-published", "rematch-requested", "agreement-accepted", "session-logged", "session-confirmed"):
        instructor = EVENTS[event].to_dict()["context"]["instructor"]
        assert instructor == {"objectType": "Agent", "account": {"homePage": ISSUER, "name": MENTOR.sub}}
    assert EVENTS["match-published"].to_dict()["actor"]["account"]["name"] == MENTEE.sub


def test_same_inputs_give_identical_bytes() -> None:
    again = build_all_events()
    assert {k: s.to_json_bytes() for k, s in again.items()} == {k: s.to_json_bytes() for k, s in EVENTS.items()}


def test_statement_ids_are_stable_per_event_and_distinct_across_events() -> None:
    assert builders.event_statement_id("match:1:published") == builders.event_statement_id("match:1:published")
    assert builders.event_statement_id("match:1:published") != builders.event_statement_id("match:2:published")
    assert builders.event_statement_id("x").version == 5
    assert len({s.id for s in EVENTS.values()}) == len(EVENTS)
    # Pinned: if this value changes, every backfill would duplicate statements in the LRS.
    assert builders.event_statement_id("match:1:published") == UUID("17513137-27eb-537f-82cc-909bbad7fa0b")
    with pytest.raises(StatementBuildError):
        builders.event_statement_id("")


def test_builders_use_the_given_timestamp_not_the_clock() -> None:
    assert {s.to_dict()["timestamp"] for s in EVENTS.values()} == {"2026-03-14T15:09:26.535Z"}
    assert all(s.timestamp == WHEN.replace(microsecond=535000) for s in EVENTS.values())


def test_privacy_options_add_name_and_use_email_only_when_enabled() -> None:
    named = make_context(privacy=ActorPrivacy(include_name=True))
    actor = builders.build_goal_set(named, ENROLMENT, actor=MENTEE, goal_ref="g-1", **ids("p:1")).to_dict()["actor"]
    assert actor == {"objectType": "Agent", "name": "Ada Lovelace", "account": {"homePage": ISSUER, "name": MENTEE.sub}}

    email = make_context(privacy=ActorPrivacy(use_email=True))
    statement = builders.build_match_published(
        email, ENROLMENT, mentee=MENTEE, mentor=MENTOR, match_ref="m-1", **ids("p:2")
    ).to_dict()
    assert statement["actor"] == {"objectType": "Agent", "mbox": "mailto:ada@example.edu"}
    assert statement["context"]["instructor"] == {"objectType": "Agent", "mbox": "mailto:grace@example.edu"}

    # Without an email on file the account stays: exactly one identifier either way.
    no_email = builders.agent_for(MENTOR.__class__(issuer=ISSUER, sub="s-9"), ActorPrivacy(use_email=True))
    assert no_email.account is not None and no_email.mbox is None


def test_launch_statement_carries_the_roles_of_that_launch_only() -> None:
    roles_key = DEFAULT_VOCABULARY.lti_roles
    assert EVENTS["lti-launch"].to_dict()["context"]["extensions"][roles_key] == [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
    ]
    assert all(roles_key not in EVENTS[e].to_dict()["context"]["extensions"] for e in EVENTS if "launch" not in e)
    link = EVENTS["lti-launch"].to_dict()["object"]
    assert link["definition"]["type"] == v.LINK
    assert "rl-7" not in link["id"]


def test_launch_without_resource_link_is_refused() -> None:
    ctx = make_context(launch=make_launch(resource_link_id=None))
    with pytest.raises(StatementBuildError, match="resource link"):
        builders.build_lti_launch(ctx, actor=MENTEE, **ids("l:x"))


@pytest.mark.parametrize("ref", ["", "has space", "a/b", "ada@example.edu", "x" * 129])
def test_refs_unfit_for_an_iri_are_refused(ref: str) -> None:
    with pytest.raises(StatementBuildError):
        builders.build_goal_set(make_context(), ENROLMENT, actor=MENTEE, goal_ref=ref, **ids("r:x"))


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("en_US", "en-US"),
        ("fr", "fr"),
        ("de-CH", "de-CH"),
        ("", None),
        ("??", None),
        ("en_us_wp", "en-US"),  # Moodle Workplace: the "wp" is no subtag
        ("EN_us", "en-US"),
        ("pt_br", "pt-BR"),
        ("zh_hant_tw", "zh-Hant-TW"),
        ("de_DE.UTF-8@euro", "de-DE"),
        ("es-419", "es-419"),
        ("sr_Latn_RS_x", "sr-Latn-RS"),
        ("en--US", "en"),
        (" fr_CA ", "fr-CA"),
        ("C", None),
        ("POSIX", None),
        ("1234", None),
        ("_en", None),
    ],
)
def test_launch_locale_becomes_the_context_language(locale: str, language: str | None) -> None:
    ctx = make_context(launch=make_launch(locale=locale))
    context = builders.build_goal_set(ctx, ENROLMENT, actor=MENTEE, goal_ref="g-1", **ids("loc")).to_dict()["context"]
    assert context.get("language") == language


def test_platform_is_omitted_when_the_lms_is_unknown() -> None:
    ctx = make_context(launch=make_launch(platform=None))
    context = builders.build_goal_set(ctx, ENROLMENT, actor=MENTEE, goal_ref="g-1", **ids("pl")).to_dict()["context"]
    assert "platform" not in context


def test_assessment_scores() -> None:
    result = EVENTS["assessment-submitted"].to_dict()["result"]
    assert result["score"] == {"scaled": 0.7, "raw": 7, "min": 0, "max": 10}
    assert result["success"] is True and result["completion"] is True
    assert result["extensions"] == {DEFAULT_VOCABULARY.skill_scores: {"communication": 3, "listening": 4.5}}

    only_skills = builders.build_assessment_submitted(
        make_context(), ENROLMENT, actor=MENTEE, assessment_ref="a-2", skill_scores={"listening": 2}, **ids("a:2")
    )
    assert only_skills.result is not None and only_skills.result.score is None

    odd_range = builders.build_assessment_submitted(
        make_context(), ENROLMENT, actor=MENTEE, assessment_ref="a-3", score=ScoreInput(2, 1, 4), **ids("a:3")
    )
    assert odd_range.to_dict()["result"]["score"]["scaled"] == pytest.approx(1 / 3, abs=1e-4)

    with pytest.raises(StatementBuildError):
        builders.build_assessment_submitted(make_context(), ENROLMENT, actor=MENTEE, assessment_ref="a-4", **ids("a:4"))
    with pytest.raises(StatementBuildError, match="raw"):
        builders.build_assessment_submitted(
            make_context(), ENROLMENT, actor=MENTEE, assessment_ref="a-5", score=ScoreInput(11, 0, 10), **ids("a:5")
        )


def test_session_duration_is_sent_verbatim_and_invalid_ones_are_refused() -> None:
    ctx = make_context()
    logged = builders.build_mentoring_session_logged(
        ctx,
        ENROLMENT,
        participant=MENTEE,
        mentor=MENTOR,
        mentoring_session_ref="s-2",
        duration="PT45M00S",
        **ids("s:2"),
    )
    assert b'"duration":"PT45M00S"' in logged.to_json_bytes()
    with pytest.raises(ValueError, match="duration"):
        builders.build_mentoring_session_logged(
            ctx,
            ENROLMENT,
            participant=MENTEE,
            mentor=MENTOR,
            mentoring_session_ref="s-3",
            duration="45 min",
            **ids("s:3"),
        )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=45), "PT45M"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(hours=26), "PT26H"),
        (timedelta(seconds=1.5), "PT1.5S"),
        (timedelta(0), "PT0S"),
    ],
)
def test_iso_duration(delta: timedelta, text: str) -> None:
    assert builders.iso_duration(delta) == text


def test_future_timestamps_are_refused_even_from_builders() -> None:
    with pytest.raises(ValueError, match="future"):
        builders.build_goal_set(
            make_context(),
            ENROLMENT,
            actor=MENTEE,
            goal_ref="g-1",
            statement_id=builders.event_statement_id("f"),
            timestamp=datetime.now(UTC) + timedelta(hours=1),
        )


def test_a_custom_vocabulary_base_moves_our_iris_and_still_matches_the_rebased_profile() -> None:
    from xapi.profile import load_profile

    vocabulary = Vocabulary(base="https://lrs-iris.university.example/mentoring/")
    events = build_all_events(make_context(vocabulary=vocabulary))
    profile = load_profile(vocabulary=vocabulary)
    for name, statement in events.items():
        data = statement.to_dict()
        assert "mentor-lti.example" not in json.dumps(data), name
        assert check_statement_against_profile(data, profile) == [], name
    assert events["match-published"].verb.id == "https://lrs-iris.university.example/mentoring/verbs/matched"
