"""The engine's entry points: match a cohort, match late joiners, suggest mentors (self-match), assess a pair."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

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
    Match,
    MatchResult,
    PairAssessment,
    Proof,
    Suggestion,
    Unmatched,
)
from lti_tool.matching.engine.scoring import score_pairs
from lti_tool.matching.engine.solver import assign, pair_up

Progress = Callable[[str, int, int], None]  # (stage, done, total): "scoring", "solving", "explaining"
GROUP_ROUNDS = 6  # rounds of "solve, pick each group's slot, re-place who cannot make it"; 2-3 suffice in practice
REPAIR_EXHAUSTIVE_PAIRS = 20_000_000  # below this, the repair round scores every leftover pair


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
    encoded: Encoded, fixed: dict[int, int], options: MatchOptions, progress: Progress | None
) -> tuple[dict[int, int], _Meeting, dict[str, int]]:
    """Groups meet in one slot each. Slots are chosen up front from demand (below); the flow is then exact
    given them. Mentors left without members drop their slot, and the next round places the mentees still
    waiting with them, gives each new group the slot most members can make and re-places the others,
    until nobody has to move."""
    meeting = _Meeting(np.full(len(encoded.mentors), -1, dtype=np.int64))
    assignment = dict(fixed)
    stats = {"candidate_pairs": 0, "group_rounds": 0}
    if encoded.program.rules.shared_slot:
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


def _reciprocal_pairs(
    encoded: Encoded, fixed: list[tuple[int, int]], options: MatchOptions, progress: Progress | None, seed: int
) -> tuple[list[tuple[int, int]], dict[str, int | bool]]:
    """Peer model with reciprocity: undirected pairs who can each teach the other one of their goals."""
    people = encoded.mentors
    places = people.capacity.copy()
    for a, b in fixed:
        places[a] -= 1
        places[b] -= 1
    rules = encoded.program.rules
    pairs: list[tuple[int, int]] = []
    stats: dict[str, int | bool] = {"candidate_pairs": 0, "solver_optimal": True}
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
        for a, b in zip(left[pairing.chosen].tolist(), right[pairing.chosen].tolist(), strict=True):
            pairs.append((a, b))
            places[a] -= 1
            places[b] -= 1
            paired[a] = paired[b] = True
        if options.exhaustive:
            break
    return pairs, stats


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
    # What is proven beyond the new pairs' own total, in score units (each match scores at most 1): models
    # without a certificate of their own get that trivial bound.
    slack: float | None = None
    if reciprocal:
        undirected = [(min(e, m), max(e, m)) for e, m in fixed]
        pairs, reciprocal_stats = _reciprocal_pairs(encoded, undirected, options, progress, seed)
        stats.update(reciprocal_stats)
        fixed_set = set(undirected)
        directed = []
        for a, b in dict.fromkeys([*undirected, *pairs]):
            # Both directions: a mentors b, and b mentors a.
            directed += [(b, a, (a, b) in fixed_set), (a, b, (a, b) in fixed_set)]
    else:
        fixed_map = dict(fixed)
        if program.model is MentoringModel.GROUP:
            assignment, meeting, group_stats = _group_rounds(encoded, fixed_map, options, progress)
            stats.update(group_stats)
        else:
            assigned = _bipartite(encoded, fixed_map, options, progress)
            assignment = {**fixed_map, **assigned.pairs}
            stats.update(assigned.stats)
            slack = assigned.upper_bound - assigned.score
        directed = [(e, m, fixed_map.get(e) == m) for e, m in assignment.items()]
    return _result(encoded, directed, meeting, stats, seed, slack, reciprocal=reciprocal, progress=progress)


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
    slack: float | None,
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
    if slack is None:
        # Each person is a mentee in at most `capacity` matches (peers) or one, each scoring at most 1.
        most = int(mentees_side.capacity.sum()) if reciprocal else len(mentees_side)
        upper_bound = max(float(most), objective)
    else:
        upper_bound = objective + slack
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
