"""Proven optimum of a bipartite cohort at candidate-list speed: solve on candidates, price every pair, repeat.

The flow on the candidate pairs is optimal for those pairs; its dual prices (solver.prices) say what each
mentor and mentee is worth. A pair outside the candidates could improve the assignment only if its gain beats
the two prices (a positive reduced cost). Every pair of the cohort is priced out:
- in bulk first: no pair left out of the candidate lists scores above its row's or its column's bound
  (Kernel.top_pairs), so per mentee the best reduced cost any left-out pair can reach follows from sorted
  prices and bounds, without scoring a pair. Mentees whose bound is below one millionth are done;
- the others' rows are streamed through the same chunked kernel (in float64) against the mentors priced low
  enough to pay (never a whole matrix), the pairs that might be positive rescored exactly, and the best
  positive ones of each mentee added (equal ones by pair hash, so that tied mentees reach different mentors).
The flow is solved again with them, until no pair is left: the prices are then feasible for the whole cohort,
their objective bounds every assignment and equals ours, so the result is the cohort's optimum (on scores in
millionths, as the solver sees them). When the rounds or the pricing budget run out first, each mentee's price
is raised by the best reduced cost found (or bounded) for it, which makes the prices feasible: their objective
is the proven upper bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lti_tool.matching.engine.candidates import Float64Array, Kernel, _tiebreak
from lti_tool.matching.engine.encode import (
    BoolArray,
    Encoded,
    FloatArray,
    IntArray,
    WordArray,
    contains,
    pack_bits,
    unique_keys,
)
from lti_tool.matching.engine.scoring import score_pairs
from lti_tool.matching.engine.solver import SCALE, Prices, assign, gains, matched_bonus, prices

Progress = Callable[[str, int, int], None]

# Candidates more than this below their prices (in millionths) sit out the next solves until priced back in.
ACTIVE_MARGIN = SCALE // 20
PRICING_SLACK = 0.01  # millionths
ADDED_PER_ROW = 2  # positive pairs added per mentee and round: the best; more only swell the flow


@dataclass(frozen=True)
class Certified:
    chosen: BoolArray  # over the (grown) candidate pairs
    mentees: IntArray
    mentors: IntArray
    scores: FloatArray
    proven: bool  # no pair of the cohort has a positive reduced cost: the assignment is optimal
    upper_bound: float  # on the total score of the best assignment of these rows and places (score units)
    rounds: int  # solve-and-price rounds
    added_pairs: int  # pairs pricing added to the candidates
    priced_rows: int  # rows streamed through the kernel, over all rounds (the others were done in bulk)
    streamed_pairs: int  # pairs those rows were scored against
    most_matched: bool  # proven: no assignment matches more mentees (with the number matched first)
    dual: Prices  # the last priced solve's prices (feasible for every pair of the cohort when proven)


def certified_assignment(
    encoded: Encoded,
    kernel: Kernel,
    places: IntArray,
    mentees: IntArray,
    mentors: IntArray,
    scores: FloatArray,
    *,
    maximize_matched: bool,
    max_rounds: int,
    max_priced_pairs: int,
    meeting_slots: BoolArray | None = None,
    progress: Progress | None = None,
) -> Certified:
    """The optimal assignment of the kernel's rows (mentees) to its cols (mentors with `places`), from the
    feasible candidate pairs (mentees[i], mentors[i]) with exact `scores` that `kernel.top_pairs` chose (its
    bounds cover every other pair), and the bound it is proven against. The candidates must include every
    preferred pair: the kernel leaves preferences out of its scores (the engine adds them to every list).

    After the first round the flow only gets the candidates within ACTIVE_MARGIN of their prices (and the
    pairs it used): the others are priced like any pair and come back when they would improve the result.
    Every round's raised prices bound every assignment, so the best of them is kept."""
    n_rows, n_cols = len(encoded.mentees), len(encoded.mentors)
    capacity = np.maximum(places, 0)
    bonus = matched_bonus(len(kernel.rows), capacity[kernel.cols]) if maximize_matched else 0
    # Pricing rescores in float64: float32's margin would make every tie of a cohort of identical profiles a
    # pair to rescore exactly.
    pricer = Kernel(
        encoded, kernel.rows, kernel.cols, meeting_slots=meeting_slots, options=kernel.options, precise=True
    )
    meeting_words = None if meeting_slots is None else pack_bits(meeting_slots)
    gain = gains(scores)
    active = np.ones(len(mentees), dtype=np.bool_)
    budget = max_priced_pairs
    best_raised: int | None = None
    added = priced_rows = streamed_pairs = round_number = 0
    while True:
        round_number += 1
        if progress is not None:
            progress("certifying", round_number, max_rounds)
        chosen, dual = _solve(n_rows, n_cols, mentees, mentors, scores, gain, active, capacity, maximize_matched, bonus)
        reduced = gain + bonus - dual.row[mentees] - dual.col[mentors]
        revived = ~active & (reduced > 0)
        excess = np.zeros(n_rows, dtype=np.int64)
        np.maximum.at(excess, mentees[revived], reduced[revived])
        bulk, price_cap, width = _bulk_excess(kernel, dual)
        suspect = bulk >= 0.5  # reduced costs are whole millionths: below 1 means none is positive
        wanted = _within_budget(bulk, suspect, width, budget)
        this_round = int(width[wanted].sum())
        budget -= this_round
        streamed_pairs += this_round
        priced_rows += int(wanted.sum())
        price_cap[~wanted] = -np.inf
        new_e, new_m, new_scores, streamed = _positive_pairs(encoded, pricer, dual, price_cap, meeting_words)
        excess = np.maximum(excess, streamed)
        unpriced = suspect & ~wanted
        # Feasible prices: each mentee's raised by its best reduced cost (found, or bounded in bulk).
        excess[unpriced] = np.maximum(excess[unpriced], np.ceil(bulk[unpriced]).astype(np.int64))
        raised = dual.bound(capacity) + int(excess.sum())
        best_raised = raised if best_raised is None else min(best_raised, raised)
        fresh = ~contains(unique_keys(encoded.key(mentees, mentors)), encoded.key(new_e, new_m))
        new_e, new_m, new_scores = new_e[fresh], new_m[fresh], new_scores[fresh]
        proven = not excess.any()
        if proven or not (len(new_e) or revived.any()):
            break  # optimal, or nothing left to add: the bound stands
        mentees = np.concatenate([mentees, new_e])
        mentors = np.concatenate([mentors, new_m])
        scores = np.concatenate([scores, new_scores])
        gain = np.concatenate([gain, gains(new_scores)])
        active = np.concatenate([(reduced >= -ACTIVE_MARGIN) | chosen | revived, np.ones(len(new_e), dtype=np.bool_)])
        added += len(new_e)
        # Another round only if the budget left could price as much again as this one did.
        if round_number >= max_rounds or unpriced.any() or budget < this_round:
            # Solve once more with what was found; the bound stays the best one proven.
            chosen, _ = _solve(
                n_rows, n_cols, mentees, mentors, scores, gain, active, capacity, maximize_matched, bonus, priced=False
            )
            break
    total = float(scores[chosen].sum())
    # Every assignment gains under best_raised including its bonus per pair, and gains are under the bonus.
    most_matched = proven or (bonus > 0 and best_raised is not None and best_raised < bonus * (int(chosen.sum()) + 1))
    if proven:
        bound = total
    else:
        # The raised prices bound every assignment's gains plus bonus per pair, and the best assignment
        # matches at least as many as ours; a score is within half a millionth of its gain.
        most_pairs = min(len(kernel.rows), int(capacity[kernel.cols].sum()))
        bound = (best_raised - bonus * int(chosen.sum()) + 0.5 * most_pairs) / SCALE
    return Certified(
        chosen,
        mentees,
        mentors,
        scores,
        proven,
        max(bound, total),
        round_number,
        added,
        priced_rows,
        streamed_pairs,
        most_matched,
        dual,
    )


