"""The four mentoring models, self-match suggestions and a realistic cohort's candidate lists."""

from __future__ import annotations

import math

from lti_tool.matching.engine import (
    Cohort,
    MatchOptions,
    MentoringModel,
    Pair,
    UnmatchedReason,
    match,
    suggest_mentors,
)
from tests.matching.helpers import check_result, person, program, random_cohort


def test_one_on_one_gives_each_mentor_one_mentee_unless_a_capacity_is_given() -> None:
    mentors = (person("ana", {"python": 5}), person("bea", {"python": 3}, capacity=2))
    mentees = tuple(person(f"e{i}", {"python": 0}, goals=["python"]) for i in range(4))
    result = match(program(), Cohort(mentors=mentors, mentees=mentees))
    assert sorted(m.mentor for m in result.matches) == ["ana", "bea", "bea"]
    assert [u.reason for u in result.unmatched] == [UnmatchedReason.CAPACITY_EXHAUSTED]


def test_a_group_fills_its_mentor_and_meets_in_one_slot_every_member_is_free() -> None:
    mentors = (
        person("ana", {"python": 5}, availability=["mon-09", "tue-09"], capacity=3),
        person("bea", {"python": 4}, availability=["mon-09", "tue-09"], capacity=3),
    )
    mentees = (
        person("e1", {"python": 0}, goals=["python"], availability=["mon-09"]),
        person("e2", {"python": 0}, goals=["python"], availability=["mon-09"]),
        person("e3", {"python": 0}, goals=["python"], availability=["mon-09", "tue-09"]),
        person("e4", {"python": 0}, goals=["python"], availability=["tue-09"]),
        person("e5", {"python": 0}, goals=["python"], availability=["tue-09"]),
        person("e6", {"python": 1}, goals=["python"], availability=["mon-09"]),
    )
    prog = program(MentoringModel.GROUP)
    cohort = Cohort(mentors=mentors, mentees=mentees)
    result = match(prog, cohort)
    check_result(prog, cohort, result)
    groups: dict[str, set[str]] = {}
    for found in result.matches:
        groups.setdefault(found.mentor, set()).add(found.mentee)
        member = next(p for p in mentees if p.id == found.mentee)
        assert found.slot in member.availability, "a member is not free when their group meets"
        assert f"Your group meets at {found.slot}." in found.explanation.factors or found.explanation.values[
            "availability"
        ] < max(m.explanation.values["availability"] for m in result.matches)
    assert len(result.matches) == 6
    assert {len(members) for members in groups.values()} == {3}
    slots = {m.mentor: m.slot for m in result.matches}
    assert len({(mentor, slot) for mentor, slot in slots.items()}) == 2


def test_group_members_who_cannot_make_any_group_slot_are_told_so() -> None:
    mentors = (person("ana", {"python": 5}, availability=["mon-09", "tue-09"], capacity=4),)
    mentees = (
        person("e1", {"python": 0}, goals=["python"], availability=["mon-09"]),
        person("e2", {"python": 0}, goals=["python"], availability=["mon-09"]),
        person("e3", {"python": 0}, goals=["python"], availability=["tue-09"]),
    )
    result = match(program(MentoringModel.GROUP), Cohort(mentors=mentors, mentees=mentees))
    assert {m.mentee for m in result.matches} == {"e1", "e2"}
    assert {m.slot for m in result.matches} == {"mon-09"}
    assert [(u.mentee, u.reason) for u in result.unmatched] == [("e3", UnmatchedReason.NO_GROUP_SLOT)]


def test_peers_mentor_each_other_but_never_themselves() -> None:
    people = (
        person("ana", {"python": 5, "sql": 0}, goals=["sql"], capacity=1),
        person("bo", {"python": 0, "sql": 5}, goals=["python"], capacity=1),
        person("cy", {"python": 1, "sql": 1}, goals=["python"], capacity=1),
    )
    prog = program(MentoringModel.PEER)
    result = match(prog, Cohort(participants=people))
    check_result(prog, Cohort(participants=people), result)
    assert all(m.mentor != m.mentee for m in result.matches)
    assert {(m.mentor, m.mentee) for m in result.matches} >= {("bo", "ana")}


def test_reciprocal_peers_form_mutual_pairs_that_each_teach_a_goal() -> None:
    people = (
        person("ana", {"python": 5, "sql": 0}, goals=["sql"]),
        person("bo", {"python": 0, "sql": 5}, goals=["python"]),
        person("cy", {"python": 5, "sql": 5}, goals=["writing"]),  # nobody can teach cy writing
        person("di", {"python": 1, "sql": 1}, goals=["python"], capacity=0),
    )
    prog = program(MentoringModel.PEER, require_reciprocity=True)
    cohort = Cohort(participants=people)
    result = match(prog, cohort)
    check_result(prog, cohort, result)
    assert {(m.mentor, m.mentee) for m in result.matches} == {("ana", "bo"), ("bo", "ana")}
    assert all(m.reciprocal for m in result.matches)
    assert {m.mentee: m.teaches for m in result.matches} == {"bo": {"python": "ana"}, "ana": {"sql": "bo"}}
    assert {u.mentee: u.reason for u in result.unmatched} == {
        "cy": UnmatchedReason.NO_RECIPROCAL_PARTNER,
        "di": UnmatchedReason.NO_PLACES_OFFERED,
    }


