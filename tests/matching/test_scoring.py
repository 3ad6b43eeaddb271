"""Pair scores: the exact scorer and the chunked float32 kernel agree with the criteria written out plainly."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.matching.engine import CRITERIA, MentoringModel, assess_pair
from lti_tool.matching.engine.candidates import FLOOR, Kernel, KernelOptions
from lti_tool.matching.engine.encode import encode
from lti_tool.matching.engine.scoring import score_pairs
from tests.matching.helpers import (
    person,
    program,
    random_cohort,
    reference_allowed,
    reference_score,
    reference_values,
)

MODELS = [MentoringModel.ONE_ON_ONE, MentoringModel.REVERSE, MentoringModel.PEER]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    model=st.sampled_from(MODELS),
    different_department=st.booleans(),
    min_score=st.sampled_from([0.0, 0.3]),
)
def test_every_pair_scores_as_the_criteria_say(
    seed: int, model: MentoringModel, different_department: bool, min_score: float
) -> None:
    prog = program(model, different_department=different_department, min_score=min_score)
    cohort = random_cohort(seed, 4, 6, model=model)
    mentors, mentees = cohort.sides(model)
    encoded = encode(prog, cohort, seed)
    e = np.repeat(np.arange(len(encoded.mentees)), len(encoded.mentors))
    m = np.tile(np.arange(len(encoded.mentors)), len(encoded.mentees))
    scores = score_pairs(encoded, e, m)
    feasible = scores.feasible(encoded)
    for index, (mentee_index, mentor_index) in enumerate(zip(e.tolist(), m.tolist(), strict=True)):
        mentee, mentor = encoded.mentees.people[mentee_index], encoded.mentors.people[mentor_index]
        expected = reference_values(prog, mentor, mentee)
        for position, criterion in enumerate(CRITERIA):
            assert math.isclose(scores.values[index, position], expected[criterion], abs_tol=1e-12)
        assert math.isclose(scores.score[index], reference_score(prog, mentor, mentee), abs_tol=1e-12)
        assert math.isclose(scores.contributions[index].sum(), scores.score[index], abs_tol=1e-12)
        assert feasible[index] == reference_allowed(prog, mentor, mentee)
    assert len(mentors) and len(mentees)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), model=st.sampled_from(MODELS), different_department=st.booleans())
def test_the_kernel_finds_exactly_the_allowed_pairs_with_their_scores(
    seed: int, model: MentoringModel, different_department: bool
) -> None:
    prog = program(model, different_department=different_department)
    cohort = random_cohort(seed, 5, 9, model=model)
    encoded = encode(prog, cohort, seed)
    kernel = Kernel(
        encoded,
        np.arange(len(encoded.mentees)),
        np.arange(len(encoded.mentors)),
        options=KernelOptions(chunk_pairs=7),  # many tiny chunks: exercises the chunk boundaries
    )
    found_e, found_m = kernel.all_pairs()
    found = set(zip(found_e.tolist(), found_m.tolist(), strict=True))
    expected = {
        (e, m)
        for e, mentee in enumerate(encoded.mentees.people)
        for m, mentor in enumerate(encoded.mentors.people)
        if reference_allowed(prog, mentor, mentee)
    }
    assert found == expected
    # In the blocks it scores (people sharing a language), the kernel's float32 scores match the exact ones
    # (preferences aside: the engine adds those back), and every pair breaking another rule is below FLOOR.
    preference_share = prog.weights.shares()["preferences"]
    for rows, cols in kernel.groups:
        col_features, col_slots = kernel._gather(cols)
        block = kernel._block(rows, cols, col_features, col_slots)
        for i, e in enumerate(rows.tolist()):
            for j, m in enumerate(cols.tolist()):
                mentee, mentor = encoded.mentees.people[e], encoded.mentors.people[m]
                if (e, m) in expected:
                    preferred = reference_values(prog, mentor, mentee)["preferences"]
                    exact = reference_score(prog, mentor, mentee) - preference_share * preferred
                    assert abs(float(block[i, j]) - exact) < 1e-5
                else:
                    assert block[i, j] <= FLOOR


def test_assessing_a_pair_explains_the_score_and_names_broken_rules() -> None:
    prog = program(different_department=True)
    mentor = person(
        "ana", {"python": 5, "sql": 3}, languages=["fr"], availability=["tue-09"], department="it", capacity=1
    )
    mentee = person("bo", {"python": 1}, goals=["python"], availability=["mon-09"], department="it")
    verdict = assess_pair(prog, mentor, mentee, mentor_load=1)
    assert not verdict.allowed
    assert set(verdict.explanation.broken_rules) == {
        "no shared language",
        "no free weekly slot in common",
        "both are in the same department",
        "the mentor is full (1 of 1 places taken)",
    }
    assert math.isclose(sum(verdict.explanation.contributions.values()), verdict.score)
    assert verdict.explanation.values["goal_gain"] == 4 / 4
    assert verdict.teaches == {"python": "ana"}
    assert verdict.explanation.factors[0] == "ana is 4 levels ahead of you in Python, one of your goals."


def test_a_good_manual_pair_breaks_no_rule() -> None:
    mentor = person("ana", {"python": 5}, availability=["mon-09", "tue-09"], department="it")
    mentee = person("bo", {"python": 2}, goals=["python"], availability=["mon-09", "tue-09"], department="sales")
    verdict = assess_pair(program(), mentor, mentee)
    assert verdict.allowed
    assert verdict.explanation.broken_rules == ()
    assert "You share 2 free weekly slots, such as mon-09." in verdict.explanation.factors
    assert "ana works in it, so you will see another department's view." in verdict.explanation.factors
    assert verdict.explanation.factors[-1] == "You can talk in en."
