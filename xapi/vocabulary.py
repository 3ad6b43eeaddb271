"""The xAPI IRIs this tool emits: shared vocabularies as constants, our own under a configurable base."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

EN_US: Final = "en-US"

# The base under which our own verbs, activity types, extensions and the xAPI Profile live. It only
# has to be an IRI we control; the profile document in config/ is written against this default and
# rebased on load when a deployment configures another base (see xapi.profile.load_profile).
DEFAULT_BASE: Final = "https://mentor-lti.example/xapi"

# --- Verbs from shared vocabularies -----------------------------------------------------------------
# Reusing published verbs keeps our statements comparable with other emitters in the same LRS; we mint
# one only where no published verb carries the meaning.
ADL_VERBS: Final = "http://adlnet.gov/expapi/verbs/"
LAUNCHED: Final = ADL_VERBS + "launched"
REGISTERED: Final = ADL_VERBS + "registered"
ATTENDED: Final = ADL_VERBS + "attended"
COMPLETED: Final = ADL_VERBS + "completed"
SCORED: Final = ADL_VERBS + "scored"
PASSED: Final = ADL_VERBS + "passed"
FAILED: Final = ADL_VERBS + "failed"
COMMENTED: Final = ADL_VERBS + "commented"
VOIDED: Final = ADL_VERBS + "voided"
# ADL's "answered" ("responded to a question") fits a survey answer, so no verb of ours is needed.
ANSWERED: Final = ADL_VERBS + "answered"
MENTORED: Final = "http://id.tincanapi.com/verb/mentored"
# Activity Streams 1.0 "accept" ("indicates that the actor has accepted the object"), listed in the
# xAPI registry; it is what a participant does to a mentoring agreement.
ACCEPTED: Final = "http://activitystrea.ms/schema/1.0/accept"
# Activity Streams 1.0 verbs, listed in the xAPI registry, for a mentee's request of a mentor: the mentee
# "request"s, the mentor accepts or "reject"s (declines), staff who step in "approve" or "cancel" it.
REQUESTED: Final = "http://activitystrea.ms/schema/1.0/request"
REJECTED: Final = "http://activitystrea.ms/schema/1.0/reject"
APPROVED: Final = "http://activitystrea.ms/schema/1.0/approve"
CANCELLED: Final = "http://activitystrea.ms/schema/1.0/cancel"

# --- Activity types from shared vocabularies --------------------------------------------------------
ADL_ACTIVITIES: Final = "http://adlnet.gov/expapi/activities/"
COURSE: Final = ADL_ACTIVITIES + "course"
MEETING: Final = ADL_ACTIVITIES + "meeting"
ASSESSMENT: Final = ADL_ACTIVITIES + "assessment"
# An LTI resource link is the tool placement a user launched; ADL's "link" is the nearest published type.
LINK: Final = ADL_ACTIVITIES + "link"
# The xAPI Profiles spec asks statements to name the profile version they follow in
# contextActivities.category, with exactly this activity type.
XAPI_PROFILE: Final = ADL_ACTIVITIES + "profile"
GOAL: Final = "http://id.tincanapi.com/activitytype/goal"
SURVEY: Final = "http://id.tincanapi.com/activitytype/survey"

_SHARED_DISPLAY: Final[dict[str, str]] = {
    LAUNCHED: "launched",
    REGISTERED: "registered",
    ATTENDED: "attended",
    COMPLETED: "completed",
    SCORED: "scored",
    PASSED: "passed",
    FAILED: "failed",
    COMMENTED: "commented",
    VOIDED: "voided",
    ANSWERED: "answered",
    MENTORED: "mentored",
    ACCEPTED: "accepted",
    REQUESTED: "requested",
    REJECTED: "rejected",
    APPROVED: "approved",
    CANCELLED: "cancelled",
    COURSE: "course",
    MEETING: "meeting",
    ASSESSMENT: "assessment",
    LINK: "link",
    XAPI_PROFILE: "xAPI profile",
    GOAL: "goal",
    SURVEY: "survey",
}

_BASE_PATTERN: Final = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Our own IRIs, built under `base` (an http(s) IRI without query or fragment)."""

    base: str = DEFAULT_BASE

    def __post_init__(self) -> None:
        if not _BASE_PATTERN.fullmatch(self.base):
            raise ValueError("vocabulary base must be an http(s) IRI without query or fragment")
        # A trailing slash would double up in every IRI and break equality with the profile document.
        object.__setattr__(self, "base", self.base.rstrip("/"))

    def iri(self, *segments: str) -> str:
        return "/".join((self.base, *segments))

    # The profile IRI names the profile across versions; statements carry the version IRI.
    @property
    def profile(self) -> str:
        return self.iri("profile")

    @property
    def profile_version(self) -> str:
        return self.iri("profile", "v1")

    # --- Verbs we mint: no published verb says "was paired with a mentor", "asked for another
    # mentor", "asked for a check-in" or "set a goal" (Activity Streams "create" would lose that the goal is
    # the learner's own).
    @property
    def matched(self) -> str:
        return self.iri("verbs", "matched")

    @property
    def requested_rematch(self) -> str:
        return self.iri("verbs", "requested-rematch")

    @property
    def set_goal(self) -> str:
        return self.iri("verbs", "set")

    @property
    def requested_checkin(self) -> str:
        return self.iri("verbs", "requested-checkin")

    # No published verb says that a request lapsed unanswered by its deadline.
    @property
    def expired(self) -> str:
        return self.iri("verbs", "expired")

    # --- Activity types we mint.
    @property
    def program(self) -> str:
        return self.iri("activity-types", "program")

    @property
    def mentoring_profile(self) -> str:
        return self.iri("activity-types", "mentoring-profile")

    @property
    def match(self) -> str:
        return self.iri("activity-types", "match")

    @property
    def agreement(self) -> str:
        return self.iri("activity-types", "agreement")

    @property
    def mentor_request(self) -> str:
        return self.iri("activity-types", "mentor-request")

    @property
    def relationship(self) -> str:
        return self.iri("activity-types", "mentoring-relationship")

    # --- Context extensions carrying LTI identifiers, so statements can be joined back to the LMS.
    @property
    def lti_issuer(self) -> str:
        return self.iri("extensions", "lti-issuer")

    @property
    def lti_deployment_id(self) -> str:
        return self.iri("extensions", "lti-deployment-id")

    @property
    def lti_context_id(self) -> str:
        return self.iri("extensions", "lti-context-id")

    @property
    def lti_resource_link_id(self) -> str:
        return self.iri("extensions", "lti-resource-link-id")

    @property
    def lti_roles(self) -> str:
        return self.iri("extensions", "lti-roles")

    # --- Our other context extensions.
    @property
    def mentoring_model(self) -> str:
        return self.iri("extensions", "mentoring-model")

    @property
    def mentoring_role(self) -> str:
        return self.iri("extensions", "mentoring-role")

    @property
    def skill(self) -> str:
        return self.iri("extensions", "skill")

    @property
    def skills(self) -> str:
        return self.iri("extensions", "skills")

    @property
    def attendance_record(self) -> str:
        return self.iri("extensions", "attendance-record")

    # --- Result extensions.
    @property
    def skill_scores(self) -> str:
        return self.iri("extensions", "skill-scores")

    @property
    def survey_answers(self) -> str:
        return self.iri("extensions", "survey-answers")

    @property
    def rematch_reason(self) -> str:
        return self.iri("extensions", "rematch-reason")

    def display_name(self, iri: str) -> str:
        """The en-US display name of a verb or activity type we emit."""
        try:
            return _SHARED_DISPLAY[iri]
        except KeyError:
            pass
        own = {
            self.matched: "matched",
            self.requested_rematch: "requested rematch",
            self.set_goal: "set",
            self.requested_checkin: "requested check-in",
            self.expired: "expired",
            self.program: "mentoring program",
            self.mentoring_profile: "mentoring profile",
            self.match: "mentoring match",
            self.agreement: "mentoring agreement",
            self.mentor_request: "mentor request",
            self.relationship: "mentoring relationship",
        }
        try:
            return own[iri]
        except KeyError:
            raise KeyError(f"no display name for {iri}") from None

    def own_verbs(self) -> tuple[str, ...]:
        return (self.matched, self.requested_rematch, self.set_goal, self.requested_checkin, self.expired)

    def own_activity_types(self) -> tuple[str, ...]:
        return (
            self.program,
            self.mentoring_profile,
            self.match,
            self.agreement,
            self.mentor_request,
            self.relationship,
        )

    def own_context_extensions(self) -> tuple[str, ...]:
        return (
            self.lti_issuer,
            self.lti_deployment_id,
            self.lti_context_id,
            self.lti_resource_link_id,
            self.lti_roles,
            self.mentoring_model,
            self.mentoring_role,
            self.skill,
            self.skills,
            self.attendance_record,
        )

    def own_result_extensions(self) -> tuple[str, ...]:
        return (self.skill_scores, self.survey_answers, self.rematch_reason)


DEFAULT_VOCABULARY: Final = Vocabulary()
