"""Optimal assignments on candidate pairs: capacitated min-cost flow (OR-Tools) and, for reciprocal peers,
maximum-weight matching (a flow relaxation, exact unless it has odd cycles; then CP-SAT)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from lti_tool.matching.engine.encode import BoolArray, FloatArray, IntArray

# Scores (0..1) become integer costs in millionths: rounding moves the total by under 1e-6 per match.
SCALE = 1_000_000
# Deterministic (not wall-clock) budget for CP-SAT, so a rerun with the same seed gives the same pairs.
CP_SAT_DETERMINISTIC_SECONDS = 30.0


class SolverError(RuntimeError):
    """OR-Tools reported a status other than optimal (a bug in the graph we built, never bad input)."""


def gains(scores: FloatArray) -> IntArray:
    """Scores as the solver's integer gains (millionths)."""
    return np.rint(np.asarray(scores) * SCALE).astype(np.int64)


def _costs(scores: FloatArray) -> IntArray:
    return -gains(scores)


def matched_bonus(n_rows: int, capacity: IntArray) -> int:
    """A gain added to every pair that makes matching one more row worth more than any change of score: an
    augmenting path trades at most min(rows, places) pairs, each worth at most SCALE."""
    return (min(n_rows, int(np.maximum(capacity, 0).sum())) + 1) * SCALE


def assign(
    n_rows: int,
    n_cols: int,
    rows: IntArray,
    cols: IntArray,
    scores: FloatArray,
    capacity: IntArray,
    *,
    maximize_matched: bool,
) -> BoolArray:
    """Which candidate arcs (rows[i] -> cols[i]) to use: each row at most once, each column within capacity.

    Maximises the number of rows matched, then the total score (maximize_matched), or the total score alone.
    """
    chosen = np.zeros(len(rows), dtype=np.bool_)
    if not len(rows):
        return chosen
    sink = n_rows + n_cols
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = [rows, n_rows + np.arange(n_cols)]
    heads = [n_rows + cols, np.full(n_cols, sink)]
    capacities = [np.ones(len(rows), dtype=np.int64), capacity]
    costs = [_costs(scores), np.zeros(n_cols, dtype=np.int64)]
    if not maximize_matched:
        # Staying unmatched costs nothing, so a pair is only made when it adds to the total.
        tails.append(np.arange(n_rows))
        heads.append(np.full(n_rows, sink))
        capacities.append(np.ones(n_rows, dtype=np.int64))
        costs.append(np.zeros(n_rows, dtype=np.int64))
    flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.concatenate(capacities).astype(np.int64),
        np.concatenate(costs),
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_rows] = 1
    supplies[sink] = -n_rows
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with status {status}")
    chosen[:] = np.asarray(flow.flows(np.arange(len(rows), dtype=np.int32))) > 0
    return chosen


@dataclass(frozen=True)
class Prices:
    """Dual prices of a solved assignment, in the solver's integer gains (bonus included): every candidate pair
    has row + col >= gain + bonus, used pairs with equality, unused rows and cols with places left price 0."""

    row: IntArray  # per row (mentee)
    col: IntArray  # per col (mentor)
    bonus: int  # matched_bonus when the number matched comes first, else 0

    def bound(self, capacity: IntArray) -> int:
        """The dual objective: no assignment gains more (bonus per pair included), if the prices are feasible."""
        return int(self.row.sum()) + int((self.col * np.maximum(capacity, 0)).sum())


