"""Fetches a course's roster from the LMS, page by page, and brings its people and memberships in line with it.

The whole roster is read before anything is written, and the caller commits once: a sync that fails on any page
changes nothing. People are never deleted: those who left are marked inactive, keeping their profiles, matches
and history, and become active again when the LMS lists them as active (or they launch) again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from lti_tool.courses.models import Course, Membership, User
from lti_tool.errors import MentorLtiError, NotFound
from lti_tool.extensions import db
from lti_tool.input_checks import NUL
from lti_tool.lti.keys import KeyStore
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.lti.roles import course_role, is_enrolled
from lti_tool.lti.services import ServiceClient

log = logging.getLogger(__name__)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# Stops a platform whose `next` links never end; at Canvas's largest page (50) that is 50,000 people.
MAX_PAGES = 1000
PERSONAL_FIELDS = ("name", "given_name", "family_name", "email")
_LOOKUP_CHUNK = 500  # bound parameters per IN (...) query


class RosterSyncError(MentorLtiError):
    """The roster could not be synced: no roster endpoint yet, or the LMS answered something unusable."""


@dataclass(frozen=True)
class RosterMember:
    """One member as the LMS lists them; personal fields are None when the platform does not share them."""

    user_id: str
    roles: tuple[str, ...]
    active: bool
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None


@dataclass
class RosterSyncReport:
    listed: int = 0  # active members in the LMS roster
    added: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0

    @property
    def summary(self) -> str:
        return (
            f"{self.listed} active member{'s' if self.listed != 1 else ''} in the LMS roster: {self.added} added, "
            f"{self.updated} updated, {self.deactivated} deactivated, {self.reactivated} reactivated, "
            f"{self.unchanged} unchanged."
        )


# --- Reading the roster -------------------------------------------------------------------------------------------


def parse_link_header(values: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """The links of `Link` header values (RFC 8288): each target exactly as written (never lowercased or
    re-encoded: Canvas's page bookmarks are case-sensitive), with its parameters (names lowercased, values
    unquoted; the first occurrence of a parameter counts). Targets may contain commas and semicolons."""
    links: list[tuple[str, dict[str, str]]] = []
    for value in values:
        position = 0
        while (start := value.find("<", position)) >= 0:
            end = value.find(">", start + 1)
            if end < 0:
                break
            params, position = _link_params(value, end + 1)
            links.append((value[start + 1 : end].strip(), params))
    return links


def _link_params(value: str, position: int) -> tuple[dict[str, str], int]:
    """The `; name=value` parameters after a link target, and where the next link starts."""
    params: dict[str, str] = {}
    length = len(value)
    while True:
        while position < length and value[position] in " \t":
            position += 1
        if position >= length or value[position] != ";":
            # The end of this link (a comma) or something unreadable: the caller looks for the next "<".
            return params, position + 1
        position += 1
        name_end = position
        while name_end < length and value[name_end] not in "=;,":
            name_end += 1
        name, position, parameter = value[position:name_end].strip().lower(), name_end, ""
        if position < length and value[position] == "=":
            position += 1
            while position < length and value[position] in " \t":
                position += 1
            if position < length and value[position] == '"':
                characters: list[str] = []
                position += 1
                while position < length and value[position] != '"':
                    if value[position] == "\\" and position + 1 < length:
                        position += 1
                    characters.append(value[position])
                    position += 1
                parameter, position = "".join(characters), position + 1
            else:
                parameter_end = position
                while parameter_end < length and value[parameter_end] not in ";,":
                    parameter_end += 1
                parameter, position = value[position:parameter_end].strip(), parameter_end
        if name:
            params.setdefault(name, parameter)


def next_page_url(response: httpx.Response) -> str | None:
    """The `rel="next"` link of a response (a relation list such as "next last" counts), resolved against the
    request URL only when the platform gave a relative reference."""
    for target, params in parse_link_header(response.headers.get_list("link")):
        if "next" in params.get("rel", "").lower().split():
            return target if urlsplit(target).scheme else urljoin(str(response.request.url), target)
    return None


def roster_pages(client: ServiceClient, url: str, *, max_pages: int = MAX_PAGES) -> Iterator[list[RosterMember]]:
    """Every page of the roster at `url`, in order, following the platform's `next` links exactly as given.
    Raises ServiceError when the LMS fails and RosterSyncError when its answers are unusable."""
    seen: set[str] = set()
    next_url: str | None = url
    while next_url is not None:
        if next_url in seen:
            raise RosterSyncError(f"The LMS's roster pages link back to a page already read ({next_url}).")
        if len(seen) == max_pages:
            raise RosterSyncError(f"The LMS's roster goes on beyond {max_pages} pages; the sync stopped there.")
        seen.add(next_url)
        response = client.request("GET", next_url, [NRPS_SCOPE], accept=MEMBERSHIP_CONTAINER)
        try:
            body = response.json()
        except ValueError as error:
            raise RosterSyncError(f"The LMS's roster page {next_url} is not JSON.") from error
        yield _members(body, next_url)
        next_url = next_page_url(response)


def _members(body: Any, url: str) -> list[RosterMember]:
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        raise RosterSyncError(f"The LMS's roster page {url} is not a membership container.")
    members = []
    for item in body["members"]:
        # A member we cannot identify would count as "left the course": refuse the page rather than guess.
        user_id = item.get("user_id") if isinstance(item, dict) else None
        roles = item.get("roles") if isinstance(item, dict) else None
        if not isinstance(user_id, str) or not user_id or len(user_id) > User.__table__.c.sub.type.length:
            raise RosterSyncError(f"The LMS's roster page {url} lists a member without a usable user_id.")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise RosterSyncError(f"The LMS's roster page {url} lists a member without a list of roles.")
        if NUL in user_id:
            # No launch can carry it (launch claims with a NUL are refused), so no one we know is this member:
            # skipping them deactivates no one, and the rest of the roster is synced.
            log.warning("roster sync: skipped a member whose user_id has a NUL character")
            continue
        members.append(
            RosterMember(
                user_id=user_id,
                roles=tuple(role for role in roles if NUL not in role),
                # NRPS 2.0: status is Active when absent; Inactive and Deleted mean not (or no longer) taking part.
                active=item.get("status", "Active") == "Active",
                **{name: _text(item.get(name), User.__table__.c[name].type.length) for name in PERSONAL_FIELDS},
            )
        )
    return members


def _text(value: Any, length: int) -> str | None:
    """A personal field as we store it: NUL characters (which PostgreSQL cannot store) removed, cut to `length`."""
    return (value.replace(NUL, "").strip()[:length] or None) if isinstance(value, str) else None


# --- Applying it --------------------------------------------------------------------------------------------------


def apply_roster(
    course: Course,
    roster: Sequence[RosterMember],
    *,
    now: datetime,
    on_member: Callable[[], None] | None = None,
) -> RosterSyncReport:
    """Bring the course's users and memberships in line with its complete roster. The caller commits once.

    New members are prepared without a launch (`last_launch_at` None). Names and emails are set only when the
    platform shares them. Members listed as inactive, and enrolled members the roster no longer lists, are
    deactivated; administrators who launched without a course role are left alone (no roster lists them).
    """
    listed = _merged(roster)
    memberships = {
        m.user.sub: m
        for m in db.session.execute(
            select(Membership)
            .join(Membership.user)
            .where(Membership.course_id == course.id)
            .options(contains_eager(Membership.user))
        ).scalars()
    }
    issuer = course.deployment.platform.issuer
    users: dict[str, User] = {}
    newcomers = [user_id for user_id, member in listed.items() if member.active and user_id not in memberships]
    for start in range(0, len(newcomers), _LOOKUP_CHUNK):
        chunk = newcomers[start : start + _LOOKUP_CHUNK]
        found = db.session.execute(select(User).where(User.issuer == issuer, User.sub.in_(chunk))).scalars()
        users.update({user.sub: user for user in found})

    report = RosterSyncReport()
    for user_id, member in listed.items():
        if member.active:
            report.listed += 1
        membership = memberships.get(user_id)
        if membership is not None:
            _update(membership, member, report)
            membership.roster_synced_at = now
        elif member.active:
            user = users.get(user_id)
            if user is None:
                user = User(issuer=issuer, sub=user_id)
                db.session.add(user)
            _apply_personal(user, member)
            db.session.add(
                Membership(
                    user=user,
                    course=course,
                    roles=list(member.roles),
                    course_role=course_role(list(member.roles)).value,
                    active=True,
                    last_launch_at=None,
                    roster_synced_at=now,
                )
            )
            report.added += 1
        if on_member is not None:
            on_member()
    for sub, membership in memberships.items():
        if sub not in listed and membership.active and is_enrolled(membership.roles):
            membership.active = False
            report.deactivated += 1
    course.roster_synced_at = now
    try:
        db.session.flush()
    except IntegrityError as error:
        # Another sync, or a first launch, added one of these people at the same moment.
        raise RosterSyncError(
            "Someone was added to the course by another sync or launch at the same moment.", hint="Sync again."
        ) from error
    return report


def _merged(roster: Sequence[RosterMember]) -> dict[str, RosterMember]:
    """One entry per person: a platform may list someone once per enrolment (section); their roles add up."""
    merged: dict[str, RosterMember] = {}
    for member in roster:
        seen = merged.get(member.user_id)
        if seen is None:
            merged[member.user_id] = member
            continue
        merged[member.user_id] = RosterMember(
            user_id=member.user_id,
            roles=tuple(dict.fromkeys((*seen.roles, *member.roles))),
            active=seen.active or member.active,
            **{name: getattr(seen, name) or getattr(member, name) for name in PERSONAL_FIELDS},
        )
    return merged


def _update(membership: Membership, member: RosterMember, report: RosterSyncReport) -> None:
    changed = _apply_personal(membership.user, member)
    role = course_role(list(member.roles)).value
    # A launch's roles (with institution roles) stay until the course role itself changes in the LMS.
    if membership.course_role != role or (membership.last_launch_at is None and membership.roles != list(member.roles)):
        membership.roles, membership.course_role = list(member.roles), role
        changed = True
    if member.active and not membership.active:
        membership.active = True
        report.reactivated += 1
    elif membership.active and not member.active:
        membership.active = False
        report.deactivated += 1
    elif changed:
        report.updated += 1
    else:
        report.unchanged += 1


def _apply_personal(user: User, member: RosterMember) -> bool:
    """Names and email the platform shares; like a launch, what it leaves out keeps what we had."""
    changed = False
    for name in PERSONAL_FIELDS:
        value = getattr(member, name)
        if value and getattr(user, name) != value:
            setattr(user, name, value)
            changed = True
    return changed


# --- One sync -----------------------------------------------------------------------------------------------------


def roster_url(course: Course) -> str:
    if not course.nrps_url:
        raise RosterSyncError(
            f"The course “{course.display_title}” has no roster endpoint from the LMS yet.",
            hint="Launch the tool from the course once as an instructor. If this stays, ask the LMS administrator "
            "to let the tool use the Names and Role Provisioning service (its privacy settings may hide it).",
        )
    return course.nrps_url


def service_client(course: Course, *, keys: KeyStore, http: PlatformHttp) -> ServiceClient:
    return ServiceClient(course.deployment.platform, keys=keys, http=http)


def sync_roster(
    course: Course, client: ServiceClient, *, now: datetime, max_pages: int = MAX_PAGES
) -> RosterSyncReport:
    """Read every page, then apply the roster. Raises a MentorLtiError (nothing applied) on any failure."""
    members = [member for page in roster_pages(client, roster_url(course), max_pages=max_pages) for member in page]
    return apply_roster(course, members, now=now)


def sync_due(course: Course, *, interval_seconds: int, now: datetime) -> bool:
    """Whether a launch should sync the roster: the LMS offers one, and the last sync is older than the interval
    (an interval of 0 turns launch-time syncs off)."""
    if interval_seconds <= 0 or not course.nrps_url:
        return False
    return course.roster_synced_at is None or course.roster_synced_at <= now - timedelta(seconds=interval_seconds)


def find_course(*, course_id: int | None = None, context_id: str | None = None) -> Course:
    """A course by our id, or by the LMS's context id when that names exactly one course."""
    if course_id is not None:
        course = db.session.get(Course, course_id)
        if course is None:
            raise NotFound(f"There is no course {course_id}.", hint="Course ids are in the tool's URLs: /courses/ID/.")
        return course
    courses = db.session.execute(select(Course).where(Course.context_id == context_id)).scalars().all()
    if not courses:
        raise NotFound(f"No course has the LMS context id {context_id!r}.", hint="Launch the tool from it first.")
    if len(courses) > 1:
        ids = ", ".join(str(c.id) for c in courses)
        raise RosterSyncError(
            f"Several courses (from different deployments) have the context id {context_id!r}: {ids}.",
            hint="Choose one with --course.",
        )
    return courses[0]
