"""The engine's entry points: match a cohort, match late joiners, suggest mentors (self-match), assess a pair."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from lti_tool.matching.engine.bounds import Bound, certify_reciprocal, group_lagrangian
from lti_tool.matching.engine.candidates import Kernel, KernelOptions
from lti_tool.matching.engine.certificate import certified_assignment
from lti_tool.matching.engine.cohort import (
    Cohort,
    MentoringModel,
    Pair,
    Person,
    Program,
    person_problems,
    validate,
)
from lti_tool.matching.engine.encode import (
    BoolArray,
    Encoded,
    FloatArray,
    IntArray,
    WordArray,
    any_per_row,
    encode,
    pack_bits,
    unique_keys,
)
from lti_tool.matching.engine.errors import MatchingInputError, Problem
from lti_tool.matching.engine.explain import explain_pairs, unmatched_reasons
from lti_tool.matching.engine.results import (
    PROOF_EPSILON,
    Match,
    MatchResult,
    PairAssessment,
    Proof,
    Suggestion,
    Unmatched,
)
from lti_tool.matching.engine.scoring import score_pairs
from lti_tool.matching.engine.solver import (
    CP_SAT_DETERMINISTIC_SECONDS,
    SCALE,
    assign,
    exact_groups,
    gains,
    matched_bonus,
    pair_up,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total): "scoring", "solving", "explaining"
GROUP_ROUNDS = 6  # rounds of "solve, pick each group's slot, re-place who cannot make it"; 2-3 suffice in practice
REPAIR_EXHAUSTIVE_PAIRS = 20_000_000  # below this, the repair round scores every leftover pair
PROOF_EXHAUSTIVE_PAIRS = 2_000_000  # below this, a proof starts from every pair, not from candidate lists
GROUP_EXACT_PAIRS = 1_000  # group matching with up to this many feasible pairs (or exhaustive) is exact (CP-SAT)
# CP-SAT's deterministic budget for those groups; exhaustive runs get solver.CP_SAT_DETERMINISTIC_SECONDS.
GROUP_EXACT_SECONDS = 5.0
GROUP_BOUND_PAIRS = 50_000  # up to this many feasible pairs, groups also get the Lagrangian bound (bounds.py)
GROUP_BOUND_ROUNDS = 120  # its subgradient steps (about 0.1 % above the LP it converges to, measured)
GROUP_PLAN_EVERY = 10  # every this many steps, the slots its mentors chose are filled by the flow


@dataclass(frozen=True)
class MatchOptions:
    """How hard to look. With the defaults, results up to 10k x 1k are proven optimal, and at 100k x 10k proven
    within 0.02 % of the best possible."""

    mentors_per_mentee: int = 25  # candidate mentors kept per mentee
    mentees_per_mentor: int = 50  # candidate mentees kept per mentor: without them, unpopular mentors are stranded
    exhaustive: bool = False  # give the solver every feasible pair: the exact optimum, for small cohorts
    # Price out every pair after solving on the candidates, add those that would improve the result and solve
    # again (certificate.py): the proven optimum. Off: the candidate lists' optimum plus one repair round.
    certify: bool = True
    # Deterministic budgets (the same input gives the same result): solve-and-price rounds, and pairs streamed
    # through the kernel in all, for the mentees the bulk bound cannot clear (a round starts only while what is
    # left could stream as much as the round before). Past them, a proven bound: at 10k x 1k nothing is left
    # unproven, at 100k x 10k one round and a last solve give a gap of about 0.02 % (see the README).
    certify_rounds: int = 10
    certify_pairs: int = 50_000_000
    kernel: KernelOptions = field(default_factory=KernelOptions)


@dataclass
class _Meeting:
    """Group model: each mentor's meeting slot (-1 while their group is empty)."""

    slot: IntArray

    def matrix(self, encoded: Encoded) -> BoolArray:
        allowed = encoded.mentors.slot_matrix.copy()
        chosen = np.flatnonzero(self.slot >= 0)
        allowed[chosen] = False
        allowed[chosen, self.slot[chosen]] = True
        return allowed


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)


def _fixed_pairs(encoded: Encoded, pairs: Iterable[Pair]) -> list[tuple[int, int]]:
    """(mentee, mentor) internal indices of fixed pairs."""
    return [(encoded.mentees.index_of[pair.mentee], encoded.mentors.index_of[pair.mentor]) for pair in pairs]


