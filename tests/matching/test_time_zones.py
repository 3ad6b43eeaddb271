"""Time zones: the "at most N hours apart" rule and the waking-hours criterion, in every entry point."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.matching.engine import (
    Cohort,
    MatchingInputError,
    MatchOptions,
    MentoringModel,
    Program,
    UnmatchedReason,
    Weights,
    assess_pair,
    match,
    suggest_mentors,
)
from lti_tool.matching.engine.candidates import Kernel
from lti_tool.matching.engine.encode import encode
from tests.matching.helpers import (
    brute_force,
    check_result,
    hours_apart,
    person,
    program,
    random_cohort,
    reference_allowed,
    reference_values,
)

BERLIN, NEW_YORK, LOS_ANGELES, KOLKATA, KIRIBATI, HAWAII = 60, -300, -480, 330, 840, -600


def with_waking(weight: float = 0.5, **rules: object) -> Program:
    prog = program(**rules)
    return replace(prog, weights=replace(prog.weights, waking_hours=weight))


def test_mentors_too_many_hours_away_are_never_proposed_and_the_mentee_is_told_why() -> None:
    # The expert in Los Angeles would score far higher, but is 9 hours from Berlin.
    mentors = (
        person("far", {"python": 5}, utc_offset=LOS_ANGELES),
        person("near", {"python": 2}, utc_offset=NEW_YORK),
    )
    mentees = (
        person("ben", {"python": 0}, goals=["python"], utc_offset=BERLIN),
        person("kay", {"python": 0}, goals=["python"], utc_offset=KOLKATA),
    )
    result = match(program(max_hours_apart=6), Cohort(mentors=mentors, mentees=mentees))
    assert [(m.mentor, m.mentee) for m in result.matches] == [("near", "ben")]
    [left] = result.unmatched
    assert (left.mentee, left.reason) == ("kay", UnmatchedReason.TIME_ZONE_TOO_FAR)
    assert left.message == (
        "Every mentor who could fit you lives more than 6 hours from your time zone (UTC+05:30), "
        "and this program pairs people at most 6 hours apart."
    )
    # Without the rule the expert is taken.
    free = match(program(), Cohort(mentors=mentors, mentees=mentees))
    assert "far" in {m.mentor for m in free.matches}


def test_hours_apart_go_the_short_way_round_the_clock_and_unknown_zones_are_not_restricted() -> None:
    mentors = (person("kiribati", {"python": 4}, utc_offset=KIRIBATI), person("unknown", {"python": 4}))
    mentees = (
        person("honolulu", goals=["python"], utc_offset=HAWAII),  # UTC+14 and UTC-10: the same clock, 0 apart
        person("somewhere", goals=["python"], utc_offset=BERLIN),
    )
    result = match(program(max_hours_apart=0), Cohort(mentors=mentors, mentees=mentees))
    assert {(m.mentor, m.mentee) for m in result.matches} == {("kiribati", "honolulu"), ("unknown", "somewhere")}
    assert not result.unmatched


@pytest.mark.parametrize(
    ("mentor", "mentee", "share"),
    [(BERLIN, BERLIN, 1.0), (BERLIN, NEW_YORK, 8 / 14), (BERLIN, LOS_ANGELES, 5 / 14), (0, 720, 4 / 14)],
)
def test_waking_hours_are_the_share_of_the_day_both_are_awake(mentor: int, mentee: int, share: float) -> None:
    prog = with_waking()
    pair = assess_pair(prog, person("m", utc_offset=mentor), person("e", utc_offset=mentee))
    assert math.isclose(pair.explanation.values["waking_hours"], share)
    assert math.isclose(
        share, reference_values(prog, person("m", utc_offset=mentor), person("e", utc_offset=mentee))["waking_hours"]
    )
    assert assess_pair(prog, person("m"), person("e", utc_offset=mentee)).explanation.values["waking_hours"] == 0


def test_with_the_waking_hours_weight_the_closer_mentor_wins_and_the_explanation_says_so() -> None:
    mentors = (
        person("ana", {"python": 3}, utc_offset=LOS_ANGELES),
        person("bo", {"python": 3}, utc_offset=BERLIN + 60),
    )
    mentees = (person("cy", goals=["python"], utc_offset=BERLIN),)
    [found] = match(with_waking(1.0), Cohort(mentors=mentors, mentees=mentees)).matches
    assert found.mentor == "bo"
    assert "bo's time zone is 1 hour from yours: you are both awake for 13 hours a day." in found.explanation.factors
    same = assess_pair(with_waking(1.0), mentors[1], replace(mentees[0], utc_offset=BERLIN + 60))
    assert "bo is in your time zone, so you are awake at the same hours." in same.explanation.factors


def test_a_manual_pair_across_the_limit_is_flagged_and_suggestions_leave_it_out() -> None:
    mentors = (person("far", {"python": 5}, utc_offset=LOS_ANGELES), person("near", {"python": 1}, utc_offset=0))
    mentee = person("ben", goals=["python"], utc_offset=BERLIN)
    prog = program(max_hours_apart=5.5)
    verdict = assess_pair(prog, mentors[0], mentee)
    assert not verdict.allowed
    assert verdict.explanation.broken_rules == (
        "their time zones are 9 hours apart; the program pairs people at most 5.5 hours apart",
    )
    assert assess_pair(prog, mentors[1], mentee).allowed
    suggested = suggest_mentors(prog, Cohort(mentors=mentors, mentees=(mentee,)))
    assert [s.mentor for s in suggested["ben"]] == ["near"]


def test_the_chunked_kernel_never_offers_a_pair_across_the_limit() -> None:
    cohort = random_cohort(7, 40, 120, zones=True)
    prog = with_waking(0.3, max_hours_apart=4)
    encoded = encode(prog, cohort, 3)
    rows, cols = np.arange(len(encoded.mentees)), np.arange(len(encoded.mentors))
    kernel = Kernel(encoded, rows, cols)
    for e, m in (kernel.all_pairs(), kernel.top_pairs(3, 3)):
        assert len(e)
        for mentee, mentor in zip(e.tolist(), m.tolist(), strict=True):
            apart = hours_apart(encoded.mentors.people[mentor], encoded.mentees.people[mentee])
            assert apart is None or apart <= 4
    # The exhaustive set is exactly the pairs the reference allows (the kernel knows no minimum score).
    every = set(zip(*(axis.tolist() for axis in kernel.all_pairs()), strict=True))
    allowed = {
        (e, m)
        for e in rows.tolist()
        for m in cols.tolist()
        if reference_allowed(prog, encoded.mentors.people[m], encoded.mentees.people[e])
    }
    assert every == allowed


def test_short_candidate_lists_still_find_the_near_mentor_behind_many_far_experts() -> None:
    # Every mentee's top mentors by skill live 9 hours away: the kernel must rank them out, not the filter.
    experts = tuple(person(f"x{i}", {"python": 5}, utc_offset=LOS_ANGELES, capacity=3) for i in range(30))
    locals_ = tuple(person(f"l{i}", {"python": 1}, utc_offset=BERLIN, capacity=2) for i in range(5))
    mentees = tuple(person(f"e{i}", goals=["python"], utc_offset=BERLIN) for i in range(10))
    result = match(
        program(max_hours_apart=3),
        Cohort(mentors=(*experts, *locals_), mentees=mentees),
        options=MatchOptions(mentors_per_mentee=2, mentees_per_mentor=2),
    )
    assert len(result.matches) == 10
    assert {m.mentor for m in result.matches} <= {p.id for p in locals_}


def test_a_group_never_takes_a_member_beyond_the_time_zone_limit() -> None:
    prog = replace(program(MentoringModel.GROUP, max_hours_apart=3), default_capacity=3)
    mentors = (person("lead", {"python": 5}, utc_offset=BERLIN), person("far", {"python": 3}, utc_offset=NEW_YORK))
    mentees = tuple(
        person(f"e{i}", goals=["python"], utc_offset=zone) for i, zone in enumerate((BERLIN, 0, KOLKATA, LOS_ANGELES))
    )
    result = match(prog, Cohort(mentors=mentors, mentees=mentees))
    check_result(prog, Cohort(mentors=mentors, mentees=mentees), result)
    assert {(m.mentor, m.mentee) for m in result.matches} == {("lead", "e0"), ("lead", "e1"), ("far", "e3")}
    assert [(u.mentee, u.reason) for u in result.unmatched] == [("e2", UnmatchedReason.TIME_ZONE_TOO_FAR)]


@settings(max_examples=120, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    model=st.sampled_from([MentoringModel.ONE_ON_ONE, MentoringModel.REVERSE, MentoringModel.PEER]),
    limit=st.sampled_from([None, 0, 3, 8.5]),
    waking=st.sampled_from([0.0, 0.4]),
    min_score=st.sampled_from([0.0, 0.3]),
)
def test_small_cohorts_with_time_zones_get_the_optimum_of_brute_force(
    seed: int, model: MentoringModel, limit: float | None, waking: float, min_score: float
) -> None:
    prog = replace(
        program(model, max_hours_apart=limit, min_score=min_score),
        weights=replace(program().weights, waking_hours=waking),
    )
    cohort = random_cohort(seed, 3, 6, model=model, zones=True)
    result = match(prog, cohort, seed=seed)
    check_result(prog, cohort, result)
    matched, total = brute_force(prog, cohort)
    assert len(result.matches) == matched
    assert math.isclose(result.objective, total, abs_tol=1e-5)


def test_min_score_leaves_a_mentee_unmatched_rather_than_badly_matched() -> None:
    mentors = (person("ana", {"python": 1}), person("bo", {"python": 5}))
    # Nobody knows SQL: ed would get a weak match with ana, or none at all.
    mentees = (person("cy", {"python": 0}, goals=["python"]), person("ed", goals=["sql"]))
    everyone = match(program(), Cohort(mentors=mentors, mentees=mentees))
    assert len(everyone.matches) == 2
    only_good = match(program(min_score=0.5), Cohort(mentors=mentors, mentees=mentees))
    assert [(m.mentor, m.mentee) for m in only_good.matches] == [("bo", "cy")]
    [left] = only_good.unmatched
    assert left.mentee == "ed"
    assert left.reason is UnmatchedReason.BELOW_MIN_SCORE
    assert left.message == "No mentor who fits you reaches the program's minimum score (50 of 100 points)."


def test_bad_time_zone_input_names_the_field() -> None:
    mentors = (person("ana", utc_offset=15 * 60), person("bo", utc_offset=7))
    prog = replace(program(max_hours_apart=13), weights=Weights(waking_hours=2.0))
    with pytest.raises(MatchingInputError) as caught:
        match(prog, Cohort(mentors=mentors, mentees=(person("cy"),)))
    assert [str(problem) for problem in caught.value.problems] == [
        "weights.waking_hours: weight 2 is not a number from 0 to 1",
        "rules.max_hours_apart: 13 is not a number of hours from 0 to 12",
        "mentors[0].utc_offset: 900 minutes is not an offset from UTC-12:00 to UTC+14:00",
        "mentors[1].utc_offset: 7 minutes is not a whole number of quarter hours",
    ]
