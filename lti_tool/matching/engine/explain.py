"""Explanations in a learner's words: why a pair scores what it does, what rule a pair breaks, and why a
mentee was left unmatched."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from lti_tool.matching.engine.cohort import CRITERIA, WAKING_MINUTES, MentoringModel, offset_label
from lti_tool.matching.engine.encode import BoolArray, Encoded, IntArray, WordArray, any_per_row, contains, popcount
from lti_tool.matching.engine.results import Explanation, Unmatched, UnmatchedReason
from lti_tool.matching.engine.scoring import PAIR_BLOCK, PairScores, pair_minutes_apart

TOP_FACTORS = 3


def _levels(count: int) -> str:
    return "1 level" if count == 1 else f"{count} levels"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _hours(minutes: int) -> str:
    """Minutes as hours in words: "1 hour", "5.5 hours"."""
    hours = minutes / 60
    return "1 hour" if hours == 1 else f"{hours:g} hours"


def _points(share: float) -> str:
    """A score (0 to 1) as people read it in the review: "60 of 100 points"."""
    return f"{share * 100:.4g} of 100 points"


def _first_true(matrix: BoolArray) -> IntArray:
    """Per row, the column of the first true entry (0 when none, or when there are no columns)."""
    if matrix.shape[1] == 0:
        return np.zeros(len(matrix), dtype=np.int64)
    first: IntArray = matrix.argmax(axis=1)
    return first


def broken_rules(encoded: Encoded, scores: PairScores, index: int) -> list[str]:
    """The hard rules pair `index` breaks, in words (whether or not the program switched the rule on)."""
    rules = encoded.program.rules
    broken: list[str] = []
    if scores.self_pair[index]:
        broken.append("a person cannot mentor themself")
    if rules.same_language and not scores.language_ok[index]:
        broken.append("no shared language")
    if rules.shared_slot and not scores.slot_ok[index]:
        broken.append("no free weekly slot in common")
    if rules.different_department and not scores.department_ok[index]:
        broken.append("both are in the same department")
    if rules.never_repair_declined and scores.declined[index]:
        broken.append("this pair was declined before")
    limit = rules.max_hours_apart
    if limit is not None and scores.minutes_apart[index] > limit * 60:
        apart = _hours(int(scores.minutes_apart[index]))
        broken.append(
            f"their time zones are {apart} apart; the program pairs people at most {_hours(int(limit * 60))} apart"
        )
    if rules.min_score > 0 and scores.score[index] < rules.min_score - 1e-12:
        broken.append(f"the score is below the program's minimum of {_points(rules.min_score)}")
    return broken


def explain_pairs(
    encoded: Encoded,
    mentees: IntArray,
    mentors: IntArray,
    scores: PairScores,
    *,
    meeting_slots: Sequence[int] | None = None,
    extra_broken: Sequence[Sequence[str]] | None = None,
    check_rules: BoolArray | None = None,
) -> tuple[list[Explanation], list[dict[str, str]]]:
    """Explanations and `teaches` maps for pairs (mentees[i], mentors[i]) already scored into `scores`.

    `check_rules` marks pairs (fixed or manual ones) whose broken rules should be listed; the engine never
    proposes a pair that breaks one.
    """
    explanations: list[Explanation] = []
    teaches: list[dict[str, str]] = []
    for start in range(0, len(mentees), PAIR_BLOCK):
        stop = min(start + PAIR_BLOCK, len(mentees))
        _explain_block(
            encoded,
            mentees,
            mentors,
            scores,
            start,
            stop,
            meeting_slots,
            extra_broken,
            check_rules,
            explanations,
            teaches,
        )
    return explanations, teaches


def _explain_block(
    encoded: Encoded,
    all_mentees: IntArray,
    all_mentors: IntArray,
    scores: PairScores,
    start: int,
    stop: int,
    meeting_slots: Sequence[int] | None,
    extra_broken: Sequence[Sequence[str]] | None,
    check_rules: BoolArray | None,
    explanations: list[Explanation],
    teaches: list[dict[str, str]],
) -> None:
    e, m = all_mentees[start:stop], all_mentors[start:stop]
    mentee_side, mentor_side = encoded.mentees, encoded.mentors
    vocabulary = encoded.vocabulary
    program = encoded.program
    mentee_levels = mentee_side.levels[e].astype(np.int16)
    mentor_levels = mentor_side.levels[m].astype(np.int16)
    ahead = np.maximum(mentor_levels - mentee_levels, 0)
    behind = np.maximum(mentee_levels - mentor_levels, 0)
    goal_ahead = ahead * mentee_side.goals[e]
    goal_behind = behind * mentor_side.goals[m]
    best_goal = goal_ahead.argmax(axis=1)
    helped_goals = (goal_ahead > 0).sum(axis=1)
    best_back = goal_behind.argmax(axis=1)
    helped_back = (goal_behind > 0).sum(axis=1)
    stronger = (ahead > 0).sum(axis=1)
    shared_slot = _first_true(mentee_side.slot_matrix[e] & mentor_side.slot_matrix[m])
    shared_language = mentee_side.language_matrix[e] & mentor_side.language_matrix[m]
    first_language = _first_true(shared_language)
    any_language = any_per_row(shared_language)
    mentee_prefers = np.zeros(len(e), dtype=np.bool_)
    mentor_prefers = np.zeros(len(e), dtype=np.bool_)
    preferred = np.flatnonzero(scores.values[start:stop, CRITERIA.index("preferences")] > 0)
    for index in preferred.tolist():
        mentee, mentor = mentee_side.people[e[index]], mentor_side.people[m[index]]
        mentee_prefers[index] = mentor.id in mentee.preferences
        mentor_prefers[index] = mentee.id in mentor.preferences
    taught: dict[int, dict[str, str]] = defaultdict(dict)
    mentor_ids = [mentor_side.people[i].id for i in m.tolist()]
    for pair, skill in zip(*(axis.tolist() for axis in np.nonzero(goal_ahead)), strict=True):
        taught[pair][vocabulary.skills[skill]] = mentor_ids[pair]
    if encoded.model is MentoringModel.REVERSE:
        mentee_ids = [mentee_side.people[i].id for i in e.tolist()]
        for pair, skill in zip(*(axis.tolist() for axis in np.nonzero(goal_behind)), strict=True):
            taught[pair][vocabulary.skills[skill]] = mentee_ids[pair]
    reverse = encoded.model is MentoringModel.REVERSE
    skills_text = _plural(len(vocabulary.skills), "skill")
    # Plain Python lists from here: indexing numpy scalars in this per-match loop would triple its cost.
    best_goal_list, helped_list = best_goal.tolist(), helped_goals.tolist()
    lead_list = goal_ahead[np.arange(len(e)), best_goal].tolist()
    best_back_list, helped_back_list = best_back.tolist(), helped_back.tolist()
    stronger_list, slot_list = stronger.tolist(), shared_slot.tolist()
    language_list = np.where(any_language, first_language, -1).tolist()
    shared_counts = scores.shared_slots[start:stop].tolist()
    contribution_rows = scores.contributions[start:stop].tolist()
    value_rows = scores.values[start:stop].tolist()
    mentor_people = [mentor_side.people[i] for i in m.tolist()]
    departments = mentor_side.department[m].tolist()
    apart_list = scores.minutes_apart[start:stop].tolist()
    diversity_at = CRITERIA.index("diversity")
    waking_at = CRITERIA.index("waking_hours")
    prefers = list(zip(mentee_prefers.tolist(), mentor_prefers.tolist(), strict=True))
    for local, mentor in enumerate(mentor_people):
        index = start + local
        name = mentor.label
        contributions = dict(zip(CRITERIA, contribution_rows[local], strict=True))
        sentences: dict[str, str] = {}
        if helped_list[local]:
            skill = vocabulary.skill_labels[best_goal_list[local]]
            text = f"{name} is {_levels(lead_list[local])} ahead of you in {skill}, one of your goals"
            if helped_list[local] > 1:
                text += f", and can help with {_plural(helped_list[local] - 1, 'more goal')}"
            if reverse and helped_back_list[local]:
                text += f"; you can mentor {name} in {vocabulary.skill_labels[best_back_list[local]]} in return"
            sentences["goal_gain"] = text + "."
        elif reverse and helped_back_list[local]:
            back = vocabulary.skill_labels[best_back_list[local]]
            sentences["goal_gain"] = f"You can mentor {name} in {back}, one of their goals."
        if stronger_list[local]:
            sentences["complementarity"] = f"{name} is stronger than you in {stronger_list[local]} of {skills_text}."
        slot_index = None if meeting_slots is None else meeting_slots[index]
        if slot_index is not None and slot_index >= 0:
            sentences["availability"] = f"Your group meets at {program.label(vocabulary.slots[slot_index])}."
        elif shared_counts[local]:
            example = program.label(vocabulary.slots[slot_list[local]])
            one, several = program.slot_unit
            count = f"{shared_counts[local]} {one if shared_counts[local] == 1 else several}"
            sentences["availability"] = f"You share {count}, such as {example}."
        if value_rows[local][diversity_at] > 0:
            department = vocabulary.departments[departments[local]]
            sentences["diversity"] = f"{name} works in {department}, so you will see another department's view."
        if value_rows[local][waking_at] > 0:
            awake = _hours(round(value_rows[local][waking_at] * WAKING_MINUTES))
            if apart_list[local] == 0:
                sentences["waking_hours"] = f"{name} is in your time zone, so you are awake at the same hours."
            else:
                sentences["waking_hours"] = (
                    f"{name}'s time zone is {_hours(apart_list[local])} from yours: "
                    f"you are both awake for {awake} a day."
                )
        mentee_asked, mentor_asked = prefers[local]
        if mentee_asked and mentor_asked:
            sentences["preferences"] = f"You and {name} asked for each other."
        elif mentee_asked:
            sentences["preferences"] = f"You asked to be matched with {name}."
        elif mentor_asked:
            sentences["preferences"] = f"{name} asked to work with you."
        ranked = sorted(
            (criterion for criterion in sentences if contributions[criterion] > 0),
            key=lambda criterion: (-contributions[criterion], CRITERIA.index(criterion)),
        )
        factors = [sentences[criterion] for criterion in ranked[:TOP_FACTORS]]
        if language_list[local] >= 0:
            factors.append(f"You can talk in {program.label(vocabulary.languages[language_list[local]])}.")
        broken: list[str] = []
        if check_rules is not None and check_rules[index]:
            broken = broken_rules(encoded, scores, index)
        if extra_broken is not None:
            broken.extend(extra_broken[index])
        explanations.append(
            Explanation(
                contributions=contributions,
                values=dict(zip(CRITERIA, value_rows[local], strict=True)),
                factors=tuple(factors),
                broken_rules=tuple(broken),
            )
        )
        teaches.append(taught.get(local, {}))


_MESSAGES = {
    UnmatchedReason.NO_MENTORS: "There is no {noun} with a free place in this program yet.",
    UnmatchedReason.NO_PLACES_OFFERED: (
        "In this program peers mentor each other both ways, and you offered no places, so no pair was formed."
    ),
    UnmatchedReason.NO_SHARED_LANGUAGE: "No {noun} speaks any of your languages ({languages}).",
    UnmatchedReason.TIME_ZONE_TOO_FAR: (
        "Every {noun} who could fit you lives more than {hours} from your time zone ({zone}), and this program "
        "pairs people at most {hours} apart."
    ),
    UnmatchedReason.NO_SHARED_SLOT: "The {nouns} who speak your language are never free when you are ({slots}).",
    UnmatchedReason.SAME_DEPARTMENT: (
        "Every {noun} you could meet works in your department ({department}), and this program pairs people "
        "across departments."
    ),
    UnmatchedReason.DECLINED: "The only {nouns} who fit you were declined before, so they are not proposed again.",
    UnmatchedReason.BELOW_MIN_SCORE: "No {noun} who fits you reaches the program's minimum score ({minimum}).",
    UnmatchedReason.NO_RECIPROCAL_PARTNER: (
        "Nobody who fits you can both help with one of your goals and learn one of theirs from you."
    ),
    UnmatchedReason.NO_GROUP_SLOT: "The groups you could join meet at times you are not free.",
    UnmatchedReason.CAPACITY_EXHAUSTED: "{fitting} full. You can be matched when a place opens.",
    UnmatchedReason.NOT_SELECTED: (
        "A {noun} with a free place fits you, but the program only maximises the total score; an instructor "
        "can match you by hand."
    ),
}


def _rule_checks(encoded: Encoded, e: IntArray, m: IntArray, meeting_slots: WordArray | None) -> dict[str, BoolArray]:
    mentees, mentors = encoded.mentees, encoded.mentors
    same = (mentees.department[e] >= 0) & (mentees.department[e] == mentors.department[m])
    keys = encoded.key(e, m)
    checks = {
        "language": ~(mentees.has_languages[e] & mentors.has_languages[m])
        | any_per_row(mentees.languages[e] & mentors.languages[m]),
        "slot": popcount(mentees.slots[e] & mentors.slots[m]) > 0,
        "department": ~same,
        "declined": ~contains(encoded.declined_keys, keys),
        "self": ~((e == m) if encoded.peer else np.zeros(len(e), dtype=np.bool_)),
    }
    limit = encoded.program.rules.max_hours_apart
    if limit is not None:
        checks["time_zone"] = pair_minutes_apart(encoded, e, m) <= limit * 60  # -1: no time zone, no limit
    if meeting_slots is not None:
        checks["group_slot"] = any_per_row(mentees.slots[e] & meeting_slots[m])
    return checks


def unmatched_reasons(
    encoded: Encoded,
    mentees: IntArray,
    places_left: IntArray,
    *,
    passes_scores: BoolArray | None = None,
    reciprocal_ok: BoolArray | None = None,
    meeting_slots: WordArray | None = None,
) -> list[Unmatched]:
    """Why each of `mentees` (internal indices) is unmatched: the first hard rule, in the order a person
    would check them, that leaves nobody, else that everyone who fits is full.

    `passes_scores[i, j]` / `reciprocal_ok[i, j]` (optional, mentees x mentors) say whether pair i, j reaches
    the minimum score / is reciprocal: the caller computes them only when those rules are on.
    """
    rules = encoded.program.rules
    mentor_count = len(encoded.mentors)
    offering = encoded.mentors.capacity > 0
    noun = "peer" if encoded.peer else "mentor"
    out: list[Unmatched] = []
    for row, mentee in enumerate(mentees.tolist()):
        person = encoded.mentees.people[mentee]
        if reciprocal_ok is not None and encoded.mentors.capacity[mentee] <= 0:
            no_places = UnmatchedReason.NO_PLACES_OFFERED
            out.append(Unmatched(mentee=person.id, reason=no_places, message=_MESSAGES[no_places]))
            continue
        everyone = np.arange(mentor_count)
        checks = _rule_checks(encoded, np.full(mentor_count, mentee), everyone, meeting_slots)
        pool = offering & checks["self"]
        steps: list[tuple[UnmatchedReason, BoolArray | None]] = [
            (UnmatchedReason.NO_SHARED_LANGUAGE, checks["language"] if rules.same_language else None),
            (UnmatchedReason.TIME_ZONE_TOO_FAR, checks.get("time_zone")),
            (UnmatchedReason.NO_SHARED_SLOT, checks["slot"] if rules.shared_slot else None),
            (UnmatchedReason.SAME_DEPARTMENT, checks["department"] if rules.different_department else None),
            (UnmatchedReason.DECLINED, checks["declined"] if rules.never_repair_declined else None),
            (UnmatchedReason.BELOW_MIN_SCORE, None if passes_scores is None else passes_scores[row]),
            (UnmatchedReason.NO_RECIPROCAL_PARTNER, None if reciprocal_ok is None else reciprocal_ok[row]),
            (UnmatchedReason.NO_GROUP_SLOT, checks.get("group_slot")),
        ]
        reason: UnmatchedReason | None = None if pool.any() else UnmatchedReason.NO_MENTORS
        for candidate, passing in steps:
            if reason is not None:
                break
            if passing is not None:
                pool = pool & passing
                if not pool.any():
                    reason = candidate
        if reason is None:
            reason = (
                UnmatchedReason.CAPACITY_EXHAUSTED
                if not (places_left[pool] > 0).any()
                else UnmatchedReason.NOT_SELECTED
            )
        count = int(pool.sum())
        message = _MESSAGES[reason].format(
            noun=noun,
            nouns=f"{noun}s",
            languages=", ".join(sorted(encoded.program.label(x) for x in person.languages)) or "none given",
            slots=", ".join(encoded.program.label(x) for x in sorted(person.availability)[:6]) or "no slots given",
            department=person.department or "",
            minimum=_points(rules.min_score),
            hours=_hours(int((rules.max_hours_apart or 0) * 60)),
            zone="no time zone given" if person.utc_offset is None else offset_label(person.utc_offset),
            fitting=f"The only {noun} who fits you is" if count == 1 else f"All {count} {noun}s who fit you are",
        )
        out.append(Unmatched(mentee=person.id, reason=reason, message=message))
    return out
