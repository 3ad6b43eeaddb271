"""Content selection (LTI Deep Linking 2.0): the LMS's request kept between the chooser and the answer, what a
course can place, the content items sent back, and what a placed link opens when it is launched."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lti_tool.assessments.growth import SCORE_MAXIMUM
from lti_tool.assessments.models import AssessmentRound
from lti_tool.assessments.services import KIND_LABELS, is_subject, program_rounds
from lti_tool.courses.models import Membership
from lti_tool.courses.services import LaunchedMember
from lti_tool.deep_linking.custom import ROUND, ROUND_ID, TARGET, Target
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db
from lti_tool.lti.adapter import sign_deep_linking_response
from lti_tool.lti.claims import LaunchClaims
from lti_tool.lti.keys import KeyStore
from lti_tool.lti.models import Platform
from lti_tool.lti.state import LaunchStateStore
from lti_tool.programs.models import Participant, Program
from lti_tool.programs.services import participant_for, program_for_course

LINE_ITEM_TAG = "skill-assessment"
IFRAME = {"width": 800, "height": 800}  # the tool's pages are laid out for an 800 px frame
WINDOW = {"targetName": "mentor-lti"}

_RELAUNCH = "Start adding content again from the LMS (its “Select content” or “External tool” button)."
_PLACE_AGAIN = (
    "Ask the course's instructor to add it again through the LMS's content selection (deep linking) in this course."
)


class SelectionClosed(MentorLtiError):
    """The content selection is not open for this browser: expired, already answered, or never started here."""

    status = 404
    title = "This content selection is no longer open"


class SelectionError(MentorLtiError):
    """The choice does not fit what the LMS takes back: nothing chosen, or several where it takes one."""

    status = 422


class PlacementError(MentorLtiError):
    """A placed link names something the launched course does not have (another course's round, an unknown target)."""

    status = 404
    title = "This link cannot be opened"


@dataclass(frozen=True)
class SelectionRequest:
    """What the LMS asked for in a deep linking launch; kept server-side, never taken back from the form."""

    launch_id: str
    course_id: int
    membership_id: int
    platform_id: int
    deployment_id: str
    return_url: str
    accept_multiple: bool
    accept_lineitem: bool
    targets: tuple[str, ...]  # accept_presentation_document_targets
    data: Any  # echoed exactly in the answer; None when the request carried none

    @property
    def presentation(self) -> str | None:
        """How placed links open: in the LMS's frame (the tool's pages are made for it), else in a new window."""
        return next((target for target in ("iframe", "window") if target in self.targets), None)


def _flag(value: Any, *, default: bool) -> bool:
    """A deep linking setting that platforms send as a boolean or as "true"/"false"."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    return default


def _state_key(launch_id: str) -> str:
    return f"deep-linking:{launch_id}"


def remember_request(
    store: LaunchStateStore, claims: LaunchClaims, member: LaunchedMember, *, ttl_seconds: int
) -> SelectionRequest:
    """Keep a validated deep linking launch's settings until the instructor answers it. The caller commits."""
    settings = claims.deep_linking_settings or {}
    targets = settings.get("accept_presentation_document_targets")
    request = SelectionRequest(
        launch_id=claims.launch_id,
        course_id=member.course_id,
        membership_id=member.membership_id,
        platform_id=claims.platform_id,
        deployment_id=claims.deployment_id,
        return_url=str(settings["deep_link_return_url"]),
        # Without accept_multiple the platform promises nothing: one item is always safe.
        accept_multiple=_flag(settings.get("accept_multiple"), default=False),
        # Without accept_lineitem a line item may be used or ignored: offering it loses nothing.
        accept_lineitem=_flag(settings.get("accept_lineitem"), default=True),
        targets=tuple(str(t) for t in targets) if isinstance(targets, list) else (),
        data=settings.get("data"),
    )
    store.put(_state_key(request.launch_id), asdict(request), ttl_seconds)
    return request


def open_request(store: LaunchStateStore, launch_id: str, membership: Membership) -> SelectionRequest:
    """The selection this member started in this course; another person's or another course's is not found."""
    raw = store.get(_state_key(launch_id))
    if not isinstance(raw, dict) or raw.get("membership_id") != membership.id:
        raise SelectionClosed(
            "This content selection has expired, was already answered, or was started by someone else.",
            hint=_RELAUNCH,
        )
    return SelectionRequest(**{**raw, "targets": tuple(raw["targets"])})


@dataclass(frozen=True)
class Choice:
    """Something the course can place: its program, or one of its skill assessment rounds."""

    key: str  # the form value
    target: Target
    title: str
    text: str
    round_id: int | None = None
    graded: bool = False


def choices(program: Program | None) -> list[Choice]:
    """What this course can place now: nothing before its program exists, then the program and every round."""
    if program is None:
        return []
    found = [
        Choice(
            key=Target.PROGRAM.value,
            target=Target.PROGRAM,
            title=program.title,
            text="The course's mentorship program: learners fill in their profile and meet their mentor; "
            "instructors run matching and follow the pairs.",
        )
    ]
    for round_ in program_rounds(program):
        kind = KIND_LABELS.get(round_.kind, "Skill")
        graded = " Graded: each mentee's score goes to the gradebook." if round_.graded else ""
        found.append(
            Choice(
                key=f"{Target.ASSESSMENT.value}-{round_.id}",
                target=Target.ASSESSMENT,
                title=round_.title,
                text=f"{kind} skill assessment of {program.title}: mentees rate their skills, and their mentors "
                f"and instructors rate them.{graded}",
                round_id=round_.id,
                graded=round_.graded,
            )
        )
    return found


def pick(available: list[Choice], keys: list[str], *, accept_multiple: bool) -> list[Choice]:
    """The chosen items, in the page's order; the LMS's accept_multiple decides whether several may go back."""
    chosen = [choice for choice in available if choice.key in keys]
    if not chosen:
        raise SelectionError("Choose what to add to the course.")
    if len(chosen) > 1 and not accept_multiple:
        raise SelectionError("Choose one item: this place in the LMS takes a single item.")
    return chosen


def content_items(chosen: list[Choice], request: SelectionRequest, *, launch_url: str) -> list[dict[str, Any]]:
    """`ltiResourceLink` content items whose custom parameters say what their launches open."""
    items = []
    for choice in chosen:
        custom = {TARGET: choice.target.value}
        if choice.round_id is not None:
            custom[ROUND] = str(choice.round_id)
        item: dict[str, Any] = {
            "type": "ltiResourceLink",
            "title": choice.title,
            "text": choice.text,
            "url": launch_url,
            "custom": custom,
        }
        if request.presentation == "iframe":
            item["iframe"] = dict(IFRAME)
        elif request.presentation == "window":
            item["window"] = dict(WINDOW)
        if choice.graded and choice.round_id is not None and request.accept_lineitem:
            item["lineItem"] = {
                "scoreMaximum": SCORE_MAXIMUM,
                "label": choice.title,
                "resourceId": line_item_resource_id(choice.round_id),
                "tag": LINE_ITEM_TAG,
            }
        items.append(item)
    return items


def line_item_resource_id(round_id: int) -> str:
    """The AGS `resourceId` of a round's gradebook column (line items are found again by it)."""
    return f"{Target.ASSESSMENT.value}-{round_id}"


def answer(
    store: LaunchStateStore, keys: KeyStore, request: SelectionRequest, items: list[dict[str, Any]], *, tool_name: str
) -> str:
    """Close the selection (it is answered once) and sign the LtiDeepLinkingResponse, whose message (which the LMS
    may show) names the tool as configured. The caller commits."""
    platform = db.session.get(Platform, request.platform_id)
    if platform is None or store.take(_state_key(request.launch_id)) is None:
        raise SelectionClosed("This content selection was already answered.", hint=_RELAUNCH)
    titles = ", ".join(item["title"] for item in items)
    return sign_deep_linking_response(
        keys,
        client_id=platform.client_id,
        issuer=platform.issuer,
        deployment_id=request.deployment_id,
        content_items=items,
        data=request.data,
        message=f"Added from {tool_name}: {titles}." if items else "Nothing was added.",
    )


@dataclass(frozen=True)
class PlacedTarget:
    """What a placed link's launch opens, checked against the launched course."""

    target: Target
    round: AssessmentRound | None = None


def placed_target(custom: dict[str, str], course_id: int) -> PlacedTarget | None:
    """The target a launch's custom parameters name (None: an ordinary link, the course home)."""
    target = custom.get(TARGET)
    if not target:
        return None
    if target == Target.PROGRAM.value:
        return PlacedTarget(Target.PROGRAM)
    if target == Target.ASSESSMENT.value:
        return PlacedTarget(Target.ASSESSMENT, _round_in_course(custom.get(ROUND, ""), course_id))
    raise PlacementError(f"This link asks the tool to open “{target}”, which it does not know.", hint=_PLACE_AGAIN)


def _round_in_course(round_id: str, course_id: int) -> AssessmentRound:
    program = program_for_course(course_id)
    # ASCII digits only, and within the id column's range: `isdigit()` also takes "²", which `int()` refuses.
    found = db.session.get(AssessmentRound, int(round_id)) if ROUND_ID.fullmatch(round_id) else None
    if program is None or found is None or found.program_id != program.id:
        # One answer for a deleted round and another course's: a link tells nothing about other courses.
        raise PlacementError(
            "This link opens a skill assessment round that is not part of this course's mentorship program. "
            "It may have been copied from another course, or the round was deleted.",
            hint=_PLACE_AGAIN,
        )
    return found


def assessed_self(program: Program, membership: Membership) -> Participant | None:
    """The member's own participant when the program assesses them (a mentee), else None."""
    participant = participant_for(program, membership)
    return participant if participant is not None and is_subject(participant) else None
