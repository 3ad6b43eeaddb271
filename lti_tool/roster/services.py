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
from sqlalchemy import ColumnElement, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from lti_tool.courses.models import Course, Membership, User
from lti_tool.errors import MentorLtiError, NotFound
from lti_tool.extensions import db, upsert
from lti_tool.input_checks import NUL
from lti_tool.lti.keys import KeyStore
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.lti.roles import course_role, roster_lists
from lti_tool.lti.services import ServiceClient

log = logging.getLogger(__name__)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# The page size the tool asks for (NRPS `limit`), and how many people it applies at a time. Moodle serves any
# `limit` (and the whole roster without one); Canvas serves at most 50 members a page whatever is asked.
PAGE_SIZE = 1000
# Where a sync stops, changing nothing: a platform whose `next` links never end, or a roster too large to hold
# in a worker's memory. At Canvas's 50 members a page, 10,000 pages are 500,000 people: beyond any course.
MAX_PAGES = 10_000
MAX_MEMBERS = 200_000
PERSONAL_FIELDS = ("name", "given_name", "family_name", "email")
_LENGTHS = {name: User.__table__.c[name].type.length for name in ("sub", *PERSONAL_FIELDS)}


class RosterSyncError(MentorLtiError):
    """The roster could not be synced: no roster endpoint yet, or the LMS answered something unusable."""


@dataclass(frozen=True, slots=True)
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


def roster_pages(
    client: ServiceClient,
    url: str,
    *,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
    max_members: int = MAX_MEMBERS,
) -> Iterator[list[RosterMember]]:
    """Every page of the roster at `url`, in order: the first asked for `page_size` members, then the platform's
    `next` links followed exactly as given (they carry its own paging). Raises ServiceError when the LMS fails and
    RosterSyncError when its answers are unusable or go beyond `max_pages` pages or `max_members` members."""
    seen: set[str] = set()
    members = 0
    next_url: str | None = url
    params: dict[str, str] | None = {"limit": str(page_size)}
    while next_url is not None:
        if next_url in seen:
            raise RosterSyncError(f"The LMS's roster pages link back to a page already read ({next_url}).")
        if len(seen) == max_pages:
            raise RosterSyncError(
                f"The LMS's roster goes on beyond {max_pages:,} pages; the sync stopped there.", hint=_TOO_LARGE
            )
        seen.add(next_url)
        response = client.request("GET", next_url, [NRPS_SCOPE], accept=MEMBERSHIP_CONTAINER, params=params)
        params = None
        try:
            body = response.json()
        except ValueError as error:
            raise RosterSyncError(f"The LMS's roster page {next_url} is not JSON.") from error
        page = _members(body, next_url)
        members += len(page)
        if members > max_members:
            raise RosterSyncError(
                f"The LMS's roster lists more than {max_members:,} members; the sync stopped there.", hint=_TOO_LARGE
            )
        yield page
        next_url = next_page_url(response)


_TOO_LARGE = "Nothing was changed. If the course really is this large, tell the tool's administrator."


def _members(body: Any, url: str) -> list[RosterMember]:
    if not isinstance(body, dict) or not isinstance(body.get("members"), list):
        raise RosterSyncError(f"The LMS's roster page {url} is not a membership container.")
    members = []
    for item in body["members"]:
        # A member we cannot identify would count as "left the course": refuse the page rather than guess.
        user_id = item.get("user_id") if isinstance(item, dict) else None
        roles = item.get("roles") if isinstance(item, dict) else None
        if not isinstance(user_id, str) or not user_id or len(user_id) > _LENGTHS["sub"]:
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
                **{name: _text(item.get(name), _LENGTHS[name]) for name in PERSONAL_FIELDS},
            )
        )
    return members


def _text(value: Any, length: int) -> str | None:
    """A personal field as we store it: NUL characters (which PostgreSQL cannot store) removed, cut to `length`."""
    return (value.replace(NUL, "").strip()[:length] or None) if isinstance(value, str) else None


# --- Applying it --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Known:
    """A listed person's user row, and their membership of the course when they have one."""

    user_id: int
    personal: tuple[str | None, ...]  # PERSONAL_FIELDS, in order
    membership_id: int | None
    roles: list[str]
    course_role: str | None
    active: bool
    launched: bool


