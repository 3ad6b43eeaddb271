"""The shipped framework and the CSV/JSON framework parsers, without an app or a database."""

from __future__ import annotations

import pytest

from lti_tool.programs.models import DEFAULT_WEIGHTS, Eligibility, MentoringModel
from lti_tool.programs.services import (
    ProgramError,
    ProgramSettings,
    default_framework,
    parse_framework_csv,
    parse_framework_upload,
    settings_errors,
    weight_shares,
)

HEADER = "key,name,category,description,level1,level2,level3,level4,level5\n"


def test_the_shipped_framework_has_technical_and_soft_skills_with_five_levels() -> None:
    skills = default_framework()
    technical = [s for s in skills if s.category == "technical"]
    soft = [s for s in skills if s.category == "soft"]
    assert len(technical) >= 8
    assert len(soft) >= 10
    assert {"communication", "python"} <= {s.key for s in skills}
    assert len({s.key for s in skills}) == len(skills)
    for skill in skills:
        assert skill.description
        assert len(skill.descriptors) == 5
        assert len(set(skill.descriptors)) == 5


def test_csv_cells_may_hold_commas_quotes_and_line_breaks() -> None:
    row = 'ethics,"Ethics, applied",soft,"Says ""why"".","one\ntwo",b,c,d,e\n'
    (skill,) = parse_framework_csv(HEADER + row + "\n,,,,,,,,\n")
    assert skill.name == "Ethics, applied"
    assert skill.description == 'Says "why".'
    assert skill.descriptors[0] == "one\ntwo"


def test_csv_columns_may_come_in_any_order() -> None:
    text = "level5,level4,level3,level2,level1,description,category,name,key\ne,d,c,b,a,,soft,Listening,listening\n"
    (skill,) = parse_framework_csv(text)
    assert (skill.key, skill.descriptors) == ("listening", ("a", "b", "c", "d", "e"))


def test_csv_row_numbers_count_records_from_the_header() -> None:
    good = "a,A,soft,,1,2,3,4,5\n"
    with pytest.raises(ProgramError, match=r"^row 3: name: required"):
        parse_framework_csv(HEADER + good + "b,,soft,,1,2,3,4,5\n")


def test_an_upload_without_extension_is_recognised_by_its_content() -> None:
    assert parse_framework_upload("framework", (HEADER + "a,A,soft,,1,2,3,4,5\n").encode())[0].key == "a"
    document = b'{"skills": [{"key": "a", "name": "A", "category": "soft", "descriptors": ["1","2","3","4","5"]}]}'
    assert parse_framework_upload("framework", document)[0].key == "a"


def _settings(**changes: object) -> ProgramSettings:
    values: dict[str, object] = {
        "title": "Spring mentoring",
        "model": MentoringModel.ONE_ON_ONE,
        "mentor_eligibility": Eligibility.OPT_IN,
        "mentee_eligibility": Eligibility.LEARNERS,
        "default_capacity": 1,
        "starts_on": None,
        "ends_on": None,
        "checkin_every_days": 14,
        "agreement_text": "",
        "weights": {**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), "goal_gain": 1.0},
        "rules": {
            "same_language": True,
            "shared_slot": True,
            "different_department": False,
            "never_repair_declined": True,
        },
        "self_match": False,
        "require_reciprocity": False,
    }
    values.update(changes)
    return ProgramSettings(**values)  # type: ignore[arg-type]


def test_settings_rules() -> None:
    assert settings_errors(_settings()) == {}
    assert "default_capacity" in settings_errors(_settings(model=MentoringModel.GROUP))
    assert settings_errors(_settings(model=MentoringModel.GROUP, default_capacity=2)) == {}
    assert "weights" in settings_errors(_settings(weights={"goal_gain": float("nan")}))
    nan_weights = {**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), "goal_gain": float("nan")}
    assert "weights" in settings_errors(_settings(weights=nan_weights))
    assert settings_errors(_settings(min_score=0.6, max_hours_apart=0)) == {}
    assert settings_errors(_settings(title=" ")) == {"title": "Give the program a title."}
    assert settings_errors(_settings(title="x" * 201)) == {"title": "At most 200 characters."}
    for minimum in (-0.1, 1.01, float("nan")):
        assert settings_errors(_settings(min_score=minimum)) == {
            "min_score": "Enter a minimum score from 0 to 100 points."
        }
    for hours in (-1, 13):
        assert settings_errors(_settings(max_hours_apart=hours)) == {
            "max_hours_apart": "Enter a whole number of hours from 0 to 12, or leave it empty for no limit."
        }


def test_weight_shares_are_percentages_of_the_sum() -> None:
    assert weight_shares({"a": 0.5, "b": 0.25, "c": 0.25}) == {"a": 50.0, "b": 25.0, "c": 25.0}
    assert weight_shares({"a": 0.0, "b": 0.0}) == {"a": None, "b": None}
