"""The xAPI Profile document agrees with the vocabulary, and the template checker finds what is wrong."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.xapi.samples import build_all_events
from xapi import profile as profile_module
from xapi import vocabulary as v
from xapi.exceptions import ProfileError
from xapi.profile import (
    check_statement_against_profile,
    default_profile_path,
    jsonpath_values,
    load_profile,
)
from xapi.vocabulary import DEFAULT_BASE, DEFAULT_VOCABULARY, Vocabulary

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_IRIS = {
    v.LAUNCHED,
    v.REGISTERED,
    v.ATTENDED,
    v.COMPLETED,
    v.SCORED,
    v.PASSED,
    v.FAILED,
    v.COMMENTED,
    v.VOIDED,
    v.ANSWERED,
    v.MENTORED,
    v.ACCEPTED,
    v.REQUESTED,
    v.REJECTED,
    v.APPROVED,
    v.CANCELLED,
    v.COURSE,
    v.MEETING,
    v.ASSESSMENT,
    v.LINK,
    v.XAPI_PROFILE,
    v.GOAL,
    v.SURVEY,
}


def concepts_of_type(profile: dict[str, Any], *types: str) -> set[str]:
    return {c["id"] for c in profile["concepts"] if c["type"] in types}


def test_default_profile_path_is_the_repository_config() -> None:
    assert default_profile_path() == REPO_ROOT / "config" / "xapi-profile.jsonld"


def test_profile_is_a_profiles_1_0_document(profile: dict[str, Any]) -> None:
    assert profile["@context"] == "https://w3id.org/xapi/profiles/context"
    assert profile["type"] == "Profile"
    assert profile["conformsTo"] == "https://w3id.org/xapi/profiles#1.0"
    for key in ("prefLabel", "definition", "author", "versions", "concepts", "templates"):
        assert profile[key], key
    for part in [*profile["concepts"], *profile["templates"]]:
        assert part["inScheme"] == profile["versions"][0]["id"], part["id"]
        assert part["prefLabel"] and part["definition"], part["id"]
    ids = [part["id"] for part in [*profile["concepts"], *profile["templates"]]]
    assert len(ids) == len(set(ids))


def test_profile_and_vocabulary_agree(profile: dict[str, Any]) -> None:
    vocab = DEFAULT_VOCABULARY
    assert profile["id"] == vocab.profile
    # Statements name the profile *version* in category, as the Profiles spec asks.
    assert profile["versions"][0]["id"] == vocab.profile_version
    assert concepts_of_type(profile, "Verb") == set(vocab.own_verbs())
    assert concepts_of_type(profile, "ActivityType") == set(vocab.own_activity_types())
    assert concepts_of_type(profile, "ContextExtension") == set(vocab.own_context_extensions())
    assert concepts_of_type(profile, "ResultExtension") == set(vocab.own_result_extensions())


def test_templates_only_use_known_iris(profile: dict[str, Any]) -> None:
    known = SHARED_IRIS | concepts_of_type(profile, "Verb", "ActivityType")
    for template in profile["templates"]:
        used = [template["verb"], template.get("objectActivityType", v.VOIDED)]
        for key in ("contextParentActivityType", "contextGroupingActivityType", "contextCategoryActivityType"):
            used.extend(template.get(key, []))
        assert set(used) <= known, template["id"]
        for rule in template["rules"]:
            jsonpath_values({}, rule["location"])  # every location parses
            for iri in (s for s in rule["location"].split("'") if s.startswith("http")):
                assert iri in concepts_of_type(profile, "ContextExtension", "ResultExtension"), iri


def test_profile_names_every_event_template(profile: dict[str, Any]) -> None:
    names = {t["id"].rsplit("/", 1)[1] for t in profile["templates"]}
    events = {name for name in build_all_events() if "+" not in name} - {"session-logged", "session-confirmed"}
    assert names == events | {"mentoring-session-attended"}


def test_profile_is_found_where_the_wheel_installs_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "xapi"
    package.mkdir(parents=True)
    installed = tmp_path / "site-packages" / "lti_tool" / "_resources" / "config" / "xapi-profile.jsonld"
    installed.parent.mkdir(parents=True)
    installed.write_text((REPO_ROOT / "config" / "xapi-profile.jsonld").read_text())
    monkeypatch.setattr(profile_module, "__file__", str(package / "profile.py"))
    assert default_profile_path() == installed
    installed.unlink()
    with pytest.raises(ProfileError, match="not found"):
        default_profile_path()


def test_load_profile_refuses_what_is_not_a_profile(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonld"
    broken.write_text("{not json")
    with pytest.raises(ProfileError):
        load_profile(broken)
    broken.write_text(json.dumps({"type": "Verb"}))
    with pytest.raises(ProfileError):
        load_profile(broken)


def test_rebased_profile_has_no_default_iris_left() -> None:
    rebased = load_profile(vocabulary=Vocabulary(base="https://iris.example.org/x"))
    assert DEFAULT_BASE not in json.dumps(rebased)
    assert rebased["id"] == "https://iris.example.org/x/profile"


DOC = {
    "a": {"b": 1, "c": [{"d": 2}, {"d": 3}, {"e": 4}]},
    "ext": {"https://x.example/a.b": "dotted"},
}


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("$.a.b", [1]),
        ("$.a.c[*].d", [2, 3]),
        ("$.a.c[1].d", [3]),
        ("$.a.c[9].d", []),
        ("$.a.missing", []),
        ("$.ext['https://x.example/a.b']", ["dotted"]),
        ('$.ext["https://x.example/a.b"]', ["dotted"]),
        ("$.a.b | $.ext['https://x.example/a.b']", [1, "dotted"]),
        ("$.a.*", [1, [{"d": 2}, {"d": 3}, {"e": 4}]]),
        ("$", [DOC]),
    ],
)
def test_jsonpath_subset(path: str, values: list[Any]) -> None:
    assert jsonpath_values(DOC, path) == values


@pytest.mark.parametrize("path", ["a.b", "$..a", "$.a[?(@.d)]", "$.a[-1]"])
def test_unsupported_jsonpath_is_an_error(path: str) -> None:
    with pytest.raises(ProfileError):
        jsonpath_values(DOC, path)


def problems_after(event: str, change: Any, profile: dict[str, Any]) -> list[str]:
    statement = copy.deepcopy(build_all_events()[event].to_dict())
    change(statement)
    return check_statement_against_profile(statement, profile)


def test_checker_reports_a_missing_registration(profile: dict[str, Any]) -> None:
    problems = problems_after("goal-set", lambda s: s["context"].pop("registration"), profile)
    assert problems == [
        f"{DEFAULT_VOCABULARY.iri('profile', 'v1', 'templates', 'goal-set')}: $.context.registration must be present"
    ]


def test_checker_reports_a_missing_instructor(profile: dict[str, Any]) -> None:
    problems = problems_after("match-published", lambda s: s["context"].pop("instructor"), profile)
    assert len(problems) == 1 and "$.context.instructor.objectType must be present" in problems[0]


def test_checker_reports_a_wrong_value(profile: dict[str, Any]) -> None:
    def change(statement: dict[str, Any]) -> None:
        statement["context"]["extensions"][DEFAULT_VOCABULARY.attendance_record] = "imagined"

    problems = problems_after("session-logged", change, profile)
    assert len(problems) == 1 and "must contain one of ['logged', 'confirmed']" in problems[0]


def test_checker_reports_an_excluded_property(profile: dict[str, Any]) -> None:
    problems = problems_after("voiding", lambda s: s["context"].__setitem__("platform", "Canvas"), profile)
    assert len(problems) == 1 and "$.context.platform must be absent" in problems[0]


def test_checker_reports_a_missing_category(profile: dict[str, Any]) -> None:
    problems = problems_after("goal-set", lambda s: s["context"]["contextActivities"].pop("category"), profile)
    # Without the category activity type the goal-set template no longer even applies.
    assert problems and problems[0].startswith("no statement template")


def test_checker_reports_an_unknown_event(profile: dict[str, Any]) -> None:
    problems = problems_after("goal-set", lambda s: s["verb"].__setitem__("id", v.COMMENTED), profile)
    assert problems == [f"no statement template for verb {[v.COMMENTED]!r} and object type {[v.GOAL]!r}"]


def test_checker_requires_a_score_of_some_kind(profile: dict[str, Any]) -> None:
    def drop_scores(statement: dict[str, Any]) -> None:
        del statement["result"]["score"]
        del statement["result"]["extensions"]

    problems = problems_after("assessment-submitted", drop_scores, profile)
    assert len(problems) == 1 and "must be present" in problems[0]
    assert problems_after("assessment-submitted", lambda s: s["result"].pop("score"), profile) == []
