"""Growth, strengths and weaknesses, disagreements and grades: plain functions over plain ratings (no database).

A skill's level in a round is its mentors' rating (their mean, if several), else the instructors', else the
mentee's own. Growth compares the first round with ratings to the latest, on the skills rated in both only.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lti_tool.assessments.models import GradeRule, RaterRole
from lti_tool.programs.services import LEVELS

SCORE_MAXIMUM = 100.0
DISAGREEMENT_GAP = 1.0  # levels apart before a self-rating and a mentor's rating count as disagreeing


@dataclass(frozen=True)
class RoundRatings:
    """One round's ratings of one mentee: for each kind of rater, skill key -> the levels given (in rating order)."""

    by_role: Mapping[RaterRole, Mapping[str, Sequence[int]]] = field(default_factory=dict)

    def has(self, role: RaterRole) -> bool:
        return bool(self.by_role.get(role))

    def mean(self, role: RaterRole, key: str) -> float | None:
        given = self.by_role.get(role, {}).get(key)
        return statistics.fmean(given) if given else None

    def level(self, key: str) -> float | None:
        """The skill's level in this round: mentors' rating, else instructors', else the mentee's own."""
        for role in (RaterRole.MENTOR, RaterRole.INSTRUCTOR, RaterRole.SELF):
            found = self.mean(role, key)
            if found is not None:
                return found
        return None

    @property
    def skills(self) -> list[str]:
        """Every skill someone rated, in the order first rated."""
        keys: dict[str, None] = {}
        for levels in self.by_role.values():
            keys.update(dict.fromkeys(levels))
        return list(keys)

    def levels(self) -> dict[str, float]:
        return {key: level for key in self.skills if (level := self.level(key)) is not None}


def grade_score(rule: GradeRule, ratings: RoundRatings) -> float | None:
    """The round's score for a mentee out of 100 by `rule`, or None while it cannot be given yet."""
    if rule is GradeRule.COMPLETION:
        return SCORE_MAXIMUM if ratings.has(RaterRole.SELF) else None
    levels = ratings.levels()
    if not levels:
        return None
    return round(statistics.fmean(levels.values()) / LEVELS * SCORE_MAXIMUM, 1)


@dataclass(frozen=True)
class SkillGrowth:
    key: str
    first: float | None  # None when only one round has ratings
    latest: float

    @property
    def change(self) -> float | None:
        return None if self.first is None else round(self.latest - self.first, 2)


@dataclass(frozen=True)
class Growth:
    """Levels from the first round with ratings to the latest, on the skills rated in both."""

    first: str | None  # the rounds' titles; `first` is None with fewer than two rounds with ratings
    latest: str | None
    skills: tuple[SkillGrowth, ...] = ()
    not_compared: tuple[str, ...] = ()  # rated in only one of the two rounds


def in_order(keys: Iterable[str], order: Sequence[str]) -> list[str]:
    rank = {key: index for index, key in enumerate(order)}
    return sorted(keys, key=lambda key: (rank.get(key, len(rank)), key))


def compare_rounds(rounds: Sequence[tuple[str, RoundRatings]], order: Sequence[str]) -> Growth:
    """Growth over `rounds` (title, ratings), oldest first; skills listed in framework `order`."""
    rated = [(title, ratings.levels()) for title, ratings in rounds if ratings.levels()]
    if not rated:
        return Growth(first=None, latest=None)
    latest_title, latest = rated[-1]
    if len(rated) == 1:
        return Growth(None, latest_title, tuple(SkillGrowth(k, None, latest[k]) for k in in_order(latest, order)))
    first_title, first = rated[0]
    both = in_order(first.keys() & latest.keys(), order)
    only_one = in_order(first.keys() ^ latest.keys(), order)
    return Growth(
        first_title,
        latest_title,
        tuple(SkillGrowth(key, first[key], latest[key]) for key in both),
        tuple(only_one),
    )


def strengths_and_weaknesses(levels: Mapping[str, float]) -> tuple[list[str], list[str]]:
    """The skills at the highest level and those at the lowest (ties included); none while all are level."""
    if len(levels) < 2:
        return [], []
    rounded = {key: round(level, 2) for key, level in levels.items()}
    top, bottom = max(rounded.values()), min(rounded.values())
    if top == bottom:
        return [], []
    return [k for k, v in rounded.items() if v == top], [k for k, v in rounded.items() if v == bottom]


@dataclass(frozen=True)
class Disagreement:
    key: str
    self_level: float
    mentor_level: float

    @property
    def gap(self) -> float:
        """Positive when the mentee rated themself higher than their mentor did."""
        return round(self.self_level - self.mentor_level, 2)


def disagreements(ratings: RoundRatings, *, limit: int = 3) -> list[Disagreement]:
    """Where the self-rating and the mentors' rating differ most (at least one level), largest gap first."""
    found = []
    for key in ratings.skills:
        own, mentors = ratings.mean(RaterRole.SELF, key), ratings.mean(RaterRole.MENTOR, key)
        if own is not None and mentors is not None and abs(own - mentors) >= DISAGREEMENT_GAP:
            found.append(Disagreement(key, own, mentors))
    return sorted(found, key=lambda d: -abs(d.gap))[:limit]
