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
Identical profiles (encode.ProfileClasses) are priced a class at a time, and identical mentors share one
price (_positive_pairs, _Merged). The flow is solved again with them, until no pair is left: the prices are
then feasible for the whole cohort, their objective bounds every assignment and equals ours, so the result is
the cohort's optimum (on scores in millionths, as the solver sees them). When the rounds or the pricing
budget run out first, each mentee's price is raised by the best reduced cost found (or bounded) for it, which
makes the prices feasible: their objective is the proven upper bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lti_tool.matching.engine.candidates import Float64Array, Kernel, salt, tiebreak
from lti_tool.matching.engine.encode import (
    BoolArray,
    Encoded,
    FloatArray,
    IntArray,
    ProfileClasses,
    WordArray,
    contains,
    pack_bits,
    profile_classes,
    unique_keys,
)
from lti_tool.matching.engine.scoring import score_pairs
from lti_tool.matching.engine.solver import SCALE, Prices, SolverError, assign, gains, matched_bonus, prices

Progress = Callable[[str, int, int], None]

# Candidates more than this below their prices (in millionths) sit out the next solves until priced back in.
ACTIVE_MARGIN = SCALE // 20
PRICING_SLACK = 0.01  # millionths
ADDED_PER_ROW = 2  # positive pairs added per mentee and round: the best; more only swell the flow
MERGED_PRICE_ROUNDS = 256  # Bellman-Ford rounds allowed for prices with identical mentors merged
CLASS_SPREAD = 2  # mentors of each mentor class added up front per member of a mentee class (_Merged)
MAX_SPREAD = 64  # ... at most this many per member: with more mentor classes, none are merged
CLASS_CHOICES = 64  # mentors a mentee class chooses its members' added pairs from (see _classed_pairs)


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
    classes = profile_classes(encoded, kernel.rows, kernel.cols, meeting_slots)
    merged = _merged_classes(encoded, kernel, classes, meeting_words)
    if merged is not None:
        spread_e, spread_m, spread_at = merged.spread_pairs(classes, kernel.cols)
        fresh = ~contains(unique_keys(encoded.key(mentees, mentors)), encoded.key(spread_e, spread_m))
        mentees = np.concatenate([mentees, spread_e[fresh]])
        mentors = np.concatenate([mentors, spread_m[fresh]])
        scores = np.concatenate([scores, merged.pair_score[spread_at[fresh]]])
    gain = gains(scores)
    active = np.ones(len(mentees), dtype=np.bool_)
    budget = max_priced_pairs
    best_raised: int | None = None
    added = priced_rows = streamed_pairs = round_number = 0
    while True:
        round_number += 1
        if progress is not None:
            progress("certifying", round_number, max_rounds)
        chosen, dual = _solve(
            n_rows, n_cols, mentees, mentors, scores, gain, active, capacity, maximize_matched, bonus, merged
        )
        reduced = gain + bonus - dual.row[mentees] - dual.col[mentors]
        revived = ~active & (reduced > 0)
        excess = np.zeros(n_rows, dtype=np.int64)
        np.maximum.at(excess, mentees[revived], reduced[revived])
        bulk, price_cap, width = _bulk_excess(kernel, dual)
        suspect = bulk >= 0.5  # reduced costs are whole millionths: below 1 means none is positive
        wanted = _within_budget(bulk, suspect, width, budget)
        priced_rows += int(wanted.sum())
        price_cap[~wanted] = -np.inf
        new_e, new_m, new_scores, found, this_round = _positive_pairs(
            encoded, pricer, classes, dual, price_cap, meeting_words
        )
        budget -= this_round
        streamed_pairs += this_round
        excess = np.maximum(excess, found)
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
                n_rows,
                n_cols,
                mentees,
                mentors,
                scores,
                gain,
                active,
                capacity,
                maximize_matched,
                bonus,
                None,
                priced=False,
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
    merged: _Merged | None,
    *,
    priced: bool = True,
) -> tuple[BoolArray, Prices]:
    """The optimum over the active candidates (as a mask over all of them) and its prices (all zero when not
    `priced`: the last solve after the budget needs none), with identical mentors merged where that works."""
    arcs = np.flatnonzero(active)
    used = assign(
        n_rows, n_cols, mentees[arcs], mentors[arcs], scores[arcs], capacity, maximize_matched=maximize_matched
    )
    if priced:
        dual = None
        if merged is not None:
            # Identical mentors priced alike first, with every class pair's moves: when no exchange pays,
            # those prices hold for every pair of the classes at once (one round proves tied cohorts).
            extra_e, extra_m, extra_gain = merged.moves(mentees[arcs][used], mentors[arcs][used])
            with contextlib.suppress(SolverError):
                dual = prices(
                    n_rows,
                    n_cols,
                    np.concatenate([mentees[arcs], extra_e]),
                    np.concatenate([mentors[arcs], extra_m]),
                    np.concatenate([gain[arcs], extra_gain]),
                    np.concatenate([used, np.zeros(len(extra_e), dtype=np.bool_)]),
                    capacity,
                    bonus=bonus,
                    col_node=merged.col_node,
                    max_rounds=MERGED_PRICE_ROUNDS,
                )
        if dual is None:
            dual = prices(n_rows, n_cols, mentees[arcs], mentors[arcs], gain[arcs], used, capacity, bonus=bonus)
    else:
        dual = Prices(np.zeros(n_rows, dtype=np.int64), np.zeros(n_cols, dtype=np.int64), bonus)
    chosen = np.zeros(len(mentees), dtype=np.bool_)
    chosen[arcs[used]] = True
    return chosen, dual


