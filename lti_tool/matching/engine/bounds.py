"""The proven bound of reciprocal peer matching, from LP duality, priced over every feasible pair of a cohort.

(Bipartite models have their certificate in certificate.py; peers pair people of one list, with capacities on
both sides of the flow, so their prices are read off differently.) One inequality carries the bound. For a
b-matching (rows and columns with capacities a and b, each pair used at most once, integer pair gains g) and any
prices u >= 0 on the rows and v >= 0 on the columns,

    best total gain <= sum(a_r u_r) + sum(b_c v_c) + sum over every feasible pair of max(0, g_rc - u_r - v_c)

(weak duality of the b-matching's linear relaxation, each pair's own dual set to what it must be). It holds for
any prices, so a wrong price can only make the bound loose, never false. Tight prices are the node potentials of
an optimal flow, read off its residual graph by Bellman-Ford. Pairs outside the candidate lists enter through the
last sum: the chunked kernel streams every pair, and only those whose float32 score comes within TOLERANCE of
their prices are rescored exactly. Pairs found there with a positive reduced cost are added to the candidates and
the flow solved again, until none is left (the bound is then the relaxation's exact optimum) or the rounds end.

Gains are integer millionths (solver.SCALE), so prices and bounds are exact integers. When the program matches as
many people as possible first, every pair gains `big` more, more than any total of scores: a bound B on
big x pairs + score gives score <= B - big x (our pairs), and proves that no more pairs are possible when that is
below big.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from lti_tool.matching.engine.candidates import FLOOR, Kernel
from lti_tool.matching.engine.encode import BoolArray, Encoded, FloatArray, IntArray, unique_keys
from lti_tool.matching.engine.solver import SCALE, SolverError, gains, shortest_distances

# The kernel's float32 score is within about 1e-6 of the exact one; pairs this close to their prices are rescored.
TOLERANCE = 1e-4
PRICING_ROUNDS = 8  # solve, price out, add the pairs with a positive reduced cost; each round rarely finds many

Weigh = Callable[[IntArray, IntArray], tuple[BoolArray, FloatArray]]  # pairs -> (feasible, exact score)


def b_matching(
    rows: IntArray, cols: IntArray, gain: IntArray, row_capacity: IntArray, col_capacity: IntArray
) -> BoolArray:
    """The pairs (rows[i], cols[i]) of greatest total gain, each row and column within its capacity."""
    chosen = np.zeros(len(rows), dtype=np.bool_)
    if not len(rows):
        return chosen
    n_rows, n_cols = len(row_capacity), len(col_capacity)
    source, sink = n_rows + n_cols, n_rows + n_cols + 1
    supply = int(row_capacity.sum())
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate([rows, np.full(n_rows, source), n_rows + np.arange(n_cols), [source]]).astype(np.int32),
        np.concatenate([n_rows + cols, np.arange(n_rows), np.full(n_cols, sink), [sink]]).astype(np.int32),
        np.concatenate([np.ones(len(rows), dtype=np.int64), row_capacity, col_capacity, [supply]]).astype(np.int64),
        np.concatenate([-gain, np.zeros(n_rows + n_cols + 1, dtype=np.int64)]).astype(np.int64),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[source], supplies[sink] = supply, -supply
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status}")
    chosen[:] = np.asarray(flow.flows(np.arange(len(rows), dtype=np.int32))) > 0
    return chosen


@dataclass(frozen=True)
class Duals:
    rows: IntArray  # u, per row (all rows of the problem), >= 0
    cols: IntArray  # v, per column, >= 0


def flow_prices(
    rows: IntArray, cols: IntArray, gain: IntArray, chosen: BoolArray, row_capacity: IntArray, col_capacity: IntArray
) -> Duals:
    """Prices that certify `chosen` when it is an optimal b-matching of the pairs: the flow's node potentials.

    The flow is a circulation through one hub (source and sink joined by a free arc, so they share a potential
    D): hub -> row -> column -> hub. d is the shortest distance in the residual graph from a root joined to every
    node; then u_r = d(r) - D and v_c = D - d(c), clamped at 0, price every unused pair at least at its gain.
    """
    n_rows, n_cols = len(row_capacity), len(col_capacity)
    hub = n_rows + n_cols
    row_load = np.bincount(rows[chosen], minlength=n_rows)
    col_load = np.bincount(cols[chosen], minlength=n_cols)
    row_ids, col_ids = np.arange(n_rows), n_rows + np.arange(n_cols)
    tails = [
        np.where(chosen, n_rows + cols, rows),  # unused pair: row -> column at -gain; used: back at +gain
        np.full(n_rows, hub)[row_load < row_capacity],
        row_ids[row_load > 0],
        col_ids[col_load < col_capacity],
        np.full(n_cols, hub)[col_load > 0],
    ]
    heads = [
        np.where(chosen, rows, n_rows + cols),
        row_ids[row_load < row_capacity],
        np.full(n_rows, hub)[row_load > 0],
        np.full(n_cols, hub)[col_load < col_capacity],
        col_ids[col_load > 0],
    ]
    tail, head = np.concatenate(tails).astype(np.int64), np.concatenate(heads).astype(np.int64)
    cost = np.concatenate([np.where(chosen, gain, -gain), np.zeros(len(tail) - len(gain), dtype=np.int64)])
    distance = shortest_distances(hub + 1, tail, head, cost)
    return Duals(
        rows=np.maximum(distance[:n_rows] - distance[hub], 0),
        cols=np.maximum(distance[hub] - distance[n_rows:hub], 0),
    )


@dataclass(frozen=True)
class Priced:
    """Pairs with a positive reduced cost (gain - u - v > 0) over the whole cohort, and their gains."""

    rows: IntArray
    cols: IntArray
    gain: IntArray
    reduced: IntArray


def price_reciprocal(encoded: Encoded, people: IntArray, half_prices: IntArray, big: int, weigh: Weigh) -> Priced:
    """Every feasible unordered pair (i < j) of `people` whose gain 2 (score + big) exceeds y_i + y_j, where
    `half_prices` holds y (the b-matching dual in half-units). Gains and reduced costs are in half-units too.

    The kernel scores one direction (j mentoring i); the other is at most i's best score as a mentor, so a pair
    is rescored when the first plus that best comes within TOLERANCE of its prices."""
    kernel = Kernel(encoded, people, people)
    best_as_mentor = np.full(len(encoded.mentors), -np.inf, dtype=np.float64)
    for _, block_cols, scores in kernel.blocks():
        np.maximum.at(best_as_mentor, block_cols, scores.max(axis=0))
    found_i: list[IntArray] = []
    found_j: list[IntArray] = []
    for block_rows, block_cols, scores in kernel.blocks():
        prices = (half_prices[block_rows][:, None] + half_prices[block_cols][None, :]) / 2 - big
        floor = prices / SCALE - 2 * TOLERANCE - best_as_mentor[block_rows][:, None]
        r, c = np.nonzero(scores > np.maximum(floor, FLOOR))
        found_i.append(block_rows[r])
        found_j.append(block_cols[c])
    i, j = _with_preferred(encoded, found_i, found_j, people, people)
    width = len(encoded.mentors)
    keys = unique_keys(np.minimum(i, j) * width + np.maximum(i, j))
    left, right = keys // width, keys % width
    ok, weight = weigh(left, right)
    left, right = left[ok], right[ok]
    gain = 2 * (gains(weight[ok]) + big)
    reduced = gain - half_prices[left] - half_prices[right]
    keep = reduced > 0
    return Priced(left[keep], right[keep], gain[keep], reduced[keep])


def _with_preferred(
    encoded: Encoded, found_rows: list[IntArray], found_cols: list[IntArray], rows: IntArray, cols: IntArray
) -> tuple[IntArray, IntArray]:
    """The kernel leaves the preferences criterion out of its scores: price every asked-for pair exactly."""
    width = len(encoded.mentors)
    asked = encoded.preferred_keys
    in_rows = np.zeros(len(encoded.mentees), dtype=np.bool_)
    in_rows[rows] = True
    in_cols = np.zeros(width, dtype=np.bool_)
    in_cols[cols] = True
    asked = asked[in_rows[asked // width] & in_cols[asked % width]]
    keys = unique_keys(np.concatenate([*(r * width + c for r, c in zip(found_rows, found_cols, strict=True)), asked]))
    return keys // width, keys % width


@dataclass(frozen=True)
class Bound:
    """What a relaxation proved: its best solution found on the candidates and an upper bound, in gain units."""

    added_rows: IntArray  # the pairs priced in from outside the candidates
    added_cols: IntArray
    value: int  # the total gain of the relaxation's best (score + big per pair)
    bound: int  # no assignment of the whole cohort gains more
    rounds: int  # flows solved

    @property
    def added_pairs(self) -> int:
        return len(self.added_rows)


def certify_reciprocal(
    encoded: Encoded,
    people: IntArray,
    left: IntArray,
    right: IntArray,
    gain: IntArray,
    capacity: IntArray,
    big: int,
    weigh: Weigh,
) -> Bound:
    """The same for undirected pairs with capacities: the bound of the fractional b-matching (each pair used at
    most once, each person in at most capacity pairs), from its bipartite double cover (each person once as a
    giver, once as a receiver, both with their capacity): any matching is worth half a flow there, so half the
    cover's prices, y = (u + v) / 2, price the pairs. Returns the cover's value and bound halved (rounded down:
    a matching's gain is a whole number) and the pairs priced in."""
    left_, right_, gain_ = left, right, gain
    for round_number in range(1, PRICING_ROUNDS + 1):
        both_rows, both_cols = np.concatenate([left_, right_]), np.concatenate([right_, left_])
        both_gain = np.concatenate([gain_, gain_])
        chosen = b_matching(both_rows, both_cols, both_gain, capacity, capacity)
        prices = flow_prices(both_rows, both_cols, both_gain, chosen, capacity, capacity)
        half_prices = prices.rows + prices.cols  # 2y
        priced = price_reciprocal(encoded, people, half_prices, big, weigh)
        width = len(encoded.mentors)
        known = unique_keys(left_ * width + right_)
        fresh = ~np.isin(priced.rows * width + priced.cols, known)
        doubled = int(capacity @ half_prices + priced.reduced.sum())
        value = int(both_gain[chosen].sum())  # the cover's, twice a matching's at best
        if not fresh.any() or doubled == value or round_number == PRICING_ROUNDS:
            added = slice(len(left), None)
            return Bound(left_[added], right_[added], value // 2, doubled // 2, round_number)
        left_ = np.concatenate([left_, priced.rows[fresh]])
        right_ = np.concatenate([right_, priced.cols[fresh]])
        gain_ = np.concatenate([gain_, priced.gain[fresh] // 2])
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class GroupBound:
    """What the Lagrangian of group matching found: a bound, and the slot plans its steps chose."""

    bound: int  # no group matching gains more (big per pair included)
    plans: list[IntArray]  # per mentor, the slot its best group met in at some steps (-1: none), distinct


def group_lagrangian(
    mentees: IntArray,
    mentors: IntArray,
    gain: IntArray,
    common: BoolArray,
    places: IntArray,
    start: IntArray,
    big: int,
    target: int,
    rounds: int,
    plan_every: int,
) -> GroupBound:
    """An upper bound on the total gain (+ big per pair) of groups that meet in one slot each: pair i (mentees[i]
    joins mentors[i]) needs its mentor's slot among common[i] (pairs x slots), each mentor takes places[m].

    The Lagrangian relaxation of "each mentee joins at most one group", with prices lam >= 0 per mentee:
        L(lam) = sum(lam) + sum over mentors of max over slots s of the places[m] best (gain + big - lam_e)^+
                 among the mentor's pairs that can meet at s.
    Any prices give a bound (each mentor's group is then chosen alone, slot included, which no group matching
    beats), evaluated exactly in integers. Its best over the prices is the bound of the linear relaxation with
    one variable per mentor and slot (each mentor's own choice is a whole slot and whole members), so the
    ascent converges to that LP. Starting from `start`, subgradient steps (Polyak's, towards `target`, a value
    some matching reaches) lower it; the lowest is returned. Every `plan_every` steps the slots the mentors
    chose are kept as a plan: near the best prices they are where groups fill with members nobody else needs,
    a slot plan for the flow to fill.
    """
    plans: dict[bytes, IntArray] = {}
    if not len(mentees):
        return GroupBound(0, [])
    slots = common.shape[1]
    pair_of, slot_of = np.nonzero(common)
    group = mentors[pair_of] * slots + slot_of
    # Sorted by group, then best reduced gain first: one int64 key (reduced gains lie in 0..span) sorts in half
    # the time of lexsort's two, which only cohorts far past GROUP_BOUND_PAIRS (exhaustive ones) need.
    span = int(gain.max(initial=0)) + big + 1
    one_key = (int(group.max(initial=0)) + 1) * span < 2**62
    lam = start.astype(np.float64)
    best = -1  # gains are never negative
    step = 1.0
    stalled = 0
    for round_number in range(rounds):
        prices = np.rint(lam).astype(np.int64)
        reduced = gain[pair_of] + big - prices[mentees[pair_of]]
        positive = np.flatnonzero(reduced > 0)
        if one_key:
            order = positive[np.argsort(group[positive] * span - reduced[positive], kind="stable")]
        else:
            order = positive[np.lexsort((-reduced[positive], group[positive]))]
        keys = group[order]
        firsts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)
        rank = np.arange(len(order)) - np.repeat(firsts, np.diff(np.r_[firsts, len(order)]))
        group_index = np.repeat(np.arange(len(firsts)), np.diff(np.r_[firsts, len(order)]))
        keep = rank < places[mentors[pair_of[order]]]
        taken, taken_group = order[keep], group_index[keep]
        total = np.zeros(len(firsts), dtype=np.int64)
        np.add.at(total, taken_group, reduced[taken])
        owner = keys[firsts] // slots
        # Each mentor's best slot: its groups sorted by total, the last one per mentor wins.
        by_owner = np.lexsort((total, owner))
        last = by_owner[np.r_[owner[by_owner][1:] != owner[by_owner][:-1], True]] if len(by_owner) else by_owner
        value = int(prices.sum()) + int(total[last].sum())
        if best < 0 or value < best:
            best, stalled = value, 0
        else:
            stalled += 1
            if stalled >= 3:
                step, stalled = step / 2, 0
        if plan_every and round_number % plan_every == plan_every - 1:
            plan = np.full(len(places), -1, dtype=np.int64)
            plan[owner[last]] = keys[firsts[last]] % slots
            plans.setdefault(plan.tobytes(), plan)
        chosen_group = np.zeros(len(firsts), dtype=np.bool_)
        chosen_group[last] = True
        joined = mentees[pair_of[taken[chosen_group[taken_group]]]]
        subgradient = 1.0 - np.bincount(joined, minlength=len(lam))
        subgradient[(lam <= 0) & (subgradient > 0)] = 0.0
        norm = float(subgradient @ subgradient)
        if norm == 0 or value <= target:
            break
        lam = np.maximum(lam - step * (value - target) / norm * subgradient, 0.0)
    return GroupBound(best, list(plans.values()))