def _with_preferred(
    encoded: Encoded, mentees: IntArray, mentors: IntArray, rows: IntArray, cols: IntArray
) -> tuple[IntArray, IntArray]:
    """Add the pairs where someone asked for the other: the kernel leaves preferences out of its ranking."""
    width = len(encoded.mentors)
    asked = encoded.preferred_keys
    if not len(asked):
        return mentees, mentors
    in_rows = np.zeros(len(encoded.mentees), dtype=np.bool_)
    in_rows[rows] = True
    in_cols = np.zeros(width, dtype=np.bool_)
    in_cols[cols] = True
    asked = asked[in_rows[asked // width] & in_cols[asked % width]]
    keys = unique_keys(np.concatenate([encoded.key(mentees, mentors), asked]))
    return keys // width, keys % width


@dataclass(frozen=True)
class _Assigned:
    """New (mentee -> mentor) pairs, their total score, and a proven bound on the best total they could have."""

    pairs: dict[int, int]
    score: float
    upper_bound: float
    stats: dict[str, int | bool]


def _bipartite(
    encoded: Encoded,
    fixed: dict[int, int],
    options: MatchOptions,
    progress: Progress | None,
    meeting: _Meeting | None = None,
) -> _Assigned:
    """New (mentee -> mentor) assignments around the `fixed` ones: candidates, then min-cost flow, then either
    the certificate (every other pair priced out until the optimum is proven) or one repair round that offers
    every leftover place to every mentee still unmatched."""
    mentors, mentees = encoded.mentors, encoded.mentees
    rules = encoded.program.rules
    places = mentors.capacity - np.bincount(np.array(list(fixed.values()), dtype=np.int64), minlength=len(mentors))
    waiting = np.ones(len(mentees), dtype=np.bool_)
    waiting[list(fixed)] = False
    rows = np.flatnonzero(waiting)
    meeting_matrix = None if meeting is None else meeting.matrix(encoded)
    meeting_words = None if meeting_matrix is None else pack_bits(meeting_matrix)
    new: dict[int, int] = {}
    stats: dict[str, int | bool] = {"candidate_pairs": 0}
    total = 0.0
    # Without a certificate, nothing is proven beyond this: each new pair scores at most 1.
    upper_bound = float(min(len(rows), int(np.maximum(places, 0).sum())))
    certify = options.certify and not options.exhaustive
    for phase in ("main", "repair"):
        cols = np.flatnonzero(places > 0)
        if not len(rows) or not len(cols):
            if phase == "main":
                upper_bound = 0.0  # nobody to match, or no place: nothing better exists
                stats["certified"] = certify
            break
        kernel = Kernel(
            encoded,
            rows,
            cols,
            meeting_slots=meeting_matrix,
            options=options.kernel,
            progress=progress if phase == "main" else None,
        )
        if options.exhaustive or (phase == "repair" and kernel.total_pairs <= REPAIR_EXHAUSTIVE_PAIRS):
            cand_e, cand_m = kernel.all_pairs()
        else:
            cand_e, cand_m = kernel.top_pairs(options.mentors_per_mentee, options.mentees_per_mentor)
        cand_e, cand_m = _with_preferred(encoded, cand_e, cand_m, rows, cols)
        scores = score_pairs(encoded, cand_e, cand_m, meeting_slots=meeting_words)
        ok = scores.feasible(encoded)
        cand_e, cand_m, values = cand_e[ok], cand_m[ok], scores.score[ok]
        stats["candidate_pairs"] += len(cand_e)
        _notify(progress, "solving", 0, 1)
        if certify:
            certified = certified_assignment(
                encoded,
                kernel,
                places,
                cand_e,
                cand_m,
                values,
                maximize_matched=rules.maximize_matched,
                max_rounds=options.certify_rounds,
                max_priced_pairs=options.certify_pairs,
                meeting_slots=meeting_matrix,
                progress=progress,
            )
            chosen, cand_e, cand_m, values = certified.chosen, certified.mentees, certified.mentors, certified.scores
            upper_bound = certified.upper_bound
            stats.update(
                certified=certified.proven,
                pricing_rounds=certified.rounds,
                priced_rows=certified.priced_rows,
                streamed_pairs=certified.streamed_pairs,
                priced_in_pairs=certified.added_pairs,
                most_matched=certified.most_matched,
            )
        else:
            chosen = assign(
                len(mentees),
                len(mentors),
                cand_e,
                cand_m,
                values,
                np.maximum(places, 0),
                maximize_matched=rules.maximize_matched,
            )
        _notify(progress, "solving", 1, 1)
        new.update(zip(cand_e[chosen].tolist(), cand_m[chosen].tolist(), strict=True))
        total += float(values[chosen].sum())
        places -= np.bincount(cand_m[chosen], minlength=len(mentors))
        waiting[cand_e[chosen]] = False
        rows = rows[waiting[rows]]
        if options.exhaustive:
            upper_bound = total  # every allowed pair was a candidate: the flow's optimum is the cohort's
        if options.exhaustive or certify:
            break
    return _Assigned(new, total, max(upper_bound, total), stats)


def _group_rounds(
    encoded: Encoded,
    fixed: dict[int, int],
    options: MatchOptions,
    progress: Progress | None,
    planned: _Meeting | None = None,
) -> tuple[dict[int, int], _Meeting, dict[str, int]]:
    """Groups meet in one slot each. Slots are chosen up front from demand (below), or given (`planned`); the
    flow is then exact given them. Mentors left without members drop their slot, and the next round places the
    mentees still waiting with them, gives each new group the slot most members can make and re-places the
    others, until nobody has to move."""
    meeting = _Meeting(np.full(len(encoded.mentors), -1, dtype=np.int64)) if planned is None else planned
    assignment = dict(fixed)
    stats = {"candidate_pairs": 0, "group_rounds": 0}
    if encoded.program.rules.shared_slot and planned is None:
        _plan_meeting_slots(encoded, fixed, options, meeting)
    for round_number in range(GROUP_ROUNDS):
        assigned = _bipartite(encoded, assignment, options, progress if round_number == 0 else None, meeting)
        assignment.update(assigned.pairs)
        stats["candidate_pairs"] += int(assigned.stats["candidate_pairs"])
        stats["group_rounds"] = round_number + 1
        if not encoded.program.rules.shared_slot:
            break
        members = np.bincount(np.array(list(assignment.values()), dtype=np.int64), minlength=len(encoded.mentors))
        empty = (members == 0) & (meeting.slot >= 0)
        if not _settle_meeting_slots(encoded, assignment, fixed, meeting) and not (round_number == 0 and empty.any()):
            break
        if round_number == 0:
            meeting.slot[empty] = -1  # planned groups nobody joined: free to meet whenever suits the rest
    return assignment, meeting, stats


def _plan_meeting_slots(encoded: Encoded, fixed: dict[int, int], options: MatchOptions, meeting: _Meeting) -> None:
    """Give each mentor the slot where their group can fill up: most of the mentees who fit them (their
    candidates) are free then and other groups have not already taken up that demand. Mentors with the
    fewest candidates choose first; a mentor with fixed members takes the slot most of them can make."""
    mentors, mentees = encoded.mentors, encoded.mentees
    waiting = np.ones(len(mentees), dtype=np.bool_)
    waiting[list(fixed)] = False
    rows = np.flatnonzero(waiting)
    cols = np.flatnonzero(mentors.capacity > 0)
    if not len(rows) or not len(cols) or not encoded.vocabulary.slots:
        return
    kernel = Kernel(encoded, rows, cols, options=options.kernel)
    cand_e, cand_m = kernel.top_pairs(options.mentors_per_mentee, options.mentees_per_mentor)
    ok = score_pairs(encoded, cand_e, cand_m).feasible(encoded)
    cand_e, cand_m = cand_e[ok], cand_m[ok]
    slots = len(encoded.vocabulary.slots)
    # demand[m, s]: candidates of mentor m free at slot s; residual[s]: mentees free at s not yet catered for.
    demand = np.zeros((len(mentors), slots), dtype=np.int64)
    np.add.at(demand, cand_m, mentees.slot_matrix[cand_e].astype(np.int64))
    residual = mentees.slot_matrix[rows].sum(axis=0).astype(np.int64)
    fixed_free = np.zeros((len(mentors), slots), dtype=np.int64)
    fixed_count = np.zeros(len(mentors), dtype=np.int64)
    for mentee, mentor in fixed.items():
        fixed_free[mentor] += mentees.slot_matrix[mentee]
        fixed_count[mentor] += 1
    order = np.lexsort((mentors.input_position, demand.sum(axis=1)))
    for mentor in order.tolist():
        options_ = np.flatnonzero(mentors.slot_matrix[mentor])
        places = int(mentors.capacity[mentor] - fixed_count[mentor])
        if not len(options_) or (places <= 0 and not fixed_count[mentor]):
            continue
        if not demand[mentor].any() and not fixed_count[mentor]:
            continue  # nobody fits them: decide after the flow, should anyone join
        fill = np.minimum(np.minimum(demand[mentor, options_], np.maximum(residual[options_], 0)), places)
        best = min(
            range(len(options_)),
            key=lambda i: (-int(fixed_free[mentor, options_[i]]), -int(fill[i]), -int(demand[mentor, options_[i]]), i),
        )
        meeting.slot[mentor] = options_[best]
        residual[options_[best]] -= places


def _settle_meeting_slots(
    encoded: Encoded, assignment: dict[int, int], fixed: dict[int, int], meeting: _Meeting
) -> bool:
    """Pick a slot for each group that has none yet; unassign the (non-fixed) members who cannot make it.
    Returns whether anyone was unassigned."""
    members: dict[int, list[int]] = {}
    for mentee, mentor in assignment.items():
        if meeting.slot[mentor] < 0:
            members.setdefault(mentor, []).append(mentee)
    if not members:
        return False
    mentees_side, mentors_side = encoded.mentees, encoded.mentors
    all_mentees = np.array([e for group in members.values() for e in group], dtype=np.int64)
    all_mentors = np.array([m for m, group in members.items() for _ in group], dtype=np.int64)
    score_of = dict(
        zip(all_mentees.tolist(), score_pairs(encoded, all_mentees, all_mentors).score.tolist(), strict=True)
    )
    released = False
    for mentor, group in members.items():
        options = np.flatnonzero(mentors_side.slot_matrix[mentor])
        if not len(options):
            continue
        free = mentees_side.slot_matrix[np.array(group)][:, options]  # (members, slots)
        locked = np.array([fixed.get(e) == mentor for e in group])
        scores = np.array([score_of[e] for e in group])
        # Most fixed members first, then most members, then the best total score; ties: the earliest slot.
        rank = sorted(
            range(len(options)),
            key=lambda i: (-int(free[locked, i].sum()), -int(free[:, i].sum()), -float(scores[free[:, i]].sum()), i),
        )
        best = rank[0]
        meeting.slot[mentor] = options[best]
        for position, mentee in enumerate(group):
            if not free[position, best] and not locked[position]:
                del assignment[mentee]
                released = True
    return released


def _candidates(
    encoded: Encoded, rows: IntArray, cols: IntArray, options: MatchOptions, *, every_only: bool = False
) -> tuple[IntArray, IntArray, bool]:
    """Pairs a proof starts from (rows x cols): every pair of a small cohort, else both sides' candidate lists
    (or none, `every_only`). The flag says they are every pair that keeps the hard rules."""
    kernel = Kernel(encoded, rows, cols, options=options.kernel)
    every = options.exhaustive or kernel.total_pairs <= PROOF_EXHAUSTIVE_PAIRS
    if every:
        cand_e, cand_m = kernel.all_pairs()
    elif every_only:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), False
    else:
        cand_e, cand_m = kernel.top_pairs(options.mentors_per_mentee, options.mentees_per_mentor)
    return *_with_preferred(encoded, cand_e, cand_m, rows, cols), every


@dataclass(frozen=True)
class _Proven:
    """What group or reciprocal matching proved about its new (not fixed) pairs."""

    slack: float  # no result scores more than theirs plus this
    pairs_proven: bool  # no result matches more (when the program matches as many as possible first)
    stats: dict[str, int | bool]


def _score_only(encoded: Encoded) -> Encoded:
    """The same cohort, scored alone: what the best total score is, whatever the number matched."""
    rules = replace(encoded.program.rules, maximize_matched=False)
    return replace(encoded, program=replace(encoded.program, rules=rules))


def _prove_group(
    encoded: Encoded,
    fixed: dict[int, int],
    assignment: dict[int, int],
    meeting: _Meeting,
    options: MatchOptions,
    seed: int,
) -> tuple[dict[int, int], _Proven]:
    """Bound group matching with the shared-slot rule over every choice of meeting slots, and improve on the
    planned slots where the bound shows how.

    Given the slots, who joins which group is a flow, certified in each round like one-on-one matching
    (_bipartite). The slots themselves are not in the flow, so that certificate says nothing about other
    slots. The bound over every slot choice is the relaxation where each pair may meet whenever both are free:
    the one-on-one problem, certified the same way. Pair scores do not depend on the slot (availability
    compares whole calendars), so it drops only the one-slot-per-group rule: when its optimum lets every group
    meet in one slot, that optimum is the result, proven. Small cohorts (GROUP_EXACT_PAIRS) get the slots decided
    exactly (CP-SAT), whose own bound then holds; up to GROUP_BOUND_PAIRS the Lagrangian bound and its slot
    plans are added. Otherwise the planned result stands with the relaxation's bound. Bounds can be above the
    best group matching: the gap may overstate the loss, never understate it.
    """
    new = {e: m for e, m in assignment.items() if e not in fixed}
    ours = _total_score(encoded, new)
    maximize = encoded.program.rules.maximize_matched
    relaxed = _bipartite(encoded, fixed, options, None)
    stats: dict[str, int | bool] = {"relaxation_matched": len(relaxed.pairs), "exact_groups": False}

    def key(pairs: int, score: float) -> tuple[int, float]:
        return (pairs if maximize else 0, score)

    # Whether no one-on-one assignment matches more than the relaxation's (then no group matching does either):
    # the certificate says; without its word the relaxation was exhaustive, or had nobody or no place to match,
    # unless certificates are off.
    most_matched = not maximize or bool(relaxed.stats.get("most_matched", options.exhaustive or options.certify))
    if key(len(relaxed.pairs), relaxed.score) > key(len(new), ours + 1e-9):
        found = _one_slot_each(encoded, fixed, relaxed.pairs, meeting)
        if found is not None:
            return {**fixed, **found}, _Proven(relaxed.upper_bound - relaxed.score, most_matched, stats)
        # Slots planned from the relaxation instead: each group where its members there can meet.
        guided, guided_meeting, _ = _group_rounds(
            encoded, fixed, options, None, _slots_for(encoded, fixed, relaxed.pairs)
        )
        guided_new = {e: m for e, m in guided.items() if e not in fixed}
        guided_score = _total_score(encoded, guided_new)
        stats["relaxation_slots"] = key(len(guided_new), guided_score) > key(len(new), ours + 1e-9)
        if stats["relaxation_slots"]:
            new, ours = guided_new, guided_score
            meeting.slot[:] = guided_meeting.slot
    bound = relaxed.upper_bound
    # With fewer pairs than the relaxation's, the best group matching may have as few and a higher score.
    pairs_proven = not maximize or (most_matched and len(new) >= len(relaxed.pairs))
    if not pairs_proven:
        bound = _bipartite(_score_only(encoded), fixed, options, None).upper_bound
    if bound > ours or not pairs_proven:
        new, ours, bound, pairs_proven = _exact_groups(
            encoded, fixed, new, ours, bound, pairs_proven, meeting, options, seed, stats
        )
    return {**fixed, **new}, _Proven(max(bound - ours, 0.0), pairs_proven, stats)


def _total_score(encoded: Encoded, pairs: dict[int, int]) -> float:
    return float(score_pairs(encoded, *_arrays(pairs)).score.sum())


def _exact_groups(
    encoded: Encoded,
    fixed: dict[int, int],
    new: dict[int, int],
    ours: float,
    bound: float,
    pairs_proven: bool,
    meeting: _Meeting,
    options: MatchOptions,
    seed: int,
    stats: dict[str, int | bool],
) -> tuple[dict[int, int], float, float, bool]:
    """Groups and slots decided exactly (CP-SAT) when the feasible pairs are at most GROUP_EXACT_PAIRS (or the
    match is exhaustive, whatever their number): the better of that and `new`, and the bound then proven (the
    solver's own, which covers every slot choice). Up to GROUP_BOUND_PAIRS also the Lagrangian bound
    (bounds.group_lagrangian), whose slot plans, filled by the flow, replace the result where they do better."""
    mentors, mentees = encoded.mentors, encoded.mentees
    places = np.maximum(
        mentors.capacity - np.bincount(np.array(list(fixed.values()), dtype=np.int64), minlength=len(mentors)), 0
    )
    waiting = np.ones(len(mentees), dtype=np.bool_)
    waiting[list(fixed)] = False
    rows, cols = np.flatnonzero(waiting), np.flatnonzero(places > 0)
    if not len(rows) or not len(cols):
        return new, ours, bound, pairs_proven
    cand_e, cand_m, every = _candidates(encoded, rows, cols, options, every_only=True)
    if not every or (len(cand_e) > GROUP_BOUND_PAIRS and not options.exhaustive):
        return new, ours, bound, pairs_proven
    scores = score_pairs(encoded, cand_e, cand_m)
    ok = scores.feasible(encoded)
    cand_e, cand_m, values = cand_e[ok], cand_m[ok], scores.score[ok]
    common = mentees.slot_matrix[cand_e] & mentors.slot_matrix[cand_m]
    maximize = encoded.program.rules.maximize_matched
    candidates: list[int] = []  # score bounds in millionths, each for results with at least our pairs
    if len(cand_e) <= GROUP_EXACT_PAIRS or options.exhaustive:
        groups = exact_groups(
            cand_e,
            cand_m,
            gains(values),
            [np.flatnonzero(row).tolist() for row in common],
            places,
            np.array([new.get(e) == m for e, m in zip(cand_e.tolist(), cand_m.tolist(), strict=True)]),
            meeting.slot,
            maximize_matched=maximize,
            seed=seed,
            deterministic_seconds=CP_SAT_DETERMINISTIC_SECONDS if options.exhaustive else GROUP_EXACT_SECONDS,
        )
        stats["exact_groups"] = groups.proven_optimal
        new, ours = _better_groups(
            encoded, fixed, new, ours, cand_e, cand_m, values, groups.chosen, groups.slot, meeting
        )
        if groups.score_bound is not None:
            candidates.append(groups.score_bound)
    big = matched_bonus(len(rows), places) if maximize else 0
    best_gain = np.zeros(len(mentees), dtype=np.int64)
    np.maximum.at(best_gain, cand_e, gains(values))

    def lagrangian(big_: int) -> int:
        # Started at half of each mentee's best gain: measured closer than from zero or from our pairs' gains.
        nonlocal new, ours
        start = np.where(best_gain > 0, (best_gain + big_) // 2, 0)
        target = int(gains(score_pairs(encoded, *_arrays(new)).score).sum()) + big_ * len(new)
        relaxed = group_lagrangian(
            cand_e, cand_m, gains(values), common, places, start, big_, target, GROUP_BOUND_ROUNDS, GROUP_PLAN_EVERY
        )
        # Its slot plans, each filled by the flow (exact given the slots): the best replaces ours if better.
        with_fixed = np.zeros(len(mentors), dtype=np.bool_)
        with_fixed[list(fixed.values())] = True
        for plan in relaxed.plans:
            plan[with_fixed] = meeting.slot[with_fixed]  # their slot suits the fixed members
            meets = plan[cand_m]
            ok = (meets >= 0) & common[np.arange(len(cand_e)), np.maximum(meets, 0)]
            chosen = np.zeros(len(cand_e), dtype=np.bool_)
            chosen[ok] = assign(
                len(mentees), len(mentors), cand_e[ok], cand_m[ok], values[ok], places, maximize_matched=maximize
            )
            before = new
            new, ours = _better_groups(encoded, fixed, new, ours, cand_e, cand_m, values, chosen, plan, meeting)
            stats["slot_plans_adopted"] = int(stats.get("slot_plans_adopted", 0)) + (new is not before)
        return relaxed.bound

    lagrange = lagrangian(big)
    lagrange -= big * len(new)
    if not big or lagrange < big:
        candidates.append(lagrange)
    elif not pairs_proven:
        bound = min(bound, (lagrangian(0) + 0.5 * len(rows)) / SCALE)
    ours_gain = int(gains(score_pairs(encoded, *_arrays(new)).score).sum())
    if not candidates:
        return new, ours, bound, pairs_proven
    # Proven on scores in millionths, as the solver sees them (as the one-on-one certificate is).
    proven = min(candidates)
    if proven <= ours_gain:
        return new, ours, ours, True
    return new, ours, min(bound, (proven + 0.5 * len(rows)) / SCALE), True


def _better_groups(
    encoded: Encoded,
    fixed: dict[int, int],
    new: dict[int, int],
    ours: float,
    cand_e: IntArray,
    cand_m: IntArray,
    values: FloatArray,
    chosen: BoolArray,
    slot: IntArray,
    meeting: _Meeting,
) -> tuple[dict[int, int], float]:
    """The better of `new` (scoring `ours`) and the `chosen` pairs with mentors meeting at `slot`: more pairs
    first when the program matches as many as possible, then the higher score. Adopting the chosen ones sets
    `meeting` to their slots (mentors left with no member at all meet whenever suits later joiners)."""
    found = float(values[chosen].sum())
    maximize = encoded.program.rules.maximize_matched
    if (int(chosen.sum()) if maximize else 0, found) <= (len(new) if maximize else 0, ours + 1e-9):
        return new, ours
    new = dict(zip(cand_e[chosen].tolist(), cand_m[chosen].tolist(), strict=True))
    leading = set(new.values())
    members = leading | set(fixed.values())
    for mentor in range(len(encoded.mentors)):
        if mentor in leading:
            meeting.slot[mentor] = slot[mentor]
        elif mentor not in members:
            meeting.slot[mentor] = -1
    return new, found


def _arrays(pairs: dict[int, int]) -> tuple[IntArray, IntArray]:
    return np.array(list(pairs), dtype=np.int64), np.array(list(pairs.values()), dtype=np.int64)


def _slots_for(encoded: Encoded, fixed: dict[int, int], pairs: dict[int, int]) -> _Meeting:
    """Per mentor with members in `pairs` (or fixed ones), the slot of theirs where those members' scores add
    up most; -1 for the others."""
    mentees, mentors = encoded.mentees, encoded.mentors
    everyone = {**pairs, **fixed}
    e, m = _arrays(everyone)
    weight = np.zeros(mentors.slot_matrix.shape, dtype=np.float64)
    np.add.at(weight, m, mentees.slot_matrix[e] * score_pairs(encoded, e, m).score[:, None])
    weight[~mentors.slot_matrix] = -1.0
    slot = np.where(mentors.slot_matrix.any(axis=1), np.argmax(weight, axis=1), -1)
    has_members = np.zeros(len(mentors), dtype=np.bool_)
    has_members[m] = True
    return _Meeting(np.where(has_members, slot, -1).astype(np.int64))


def _one_slot_each(
    encoded: Encoded, fixed: dict[int, int], new: dict[int, int], meeting: _Meeting
) -> dict[int, int] | None:
    """`new` if every group in it (with the fixed members) can meet in one slot: then `meeting` is set to those
    slots, each the one most fixed members can make among those every new member can; else None."""
    mentees, mentors = encoded.mentees, encoded.mentors
    slot = np.full(len(mentors), -1, dtype=np.int64)
    groups: dict[int, list[int]] = {}
    for mentee, mentor in new.items():
        groups.setdefault(mentor, []).append(mentee)
    fixed_free = np.zeros(mentors.slot_matrix.shape, dtype=np.int64)
    for mentee, mentor in fixed.items():
        fixed_free[mentor] += mentees.slot_matrix[mentee]
    for mentor, group in groups.items():
        common = mentors.slot_matrix[mentor] & mentees.slot_matrix[np.array(group)].all(axis=0)
        if not common.any():
            return None
        options = np.flatnonzero(common)
        slot[mentor] = options[np.argmax(fixed_free[mentor, options])]
    for mentor in {mentor for mentor in fixed.values() if slot[mentor] < 0 and mentors.slot_matrix[mentor].any()}:
        slot[mentor] = int(np.argmax(np.where(mentors.slot_matrix[mentor], fixed_free[mentor], -1)))
    meeting.slot[:] = slot
    return new


def _reciprocal_pairs(
    encoded: Encoded, fixed: list[tuple[int, int]], options: MatchOptions, progress: Progress | None, seed: int
) -> tuple[list[tuple[int, int]], dict[str, int | bool], int | None]:
    """Peer model with reciprocity: undirected pairs who can each teach the other one of their goals.

    Also answers the solver's own bound on the new pairs' score (integer millionths) when its edges were every
    feasible pair (exhaustive), else None: on candidate lists it bounds only the candidates."""
    people = encoded.mentors
    places = people.capacity.copy()
    for a, b in fixed:
        places[a] -= 1
        places[b] -= 1
    rules = encoded.program.rules
    pairs: list[tuple[int, int]] = []
    stats: dict[str, int | bool] = {"candidate_pairs": 0, "solver_optimal": True}
    solver_bound: int | None = None
    paired = np.zeros(len(people), dtype=np.bool_)
    for a, b in fixed:
        paired[a] = paired[b] = True
    for phase in ("main", "repair"):
        active = np.flatnonzero(places > 0)
        # The repair round looks for partners for whoever is still alone, among everyone with a place left.
        rows = active if phase == "main" else active[~paired[active]]
        if len(rows) == 0 or len(active) < 2:
            break
        kernel = Kernel(encoded, rows, active, options=options.kernel, progress=progress if phase == "main" else None)
        if options.exhaustive or (phase == "repair" and kernel.total_pairs <= REPAIR_EXHAUSTIVE_PAIRS):
            cand_e, cand_m = kernel.all_pairs()
        else:
            cand_e, cand_m = kernel.top_pairs(options.mentors_per_mentee, options.mentees_per_mentor)
        cand_e, cand_m = _with_preferred(encoded, cand_e, cand_m, rows, active)
        keys = unique_keys(np.minimum(cand_e, cand_m) * len(people) + np.maximum(cand_e, cand_m))
        left, right = keys // len(people), keys % len(people)
        ok, weight = _reciprocal_weights(encoded, left, right)
        left, right, weight = left[ok], right[ok], weight[ok]
        stats["candidate_pairs"] = int(stats["candidate_pairs"]) + len(left)
        _notify(progress, "solving", 0, 1)
        pairing = pair_up(
            len(people), left, right, weight, np.maximum(places, 0), maximize_matched=rules.maximize_matched, seed=seed
        )
        _notify(progress, "solving", 1, 1)
        stats["solver_optimal"] = bool(stats["solver_optimal"]) and pairing.proven_optimal
        solver_bound = pairing.score_bound if options.exhaustive else None
        for a, b in zip(left[pairing.chosen].tolist(), right[pairing.chosen].tolist(), strict=True):
            pairs.append((a, b))
            places[a] -= 1
            places[b] -= 1
            paired[a] = paired[b] = True
        if options.exhaustive:
            break
    return pairs, stats, solver_bound


def _prove_reciprocal(
    encoded: Encoded,
    fixed: list[tuple[int, int]],
    pairs: list[tuple[int, int]],
    options: MatchOptions,
    solver_bound: int | None,
    seed: int,
) -> tuple[list[tuple[int, int]], _Proven]:
    """Bound the reciprocal peers' best possible score over every pair of the cohort: the fractional b-matching
    (bounds.certify_reciprocal), priced beyond the candidate lists, and CP-SAT's own bound when it saw every pair.
    The fractional bound is exact when its optimum is whole (no odd cycles of equal worth); CP-SAT closes the
    rest on the pairs it was given."""
    people = encoded.mentors
    places = people.capacity.copy()
    for a, b in fixed:
        places[a] -= 1
        places[b] -= 1
    places = np.maximum(places, 0)
    ours_left = np.array([a for a, _ in pairs], dtype=np.int64)
    ours_right = np.array([b for _, b in pairs], dtype=np.int64)
    ours = int(gains(_reciprocal_weights(encoded, ours_left, ours_right)[1]).sum())
    active = np.flatnonzero(places > 0)
    if len(active) < 2:
        return pairs, _Proven(0.0, True, {"proof_rounds": 0, "proof_added_pairs": 0})
    cand_e, cand_m, _ = _candidates(encoded, active, active, options)
    width = len(people)
    keys = unique_keys(
        np.concatenate(
            [np.minimum(cand_e, cand_m) * width + np.maximum(cand_e, cand_m), ours_left * width + ours_right]
        )
    )
    left, right = keys // width, keys % width
    ok, weight = _reciprocal_weights(encoded, left, right)
    left, right, gain = left[ok], right[ok], gains(weight[ok])
    # A pair scores at most 2 (each direction at most 1), and there are at most places / 2 pairs.
    big = int(places.sum()) * SCALE + 1 if encoded.program.rules.maximize_matched else 0

    def weigh(a: IntArray, b: IntArray) -> tuple[BoolArray, FloatArray]:
        return _reciprocal_weights(encoded, a, b)

    def certify(big_: int) -> Bound:
        return certify_reciprocal(encoded, active, left, right, gain + big_, places, big_, weigh)

    bound = certify(big)
    if bound.added_pairs and bound.value > ours + big * len(pairs):
        # Pairs priced in from outside the lists may do better: solve again with them (the bound stands).
        more_left = np.concatenate([left, bound.added_rows])
        more_right = np.concatenate([right, bound.added_cols])
        _, more_weight = _reciprocal_weights(encoded, more_left, more_right)
        pairing = pair_up(
            width,
            more_left,
            more_right,
            more_weight,
            places,
            maximize_matched=encoded.program.rules.maximize_matched,
            seed=seed,
        )
        found = int(gains(more_weight[pairing.chosen]).sum())
        count = int(pairing.chosen.sum())
        if (count if big else 0, found) > (len(pairs) if big else 0, ours):
            pairs = list(zip(more_left[pairing.chosen].tolist(), more_right[pairing.chosen].tolist(), strict=True))
            ours = found
    # A bound B on big x pairs + score bounds the score of every result with at least our number of pairs, and
    # proves that number while B - big x ours < big; otherwise the bound of the score alone holds.
    score_bound = bound.bound - big * len(pairs)
    pairs_proven = not big or score_bound < big
    if not pairs_proven:
        score_bound = certify(0).bound
    if solver_bound is not None:
        score_bound, pairs_proven = min(score_bound, solver_bound), True
    stats = {"proof_rounds": bound.rounds, "proof_added_pairs": bound.added_pairs}
    return pairs, _Proven(max(score_bound - ours, 0) / SCALE, pairs_proven, stats)


def _reciprocal_weights(encoded: Encoded, left: IntArray, right: IntArray) -> tuple[BoolArray, FloatArray]:
    forward = score_pairs(encoded, right, left)  # left mentors right
    backward = score_pairs(encoded, left, right)  # right mentors left
    ok = forward.feasible(encoded) & backward.feasible(encoded) & (forward.down_goal > 0) & (backward.down_goal > 0)
    return ok, forward.score + backward.score


def match(
    program: Program,
    cohort: Cohort,
    *,
    seed: int = 0,
    options: MatchOptions | None = None,
    progress: Progress | None = None,
) -> MatchResult:
    """The optimal matching of a cohort under the program's weights and rules.

    Maximises the number of mentees matched, then the total score (or the score alone when
    `rules.maximize_matched` is off), within each mentor's capacity, never breaking a hard rule; fixed pairs
    are kept as given. The same input and seed give the same result; the seed only decides between ties.
    Raises MatchingInputError naming every field at fault.
    """
    validate(program, cohort, seed=seed)
    options = options or MatchOptions()
    encoded = encode(program, cohort, seed)
    fixed = _fixed_pairs(encoded, program.rules.fixed_pairs)
    meeting: _Meeting | None = None
    reciprocal = program.model is MentoringModel.PEER and program.rules.require_reciprocity
    # The flows are exact on their candidates; only CP-SAT on large odd-cycle cases can stop short.
    stats: dict[str, int | bool] = {"exhaustive": options.exhaustive, "solver_optimal": True}
    directed: list[tuple[int, int, bool]]
    if reciprocal:
        undirected = [(min(e, m), max(e, m)) for e, m in fixed]
        pairs, reciprocal_stats, cp_sat_bound = _reciprocal_pairs(encoded, undirected, options, progress, seed)
        stats.update(reciprocal_stats)
        pairs, proven = _prove_reciprocal(encoded, undirected, pairs, options, cp_sat_bound, seed)
        stats.update(proven.stats)
        fixed_set = set(undirected)
        directed = []
        for a, b in dict.fromkeys([*undirected, *pairs]):
            # Both directions: a mentors b, and b mentors a.
            directed += [(b, a, (a, b) in fixed_set), (a, b, (a, b) in fixed_set)]
    else:
        fixed_map = dict(fixed)
        if program.model is MentoringModel.GROUP and program.rules.shared_slot:
            assignment, meeting, group_stats = _group_rounds(encoded, fixed_map, options, progress)
            stats.update(group_stats)
            assignment, proven = _prove_group(encoded, fixed_map, assignment, meeting, options, seed)
            stats.update(proven.stats)
        else:
            # Without the shared-slot rule a group is one-on-one matching with several places per mentor.
            assigned = _bipartite(encoded, fixed_map, options, progress)
            assignment = {**fixed_map, **assigned.pairs}
            stats.update(assigned.stats)
            proven = _Proven(assigned.upper_bound - assigned.score, True, {})
        directed = [(e, m, fixed_map.get(e) == m) for e, m in assignment.items()]
    return _result(encoded, directed, meeting, stats, seed, proven, reciprocal=reciprocal, progress=progress)


def match_late_joiners(
    program: Program,
    cohort: Cohort,
    existing: Iterable[Pair],
    *,
    seed: int = 0,
    options: MatchOptions | None = None,
    progress: Progress | None = None,
) -> MatchResult:
    """Match the mentees not in `existing` (published matches) into the places left, leaving those as they are."""
    rules = program.rules
    kept = tuple(dict.fromkeys((*rules.fixed_pairs, *existing)))
    return match(
        replace(program, rules=replace(rules, fixed_pairs=kept)), cohort, seed=seed, options=options, progress=progress
    )


def _result(
    encoded: Encoded,
    directed: list[tuple[int, int, bool]],
    meeting: _Meeting | None,
    stats: dict[str, int | bool],
    seed: int,
    proven: _Proven,
    *,
    reciprocal: bool,
    progress: Progress | None,
) -> MatchResult:
    mentees_side, mentors_side = encoded.mentees, encoded.mentors
    e = np.array([item[0] for item in directed], dtype=np.int64)
    m = np.array([item[1] for item in directed], dtype=np.int64)
    fixed = np.array([item[2] for item in directed], dtype=np.bool_)
    # In input order (one lexsort: a Python sort key per match costs a tenth of a second at 10k).
    order = np.lexsort((mentors_side.input_position[m], mentees_side.input_position[e]))
    e, m, fixed = e[order], m[order], fixed[order]
    meeting_words: WordArray | None = None
    slots: list[int] | None = None
    extra: list[list[str]] | None = None
    if meeting is not None and encoded.program.rules.shared_slot:
        meeting_words = pack_bits(meeting.matrix(encoded))
        slots = [int(meeting.slot[mentor]) for mentor in m.tolist()]
    _notify(progress, "explaining", 0, len(e))
    scores = score_pairs(encoded, e, m)
    if meeting_words is not None and slots is not None:
        group_ok = any_per_row(mentees_side.slots[e] & meeting_words[m])
        extra = [[] if ok else ["not free at the group's meeting slot"] for ok in group_ok.tolist()]
    explanations, teaches = explain_pairs(
        encoded, e, m, scores, meeting_slots=slots, extra_broken=extra, check_rules=fixed
    )
    matches = tuple(
        Match(
            mentor=mentors_side.people[mentor].id,
            mentee=mentees_side.people[mentee].id,
            score=float(sum(explanation.contributions.values())),
            explanation=explanation,
            fixed=bool(is_fixed),
            slot=None if slots is None or slots[index] < 0 else encoded.vocabulary.slots[slots[index]],
            teaches=taught,
            reciprocal=reciprocal,
        )
        for index, (mentee, mentor, is_fixed, explanation, taught) in enumerate(
            zip(e.tolist(), m.tolist(), fixed.tolist(), explanations, teaches, strict=True)
        )
    )
    _notify(progress, "explaining", len(e), len(e))
    matched = np.zeros(len(mentees_side), dtype=np.bool_)
    matched[e] = True
    # Reciprocal pairs are listed in both directions, so there `m` counts each person's pairs too.
    places_left = mentors_side.capacity - np.bincount(m, minlength=len(mentors_side))
    unmatched_rows = np.flatnonzero(~matched)
    unmatched_rows = unmatched_rows[np.argsort(mentees_side.input_position[unmatched_rows], kind="stable")]
    unmatched = _reasons(encoded, unmatched_rows, places_left, meeting_words, reciprocal=reciprocal)
    summary: dict[str, int | float | bool] = {
        "mentees": len(mentees_side),
        "mentors": len(mentors_side),
        "places": int(mentors_side.capacity.sum()),
        "matched": int(matched.sum()),
        "unmatched": len(unmatched),
        **stats,
    }
    objective = math.fsum(match.score for match in matches)
    # The bound is on the new pairs' score; the fixed ones count the same on both sides.
    upper_bound = objective + proven.slack
    if not proven.pairs_proven:
        # More pairs may be possible (at a lower score): never "optimal" then, whatever the score bound says.
        upper_bound = max(upper_bound, objective + 2 * PROOF_EPSILON * max(1.0, abs(objective)) + 1 / SCALE)
    return MatchResult(
        model=encoded.model,
        seed=seed,
        objective=objective,
        matches=matches,
        unmatched=tuple(unmatched),
        stats=summary,
        proof=Proof(objective=objective, upper_bound=upper_bound),
    )


def _reasons(
    encoded: Encoded, rows: IntArray, places_left: IntArray, meeting_words: WordArray | None, *, reciprocal: bool
) -> list[Unmatched]:
    rules = encoded.program.rules
    n_mentors = len(encoded.mentors)
    passes: BoolArray | None = None
    mutual: BoolArray | None = None
    if len(rows) and (rules.min_score > 0 or reciprocal):
        e = np.repeat(rows, n_mentors)
        m = np.tile(np.arange(n_mentors), len(rows))
        forward = score_pairs(encoded, e, m)
        if rules.min_score > 0:
            passes = (forward.score >= rules.min_score - 1e-12).reshape(len(rows), n_mentors)
        if reciprocal:
            backward = score_pairs(encoded, m, e)
            both = forward.feasible(encoded, 0.0) & backward.feasible(encoded, 0.0)
            mutual = (both & (forward.down_goal > 0) & (backward.down_goal > 0)).reshape(len(rows), n_mentors)
    return unmatched_reasons(
        encoded, rows, places_left, passes_scores=passes, reciprocal_ok=mutual, meeting_slots=meeting_words
    )


def suggest_mentors(
    program: Program,
    cohort: Cohort,
    *,
    top_n: int = 5,
    mentees: Iterable[str] | None = None,
    seed: int = 0,
    taken: Mapping[str, int] | None = None,
) -> dict[str, tuple[Suggestion, ...]]:
    """Self-match: each mentee's best `top_n` mentors among those with a place left (after the fixed pairs,
    i.e. the existing matches, and `taken`: places spoken for otherwise, by mentor id), best first, never
    breaking a hard rule. Among equal scores the mentor with more places left comes first, so many mentees of
    one profile do not all draw the same mentor first."""
    validate(program, cohort, seed=seed)
    encoded = encode(program, cohort, seed)
    mentors_side, mentees_side = encoded.mentors, encoded.mentees
    fixed = _fixed_pairs(encoded, program.rules.fixed_pairs)
    places = mentors_side.capacity - np.bincount(
        np.array([m for _, m in fixed], dtype=np.int64), minlength=len(mentors_side)
    )
    for mentor_id, spoken_for in (taken or {}).items():
        if mentor_id in mentors_side.index_of:
            places[mentors_side.index_of[mentor_id]] -= spoken_for
    wanted = [p.id for p in mentees_side.people] if mentees is None else list(mentees)
    unknown = [mentee for mentee in wanted if mentee not in mentees_side.index_of]
    if unknown:
        raise MatchingInputError([Problem("mentees", f"no mentee has id {mentee!r}") for mentee in unknown])
    rows = np.array(sorted(mentees_side.index_of[mentee] for mentee in wanted), dtype=np.int64)
    cols = np.flatnonzero(places > 0)
    suggestions: dict[str, tuple[Suggestion, ...]] = {mentee: () for mentee in wanted}
    if not len(rows) or not len(cols) or top_n <= 0:
        return suggestions
    cand_e, cand_m = Kernel(encoded, rows, cols).top_pairs(top_n, 0)
    cand_e, cand_m = _with_preferred(encoded, cand_e, cand_m, rows, cols)
    scores = score_pairs(encoded, cand_e, cand_m)
    ok = scores.feasible(encoded)
    if program.model is MentoringModel.PEER and program.rules.require_reciprocity:
        ok &= _reciprocal_weights(encoded, cand_m, cand_e)[0]
    keep = np.flatnonzero(ok)
    order = keep[
        np.lexsort(
            (mentors_side.input_position[cand_m[keep]], -places[cand_m[keep]], -scores.score[keep], cand_e[keep])
        )
    ]
    chosen: list[int] = []
    count: dict[int, int] = {}
    for index in order.tolist():
        mentee = int(cand_e[index])
        if count.get(mentee, 0) < top_n:
            count[mentee] = count.get(mentee, 0) + 1
            chosen.append(index)
    picked = np.array(chosen, dtype=np.int64)
    subset = scores.take(picked)
    explanations, _ = explain_pairs(encoded, cand_e[picked], cand_m[picked], subset)
    grouped: dict[str, list[Suggestion]] = {}
    for position, index in enumerate(picked.tolist()):
        mentee_id = mentees_side.people[cand_e[index]].id
        mentor = int(cand_m[index])
        grouped.setdefault(mentee_id, []).append(
            Suggestion(
                mentor=mentors_side.people[mentor].id,
                score=float(sum(explanations[position].contributions.values())),
                explanation=explanations[position],
                places_left=int(places[mentor]),
            )
        )
    for mentee_id, items in grouped.items():
        suggestions[mentee_id] = tuple(items)
    return suggestions


def assess_pair(program: Program, mentor: Person, mentee: Person, *, mentor_load: int = 0) -> PairAssessment:
    """Score and explain one given pair (a manual match), listing every hard rule it breaks.

    `mentor_load` is how many mentees the mentor already has: at or over capacity, the pair breaks it.
    """
    problems = [*person_problems(mentor, "mentor", program), *person_problems(mentee, "mentee", program)]
    if problems:
        raise MatchingInputError(problems)
    peer = program.model is MentoringModel.PEER
    if peer:
        cohort = Cohort(participants=(mentor,) if mentor.id == mentee.id else (mentor, mentee))
    else:
        cohort = Cohort(mentors=(mentor,), mentees=(mentee,))
    encoded = encode(replace(program, rules=replace(program.rules, fixed_pairs=())), cohort, 0)
    e = np.array([encoded.mentees.index_of[mentee.id]], dtype=np.int64)
    m = np.array([encoded.mentors.index_of[mentor.id]], dtype=np.int64)
    scores = score_pairs(encoded, e, m)
    extra: list[str] = []
    capacity = program.capacity_of(mentor)
    if mentor_load >= capacity:
        extra.append(f"the mentor is full ({mentor_load} of {capacity} places taken)")
    if peer and program.rules.require_reciprocity and mentor.id != mentee.id:
        ok, _ = _reciprocal_weights(encoded, m, e)
        if not ok[0]:
            extra.append("the pair is not reciprocal: each must be able to help with one of the other's goals")
    explanations, teaches = explain_pairs(
        encoded, e, m, scores, extra_broken=[extra], check_rules=np.ones(1, dtype=np.bool_)
    )
    return PairAssessment(
        mentor=mentor.id,
        mentee=mentee.id,
        score=float(sum(explanations[0].contributions.values())),
        explanation=explanations[0],
        teaches=teaches[0],
    )
