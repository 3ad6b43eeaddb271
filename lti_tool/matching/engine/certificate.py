"""Proven optimum of a bipartite cohort at candidate-list speed: solve on candidates, price every pair, repeat.

The flow on candidate pairs is optimal for those pairs; its dual prices (solver.prices) say what each mentor
and mentee is worth. A pair outside the candidates could improve the assignment only if its gain exceeds the
two prices (a positive reduced cost). Pricing streams every pair the hard rules allow through the scoring kernel
in float64 (never a whole matrix), keeps those that might be positive, rescores them exactly and adds those
that are; the flow is solved again with them. When none is left the prices are feasible for the whole cohort,
so their objective bounds every assignment and equals ours: the result is the cohort's optimum (on scores
rounded to millionths, as the solver sees them). When the rounds run out first, each mentee's price is raised
by its best reduced cost found, which makes the prices feasible: their objective is the proven upper bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lti_tool.matching.engine.candidates import Kernel, KernelOptions
from lti_tool.matching.engine.encode import BoolArray, Encoded, FloatArray, IntArray, pack_bits
from lti_tool.matching.engine.scoring import score_pairs
from lti_tool.matching.engine.solver import SCALE, Prices, assign, gains, matched_bonus, prices

Progress = Callable[[str, int, int], None]

# A pair gains at least one millionth over its prices only if its score * SCALE reaches the prices + 0.5
# (rounding); the float64 kernel is within 1e-12 of the exact score, so this margin (in millionths) is safe.
KERNEL_MARGIN = 1e-3


@dataclass(frozen=True)
class Certified:
    chosen: BoolArray  # over the (grown) candidate pairs
    mentees: IntArray
    mentors: IntArray
    scores: FloatArray
    proven: bool  # no pair of the cohort has a positive reduced cost: the assignment is optimal
    upper_bound: float  # on the total score of the best assignment of these rows and places (score units)
    rounds: int  # pricing passes made
    added_pairs: int  # pairs pricing added to the candidates


def certified_assignment(
    encoded: Encoded,
    rows: IntArray,
    cols: IntArray,
    places: IntArray,
    mentees: IntArray,
    mentors: IntArray,
    scores: FloatArray,
    *,
    maximize_matched: bool,
    max_rounds: int,
    kernel_options: KernelOptions,
    meeting_slots: BoolArray | None = None,
    progress: Progress | None = None,
) -> Certified:
    """The optimal assignment of `rows` (mentees) to `cols` (mentors with `places`), starting from the
    feasible candidate pairs (mentees[i], mentors[i]) with exact `scores`, and the bound it is proven against."""
    n_rows, n_cols = len(encoded.mentees), len(encoded.mentors)
    capacity = np.maximum(places, 0)
    bonus = matched_bonus(len(rows), capacity[cols]) if maximize_matched else 0
    kernel: Kernel | None = None
    added = 0
    for round_number in range(1, max_rounds + 1):
        chosen = assign(n_rows, n_cols, mentees, mentors, scores, capacity, maximize_matched=maximize_matched)
        gain = gains(scores)
        dual = prices(n_rows, n_cols, mentees, mentors, gain, chosen, capacity, bonus=bonus)
        if kernel is None:
            kernel = Kernel(encoded, rows, cols, meeting_slots=meeting_slots, options=kernel_options, precise=True)
        if progress is not None:
            progress("certifying", round_number, max_rounds)
        new_e, new_m, new_scores, excess = _positive_pairs(encoded, kernel, dual, meeting_slots)
        if not len(new_e) or round_number == max_rounds:
            break
        mentees = np.concatenate([mentees, new_e])
        mentors = np.concatenate([mentors, new_m])
        scores = np.concatenate([scores, new_scores])
        added += len(new_e)
    matched = int(chosen.sum())
    total = float(scores[chosen].sum())
    proven = not len(new_e)
    if proven:
        bound = total
    else:
        # Feasible prices: each mentee's raised by its best reduced cost. Their objective bounds every
        # assignment's gain plus bonus per pair; every pair's score is within half a millionth of its gain.
        bound_gain = dual.bound(capacity) + int(excess.sum())
        most_pairs = min(len(rows), int(capacity[cols].sum()))
        bound = (bound_gain - bonus * matched) / SCALE + 0.5 * most_pairs / SCALE
    return Certified(chosen, mentees, mentors, scores, proven, max(bound, total), round_number, added)


def _positive_pairs(
    encoded: Encoded, kernel: Kernel, dual: Prices, meeting_slots: BoolArray | None
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Every pair the rules allow with a positive reduced cost under `dual`: (mentees, mentors, exact scores),
    and per mentee its best positive reduced cost (0 if none)."""
    row_threshold = (dual.row - dual.bonus).astype(np.float64) + (0.5 - KERNEL_MARGIN)
    e, m = kernel.priced_pairs(row_threshold, dual.col.astype(np.float64), float(SCALE))
    excess = np.zeros(len(dual.row), dtype=np.int64)
    if not len(e):
        return e, m, np.zeros(0), excess
    found = score_pairs(encoded, e, m, meeting_slots=None if meeting_slots is None else pack_bits(meeting_slots))
    reduced = gains(found.score) + dual.bonus - dual.row[e] - dual.col[m]
    keep = found.feasible(encoded) & (reduced > 0)
    e, m, reduced = e[keep], m[keep], reduced[keep]
    np.maximum.at(excess, e, reduced)
    return e, m, found.score[keep], excess