def _solve(
    n_rows: int,
    n_cols: int,
    mentees: IntArray,
    mentors: IntArray,
    scores: FloatArray,
    gain: IntArray,
    active: BoolArray,
    capacity: IntArray,
    maximize_matched: bool,
    bonus: int,
    *,
    priced: bool = True,
) -> tuple[BoolArray, Prices]:
    """The optimum over the active candidates (as a mask over all of them) and its prices (all zero when not
    `priced`: the last solve after the budget needs none)."""
    arcs = np.flatnonzero(active)
    used = assign(
        n_rows, n_cols, mentees[arcs], mentors[arcs], scores[arcs], capacity, maximize_matched=maximize_matched
    )
    if priced:
        dual = prices(n_rows, n_cols, mentees[arcs], mentors[arcs], gain[arcs], used, capacity, bonus=bonus)
    else:
        dual = Prices(np.zeros(n_rows, dtype=np.int64), np.zeros(n_cols, dtype=np.int64), bonus)
    chosen = np.zeros(len(mentees), dtype=np.bool_)
    chosen[arcs[used]] = True
    return chosen, dual


def _bulk_excess(kernel: Kernel, dual: Prices) -> tuple[Float64Array, Float64Array, IntArray]:
    """Per mentee (internal index): an upper bound on the reduced cost (in millionths) of every pair left out
    of the candidates, max over the mentors they may meet of min(row bound, col bound) - col price - row price;
    the highest mentor price at which such a pair can still be positive; and how many mentors are under it.

    Per language block, mentors sorted by their bound: those at or above the row's bound give at most the row
    bound minus the cheapest of them (a suffix minimum), the others their own bound minus their price (a prefix
    maximum). Candidate pairs are in the maximum too: their bounds are at most their scores, so they add nothing.
    """
    excess = np.full(len(dual.row), -np.inf)
    width = np.zeros(len(dual.row), dtype=np.int64)
    row_part = (dual.row - dual.bonus).astype(np.float64)
    col_price = dual.col.astype(np.float64)
    row_cap = (kernel.row_bound.astype(np.float64) + kernel.error) * SCALE + 0.5
    col_cap = (kernel.col_bound.astype(np.float64) + kernel.error) * SCALE + 0.5
    price_cap = row_cap - row_part + 0.5  # a pair is positive only if its mentor's price is below this (with room)
    for members, cols in kernel.groups:
        order = np.argsort(col_cap[cols], kind="stable")
        caps, price = col_cap[cols][order], col_price[cols][order]
        cheapest_above = np.minimum.accumulate(price[::-1])[::-1]
        best_below = np.concatenate([[-np.inf], np.maximum.accumulate(caps - price)])
        at = np.searchsorted(caps, row_cap[members], side="left")  # mentors from `at` on reach the row's bound
        above = np.full(len(members), -np.inf)
        some = at < len(cols)
        above[some] = row_cap[members][some] - cheapest_above[at[some]]
        excess[members] = np.maximum(above, best_below[at]) - row_part[members]
        width[members] = np.searchsorted(np.sort(price), price_cap[members], side="right")
    return excess, price_cap, width


