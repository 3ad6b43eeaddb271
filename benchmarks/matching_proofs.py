"""What group and reciprocal peer results prove: time, objective, proven upper bound and gap of the engine (and of
the exact solver where it fits), on the synthetic cohorts of benchmarks/matching.py.

    .venv/bin/python benchmarks/matching_proofs.py

Group: the one-on-one cohorts with the group model (10 places per mentor, one meeting slot per group, members free
then). Peer: one list of people who each have three goal skills, one partner each, with reciprocity (each can
teach the other one of their goals). "exact" is MatchOptions(exhaustive=True): CP-SAT over every allowed pair (for
groups with one variable per mentor and slot), run only where it finishes in seconds. "LP" is the group bound's
reference: the linear relaxation with one variable per mentor and slot (score only), solved by GLOP; the
Lagrangian bound the engine reports converges to it.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.matching import synthetic_cohort, synthetic_people
from lti_tool.matching.engine import Cohort, MatchOptions, MentoringModel, Program, Rules, match
from lti_tool.matching.engine.candidates import Kernel
from lti_tool.matching.engine.encode import encode
from lti_tool.matching.engine.scoring import score_pairs

GROUP_SIZES = {"300 x 30": (30, True), "1k x 100": (100, False), "10k x 1k": (1_000, False)}  # (mentors, exact)
GROUP_LP = {"300 x 30"}  # sizes where GLOP solves the LP in seconds
PEER_SIZES = {"200": (200, True), "1k": (1_000, False)}


def group_case(mentors: int) -> tuple[Program, Cohort]:
    program, cohort = synthetic_cohort(mentors)
    return replace(program, model=MentoringModel.GROUP), cohort


def peer_case(people: int) -> tuple[Program, Cohort]:
    program, _ = synthetic_cohort(1)
    rng = np.random.default_rng(11)
    participants = synthetic_people(people, "p", rng, mentor=False)
    rules = replace(Rules(), require_reciprocity=True)
    return replace(program, model=MentoringModel.PEER, rules=rules), Cohort(participants=participants)


def report(label: str, model: str, method: str, program: Program, cohort: Cohort, options: MatchOptions) -> None:
    started = time.perf_counter()
    result = match(program, cohort, seed=1, options=options)
    seconds = time.perf_counter() - started
    proof = result.proof
    print(
        f"{label:<10} {model:<6} {method:<7} {seconds:>7.2f} {proof.objective:>11.2f} {proof.upper_bound:>11.2f} "
        f"{100 * proof.gap:>7.3f} {'yes' if proof.optimal else 'no':>8} {int(result.stats['matched']):>8}"
    )


def group_lp(label: str, program: Program, cohort: Cohort) -> None:
    """The score-only LP of groups: y[m, s] (m meets at s), x[e, m, s] <= y[m, s], sum_e x[., m, s] <= c_m y[m, s],
    sum_s y[m, .] <= 1, sum_{m, s} x[e, ., .] <= 1."""
    from ortools.linear_solver import pywraplp

    started = time.perf_counter()
    encoded = encode(program, cohort, 1)
    mentees, mentors = encoded.mentees, encoded.mentors
    e, m = Kernel(encoded, np.arange(len(mentees)), np.arange(len(mentors))).all_pairs()
    scores = score_pairs(encoded, e, m)
    ok = scores.feasible(encoded)
    e, m, value = e[ok], m[ok], scores.score[ok]
    pair, slot = np.nonzero(mentees.slot_matrix[e] & mentors.slot_matrix[m])
    solver = pywraplp.Solver.CreateSolver("GLOP")
    meets = {key: solver.NumVar(0, 1, "") for key in sorted(set(zip(m[pair].tolist(), slot.tolist(), strict=True)))}
    joins = [solver.NumVar(0, 1, "") for _ in pair]
    solver.Maximize(sum(float(value[p]) * x for p, x in zip(pair.tolist(), joins, strict=True)))
    per_mentee: dict[int, list[pywraplp.Variable]] = {}
    per_group: dict[tuple[int, int], list[pywraplp.Variable]] = {}
    for p, s, x in zip(pair.tolist(), slot.tolist(), joins, strict=True):
        solver.Add(x <= meets[int(m[p]), s])
        per_mentee.setdefault(int(e[p]), []).append(x)
        per_group.setdefault((int(m[p]), s), []).append(x)
    for members in per_mentee.values():
        solver.Add(sum(members) <= 1)
    for (mentor, s), members in per_group.items():
        solver.Add(sum(members) <= float(mentors.capacity[mentor]) * meets[mentor, s])
    per_mentor: dict[int, list[pywraplp.Variable]] = {}
    for (mentor, _), y in meets.items():
        per_mentor.setdefault(mentor, []).append(y)
    for slots in per_mentor.values():
        solver.Add(sum(slots) <= 1)
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        raise RuntimeError("GLOP did not solve the group LP")
    seconds = time.perf_counter() - started
    placed = sum(x.solution_value() for x in joins)
    bound = solver.Objective().Value()
    print(f"{label:<10} {'group':<6} {'LP':<7} {seconds:>7.2f} {'':>11} {bound:>11.2f} {'':>7} {'':>8} {placed:>8.1f}")


def main() -> int:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    header = (
        f"{'size':<10} {'model':<6} {'method':<7} {'time s':>7} {'objective':>11} {'bound':>11} {'gap %':>7} "
        f"{'optimal':>8} {'matched':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, (mentors, exact) in GROUP_SIZES.items():
        program, cohort = group_case(mentors)
        report(label, "group", "engine", program, cohort, MatchOptions())
        if exact:
            report(label, "group", "exact", program, cohort, MatchOptions(exhaustive=True))
        if label in GROUP_LP:
            group_lp(label, program, cohort)
    for label, (people, exact) in PEER_SIZES.items():
        program, cohort = peer_case(people)
        report(label, "peer", "engine", program, cohort, MatchOptions())
        if exact:
            report(label, "peer", "exact", program, cohort, MatchOptions(exhaustive=True))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