def prices(
    n_rows: int,
    n_cols: int,
    rows: IntArray,
    cols: IntArray,
    gain: IntArray,
    chosen: BoolArray,
    capacity: IntArray,
    *,
    bonus: int,
    col_node: IntArray | None = None,
    max_rounds: int | None = None,
) -> Prices:
    """Dual prices proving that `chosen` (from assign) is optimal on its candidate arcs.

    OR-Tools does not expose its potentials, so they are recomputed: at an optimum the residual graph has no
    negative cycle, and shortest-path distances in it are potentials. Mentees are eliminated (each has one
    arc in, or none), leaving a graph over the mentors and the sink t:
    moving matched mentee e from m* to m costs gain(e, m*) - gain(e, m) (arc m* -> m); placing an unmatched
    mentee at m costs -(gain + bonus) (t -> m); unplacing a matched one gains its gain + bonus back (m* -> t);
    a mentor with a place left reaches t for free, one with a mentee is reached from t for free.
    A mentor's price is then max(0, d(t) - d(m)), and each mentee pays what its match leaves: gain + bonus - price.

    `col_node` merges mentors into one node each (identical mentors: ProfileClasses), which gives them one
    price; it raises SolverError where the merged graph has a negative cycle (or more than `max_rounds` rounds
    of Bellman-Ford do not settle it): some exchange between identical mentors would improve the assignment.
    """
    node = np.arange(n_cols, dtype=np.int64) if col_node is None else col_node
    sink = int(node.max(initial=-1)) + 1
    used = np.flatnonzero(chosen)
    unused = np.flatnonzero(~chosen)
    matched_col = np.full(n_rows, -1, dtype=np.int64)
    matched_col[rows[used]] = cols[used]
    own_gain = np.zeros(n_rows, dtype=np.int64)
    own_gain[rows[used]] = gain[used]
    load = np.bincount(cols[used], minlength=n_cols)
    places = np.maximum(capacity, 0)
    moving = matched_col[rows[unused]]
    is_moving = moving >= 0
    free_cols = np.flatnonzero(load < places)
    loaded_cols = np.flatnonzero(load > 0)
    tails = np.concatenate(
        [
            moving[is_moving],
            np.full(int((~is_moving).sum()), n_cols),
            cols[used],
            free_cols,
            np.full(len(loaded_cols), n_cols),
        ]
    )
    heads = np.concatenate(
        [
            cols[unused][is_moving],
            cols[unused][~is_moving],
            np.full(len(used), n_cols),
            np.full(len(free_cols), n_cols),
            loaded_cols,
        ]
    )
    weights = np.concatenate(
        [
            own_gain[rows[unused][is_moving]] - gain[unused][is_moving],
            -(gain[unused][~is_moving] + bonus),
            gain[used] + bonus,
            np.zeros(len(free_cols) + len(loaded_cols), dtype=np.int64),
        ]
    )
    tails, heads = tails.astype(np.int64), heads.astype(np.int64)
    if col_node is not None:
        tails = np.where(tails == n_cols, sink, node[np.minimum(tails, n_cols - 1)])
        heads = np.where(heads == n_cols, sink, node[np.minimum(heads, n_cols - 1)])
        # Parallel arcs between merged nodes: only the cheapest counts.
        order = np.lexsort((weights, heads, tails))
        tails, heads, weights = tails[order], heads[order], weights[order]
        first = np.r_[True, (tails[1:] != tails[:-1]) | (heads[1:] != heads[:-1])]
        tails, heads, weights = tails[first], heads[first], weights[first]
    distance = shortest_distances(sink + 1, tails, heads, weights, max_rounds=max_rounds)
    col_price = np.maximum(distance[sink] - distance[node], 0)
    row_price = np.zeros(n_rows, dtype=np.int64)
    row_price[rows[used]] = gain[used] + bonus - col_price[cols[used]]
    return Prices(row=row_price, col=col_price, bonus=bonus)


