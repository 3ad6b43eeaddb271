"""The matching engine: pure functions over plain data (numpy and OR-Tools; no Flask, no database).

from lti_tool.matching.engine import Program, Cohort, Person, Skill, match
result = match(Program(skills=(Skill("python"),)), Cohort(mentors=(...), mentees=(...)), seed=1)
"""

from lti_tool.matching.engine.candidates import KernelOptions
from lti_tool.matching.engine.cohort import (
    CRITERIA,
    FULL_AVAILABILITY_SLOTS,
    MAX_CAPACITY,
    MAX_LANGUAGES,
    MAX_LEVEL,
    MAX_PREFERENCES,
    MAX_SEED,
    MAX_SKILLS,
    MAX_SLOTS,
    MAX_TEXT,
    MAX_WEIGHT,
    Cohort,
    MentoringModel,
    Pair,
    Person,
    Program,
    Rules,
    Skill,
    Weights,
    validate,
    weight_ok,
)
from lti_tool.matching.engine.engine import (
    MatchOptions,
    Progress,
    assess_pair,
    match,
    match_late_joiners,
    suggest_mentors,
)
from lti_tool.matching.engine.errors import MatchingInputError, Problem
from lti_tool.matching.engine.results import (
    Explanation,
    Match,
    MatchResult,
    PairAssessment,
    Suggestion,
    Unmatched,
    UnmatchedReason,
)

__all__ = [
    "CRITERIA",
    "FULL_AVAILABILITY_SLOTS",
    "MAX_CAPACITY",
    "MAX_LANGUAGES",
    "MAX_LEVEL",
    "MAX_PREFERENCES",
    "MAX_SEED",
    "MAX_SKILLS",
    "MAX_SLOTS",
    "MAX_TEXT",
    "MAX_WEIGHT",
    "Cohort",
    "Explanation",
    "KernelOptions",
    "Match",
    "MatchOptions",
    "MatchResult",
    "MatchingInputError",
    "MentoringModel",
    "Pair",
    "PairAssessment",
    "Person",
    "Problem",
    "Program",
    "Progress",
    "Rules",
    "Skill",
    "Suggestion",
    "Unmatched",
    "UnmatchedReason",
    "Weights",
    "assess_pair",
    "match",
    "match_late_joiners",
    "suggest_mentors",
    "validate",
    "weight_ok",
]