def test_reciprocal_pairs_with_odd_cycles_are_still_optimal() -> None:
    # Three people who can each teach the next: a triangle, where the flow relaxation is fractional.
    people = (
        person("a", {"python": 5, "sql": 0, "writing": 3}, goals=["sql", "writing"]),
        person("b", {"python": 0, "sql": 5, "writing": 0}, goals=["python", "writing"]),
        person("c", {"python": 3, "sql": 3, "writing": 5}, goals=["python", "sql"]),
    )
    prog = program(MentoringModel.PEER, require_reciprocity=True)
    result = match(prog, Cohort(participants=people), options=MatchOptions(exhaustive=True))
    assert len(result.matches) == 2
    assert result.stats["solver_optimal"]


def test_reverse_mentoring_decides_who_teaches_per_skill() -> None:
    senior = person("sam", {"leadership": 5, "python": 1}, goals=["python"])
    junior = person("jo", {"leadership": 1, "python": 5}, goals=["leadership"])
    prog = program(MentoringModel.REVERSE)
    result = match(prog, Cohort(mentors=(senior,), mentees=(junior,)))
    (found,) = result.matches
    assert (found.mentor, found.mentee) == ("sam", "jo")
    # The junior mentors the senior in python; the senior mentors the junior in leadership.
    assert found.teaches == {"leadership": "sam", "python": "jo"}
    assert found.explanation.values["goal_gain"] == 1.0
    assert "you can mentor sam in Python in return" in found.explanation.factors[0]


def test_suggestions_are_the_best_mentors_with_a_place_left_best_first() -> None:
    mentors = (
        person("ana", {"python": 5}, capacity=1),
        person("bea", {"python": 5}, capacity=2),
        person("cat", {"python": 5}, capacity=1, languages=["fr"]),
        person("dan", {"python": 4}, capacity=1),
    )
    mentees = (
        person("cy", {"python": 0}, goals=["python"]),
        person("di", {"python": 0}, goals=["python"], preferences=["dan"]),
    )
    prog = program(fixed_pairs=(Pair("ana", "cy"),))
    found = suggest_mentors(prog, Cohort(mentors=mentors, mentees=mentees), top_n=2, mentees=["di"])
    assert list(found) == ["di"]
    # ana is full, cat speaks no shared language; dan rises above bea on di's stated preference.
    assert [(s.mentor, s.places_left) for s in found["di"]] == [("dan", 1), ("bea", 2)]
    assert found["di"][0].score > found["di"][1].score
    assert "You asked to be matched with dan." in found["di"][0].explanation.factors
    assert math.isclose(sum(found["di"][0].explanation.contributions.values()), found["di"][0].score)


def test_suggestions_spread_identical_mentors_by_the_places_they_have_left() -> None:
    """Many mentees of one profile must not all draw the same mentor first: among equal scores the mentor with
    more places left (after the places `taken` by waiting requests) comes first, and a full one is not offered."""
    mentors = tuple(person(name, {"python": 5}, capacity=2) for name in ("ana", "bea", "cat"))
    mentees = (person("cy", {"python": 0}, goals=["python"]),)
    cohort = Cohort(mentors=mentors, mentees=mentees)
    plain = suggest_mentors(program(), cohort, top_n=3)["cy"]
    assert [s.mentor for s in plain] == ["ana", "bea", "cat"]  # equal scores: input order
    spread = suggest_mentors(program(), cohort, top_n=3, taken={"ana": 1, "bea": 2})["cy"]
    assert [(s.mentor, s.places_left) for s in spread] == [("cat", 2), ("ana", 1)]
    assert len({s.score for s in spread}) == 1


def test_candidate_lists_match_the_exact_optimum_on_a_mid_sized_cohort() -> None:
    prog = program()
    cohort = random_cohort(3, 60, 400, max_capacity=8)
    options = MatchOptions(mentors_per_mentee=6, mentees_per_mentor=12)
    fast = match(prog, cohort, seed=1, options=options)
    exact = match(prog, cohort, seed=1, options=MatchOptions(exhaustive=True))
    check_result(prog, cohort, fast)
    assert len(fast.unmatched) <= len(exact.unmatched)
    assert fast.objective >= 0.999 * exact.objective
    assert exact.stats["exhaustive"]
