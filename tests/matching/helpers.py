"""Small cohorts for the engine's tests, and a plain-Python reference: pair scores and the optimum by brute force."""

from __future__ import annotations

import functools
import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from lti_tool.matching.engine import (
    CRITERIA,
    FULL_AVAILABILITY_SLOTS,
    MAX_LEVEL,
    Cohort,
    MatchResult,
    MentoringModel,
    Pair,
    Person,
    Program,
    Rules,
    Skill,
    Weights,
)
from lti_tool.matching.engine.cohort import DAY_MINUTES, WAKING_MINUTES

SKILLS = ("python", "sql", "writing", "leadership", "design")
SLOTS = ("mon-09", "mon-13", "tue-09", "wed-17", "thu-09", "fri-13")
LANGUAGES = ("en", "fr", "es")
DEPARTMENTS = ("sales", "it", "finance")
# Offsets from UTC in minutes, with None (no time zone): Los Angeles, UTC, Berlin, Kolkata, Tokyo, Kiribati.
OFFSETS = (-480, 0, 60, 330, 540, 840, None)


def program(model: MentoringModel = MentoringModel.ONE_ON_ONE, **rules: object) -> Program:
    return Program(
        skills=tuple(Skill(key, key.title()) for key in SKILLS),
        model=model,
        weights=Weights(goal_gain=0.45, complementarity=0.15, availability=0.2, diversity=0.1, preferences=0.1),
        rules=replace(Rules(), **rules),  # type: ignore[arg-type]
    )


def person(
    id: str,
    skills: dict[str, int] | None = None,
    *,
    goals: Sequence[str] = (),
    languages: Sequence[str] = ("en",),
    availability: Sequence[str] = ("mon-09",),
    department: str | None = None,
    capacity: int | None = None,
    preferences: Sequence[str] = (),
    utc_offset: int | None = None,
) -> Person:
    return Person(
        id=id,
        skills=skills or {},
        goals=tuple(goals),
        languages=frozenset(languages),
        availability=frozenset(availability),
        department=department,
        capacity=capacity,
        preferences=frozenset(preferences),
        utc_offset=utc_offset,
    )


def random_person(
    rng: random.Random,
    id: str,
    *,
    mentor: bool,
    capacity: int | None = None,
    other: Sequence[str] = (),
    zones: bool = False,
) -> Person:
    found = person(
        id,
        {skill: rng.randint(1 if mentor else 0, MAX_LEVEL if mentor else 3) for skill in SKILLS if rng.random() < 0.9},
        goals=rng.sample(SKILLS, rng.randint(0 if mentor else 1, 2)),
        languages=rng.sample(LANGUAGES, rng.randint(1, 2)),
        availability=rng.sample(SLOTS, rng.randint(1, 3)),
        department=rng.choice((*DEPARTMENTS, None)),
        capacity=capacity,
        preferences=[candidate for candidate in other if rng.random() < 0.15],
    )
    # Drawn last, and only when asked, so that cohorts without time zones stay as they were for every seed.
    return replace(found, utc_offset=rng.choice(OFFSETS)) if zones else found


def random_cohort(
    seed: int,
    mentors: int,
    mentees: int,
    *,
    model: MentoringModel = MentoringModel.ONE_ON_ONE,
    max_capacity: int = 2,
    zones: bool = False,
) -> Cohort:
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    mentor_ids = [f"m{i}" for i in range(mentors)]
    mentee_ids = [f"e{i}" for i in range(mentees)]
    if model is MentoringModel.PEER:
        ids = [f"p{i}" for i in range(mentees)]
        return Cohort(
            participants=tuple(
                random_person(
                    rng, pid, mentor=rng.random() < 0.5, capacity=rng.randint(0, max_capacity), other=ids, zones=zones
                )
                for pid in ids
            )
        )
    return Cohort(
        mentors=tuple(
            random_person(rng, mid, mentor=True, capacity=rng.randint(0, max_capacity), other=mentee_ids, zones=zones)
            for mid in mentor_ids
        ),
        mentees=tuple(random_person(rng, eid, mentor=False, other=mentor_ids, zones=zones) for eid in mentee_ids),
    )


# The reference: the scoring formulas written out plainly, pair by pair.


def _gain(teacher: Person, learner: Person, skills: Sequence[str]) -> tuple[int, int]:
    ahead = sum(max(0, teacher.skills.get(s, 0) - learner.skills.get(s, 0)) for s in skills)
    room = sum(MAX_LEVEL - learner.skills.get(s, 0) for s in skills)
    return ahead, room