def shortest_distances(
    n: int, tails: IntArray, heads: IntArray, weights: IntArray, *, max_rounds: int | None = None
) -> IntArray:
    """Bellman-Ford from a virtual root joined to every node at no cost (so every distance is <= 0).

    Each round relaxes only the arcs out of the nodes whose distance changed in the round before.
    """
    order = np.argsort(tails, kind="stable")
    tails, heads, weights = tails[order], heads[order], weights[order]
    starts = np.searchsorted(tails, np.arange(n + 1))
    distance = np.zeros(n, dtype=np.int64)
    changed = np.unique(tails)
    for _ in range(n + 1 if max_rounds is None else min(n + 1, max_rounds)):
        if not len(changed):
            return distance
        counts = starts[changed + 1] - starts[changed]
        arcs = np.repeat(starts[changed] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        reach = distance[tails[arcs]] + weights[arcs]
        target = heads[arcs]
        better = reach < distance[target]
        if not better.any():
            return distance
        target, reach = target[better], reach[better]
        np.minimum.at(distance, target, reach)
        changed = np.unique(target)
    raise SolverError("the residual graph has a negative cycle (or did not settle within the rounds allowed)")


@dataclass(frozen=True)
class Pairing:
    chosen: BoolArray  # over the candidate edges
    proven_optimal: bool
    # No set of these edges scores more (integer millionths), or None when not even the number of pairs is proven.
    score_bound: int | None


def pair_up(
    n: int,
    left: IntArray,
    right: IntArray,
    weights: FloatArray,
    capacity: IntArray,
    *,
    maximize_matched: bool,
    seed: int,
) -> Pairing:
    """A maximum-weight set of undirected edges (left[i], right[i]) with each person in at most capacity edges.

    Solved as a flow on the bipartite double cover (each person once as giver, once as receiver): its optimum
    bounds the matching's from above. With capacity 1 the flow splits into paths and cycles; paths and even
    cycles give a matching worth as much as the bound, so the result is optimal. Odd cycles (and capacities
    above 1) go to CP-SAT, started from the rounded flow solution.
    """
    edges = len(left)
    if not edges:
        return Pairing(np.zeros(0, dtype=np.bool_), True, 0)
    both_rows = np.concatenate([left, right])
    both_cols = np.concatenate([right, left])
    arcs = assign(
        n, n, both_rows, both_cols, np.concatenate([weights, weights]), capacity, maximize_matched=maximize_matched
    )
    forward, backward = arcs[:edges], arcs[edges:]
    if (capacity <= 1).all():
        chosen, odd_cycle = _round_cycles(n, left, right, weights, forward, backward, maximize_matched)
        if not odd_cycle:
            return Pairing(chosen, True, int(np.rint(weights[chosen] * SCALE).astype(np.int64).sum()))
    else:
        chosen = forward & backward
    return _cp_sat(n, left, right, weights, capacity, chosen, maximize_matched=maximize_matched, seed=seed)


def _round_cycles(
    n: int,
    left: IntArray,
    right: IntArray,
    weights: FloatArray,
    forward: BoolArray,
    backward: BoolArray,
    maximize_matched: bool,
) -> tuple[BoolArray, bool]:
    """Turn the double-cover flow (each person gives to <= 1 and receives from <= 1) into a matching."""
    gives_to = np.full(n, -1, dtype=np.int64)
    edge_of: dict[tuple[int, int], int] = {}
    for index in np.flatnonzero(forward):
        gives_to[left[index]] = right[index]
        edge_of[(int(left[index]), int(right[index]))] = int(index)
    for index in np.flatnonzero(backward):
        gives_to[right[index]] = left[index]
        edge_of[(int(right[index]), int(left[index]))] = int(index)
    receives_from = np.full(n, -1, dtype=np.int64)
    for giver in np.flatnonzero(gives_to >= 0):
        receives_from[gives_to[giver]] = giver
    chosen = np.zeros(len(left), dtype=np.bool_)
    seen = np.zeros(n, dtype=np.bool_)
    odd_cycle = False
    starts = [int(p) for p in np.flatnonzero((gives_to >= 0) & (receives_from < 0))]  # path heads first
    starts += [int(p) for p in np.flatnonzero(gives_to >= 0)]
    for start in starts:
        if seen[start]:
            continue
        walk = [start]
        seen[start] = True
        while gives_to[walk[-1]] >= 0 and not seen[gives_to[walk[-1]]]:
            walk.append(int(gives_to[walk[-1]]))
            seen[walk[-1]] = True
        cycle = gives_to[walk[-1]] == start and len(walk) > 1
        steps = [edge_of[(walk[i], walk[i + 1])] for i in range(len(walk) - 1)]
        if cycle:
            steps.append(edge_of[(walk[-1], start)])
        if cycle and len(walk) == 2:
            chosen[steps[0]] = True
            continue
        if cycle and len(walk) % 2 == 1:
            odd_cycle = True
        # Alternate edges along the path or cycle; keep the alternation that matches more people (when asked)
        # and weighs more: twice its weight is at least the flow's, so nothing is lost but on odd cycles.
        first, second = steps[0::2], steps[1::2]
        if cycle and len(walk) % 2 == 1:
            first = first[:-1]  # an odd cycle's first and last alternate edges share its start

        def value(edges: list[int]) -> tuple[int, float]:
            return (len(edges) if maximize_matched else 0, float(weights[edges].sum()) if edges else 0.0)

        chosen[max(first, second, key=value)] = True
    return chosen, odd_cycle


def _cp_sat(
    n: int,
    left: IntArray,
    right: IntArray,
    weights: FloatArray,
    capacity: IntArray,
    hint: BoolArray,
    *,
    maximize_matched: bool,
    seed: int,
) -> Pairing:
    # Imported when needed (odd cycles of reciprocal peers): CP-SAT brings pandas, 38 MB in every web worker,
    # which imports the engine to score single pairs.
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    chosen = [model.new_bool_var(f"e{index}") for index in range(len(left))]
    incident: list[list[int]] = [[] for _ in range(n)]
    for index, (a, b) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        incident[a].append(index)
        incident[b].append(index)
    for person, edges in enumerate(incident):
        if edges:
            model.add(sum(chosen[index] for index in edges) <= int(capacity[person]))
    gains = np.rint(weights * SCALE).astype(np.int64)
    # Each edge matches two people; a bonus above any total of gains makes cardinality come first.
    bonus = int(gains.sum()) + 1 if maximize_matched else 0
    model.maximize(sum((bonus + int(gain)) * var for gain, var in zip(gains, chosen, strict=True)))
    for var, value in zip(chosen, hint.tolist(), strict=True):
        model.add_hint(var, bool(value))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = CP_SAT_DETERMINISTIC_SECONDS
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Pairing(hint, False, None)
    values = np.array([solver.boolean_value(var) for var in chosen], dtype=np.bool_)
    # CP-SAT's own bound B on bonus x pairs + score: no more pairs are possible while B - bonus x ours < bonus.
    score_bound = math.floor(solver.best_objective_bound) - bonus * int(values.sum())
    proven_pairs = not maximize_matched or score_bound < bonus
    return Pairing(values, status == cp_model.OPTIMAL, score_bound if proven_pairs else None)


@dataclass(frozen=True)
class Groups:
    chosen: BoolArray  # over the candidate pairs
    slot: IntArray  # per mentor: the slot their group meets in (-1: none chosen)
    proven_optimal: bool
    score_bound: int | None  # as Pairing.score_bound


def exact_groups(
    mentees: IntArray,
    mentors: IntArray,
    gains: IntArray,
    common_slots: list[list[int]],
    places: IntArray,
    hint: BoolArray,
    hint_slot: IntArray,
    *,
    maximize_matched: bool,
    seed: int,
    deterministic_seconds: float,
) -> Groups:
    """Groups with one meeting slot each, exactly (CP-SAT): pair i (mentees[i] joins mentors[i], gaining
    gains[i] millionths) needs its mentor to meet in one of common_slots[i]; each mentor meets in one slot,
    takes at most places[m] new members; each mentee joins at most one group."""
    from ortools.sat.python import cp_model  # imported when needed, as in _cp_sat

    model = cp_model.CpModel()
    joins = [model.new_bool_var(f"y{index}") for index in range(len(mentees))]
    meets: dict[tuple[int, int], cp_model.IntVar] = {}
    for mentor, slots in zip(mentors.tolist(), common_slots, strict=True):
        for slot in slots:
            if (mentor, slot) not in meets:
                meets[mentor, slot] = model.new_bool_var(f"x{mentor}_{slot}")
    by_mentor: dict[int, list[cp_model.IntVar]] = {}
    for (mentor, _), var in meets.items():
        by_mentor.setdefault(mentor, []).append(var)
    for variables in by_mentor.values():
        model.add_at_most_one(variables)
    members: dict[int, list[int]] = {}
    groups: dict[int, list[int]] = {}
    for index, (mentee, mentor) in enumerate(zip(mentees.tolist(), mentors.tolist(), strict=True)):
        model.add(joins[index] <= sum(meets[mentor, slot] for slot in common_slots[index]))
        members.setdefault(mentee, []).append(index)
        groups.setdefault(mentor, []).append(index)
    for indices in members.values():
        model.add_at_most_one(joins[index] for index in indices)
    for mentor, indices in groups.items():
        model.add(sum(joins[index] for index in indices) <= int(places[mentor]))
    bonus = int(gains.sum()) + 1 if maximize_matched else 0
    model.maximize(sum((bonus + int(gain)) * var for gain, var in zip(gains.tolist(), joins, strict=True)))
    for var, value in zip(joins, hint.tolist(), strict=True):
        model.add_hint(var, bool(value))
    for (mentor, slot), var in meets.items():
        model.add_hint(var, bool(hint_slot[mentor] == slot))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = deterministic_seconds
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Groups(hint, hint_slot, False, None)
    chosen = np.array([solver.boolean_value(var) for var in joins], dtype=np.bool_)
    meets_in = np.full(len(places), -1, dtype=np.int64)
    for (mentor, slot), var in meets.items():
        if solver.boolean_value(var):
            meets_in[mentor] = slot
    score_bound = math.floor(solver.best_objective_bound) - bonus * int(chosen.sum())
    proven_pairs = not maximize_matched or score_bound < bonus
    return Groups(chosen, meets_in, status == cp_model.OPTIMAL, score_bound if proven_pairs else None)