def apply_roster(
    course: Course,
    roster: Sequence[RosterMember],
    *,
    now: datetime,
    chunk_size: int = PAGE_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> RosterSyncReport:
    """Bring the course's users and memberships in line with its complete roster. The caller commits once.

    New members are prepared without a launch (`last_launch_at` None). Names and emails are set only when the
    platform shares them. Members listed as inactive, and members the roster no longer lists, are deactivated;
    administrators who launched are left alone when it does not list them (no roster lists one who is not enrolled).

    The roster is applied `chunk_size` people at a time, each with a constant number of statements whatever the
    course's size: one query for the chunk's users and memberships, then one bulk insert or update of each kind.
    `on_progress` is told how many people each chunk applied.
    """
    listed = distinct_members(roster)
    # Pending changes first: what follows writes with bulk statements, beside the session's objects.
    db.session.flush()
    report = RosterSyncReport()
    try:
        for start in range(0, len(listed), chunk_size):
            chunk = listed[start : start + chunk_size]
            _apply_chunk(course, chunk, now, report)
            if on_progress is not None:
                on_progress(len(chunk))
        report.deactivated += _deactivate_unlisted(course, now)
        course.roster_synced_at = now
        db.session.flush()
    except IntegrityError as error:
        # Another sync, or a first launch, added one of these people at the same moment.
        raise RosterSyncError(
            "Someone was added to the course by another sync or launch at the same moment.", hint="Sync again."
        ) from error
    # The session's own User and Membership objects (the staff member's, say) would still show what was there.
    for instance in list(db.session.identity_map.values()):
        if isinstance(instance, User | Membership):
            db.session.expire(instance)
    return report


def _apply_chunk(course: Course, chunk: Sequence[RosterMember], now: datetime, report: RosterSyncReport) -> None:
    issuer = course.deployment.platform.issuer
    users, memberships = User.__table__, Membership.__table__
    known = {
        row.sub: _Known(
            user_id=row.id,
            personal=tuple(row[name] for name in PERSONAL_FIELDS),
            membership_id=row.membership_id,
            roles=row.roles or [],
            course_role=row.course_role,
            active=bool(row.active),
            launched=row.last_launch_at is not None,
        )
        for row in db.session.execute(
            select(
                users.c.id,
                users.c.sub,
                *(users.c[name] for name in PERSONAL_FIELDS),
                memberships.c.id.label("membership_id"),
                memberships.c.roles,
                memberships.c.course_role,
                memberships.c.active,
                memberships.c.last_launch_at,
            )
            .outerjoin(memberships, (memberships.c.user_id == users.c.id) & (memberships.c.course_id == course.id))
            .where(users.c.issuer == issuer, _among(users.c.sub, [member.user_id for member in chunk]))
        ).mappings()
    }
    new_users: list[dict[str, Any]] = []
    changed_users: list[dict[str, Any]] = []
    new_memberships: list[RosterMember] = []
    changed_memberships: list[dict[str, Any]] = []
    unchanged_memberships: list[int] = []
    for member in chunk:
        if member.active:
            report.listed += 1
        found = known.get(member.user_id)
        if found is None or found.membership_id is None:
            if not member.active:
                continue  # not in the course here, and not taking part there: nothing to prepare
            report.added += 1
            new_memberships.append(member)
        if found is None:
            new_users.append({"issuer": issuer, "sub": member.user_id, **_personal(member, None), "updated_at": now})
            continue
        personal = _personal(member, found.personal)
        personal_changed = tuple(personal.values()) != found.personal
        if personal_changed:
            changed_users.append({"b_id": found.user_id, **personal, "updated_at": now})
        if found.membership_id is None:
            continue
        roles, role, active = after = _membership_after(found, member, personal_changed, report)
        if after == (found.roles, found.course_role, found.active):
            unchanged_memberships.append(found.membership_id)  # its row changes only by this sync's time
        else:
            changed_memberships.append(
                {"b_id": found.membership_id, "roles": roles, "course_role": role, "active": active}
            )

    user_ids = {sub: found.user_id for sub, found in known.items()}
    if new_users:
        # A first launch may have added one of them since the query above: theirs stands, and is looked up below.
        db.session.execute(upsert(users).on_conflict_do_nothing(index_elements=["issuer", "sub"]), new_users)
        added = db.session.execute(
            select(users.c.id, users.c.sub).where(
                users.c.issuer == issuer, _among(users.c.sub, [row["sub"] for row in new_users])
            )
        )
        user_ids.update({row.sub: row.id for row in added})
    if changed_users:
        db.session.execute(
            update(users)
            .where(users.c.id == bindparam("b_id"))
            .values({name: bindparam(name) for name in (*PERSONAL_FIELDS, "updated_at")}),
            changed_users,
        )
    if new_memberships:
        db.session.execute(
            insert(memberships),
            [
                {
                    "user_id": user_ids[member.user_id],
                    "course_id": course.id,
                    "roles": list(member.roles),
                    "course_role": course_role(list(member.roles)).value,
                    "active": True,
                    "last_launch_at": None,
                    "roster_synced_at": now,
                }
                for member in new_memberships
            ],
        )
    if changed_memberships:
        db.session.execute(
            update(memberships)
            .where(memberships.c.id == bindparam("b_id"))
            .values(
                {**{name: bindparam(name) for name in ("roles", "course_role", "active")}, "roster_synced_at": now}
            ),
            changed_memberships,
        )
    if unchanged_memberships:
        db.session.execute(
            update(memberships).where(_among(memberships.c.id, unchanged_memberships)).values(roster_synced_at=now)
        )


def _among(column: ColumnElement[Any], values: list[Any]) -> ColumnElement[bool]:
    """`column IN (values)` with the values written into the statement. As a thousand bound parameters, psycopg
    would parse the statement anew on every execution (it caches only short ones), and as one array parameter
    PostgreSQL, once the statement is prepared, plans it generically: every row compared with every value."""
    return column.in_(bindparam(None, values, expanding=True, literal_execute=True))


def _personal(member: RosterMember, stored: tuple[str | None, ...] | None) -> dict[str, str | None]:
    """Names and email the platform shares; like a launch, what it leaves out keeps what we had."""
    return {
        name: getattr(member, name) or (stored[index] if stored else None) for index, name in enumerate(PERSONAL_FIELDS)
    }


def _membership_after(
    found: _Known, member: RosterMember, personal_changed: bool, report: RosterSyncReport
) -> tuple[list[str], str | None, bool]:
    """A listed member's roles, course role and active flag after this sync, counted in the report.

    The roles of someone's latest launch stand until their next launch: a launch says what the LMS lets them do in
    this course now, and a roster may say less (Moodle lists a non-editing teacher, whom it launches as Instructor,
    as Learner), so a sync never changes the role of someone who launched, only whether they are in the course. The
    roster gives the roles of those who have not launched yet.
    """
    roles, role, active, changed = found.roles, found.course_role, found.active, personal_changed
    if not found.launched:
        listed = list(member.roles)
        listed_role = course_role(listed).value
        if (roles, role) != (listed, listed_role):
            roles, role, changed = listed, listed_role, True
    if member.active and not found.active:
        active = True
        report.reactivated += 1
    elif found.active and not member.active:
        active = False
        report.deactivated += 1
    elif changed:
        report.updated += 1
    else:
        report.unchanged += 1
    return roles, role, active


def _deactivate_unlisted(course: Course, now: datetime) -> int:
    """Deactivate the course's members the roster did not list (not administrators, whom no roster need list):
    every listed membership now carries `now` as its `roster_synced_at`, so the others are found in one query."""
    memberships = Membership.__table__
    unlisted = [
        row.id
        for row in db.session.execute(
            select(memberships.c.id, memberships.c.roles).where(
                memberships.c.course_id == course.id,
                memberships.c.active.is_(True),
                or_(memberships.c.roster_synced_at.is_(None), memberships.c.roster_synced_at != now),
            )
        )
        if roster_lists(row.roles or [])
    ]
    for start in range(0, len(unlisted), PAGE_SIZE):
        ids = unlisted[start : start + PAGE_SIZE]
        db.session.execute(update(memberships).where(_among(memberships.c.id, ids)).values(active=False))
    return len(unlisted)


def distinct_members(roster: Sequence[RosterMember]) -> list[RosterMember]:
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
    return list(merged.values())


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
    course: Course,
    client: ServiceClient,
    *,
    now: datetime,
    page_size: int = PAGE_SIZE,
    max_pages: int = MAX_PAGES,
    max_members: int = MAX_MEMBERS,
) -> RosterSyncReport:
    """Read every page, then apply the roster `page_size` people at a time. Raises a MentorLtiError (nothing
    applied) on any failure."""
    pages = roster_pages(client, roster_url(course), page_size=page_size, max_pages=max_pages, max_members=max_members)
    members = [member for page in pages for member in page]
    return apply_roster(course, members, now=now, chunk_size=page_size)


def sync_due(nrps_url: str | None, roster_synced_at: datetime | None, *, interval_seconds: int, now: datetime) -> bool:
    """Whether a launch into a course should sync its roster: the LMS offers one (the course's `nrps_url`), and the
    course's last sync is older than the interval (an interval of 0 turns launch-time syncs off)."""
    if interval_seconds <= 0 or not nrps_url:
        return False
    return roster_synced_at is None or roster_synced_at <= now - timedelta(seconds=interval_seconds)


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
