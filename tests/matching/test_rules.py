"""Hard rules, capacity, fixed and declined pairs, late joiners, determinism and unmatched reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.matching.engine import (
    Cohort,
    MatchingInputError,
    MatchOptions,
    MentoringModel,
    Pair,
    UnmatchedReason,
    match,
    match_late_joiners,
)
from tests.matching.helpers import check_result, person, program, random_cohort


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    model=st.sampled_from(list(MentoringModel)),
    reciprocity=st.booleans(),
    different_department=st.booleans(),
    same_language=st.booleans(),
    shared_slot=st.booleans(),
    mentors=st.integers(0, 6),
    mentees=st.integers(0, 14),
)
def test_results_keep_capacity_and_every_hard_rule(
    seed: int,
    model: MentoringModel,
    reciprocity: bool,
    different_department: bool,
    same_language: bool,
    shared_slot: bool,
    mentors: int,
    mentees: int,
) -> None:
    cohort = random_cohort(seed, mentors, mentees, model=model, max_capacity=3)
    givers, takers = cohort.sides(model)
    declined = (
        (Pair(mentor=givers[0].id, mentee=takers[-1].id),) if givers and takers and givers[0] != takers[-1] else ()
    )
    prog = program(
        model,
        require_reciprocity=reciprocity and model is MentoringModel.PEER,
        different_department=different_department,
        same_language=same_language,
        shared_slot=shared_slot,
        declined_pairs=declined,
    )
    result = match(prog, cohort, seed=seed, options=MatchOptions(mentors_per_mentee=2, mentees_per_mentor=3))
    check_result(prog, cohort, result)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), model=st.sampled_from(list(MentoringModel)))
def test_the_same_input_and_seed_give_the_same_result(seed: int, model: MentoringModel) -> None:
    cohort = random_cohort(seed, 5, 12, model=model)
    prog = program(model)
    assert match(prog, cohort, seed=seed) == match(prog, cohort, seed=seed)


def test_locked_pairs_are_kept_even_when_they_break_rules() -> None:
    mentors = (
        person("ana", {"python": 5}, capacity=2, availability=["tue-09"]),
        person("bea", {"python": 5}, capacity=1),
    )
    mentees = (
        person("cy", {"python": 1}, goals=["python"]),  # no slot in common with ana: locked anyway
        person("di", {"python": 1}, goals=["python"], availability=["tue-09"]),
        person("ed", {"python": 1}, goals=["python"]),
    )
    prog = program(fixed_pairs=(Pair("ana", "cy"),))
    result = match(prog, Cohort(mentors=mentors, mentees=mentees))
    check_result(prog, Cohort(mentors=mentors, mentees=mentees), result)
    locked = next(m for m in result.matches if m.mentee == "cy")
    assert (locked.mentor, locked.fixed) == ("ana", True)
    assert locked.explanation.broken_rules == ("no free weekly slot in common",)
    assert {(m.mentor, m.mentee) for m in result.matches} == {("ana", "cy"), ("ana", "di"), ("bea", "ed")}


def test_late_joiners_fill_the_places_left_without_moving_published_matches() -> None:
    mentors = (
        person("ana", {"python": 5, "sql": 1}, capacity=2),
        person("bea", {"python": 2, "sql": 5}, capacity=1),
    )
    first = (person("cy", {"sql": 0}, goals=["sql"]), person("di", {"python": 0}, goals=["python"]))
    published = match(program(), Cohort(mentors=mentors, mentees=first))
    existing = [Pair(m.mentor, m.mentee) for m in published.matches]
    assert {(p.mentor, p.mentee) for p in existing} == {("bea", "cy"), ("ana", "di")}
    # A late joiner who would have been the best match for bea: bea's place is taken, so ana takes them.
    late = person("ed", {"sql": 0, "python": 0}, goals=["sql"])
    cohort = Cohort(mentors=mentors, mentees=(*first, late))
    result = match_late_joiners(program(), cohort, existing)
    kept = {(m.mentor, m.mentee) for m in result.matches if m.fixed}
    assert kept == {("bea", "cy"), ("ana", "di")}
    assert {(m.mentor, m.mentee) for m in result.matches if not m.fixed} == {("ana", "ed")}
    # A second late joiner finds every place taken.
    later = person("fay", {"sql": 0}, goals=["sql"])
    everyone = Cohort(mentors=mentors, mentees=(*first, late, later))
    again = match_late_joiners(program(), everyone, [Pair(m.mentor, m.mentee) for m in result.matches])
    assert [(u.mentee, u.reason) for u in again.unmatched] == [("fay", UnmatchedReason.CAPACITY_EXHAUSTED)]
    assert again.unmatched[0].message == "All 2 mentors who fit you are full. You can be matched when a place opens."


def test_declined_pairs_are_never_proposed_again() -> None:
    mentors = (person("ana", {"python": 5}), person("bea", {"python": 2}))
    mentees = (person("cy", {"python": 0}, goals=["python"]),)
    cohort = Cohort(mentors=mentors, mentees=mentees)
    assert match(program(), cohort).matches[0].mentor == "ana"
    declined = program(declined_pairs=(Pair("ana", "cy"),))
    assert match(declined, cohort).matches[0].mentor == "bea"
    assert (
        match(replace(declined, rules=replace(declined.rules, never_repair_declined=False)), cohort).matches[0].mentor
        == "ana"
    )
    only = Cohort(mentors=mentors[:1], mentees=mentees)
    assert [u.reason for u in match(declined, only).unmatched] == [UnmatchedReason.DECLINED]


def test_each_unmatched_mentee_gets_the_rule_that_left_them_without_a_mentor() -> None:
    mentors = (
        person("ana", {"python": 5}, languages=["en"], availability=["mon-09"], department="it", capacity=1),
        person("bea", {"python": 4}, languages=["en"], availability=["mon-09"], department="it", capacity=1),
    )
    mentees = (
        person("taken1", {"python": 0}, goals=["python"], department="sales"),
        person("taken2", {"python": 0}, goals=["python"], department="sales"),
        person("french", {"python": 0}, goals=["python"], languages=["fr"]),
        person("night", {"python": 0}, goals=["python"], availability=["sun-03"]),
        person("colleague", {"python": 0}, goals=["python"], department="it"),
        person("full", {"python": 1}, goals=["python"], department="sales"),
    )
    result = match(program(different_department=True), Cohort(mentors=mentors, mentees=mentees))
    reasons = {u.mentee: u.reason for u in result.unmatched}
    assert reasons == {
        "french": UnmatchedReason.NO_SHARED_LANGUAGE,
        "night": UnmatchedReason.NO_SHARED_SLOT,
        "colleague": UnmatchedReason.SAME_DEPARTMENT,
        "full": UnmatchedReason.CAPACITY_EXHAUSTED,
    }
    messages = {u.mentee: u.message for u in result.unmatched}
    assert messages["french"] == "No mentor speaks any of your languages (fr)."
    assert "sun-03" in messages["night"]
    no_one = match(program(), Cohort(mentors=(), mentees=mentees[:1]))
    assert [u.reason for u in no_one.unmatched] == [UnmatchedReason.NO_MENTORS]


def test_min_score_leaves_weak_pairs_unmade() -> None:
    mentors = (person("ana", {"python": 1}),)
    mentees = (person("cy", {"python": 1}, goals=["python"]),)
    result = match(program(min_score=0.5), Cohort(mentors=mentors, mentees=mentees))
    assert [u.reason for u in result.unmatched] == [UnmatchedReason.BELOW_MIN_SCORE]


def test_bad_input_names_the_field() -> None:
    mentees = (person("cy", {"python": 7}, goals=["pyton"]), person("cy"))
    with pytest.raises(MatchingInputError) as caught:
        match(program(), Cohort(mentors=(person("ana", capacity=-1),), mentees=mentees))
    assert [str(problem) for problem in caught.value.problems] == [
        "mentors[0].capacity: -1 is below 0",
        "mentees[0].skills.python: level 7 is above 5",
        "mentees[0].goals[0]: unknown skill 'pyton' (did you mean 'python'?)",
        "mentees[1].id: id 'cy' is used twice in mentees",
    ]
