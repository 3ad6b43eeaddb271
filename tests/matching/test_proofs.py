"""Every result proves how close it is to the best possible: its bound is never below the true optimum (found by
brute force or by the exact solver), and it claims optimality only when it has the optimum."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.matching.engine import Cohort, MatchOptions, MatchResult, MentoringModel, Person, Program, match
from lti_tool.matching.engine import engine as engine_module
from lti_tool.matching.engine.bounds import group_lagrangian
from lti_tool.matching.engine.solver import SCALE, assign
from tests.matching.helpers import (
    SLOTS,
    brute_force,
    check_result,
    group_brute_force,
    person,
    program,
    random_cohort,
    reciprocal_brute_force,
)

TINY_LISTS = MatchOptions(mentors_per_mentee=1, mentees_per_mentor=1)  # most pairs outside the candidates


@contextmanager
def as_if_large(*, priced: bool, planned_slots: bool = False) -> Iterator[None]:
    """Run the engine as on a cohort too large for shortcuts: the proof starts from the candidate lists and
    prices every other pair (priced), and group slots are planned, not solved exactly (planned_slots)."""
    with pytest.MonkeyPatch.context() as patch:
        if priced:
            patch.setattr(engine_module, "PROOF_EXHAUSTIVE_PAIRS", 0)
        if planned_slots:
            patch.setattr(engine_module, "GROUP_EXACT_PAIRS", 0)
        yield


def assert_proof_holds(prog: Program, result: MatchResult, matched: int, optimum: float) -> None:
    proof = result.proof
    assert proof.objective == result.objective
    assert proof.upper_bound >= optimum - 1e-5, "the bound is below a matching that exists"
    assert 0 <= proof.gap <= 1
    same = math.isclose(result.objective, optimum, abs_tol=1e-5) and (
        not prog.rules.maximize_matched or len(result.matches) == matched
    )
    if proof.optimal:
        assert same, "claims optimality without the optimum"


def reciprocal_cohort(seed: int, people: int, capacity: int) -> Cohort:
    cohort = random_cohort(seed, 0, people, model=MentoringModel.PEER, max_capacity=capacity)
    return replace(cohort, participants=tuple(replace(p, goals=p.goals or ("python",)) for p in cohort.participants))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    maximize_matched=st.booleans(),
    tiny=st.booleans(),
    path=st.sampled_from(["exact slots", "lagrangian", "relaxation"]),
)
def test_group_results_prove_a_bound_over_every_choice_of_meeting_slots(
    seed: int, maximize_matched: bool, tiny: bool, path: str
) -> None:
    prog = program(MentoringModel.GROUP, maximize_matched=maximize_matched)
    cohort = random_cohort(seed, 3, 5, model=MentoringModel.GROUP, max_capacity=3)
    # Slots planned, not solved: bounded by the Lagrangian (every pair known) or by the relaxation alone.
    with as_if_large(priced=path == "relaxation", planned_slots=path != "exact slots"):
        result = match(prog, cohort, seed=seed, options=TINY_LISTS if tiny else MatchOptions())
    check_result(prog, cohort, result)
    matched, optimum = group_brute_force(prog, cohort)
    assert_proof_holds(prog, result, matched, optimum)
    if path == "exact slots":  # small enough for the exact slot choice: the optimum, proven
        assert result.proof.optimal


@settings(max_examples=80, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), big=st.sampled_from([0, 7 * SCALE]), rounds=st.integers(1, 30))
def test_group_lagrangian_bounds_every_choice_of_meeting_slots(seed: int, big: int, rounds: int) -> None:
    """Brute force over every slot per mentor (the flow is exact given them): no group matching gains more than
    the bound, from any starting prices and after any number of steps, and every plan it keeps is a slot
    choice (-1 or a slot the mentor can meet in)."""
    rng = np.random.default_rng(seed)
    n_mentors, n_mentees, n_slots = 3, 6, 3
    mentor_free = rng.random((n_mentors, n_slots)) < 0.6
    mentee_free = rng.random((n_mentees, n_slots)) < 0.5
    pairs = np.argwhere(rng.random((n_mentees, n_mentors)) < 0.7)
    mentees, mentors = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    gain = rng.integers(0, SCALE, len(pairs)).astype(np.int64)
    common = mentee_free[mentees] & mentor_free[mentors]
    places = rng.integers(1, 3, n_mentors).astype(np.int64)
    best = 0
    for choice in itertools.product(*([-1, *np.flatnonzero(free).tolist()] for free in mentor_free)):
        meets = np.array(choice, dtype=np.int64)[mentors]
        ok = (meets >= 0) & common[np.arange(len(pairs)), np.maximum(meets, 0)]
        scores = (gain[ok] + big) / SCALE
        chosen = assign(n_mentees, n_mentors, mentees[ok], mentors[ok], scores, places, maximize_matched=False)
        best = max(best, int((gain[ok][chosen] + big).sum()))
    start = rng.integers(0, SCALE + big, n_mentees).astype(np.int64)
    found = group_lagrangian(mentees, mentors, gain, common, places, start, big, best, rounds, 2)
    assert found.bound >= best, "the bound is below a group matching that exists"
    for plan in found.plans:
        assert all(slot == -1 or mentor_free[mentor, slot] for mentor, slot in enumerate(plan.tolist()))


@pytest.mark.parametrize(
    ("seed", "maximize_matched"), [(0, True), (0, False), (3, True), (5, True), (5, False), (9, True), (30, False)]
)
def test_group_slots_taken_from_the_bound_keep_every_rule_and_their_proof(seed: int, maximize_matched: bool) -> None:
    """Cohorts where the Lagrangian's slot plans beat the slots planned from demand (measured): the groups they
    give keep every rule, meet in one slot their members can make, and prove no more than the exact optimum."""
    prog = program(MentoringModel.GROUP, maximize_matched=maximize_matched)
    cohort = random_cohort(seed, 6, 30, model=MentoringModel.GROUP, max_capacity=4)
    exact = match(prog, cohort, seed=seed, options=MatchOptions(exhaustive=True))
    assert exact.proof.optimal
    with as_if_large(priced=False, planned_slots=True):
        result = match(prog, cohort, seed=seed)
    assert result.stats["slot_plans_adopted"]
    check_result(prog, cohort, result)
    by_id = {p.id: p for p in cohort.mentees}
    for found in result.matches:
        assert found.slot in by_id[found.mentee].availability
    assert len({(m.mentor, m.slot) for m in result.matches}) == len({m.mentor for m in result.matches})
    assert_proof_holds(prog, result, len(exact.matches), exact.objective)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    maximize_matched=st.booleans(),
    capacity=st.integers(1, 2),
    options=st.sampled_from([MatchOptions(), MatchOptions(exhaustive=True), TINY_LISTS]),
)
def test_reciprocal_peer_results_prove_a_bound_over_the_whole_cohort(
    seed: int, maximize_matched: bool, capacity: int, options: MatchOptions
) -> None:
    prog = program(MentoringModel.PEER, require_reciprocity=True, maximize_matched=maximize_matched)
    cohort = reciprocal_cohort(seed, 7, capacity)
    with as_if_large(priced=not options.exhaustive):
        result = match(prog, cohort, seed=seed, options=options)
    pairs, optimum = reciprocal_brute_force(prog, cohort)
    assert_proof_holds(prog, result, 2 * pairs, optimum)
    if options.exhaustive:  # every pair given to CP-SAT: its own bound proves the optimum
        assert result.proof.optimal


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), model=st.sampled_from([MentoringModel.ONE_ON_ONE, MentoringModel.REVERSE]))
def test_bipartite_results_prove_their_optimum_even_from_one_candidate_each(seed: int, model: MentoringModel) -> None:
    prog = program(model)
    cohort = random_cohort(seed, 3, 6, model=model)
    with as_if_large(priced=True):
        result = match(prog, cohort, seed=seed, options=TINY_LISTS)
    matched, optimum = brute_force(prog, cohort)
    assert_proof_holds(prog, result, matched, optimum)
    assert result.proof.optimal  # pricing brought in the pairs the lists missed


def _duplicates(model: MentoringModel) -> Cohort:
    """Many mentors and many mentees share a profile (a department's mentors, a class of beginners)."""
    mentors = tuple(
        person(f"m{i}", {"python": 5, "sql": 4 - i % 2}, availability=SLOTS[i % 2 : i % 2 + 2], capacity=3)
        for i in range(8)
    )
    mentees = tuple(
        person(f"e{i}", {"python": i % 3, "sql": 1}, goals=["python", "sql"], availability=[SLOTS[i % 3]])
        for i in range(30)
    )
    if model is MentoringModel.PEER:
        both = [replace(p, goals=("sql",), capacity=1) for p in mentors]
        return Cohort(participants=(*both, *(replace(p, skills={**p.skills, "sql": 4}) for p in mentees[:10])))
    return Cohort(mentors=mentors, mentees=mentees)


def _scarce(model: MentoringModel) -> Cohort:
    """Two mentors for forty mentees: nearly everyone stays unmatched, the lists of the popular few decide."""
    cohort = random_cohort(11, 2, 40, model=model, max_capacity=3)
    return cohort if model is MentoringModel.PEER else replace(cohort, mentors=cohort.mentors[:2])


def _excluded(model: MentoringModel) -> Cohort:
    """Hard rules exclude most pairs: few shared languages and slots."""
    cohort = random_cohort(5, 8, 30, model=model, max_capacity=3)

    def narrow(people: tuple[Person, ...]) -> tuple[Person, ...]:
        return tuple(
            replace(p, languages=frozenset({("en", "fr", "es")[i % 3]}), availability=frozenset({SLOTS[i % 4]}))
            for i, p in enumerate(people)
        )

    if model is MentoringModel.PEER:
        return replace(cohort, participants=narrow(cohort.participants))
    return replace(cohort, mentors=narrow(cohort.mentors))


@pytest.mark.parametrize("shape", [_duplicates, _scarce, _excluded], ids=["duplicates", "scarce", "excluded"])
@pytest.mark.parametrize("model", [MentoringModel.GROUP, MentoringModel.ONE_ON_ONE, MentoringModel.PEER])
def test_adversarial_cohorts_match_the_exact_solver_or_say_how_far_they_may_be(
    shape: Callable[[MentoringModel], Cohort], model: MentoringModel
) -> None:
    rules = {"require_reciprocity": True} if model is MentoringModel.PEER else {}
    prog = program(model, **rules)
    cohort = shape(model)
    exact = match(prog, cohort, options=MatchOptions(exhaustive=True))
    assert exact.proof.optimal
    for options in (MatchOptions(), TINY_LISTS):
        for large in (False, True):
            with as_if_large(priced=large, planned_slots=large):
                result = match(prog, cohort, options=options)
            check_result(prog, cohort, result)
            assert_proof_holds(prog, result, len(exact.matches), exact.objective)
            if model is MentoringModel.ONE_ON_ONE:
                assert result.proof.optimal  # priced to the optimum whatever the lists