def _fraction(part: tuple[int, int]) -> float:
    return part[0] / part[1] if part[1] else 0.0


def hours_apart(mentor: Person, mentee: Person) -> float | None:
    """Hours between two people's time zones, the short way round the clock (None when either gave none)."""
    if mentor.utc_offset is None or mentee.utc_offset is None:
        return None
    gap = abs(mentor.utc_offset - mentee.utc_offset) % DAY_MINUTES
    return min(gap, DAY_MINUTES - gap) / 60


def waking_together(mentor: Person, mentee: Person) -> int:
    """Minutes of the day both are awake (08:00-22:00 local), counted minute by minute."""
    if mentor.utc_offset is None or mentee.utc_offset is None:
        return 0
    return _awake_together(mentor.utc_offset, mentee.utc_offset)


@functools.cache
def _awake_together(first: int, second: int) -> int:
    def awake(offset: int, minute: int) -> bool:
        return 8 * 60 <= (minute + offset) % DAY_MINUTES < 22 * 60

    return sum(awake(first, t) and awake(second, t) for t in range(DAY_MINUTES))


def reference_values(prog: Program, mentor: Person, mentee: Person) -> dict[str, float]:
    goal = _fraction(_gain(mentor, mentee, mentee.goals))
    complement = _fraction(_gain(mentor, mentee, SKILLS))
    if prog.model is MentoringModel.REVERSE:
        goal = 0.5 * goal + 0.5 * _fraction(_gain(mentee, mentor, mentor.goals))
        complement = 0.5 * complement + 0.5 * _fraction(_gain(mentee, mentor, SKILLS))
    shared = len(mentor.availability & mentee.availability)
    known = mentor.department is not None and mentee.department is not None
    return {
        "goal_gain": goal,
        "complementarity": complement,
        "availability": min(shared, FULL_AVAILABILITY_SLOTS) / FULL_AVAILABILITY_SLOTS,
        "diversity": 1.0 if known and mentor.department != mentee.department else 0.0,
        "preferences": 1.0 if mentor.id in mentee.preferences or mentee.id in mentor.preferences else 0.0,
        "waking_hours": waking_together(mentor, mentee) / WAKING_MINUTES,
    }


def reference_score(prog: Program, mentor: Person, mentee: Person) -> float:
    shares = prog.weights.shares()
    values = reference_values(prog, mentor, mentee)
    return sum(shares[name] * values[name] for name in CRITERIA)


def reference_allowed(prog: Program, mentor: Person, mentee: Person) -> bool:
    rules = prog.rules
    if mentor.id == mentee.id:
        return False
    if rules.same_language and mentor.languages and mentee.languages and not mentor.languages & mentee.languages:
        return False
    if rules.shared_slot and not mentor.availability & mentee.availability:
        return False
    if rules.different_department and mentor.department is not None and mentor.department == mentee.department:
        return False
    if rules.never_repair_declined and Pair(mentor.id, mentee.id) in rules.declined_pairs:
        return False
    apart = hours_apart(mentor, mentee)
    if rules.max_hours_apart is not None and apart is not None and apart > rules.max_hours_apart:
        return False
    return reference_score(prog, mentor, mentee) >= rules.min_score - 1e-12


def capacity_of(prog: Program, mentor: Person) -> int:
    return mentor.capacity if mentor.capacity is not None else prog.capacity_default


def brute_force(prog: Program, cohort: Cohort) -> tuple[int, float]:
    """(matched, total score) of the best assignment, trying every one (fixed pairs kept)."""
    mentors, mentees = cohort.sides(prog.model)
    fixed = {pair.mentee: pair.mentor for pair in prog.rules.fixed_pairs}
    by_id = {m.id: m for m in mentors}
    options: list[list[Person | None]] = []
    for mentee in mentees:
        if mentee.id in fixed:
            options.append([by_id[fixed[mentee.id]]])
        else:
            options.append([None, *(m for m in mentors if reference_allowed(prog, m, mentee))])
    best_key = (-1, -1.0)
    best = (0, 0.0)
    for choice in itertools.product(*options):
        load: dict[str, int] = {}
        for mentor in choice:
            if mentor is not None:
                load[mentor.id] = load.get(mentor.id, 0) + 1
        if any(count > capacity_of(prog, by_id[mid]) for mid, count in load.items()):
            continue
        matched = sum(mentor is not None for mentor in choice)
        total = sum(reference_score(prog, m, e) for m, e in zip(choice, mentees, strict=True) if m is not None)
        key = (matched if prog.rules.maximize_matched else 0, total)
        if key[0] > best_key[0] or (key[0] == best_key[0] and key[1] > best_key[1] + 1e-12):
            best_key, best = key, (matched, total)
    return best