@dataclass(frozen=True)
class _Merged:
    """Identical mentors as one node for solver.prices, and the exact gains of every (mentee class with more
    than one member, mentor class) pair the rules allow, to give that graph every move of such a class."""

    col_node: IntArray  # per mentor: its node (its class; mentors outside the kernel's cols one each)
    rows: IntArray  # the kernel's rows in a mentee class of several
    pair_class: IntArray  # per class pair: the mentee class
    pair_mentor: IntArray  # per class pair: a mentor of the mentor class
    pair_score: FloatArray
    row_class: IntArray  # per mentee: its class

    @property
    def pair_gain(self) -> IntArray:
        return gains(self.pair_score)

    def spread_pairs(self, classes: ProfileClasses, cols: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """Pairs (mentees, mentors, index into the class pairs) that give each member of a mentee class of
        several CLASS_SPREAD mentors of every mentor class it may meet, chosen by the mentee's hash: the
        candidate lists rank identical mentors' pairs alike, so a class's members may otherwise list one
        mentor class only, and then no candidate assignment moves places between classes as the optimum may."""
        cols = cols[np.argsort(classes.col[cols], kind="stable")]
        col_start = np.searchsorted(classes.col[cols], np.arange(len(classes.col_size) + 1))
        order = np.argsort(self.pair_class, kind="stable")
        start = np.searchsorted(self.pair_class[order], np.arange(int(self.row_class.max()) + 2))
        owner = self.row_class[self.rows]
        counts = start[owner + 1] - start[owner]
        mentee = np.repeat(self.rows, counts)
        at = order[np.repeat(start[owner] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))]
        mentor_class = classes.col[self.pair_mentor[at]]
        size = classes.col_size[mentor_class]
        hashed = (salt(mentee) >> np.uint32(1)).astype(np.int64)  # salts are odd: their low bit says nothing
        found_e, found_m, found_at = [], [], []
        for j in range(CLASS_SPREAD):
            offset = (hashed + j * (size // CLASS_SPREAD + 1)) % size
            found_e.append(mentee)
            found_m.append(cols[col_start[mentor_class] + offset])
            found_at.append(at)
        keys = unique_keys(np.concatenate(found_e) * len(self.col_node) + np.concatenate(found_m))
        first = np.searchsorted(keys, np.concatenate(found_e) * len(self.col_node) + np.concatenate(found_m))
        _, keep = np.unique(first, return_index=True)
        return np.concatenate(found_e)[keep], np.concatenate(found_m)[keep], np.concatenate(found_at)[keep]

    def moves(self, used_e: IntArray, used_m: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        """Unused pairs (mentees, mentors, gains) that give each mentee class's members, from each place they
        are in (a mentor class, or unmatched), a move to every mentor class they may meet."""
        if not len(self.rows):
            return (np.zeros(0, dtype=np.int64),) * 3
        place = np.full(len(self.row_class), -1, dtype=np.int64)
        place[used_e] = self.col_node[used_m]
        state = self.row_class[self.rows] * (len(self.col_node) + 1) + place[self.rows] + 1
        _, first = np.unique(state, return_index=True)
        stand_in = self.rows[first]  # one mentee per (class, place)
        owner = self.row_class[stand_in]
        order = np.argsort(self.pair_class, kind="stable")
        start = np.searchsorted(self.pair_class[order], np.arange(int(self.row_class.max()) + 2))
        counts = start[owner + 1] - start[owner]
        mentee = np.repeat(stand_in, counts)
        at = order[np.repeat(start[owner] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))]
        return mentee, self.pair_mentor[at], self.pair_gain[at]


def _merged_classes(
    encoded: Encoded, kernel: Kernel, classes: ProfileClasses, meeting_words: WordArray | None
) -> _Merged | None:
    """The merged graph's inputs, or None where no two mentors are alike (merging changes nothing) or there
    are too many mentor classes to spread each mentee over them all (_Merged.spread_pairs)."""
    if not (classes.col_size > 1).any():
        return None
    col_node = classes.col.copy()
    outside = col_node < 0
    col_node[outside] = len(classes.col_size) + np.arange(int(outside.sum()))
    rows = kernel.rows[classes.row_size[classes.row[kernel.rows]] > 1]
    row_classes = np.unique(classes.row[rows])
    if len(classes.col_size) * CLASS_SPREAD > MAX_SPREAD:
        return None
    class_e = kernel.rows[np.unique(classes.row[kernel.rows], return_index=True)[1]][row_classes]
    class_m = kernel.cols[np.unique(classes.col[kernel.cols], return_index=True)[1]]
    pair_e, pair_m = np.repeat(class_e, len(class_m)), np.tile(class_m, len(class_e))
    scored = score_pairs(encoded, pair_e, pair_m, meeting_slots=meeting_words)
    ok = scored.feasible(encoded)
    return _Merged(col_node, rows, classes.row[pair_e[ok]], pair_m[ok], scored.score[ok], classes.row)


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
    classes: ProfileClasses,
    dual: Prices,
    price_cap: Float64Array,
    meeting_words: WordArray | None,
) -> tuple[IntArray, IntArray, FloatArray, IntArray, int]:
    """Pairs of the rows with a finite price cap (against the mentors under it) the rules allow with a positive
    reduced cost under `dual`, at most ADDED_PER_ROW per mentee (the best): (mentees, mentors, exact scores);
    per mentee an upper bound on its best reduced cost, exact where it was rescored (0 if no pair of the row
    is positive); and the pairs the kernel scored.

    Identical profiles are priced a class at a time. Every pair of a mentee class C and a mentor class D has
    the same score s(C, D), hence the same gain g, so for e in C and m in D the reduced cost is
        g + bonus - row[e] - col[m]  <=  g + bonus - min(row[e'] for e' in C) - min(col[m'] for m' in D),
    with equality for the cheapest pair: the class pair priced at its members' lowest prices is positive if and
    only if one of its pairs is. One row per class is streamed (with the lowest row price of its members to
    price, the highest cap) against one column per class (at the lowest col price); the class pairs found are
    rescored exactly and expanded to the member pairs that are positive."""
    excess = np.zeros(len(dual.row), dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    if not (price_cap > -np.inf).any():
        return none, none, np.zeros(0), excess, 0
    row_part = (dual.row - dual.bonus).astype(np.float64)
    col_price = dual.col.astype(np.float64)
    # Per class: its lowest-priced member stands for it, at that price (mentees: only those to price).
    wanted = np.flatnonzero(price_cap > -np.inf)
    wanted = wanted[np.lexsort((row_part[wanted], classes.row[wanted]))]
    first = np.r_[True, classes.row[wanted][1:] != classes.row[wanted][:-1]]
    rep_rows = wanted[first]
    members_left = np.bincount(classes.row[wanted], minlength=len(classes.row_size))
    class_cap = np.full(len(classes.row_size), -np.inf)
    np.maximum.at(class_cap, classes.row[wanted], price_cap[wanted])
    cols = pricer.cols[np.lexsort((col_price[pricer.cols], classes.col[pricer.cols]))]
    rep_cols = cols[np.r_[True, classes.col[cols][1:] != classes.col[cols][:-1]]]
    rep_cap = np.full(len(dual.row), -np.inf)
    rep_cap[rep_rows] = class_cap[classes.row[rep_rows]]
    rep_price = np.full(len(dual.col), np.inf)  # columns priced +inf are not streamed
    rep_price[rep_cols] = col_price[rep_cols]
    # Reduced cost = rint(score * SCALE) - col - row. The kernel is within its error of the score, and prices
    # (up to the bonus, ~1e11) lose ~1e-5 millionths to float64 rounding: PRICING_SLACK covers both. So a pair
    # whose value (SCALE * score - col) - row is below 0.5 - slack is not positive, and one at or above
    # 1.5 + slack is; only those in between are rescored to know.
    slack = PRICING_SLACK + 2 * pricer.error * SCALE
    rules = encoded.program.rules
    e, m, value, streamed = pricer.priced_pairs(
        row_part + 0.5 - slack, rep_price, float(SCALE), rep_cap, rules.min_score
    )
    value -= row_part[e]
    single = (members_left[classes.row[e]] == 1) & (classes.col_size[classes.col[m]] == 1)
    # Pairs of one mentee and one mentor: rescored where unsure, bounded by the kernel's value.
    unsure = np.flatnonzero(single & (value < 1.5 + slack))
    positive = single & (value >= 1.5 + slack)
    if len(unsure):
        rescored = score_pairs(encoded, e[unsure], m[unsure], meeting_slots=meeting_words)
        exact = gains(rescored.score) + dual.bonus - dual.row[e[unsure]] - dual.col[m[unsure]]
        positive[unsure] = rescored.feasible(encoded) & (exact > 0)
    found_e, found_m, found_value = [e[positive]], [m[positive]], [value[positive]]
    # A bound on each positive pair's reduced cost: rint adds at most half a millionth.
    np.maximum.at(excess, e[positive], np.floor(value[positive] + 0.5 + slack).astype(np.int64))
    classed = np.flatnonzero(~single)
    if len(classed):
        class_e, class_m, class_value = _classed_pairs(
            encoded, classes, dual, e[classed], m[classed], wanted, pricer.cols, meeting_words
        )
        np.maximum.at(excess, class_e, class_value)
        found_e.append(class_e)
        found_m.append(class_m)
        found_value.append(class_value.astype(np.float64))
    e, m, value = np.concatenate(found_e), np.concatenate(found_m), np.concatenate(found_value)
    # The best per mentee; equal ones (identical mentors) go by the pair's hash, so that identical mentees do
    # not all add the same mentors: reduced costs are whole millionths, and the hash moves a value by under 0.25.
    spread = (tiebreak(e, m) >> np.uint64(32)).astype(np.float64) * (0.25 / 2.0**32)
    order = np.lexsort((spread - value, e))
    rank = np.arange(len(order)) - np.searchsorted(e[order], e[order], side="left")
    best = order[rank < ADDED_PER_ROW]
    found = score_pairs(encoded, e[best], m[best], meeting_slots=meeting_words)
    ok = found.feasible(encoded)
    return e[best][ok], m[best][ok], found.score[ok], excess, streamed


def _classed_pairs(
    encoded: Encoded,
    classes: ProfileClasses,
    dual: Prices,
    rep_e: IntArray,
    rep_m: IntArray,
    rows: IntArray,
    cols: IntArray,
    meeting_words: WordArray | None,
) -> tuple[IntArray, IntArray, IntArray]:
    """The member pairs of the class pairs (rep_e, rep_m) with a positive reduced cost, exact: per mentee
    class, the CLASS_CHOICES most valuable mentors it may add (equal ones in the order of their hash), against
    each of its members in `rows` (sorted by class). Returns (mentees, mentors, reduced costs); the mentee's
    best reduced cost is the first of its pairs, which every mentor of the class pair beats or equals."""
    rescored = score_pairs(encoded, rep_e, rep_m, meeting_slots=meeting_words)
    gain = gains(rescored.score) + dual.bonus
    ok = rescored.feasible(encoded)
    row_class, col_class = classes.row[rep_e[ok]], classes.col[rep_m[ok]]
    gain = gain[ok]
    # Every mentor of each class pair's mentor class, valued gain - col (the same for every mentee of the class).
    cols = cols[np.argsort(classes.col[cols], kind="stable")]
    col_start = np.searchsorted(classes.col[cols], np.arange(len(classes.col_size) + 1))
    sizes = col_start[col_class + 1] - col_start[col_class]
    pair = np.repeat(np.arange(len(gain)), sizes)
    offsets = np.arange(len(pair)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    mentor = cols[col_start[col_class[pair]] + offsets]
    worth = gain[pair] - dual.col[mentor]
    owner = row_class[pair]
    lowest_row = np.full(len(classes.row_size), np.iinfo(np.int64).max)
    np.minimum.at(lowest_row, classes.row[rows], dual.row[rows])
    keep = worth > lowest_row[owner]
    owner, mentor, worth = owner[keep], mentor[keep], worth[keep]
    order = np.lexsort((salt(mentor), -worth, owner))
    owner, mentor, worth = owner[order], mentor[order], worth[order]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
    top = rank < CLASS_CHOICES
    owner, mentor, worth = owner[top], mentor[top], worth[top]
    # Each mentee of a class against its class's choices.
    class_start = np.searchsorted(owner, np.arange(len(classes.row_size) + 1))
    rows = rows[np.isin(classes.row[rows], owner)]
    counts = class_start[classes.row[rows] + 1] - class_start[classes.row[rows]]
    mentee = np.repeat(rows, counts)
    at = np.repeat(class_start[classes.row[rows]] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    reduced = worth[at] - dual.row[mentee]
    positive = reduced > 0
    return mentee[positive], mentor[at][positive], reduced[positive]
