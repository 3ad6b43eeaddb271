"""What group and reciprocal peer results prove: time, objective, proven upper bound and gap of the engine (and of
the exact solver where it fits), on the synthetic cohorts of benchmarks/matching.py.

    .venv/bin/python benchmarks/matching_proofs.py

Group: the one-on-one cohorts with the group model (10 places per mentor, one meeting slot per group, members free
then). Peer: one list of people who each have three goal skills, one partner each, with reciprocity (each can
teach the other one of their goals). "exact" is MatchOptions(exhaustive=True): CP-SAT over every allowed pair (for
groups with one variable per mentor and slot), run only where it finishes in seconds.
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

GROUP_SIZES = {"300 x 30": (30, True), "1k x 100": (100, False), "10k x 1k": (1_000, False)}
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
    for label, (people, exact) in PEER_SIZES.items():
        program, cohort = peer_case(people)
        report(label, "peer", "engine", program, cohort, MatchOptions())
        if exact:
            report(label, "peer", "exact", program, cohort, MatchOptions(exhaustive=True))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