def _within_budget(bulk: Float64Array, suspect: BoolArray, width: IntArray, max_pairs: int) -> BoolArray:
    """The suspect rows to stream through the kernel: those whose bulk bound is worst first, within max_pairs
    pairs; the rest keep their bulk bound."""
    rows = np.flatnonzero(suspect)
    rows = rows[np.argsort(-bulk[rows], kind="stable")]
    within = rows[np.cumsum(width[rows]) <= max_pairs]
    wanted = np.zeros(len(bulk), dtype=np.bool_)
    wanted[within] = True
    return wanted


def _positive_pairs(
    encoded: Encoded,
    pricer: Kernel,
    dual: Prices,
    price_cap: Float64Array,
    meeting_words: WordArray | None,
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """Pairs of the rows with a finite price cap (against the mentors under it) the rules allow with a positive
    reduced cost under `dual`, at most
    ADDED_PER_ROW per mentee (the best): (mentees, mentors, exact scores); and per mentee an upper bound on its
    best reduced cost, exact where it was rescored (0 if no pair of the row is positive)."""
    excess = np.zeros(len(dual.row), dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    if not (price_cap > -np.inf).any():
        return none, none, np.zeros(0), excess
    row_part = (dual.row - dual.bonus).astype(np.float64)
    # Reduced cost = rint(score * SCALE) - col - row. The kernel is within its error of the score, and prices
    # (up to the bonus, ~1e11) lose ~1e-5 millionths to float64 rounding: PRICING_SLACK covers both. So a pair
    # whose value (SCALE * score - col) - row is below 0.5 - slack is not positive, and one at or above
    # 1.5 + slack is; only those in between are rescored to know.
    slack = PRICING_SLACK + 2 * pricer.error * SCALE
    rules = encoded.program.rules
    e, m, value = pricer.priced_pairs(
        row_part + 0.5 - slack, dual.col.astype(np.float64), float(SCALE), price_cap, rules.min_score
    )
    value -= row_part[e]
    unsure = np.flatnonzero(value < 1.5 + slack)
    positive = value >= 1.5 + slack
    if len(unsure):
        rescored = score_pairs(encoded, e[unsure], m[unsure], meeting_slots=meeting_words)
        exact = gains(rescored.score) + dual.bonus - dual.row[e[unsure]] - dual.col[m[unsure]]
        positive[unsure] = rescored.feasible(encoded) & (exact > 0)
    e, m, value = e[positive], m[positive], value[positive]
    # A bound on each positive pair's reduced cost: rint adds at most half a millionth.
    np.maximum.at(excess, e, np.floor(value + 0.5 + slack).astype(np.int64))
    best = _best_per_row(e, value, _tiebreak(e, m), len(dual.row))
    found = score_pairs(encoded, e[best], m[best], meeting_slots=meeting_words)
    ok = found.feasible(encoded)
    return e[best][ok], m[best][ok], found.score[ok], excess


def _best_per_row(rows: IntArray, value: Float64Array, hashes: npt.NDArray[np.uint64], n_rows: int) -> IntArray:
    """Indices of the ADDED_PER_ROW highest values of each row, equal ones by the lowest pair hash: mentees with
    identical profiles tie with every mentor of a profile and price, and must not all take the same few, or a
    round prices in only those few mentors (and the rounds run out with a bound of the matched-first bonus)."""
    left = np.ones(len(rows), dtype=np.bool_)
    for _ in range(ADDED_PER_ROW):
        top = np.full(n_rows, -np.inf)
        np.maximum.at(top, rows[left], value[left])
        tied = np.flatnonzero(left & (value == top[rows]))
        least = np.full(n_rows, np.iinfo(np.uint64).max, dtype=np.uint64)
        np.minimum.at(least, rows[tied], hashes[tied])
        tied = tied[hashes[tied] == least[rows[tied]]]
        first = np.full(n_rows, len(rows))  # one per row, should two pairs share a hash
        np.minimum.at(first, rows[tied], tied)
        left[first[first < len(rows)]] = False
    return np.flatnonzero(~left)
