"""The engine's assignment is optimal: it equals the best assignment found by trying every one."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.matching.engine import MatchOptions, MentoringModel, Pair, match
from tests.matching.helpers import brute_force, program, random_cohort, reciprocal_brute_force


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    model=st.sampled_from([MentoringModel.ONE_ON_ONE, MentoringModel.REVERSE, MentoringModel.PEER]),
    maximize_matched=st.booleans(),
    different_department=st.booleans(),
    min_score=st.sampled_from([0.0, 0.25]),
    small_lists=st.booleans(),
)
def test_small_cohorts_get_the_optimum_of_brute_force(
    seed: int,
    model: MentoringModel,
    maximize_matched: bool,
    different_department: bool,
    min_score: float,
    small_lists: bool,
) -> None:
    prog = program(
        model, maximize_matched=maximize_matched, different_department=different_department, min_score=min_score
    )
    cohort = random_cohort(seed, 3, 6, model=model)
    # With the default candidate lists a small cohort's every pair is a candidate: the result is exact.
    # Lists of 1 + 1 are a heuristic: never better than the optimum (a sanity check of brute force too).
    options = MatchOptions(mentors_per_mentee=1, mentees_per_mentor=1) if small_lists else MatchOptions()
    result = match(prog, cohort, seed=seed, options=options)
    matched, total = brute_force(prog, cohort)
    if small_lists and maximize_matched:
        assert len(result.matches) < matched or (len(result.matches) == matched and result.objective <= total + 1e-5)
    elif small_lists:
        assert result.objective <= total + 1e-5
    else:
        assert len(result.matches) == matched
        assert math.isclose(result.objective, total, abs_tol=1e-5)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), fixed=st.integers(0, 2), declined=st.integers(0, 3))
def test_fixed_and_declined_pairs_are_part_of_the_optimum(seed: int, fixed: int, declined: int) -> None:
    cohort = random_cohort(seed, 3, 6)
    by_capacity = [m for m in cohort.mentors if (m.capacity or 0) > 0]
    fixed_pairs = tuple(
        Pair(mentor=by_capacity[i % len(by_capacity)].id, mentee=cohort.mentees[i].id)
        for i in range(min(fixed, len(by_capacity)))
        if by_capacity
    )
    loads: dict[str, int] = {}
    kept: list[Pair] = []
    for pair in fixed_pairs:
        mentor = next(m for m in cohort.mentors if m.id == pair.mentor)
        if loads.get(pair.mentor, 0) < (mentor.capacity or 0):
            loads[pair.mentor] = loads.get(pair.mentor, 0) + 1
            kept.append(pair)
    declined_pairs = tuple(
        Pair(mentor=cohort.mentors[i % 3].id, mentee=cohort.mentees[5 - i].id) for i in range(declined)
    )
    prog = program(fixed_pairs=tuple(kept), declined_pairs=tuple(p for p in declined_pairs if p not in kept))
    result = match(prog, cohort, seed=seed)
    matched, total = brute_force(prog, cohort)
    assert len(result.matches) == matched
    assert math.isclose(result.objective, total, abs_tol=1e-5)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), maximize_matched=st.booleans(), capacity=st.integers(1, 2))
def test_reciprocal_peers_get_the_best_set_of_mutual_pairs(seed: int, maximize_matched: bool, capacity: int) -> None:
    prog = program(MentoringModel.PEER, require_reciprocity=True, maximize_matched=maximize_matched)
    cohort = random_cohort(seed, 0, 7, model=MentoringModel.PEER, max_capacity=capacity)
    cohort = replace(
        cohort,
        participants=tuple(replace(p, goals=p.goals or ("python",), capacity=capacity) for p in cohort.participants),
    )
    result = match(prog, cohort, seed=seed, options=MatchOptions(exhaustive=True))
    pairs, total = reciprocal_brute_force(prog, cohort)
    assert len(result.matches) == 2 * pairs
    assert math.isclose(result.objective, total, abs_tol=1e-5)
    assert result.stats["solver_optimal"]
