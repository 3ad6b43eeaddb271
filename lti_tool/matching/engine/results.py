"""What the engine returns: matches with their explanations, unmatched mentees with the reason, suggestions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lti_tool.matching.engine.cohort import MentoringModel


class UnmatchedReason(StrEnum):
    NO_MENTORS = "no_mentors"  # nobody in the program has a place to offer
    NO_PLACES_OFFERED = "no_places_offered"  # reciprocal peers: they offered no places themselves
    NO_SHARED_LANGUAGE = "no_shared_language"
    TIME_ZONE_TOO_FAR = "time_zone_too_far"  # everyone left who fits lives too many hours away
    NO_SHARED_SLOT = "no_shared_slot"
    SAME_DEPARTMENT = "same_department"  # everyone left who fits is in their department
    DECLINED = "declined"  # everyone left who fits was declined before
    BELOW_MIN_SCORE = "below_min_score"
    NO_RECIPROCAL_PARTNER = "no_reciprocal_partner"  # peer: nobody can both teach and learn from them
    NO_GROUP_SLOT = "no_group_slot"  # group: the groups that fit meet when they are busy
    CAPACITY_EXHAUSTED = "capacity_exhausted"  # every mentor who fits is full
    NOT_SELECTED = "not_selected"  # a place was free, but the program maximises the total score only


@dataclass(frozen=True)
class Explanation:
    """Why a pair scores what it does: per-criterion contributions (they sum to the score) and words."""

    contributions: Mapping[str, float]  # criterion -> weight share x value
    values: Mapping[str, float]  # criterion -> 0..1
    factors: tuple[str, ...]  # the top shared factors, in the mentee's words ("you", the mentor by name)
    broken_rules: tuple[str, ...] = ()  # only ever non-empty for fixed or manual pairs


@dataclass(frozen=True)
class Match:
    mentor: str
    mentee: str
    score: float
    explanation: Explanation
    fixed: bool = False  # a locked pair or an existing (published) match, kept as given
    slot: str | None = None  # group model: the weekly slot the group meets in
    teaches: Mapping[str, str] = field(default_factory=dict)  # goal skill -> id of who teaches it
    reciprocal: bool = False  # peer model with reciprocity: the pair also exists the other way round


@dataclass(frozen=True)
class Unmatched:
    mentee: str
    reason: UnmatchedReason
    message: str  # the reason in words, addressed to the mentee


# Below this relative difference a bound and an objective are the same number (floating-point sums of scores).
PROOF_EPSILON = 1e-9


@dataclass(frozen=True)
class Proof:
    """What a result proved: its objective and an upper bound on the objective of any assignment the rules allow
    (the best possible). The two are equal when the result is proven optimal."""

    objective: float
    upper_bound: float

    @property
    def gap(self) -> float:
        """How far the result may be from the best possible, as a share of the bound (0.0: proven optimal)."""
        if self.upper_bound <= self.objective + PROOF_EPSILON * max(1.0, abs(self.objective)):
            return 0.0
        return (self.upper_bound - self.objective) / max(abs(self.upper_bound), PROOF_EPSILON)

    @property
    def optimal(self) -> bool:
        return self.gap == 0.0


@dataclass(frozen=True)
class MatchResult:
    model: MentoringModel
    seed: int
    objective: float  # the sum of the match scores
    matches: tuple[Match, ...]  # by mentee, in input order
    unmatched: tuple[Unmatched, ...]
    stats: Mapping[str, int | float | bool]  # sizes, candidate pairs, solver facts
    proof: Proof  # the bound the result is proven against


@dataclass(frozen=True)
class Suggestion:
    mentor: str
    score: float
    explanation: Explanation
    places_left: int


@dataclass(frozen=True)
class PairAssessment:
    """One given pair (a manual match): its score, explanation and every hard rule it breaks."""

    mentor: str
    mentee: str
    score: float
    explanation: Explanation
    teaches: Mapping[str, str]

    @property
    def allowed(self) -> bool:
        return not self.explanation.broken_rules