def can_teach(mentor: Person, mentee: Person) -> bool:
    """The mentor is ahead in at least one of the mentee's goals."""
    return any(mentor.skills.get(s, 0) > mentee.skills.get(s, 0) for s in mentee.goals)


def reciprocal_edges(prog: Program, people: Sequence[Person]) -> list[tuple[int, int, float]]:
    edges = []
    for i, a in enumerate(people):
        for j in range(i + 1, len(people)):
            b = people[j]
            if reference_allowed(prog, a, b) and reference_allowed(prog, b, a) and can_teach(a, b) and can_teach(b, a):
                edges.append((i, j, reference_score(prog, a, b) + reference_score(prog, b, a)))
    return edges


def reciprocal_brute_force(prog: Program, cohort: Cohort) -> tuple[int, float]:
    """(pairs, total of both directions' scores) of the best set of mutual pairs, by exhaustive search."""
    people = cohort.participants
    edges = reciprocal_edges(prog, people)
    room = [capacity_of(prog, p) for p in people]
    best = [(-1, -1.0)]

    def search(index: int, pairs: int, total: float) -> None:
        if index == len(edges):
            key = (pairs if prog.rules.maximize_matched else 0, total)
            current = (best[0][0] if prog.rules.maximize_matched else 0, best[0][1])
            if key[0] > current[0] or (key[0] == current[0] and key[1] > current[1] + 1e-12):
                best[0] = (pairs, total)
            return
        search(index + 1, pairs, total)
        a, b, weight = edges[index]
        if room[a] > 0 and room[b] > 0:
            room[a] -= 1
            room[b] -= 1
            search(index + 1, pairs + 1, total + weight)
            room[a] += 1
            room[b] += 1

    search(0, 0, 0.0)
    return best[0]


def check_result(prog: Program, cohort: Cohort, result: MatchResult) -> None:
    """What every result must satisfy, whatever the cohort."""
    mentors, mentees = cohort.sides(prog.model)
    by_mentor = {p.id: p for p in mentors}
    by_mentee = {p.id: p for p in mentees}
    fixed = set(prog.rules.fixed_pairs)
    if prog.model is MentoringModel.PEER and prog.rules.require_reciprocity:
        fixed |= {Pair(mentor=p.mentee, mentee=p.mentor) for p in fixed}
    load = Counter(m.mentor for m in result.matches)
    for mentor_id, count in load.items():
        limit = capacity_of(prog, by_mentor[mentor_id])
        assert count <= limit, f"{mentor_id} takes {count} mentees, capacity {limit}"
    taken = Counter(m.mentee for m in result.matches)
    assert max(taken.values(), default=0) <= (
        max((capacity_of(prog, p) for p in mentors), default=1)
        if prog.model is MentoringModel.PEER and prog.rules.require_reciprocity
        else 1
    )
    for found in result.matches:
        mentor, mentee = by_mentor[found.mentor], by_mentee[found.mentee]
        assert found.mentor != found.mentee
        assert math.isclose(sum(found.explanation.contributions.values()), found.score, abs_tol=1e-12)
        assert math.isclose(found.score, reference_score(prog, mentor, mentee), abs_tol=1e-9)
        if Pair(found.mentor, found.mentee) in fixed:
            assert found.fixed
        else:
            assert not found.fixed
            assert reference_allowed(prog, mentor, mentee), f"{found.mentor}->{found.mentee} breaks a rule"
            assert found.explanation.broken_rules == ()
            if prog.rules.never_repair_declined:
                assert Pair(found.mentor, found.mentee) not in prog.rules.declined_pairs
    present = {(m.mentor, m.mentee) for m in result.matches}
    for pair in prog.rules.fixed_pairs:
        assert (pair.mentor, pair.mentee) in present, "a fixed pair was dropped"
    matched = {m.mentee for m in result.matches}
    unmatched = [u.mentee for u in result.unmatched]
    assert len(unmatched) == len(set(unmatched))
    assert set(unmatched) == {p.id for p in mentees} - matched
    assert all(u.message for u in result.unmatched)
    assert math.isclose(result.objective, math.fsum(m.score for m in result.matches))
