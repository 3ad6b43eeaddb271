"""The exact compatibility score of mentee-mentor pairs, per criterion, with the hard rules each pair breaks.

Criteria (each from 0 to 1; the score is their weighted sum with weights divided by their sum):
- goal_gain: how much of the mentee's gap to mastery in their goal skills the mentor is ahead by
  (sum over goals of max(0, mentor level - mentee level) / sum over goals of (5 - mentee level));
- complementarity: the same over every skill of the framework: the mentor is strong where the mentee is not;
- availability: shared weekly slots, saturating at three;
- diversity: 1 when both gave a department and they differ;
- preferences: 1 when either asked for the other;
- waking_hours: the share of a mentee's waking hours (08:00-22:00 local) the mentor is awake in too, from their
  offsets from UTC around the clock (0 when either gave no time zone).
In the reverse model who teaches is decided per skill, so gain and complementarity are the mean of both
directions (the mentee teaching the mentor's goals counts as much as the other way round).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from lti_tool.matching.engine.cohort import (
    DAY_MINUTES,
    FULL_AVAILABILITY_SLOTS,
    WAKING_MINUTES,
    MentoringModel,
)
from lti_tool.matching.engine.encode import (
    BoolArray,
    Encoded,
    FloatArray,
    IntArray,
    WordArray,
    any_per_row,
    contains,
    popcount,
)

PAIR_BLOCK = 1 << 18  # pairs scored at once: bounds the temporaries to a few tens of MB


@dataclass(frozen=True)
class PairScores:
    """Scores and rule checks of pairs (mentee[i], mentor[i]), as arrays over the pairs."""

    values: FloatArray  # (pairs, criteria), each 0..1
    contributions: FloatArray  # values times the weight shares: they sum to `score`
    score: FloatArray
    down_goal: IntArray  # levels the mentor is ahead in the mentee's goals (mentor can teach)
    up_goal: IntArray  # levels the mentee is ahead in the mentor's goals (reverse, peer reciprocity)
    shared_slots: IntArray
    minutes_apart: IntArray  # between the two time zones, around the clock; -1 when either gave none
    language_ok: BoolArray
    slot_ok: BoolArray
    department_ok: BoolArray
    declined: BoolArray
    self_pair: BoolArray

    def take(self, index: IntArray) -> PairScores:
        """The scores of a subset of the pairs."""
        return PairScores(*(getattr(self, f.name)[index] for f in fields(PairScores)))

    def feasible(self, encoded: Encoded, min_score: float | None = None) -> BoolArray:
        """Pairs that keep every hard rule the program switched on."""
        rules = encoded.program.rules
        ok = ~self.self_pair
        if rules.same_language:
            ok &= self.language_ok
        if rules.shared_slot:
            ok &= self.slot_ok
        if rules.different_department:
            ok &= self.department_ok
        if rules.never_repair_declined:
            ok &= ~self.declined
        if rules.max_hours_apart is not None:
            ok &= self.minutes_apart <= rules.max_hours_apart * 60
        floor = rules.min_score if min_score is None else min_score
        if floor > 0:
            ok &= self.score >= floor - 1e-12
        return ok


def minutes_apart(left: IntArray, right: IntArray) -> IntArray:
    """Minutes between offsets from UTC around the clock: UTC+14 and UTC-10 keep the same hours (0 apart)."""
    gap = np.abs(left - right) % DAY_MINUTES
    apart: IntArray = np.minimum(gap, DAY_MINUTES - gap)
    return apart


def pair_minutes_apart(encoded: Encoded, e: IntArray, m: IntArray) -> IntArray:
    """Minutes between the time zones of pairs (mentee e[i], mentor m[i]); -1 where either gave none."""
    mentees, mentors = encoded.mentees, encoded.mentors
    zoned = (mentees.offset_code[e] >= 0) & (mentors.offset_code[m] >= 0)
    apart: IntArray = np.where(zoned, minutes_apart(mentees.utc_offset[e], mentors.utc_offset[m]), -1)
    return apart


def waking_share(apart: IntArray) -> FloatArray:
    """The share of one person's waking hours the other is awake in too, when their zones are `apart` minutes
    apart: the windows overlap directly, and past 10 hours also across midnight."""
    overlap = WAKING_MINUTES - apart + np.maximum(0, apart - (DAY_MINUTES - WAKING_MINUTES))
    share: FloatArray = overlap / WAKING_MINUTES
    return share


def _ratio(numerator: IntArray, denominator: FloatArray) -> FloatArray:
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _intersects(left: WordArray, right: WordArray) -> BoolArray:
    return any_per_row(left & right)


def score_pairs(
    encoded: Encoded, mentees: IntArray, mentors: IntArray, *, meeting_slots: WordArray | None = None
) -> PairScores:
    """Exact scores of the pairs (mentees[i], mentors[i]) (internal indices).

    `meeting_slots` (group model) restricts, per mentor, the slots that count for the shared-slot rule;
    the availability criterion still compares the people's whole calendars.
    """
    parts = [
        _score_block(encoded, mentees[start : start + PAIR_BLOCK], mentors[start : start + PAIR_BLOCK], meeting_slots)
        for start in range(0, max(len(mentees), 1), PAIR_BLOCK)
    ]
    if len(parts) == 1:
        return parts[0]
    return PairScores(*(np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(PairScores)))


def _gain(teacher: WordArray, learner: WordArray, focus: WordArray | None = None) -> IntArray:
    """Levels the teacher is ahead, summed over skills (or over the `focus` skills), from threshold bitsets."""
    ahead = teacher & learner
    if focus is not None:
        ahead &= focus
    return popcount(ahead)


def _score_block(encoded: Encoded, e: IntArray, m: IntArray, meeting_slots: WordArray | None) -> PairScores:
    mentees, mentors = encoded.mentees, encoded.mentors
    mentor_at_least, mentee_below = mentors.at_least[m], mentees.below[e]
    down_goal = _gain(mentor_at_least, mentee_below, mentees.goal_planes[e])
    goal_gain = _ratio(down_goal, mentees.goal_gap[e])
    complementarity = _ratio(_gain(mentor_at_least, mentee_below), mentees.total_gap[e])
    mentee_at_least, mentor_below = mentees.at_least[e], mentors.below[m]
    up_goal = _gain(mentee_at_least, mentor_below, mentors.goal_planes[m])
    if encoded.model is MentoringModel.REVERSE:
        goal_gain = 0.5 * goal_gain + 0.5 * _ratio(up_goal, mentors.goal_gap[m])
        up_all = _gain(mentee_at_least, mentor_below)
        complementarity = 0.5 * complementarity + 0.5 * _ratio(up_all, mentors.total_gap[m])
    shared = popcount(mentees.slots[e] & mentors.slots[m])
    availability = np.minimum(shared, FULL_AVAILABILITY_SLOTS) / FULL_AVAILABILITY_SLOTS
    known = (mentees.department[e] >= 0) & (mentors.department[m] >= 0)
    same_department = known & (mentees.department[e] == mentors.department[m])
    keys = encoded.key(e, m)
    preferred = contains(encoded.preferred_keys, keys)
    apart = pair_minutes_apart(encoded, e, m)
    waking = np.where(apart >= 0, waking_share(np.maximum(apart, 0)), 0.0)
    values = np.stack(
        [
            goal_gain,
            complementarity,
            availability,
            (known & ~same_department).astype(np.float64),
            preferred * 1.0,
            waking,
        ],
        axis=1,
    )
    contributions = values * encoded.shares
    slot_ok = shared > 0 if meeting_slots is None else _intersects(mentees.slots[e], meeting_slots[m])
    language_ok = ~(mentees.has_languages[e] & mentors.has_languages[m]) | _intersects(
        mentees.languages[e], mentors.languages[m]
    )
    return PairScores(
        values=values,
        contributions=contributions,
        score=contributions.sum(axis=1),
        down_goal=down_goal,
        up_goal=up_goal,
        shared_slots=shared,
        minutes_apart=apart,
        language_ok=language_ok,
        slot_ok=slot_ok,
        department_ok=~same_department,
        declined=contains(encoded.declined_keys, keys),
        self_pair=(e == m) if encoded.peer else np.zeros(len(e), dtype=np.bool_),
    )
