"""Plain, typed inputs to the statement builders: who, in which course and enrolment, with what privacy."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from xapi.vocabulary import DEFAULT_VOCABULARY, Vocabulary


@dataclass(frozen=True, slots=True)
class ActorPrivacy:
    """How much of a person statements reveal. The default is pseudonymous: the LTI account only.

    `include_name` adds the display name; `use_email` identifies people by mbox instead of the LTI
    account. Both only where the institution has enabled them: an LRS is often shared and kept long.
    """

    include_name: bool = False
    use_email: bool = False


PSEUDONYMOUS = ActorPrivacy()


@dataclass(frozen=True, slots=True)
class ActorIdentity:
    """A person as the LTI launch names them."""

    issuer: str  # LTI `iss`: the platform; becomes account.homePage
    sub: str  # LTI `sub`: opaque and stable per platform; becomes account.name
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class LaunchInfo:
    """What an LTI launch told us about where the tool runs; stored per course for later events."""

    issuer: str
    deployment_id: str
    context_id: str
    resource_link_id: str | None = None
    roles: tuple[str, ...] = ()  # the launching user's LTI role IRIs
    platform: str | None = None  # LMS product name, e.g. "Canvas", "Moodle"
    locale: str | None = None  # launch presentation locale, e.g. "en-US" or "en_US"


@dataclass(frozen=True, slots=True)
class Course:
    """The LMS course; `ref` is an opaque, URL-safe id (see builders.opaque_ref), never personal data."""

    ref: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Program:
    """A mentoring program inside a course; `ref` is opaque and URL-safe."""

    ref: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A person's enrolment in a program; `registration` ties all its statements together."""

    program: Program
    registration: UUID


@dataclass(frozen=True, slots=True)
class StatementContext:
    """What every statement about one course shares."""

    tool_base: str  # the tool's public base URL; activity IRIs live under it
    launch: LaunchInfo
    course: Course
    privacy: ActorPrivacy = PSEUDONYMOUS
    vocabulary: Vocabulary = field(default=DEFAULT_VOCABULARY)


class MentoringRole(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"


class AttendanceRecord(StrEnum):
    """How an attendance came to be recorded: by the participant who logged it, or confirmed by the other."""

    LOGGED = "logged"
    CONFIRMED = "confirmed"


class MentorRequestEvent(StrEnum):
    """What happened to a mentee's request of a mentor; each is one verb."""

    REQUESTED = "requested"  # by the mentee
    ACCEPTED = "accepted"  # by the mentor
    DECLINED = "declined"  # by the mentor
    APPROVED = "approved"  # by staff, in the mentor's stead
    CANCELLED = "cancelled"  # by staff
    EXPIRED = "expired"  # unanswered by its deadline; the mentee is the actor


@dataclass(frozen=True, slots=True)
class ScoreInput:
    """An overall score; `scaled` is derived as (raw - min) / (max - min)."""

    raw: int | float
    min: int | float
    max: int | float
