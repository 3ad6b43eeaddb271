"""A participant's profile: saving it (and recording its first completion), its status, their published matches,
and the pure time-zone arithmetic matching needs."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import Select, func, or_, select

from lti_tool.courses.models import Membership, User
from lti_tool.errors import MentorLtiError, NotAuthorised
from lti_tool.extensions import db, utcnow
from lti_tool.programs.models import Match, MatchStatus, Participant, Program
from lti_tool.programs.services import allowed_roles, participant_for
from lti_tool.settings import Settings
from lti_tool.statements.events import record_profile_completed

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary of the profile form
# ---------------------------------------------------------------------------------------------------------------

DAYS: Final = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
BLOCK_HOURS: Final = 3
BLOCK_STARTS: Final = (6, 9, 12, 15, 18, 21)  # local hours; a block runs 3 hours (21-24 ends at midnight)
ALL_SLOTS: Final = tuple(f"{day}-{start:02d}" for day, _ in DAYS for start in BLOCK_STARTS)

LEVEL_MIN: Final = 0
LEVEL_MAX: Final = 5
NO_EXPERIENCE: Final = "No experience"
MAX_GOALS: Final = 3
MIN_CAPACITY: Final = 1
MAX_CAPACITY: Final = 20
MAX_DEPARTMENT: Final = 120
MAX_BIO: Final = 1000
MAX_PREFERENCES: Final = 3

# ISO 639-1 codes: the English name, then the language's own name (shown with its `lang` so screen readers say it).
LANGUAGES: Final = (
    ("ar", "Arabic", "العربية"),
    ("bn", "Bengali", "বাংলা"),
    ("de", "German", "Deutsch"),
    ("en", "English", "English"),
    ("es", "Spanish", "Español"),
    ("fr", "French", "Français"),
    ("hi", "Hindi", "हिन्दी"),
    ("it", "Italian", "Italiano"),
    ("ja", "Japanese", "日本語"),
    ("ko", "Korean", "한국어"),
    ("nl", "Dutch", "Nederlands"),
    ("pl", "Polish", "Polski"),
    ("pt", "Portuguese", "Português"),
    ("ru", "Russian", "Русский"),
    ("sw", "Swahili", "Kiswahili"),
    ("tr", "Turkish", "Türkçe"),
    ("zh", "Chinese", "中文"),
)
LANGUAGE_CODES: Final = frozenset(code for code, _, _ in LANGUAGES)

# Shown in the time-zone select: current "Area/City" names. Older aliases (US/Eastern, GB...) stay valid if stored.
_ZONE_AREAS: Final = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)
_NOT_ZONES: Final = frozenset({"localtime", "posixrules", "Factory"})  # tzdata files that are not places


@lru_cache(maxsize=1)
def valid_timezones() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


@lru_cache(maxsize=1)
def timezone_choices() -> tuple[str, ...]:
    """The zones offered in the profile form: UTC first, then every Area/City zone alphabetically."""
    return ("UTC", *sorted(z for z in valid_timezones() if z.startswith(_ZONE_AREAS)))


def is_valid_timezone(name: str) -> bool:
    return name in valid_timezones()


# ---------------------------------------------------------------------------------------------------------------
# Availability in UTC (pure)
# ---------------------------------------------------------------------------------------------------------------

# A fixed week, so that converting the same profile always gives the same slots. Northern winter: most zones are
# on standard time (Europe/Paris is UTC+1), southern-hemisphere zones on summer time (Australia/Sydney UTC+11);
# no zone changes its offset during that week (checked against tzdata 2026.6).
REFERENCE_MONDAY: Final = date(2025, 1, 13)
_REFERENCE_MONDAY_UTC: Final = datetime.combine(REFERENCE_MONDAY, time(0), tzinfo=UTC)
_QUARTER: Final = timedelta(minutes=15)
_WEEK_QUARTERS: Final = 7 * 24 * 4
_DAY_KEYS: Final = tuple(day for day, _ in DAYS)


def utc_hour_slots(availability: Iterable[str], timezone: str) -> set[str]:
    """Weekly availability blocks in `timezone` (e.g. "mon-06" = Monday 06:00-09:00 local) as the UTC hours
    they cover, e.g. {"mon-05", "mon-06", "mon-07"} for "mon-06" in Europe/Paris (reference week in January).

    Days wrap around the week: "sun-21" in America/New_York becomes "mon-02", "mon-03", "mon-04".
    A UTC hour is included only when the person is free for all of it. Zones whose offset is not whole hours
    (Asia/Kolkata UTC+05:30, Asia/Kathmandu UTC+05:45) therefore lose the partial hours at the edges of each run
    of adjacent blocks: "mon-06" in Kolkata (00:30-03:30 UTC) gives "mon-01" and "mon-02"; "mon-06" with
    "mon-09" (00:30-06:30 UTC) gives "mon-01" to "mon-05". A shared UTC hour is thus always a whole hour both
    people can meet. Raises ValueError for an unknown zone or a slot that is not one of ALL_SLOTS.
    """
    if not is_valid_timezone(timezone):
        raise ValueError(f"unknown time zone: {timezone!r}")
    zone = ZoneInfo(timezone)
    free: set[int] = set()  # quarter-hours of the UTC week (Monday 00:00 UTC = 0) the person is free
    for slot in availability:
        day, start = _parse_slot(slot)
        local_start = datetime.combine(REFERENCE_MONDAY + timedelta(days=day), time(start), tzinfo=zone)
        first = (local_start - _REFERENCE_MONDAY_UTC) // _QUARTER
        free.update((first + q) % _WEEK_QUARTERS for q in range(BLOCK_HOURS * 4))
    hours = {q // 4 for q in free if q % 4 == 0 and {q + 1, q + 2, q + 3} <= free}
    return {f"{_DAY_KEYS[hour // 24]}-{hour % 24:02d}" for hour in hours}


def utc_offset_minutes(timezone: str, on: date) -> int:
    """Minutes east of UTC of `timezone` at noon UTC on `on` (Europe/Berlin: 60 in January, 120 in July): the
    offset matching compares time zones by, taken at the program's reference date so that summer time is that
    of the program's weeks. Raises ValueError for an unknown zone."""
    if not is_valid_timezone(timezone):
        raise ValueError(f"unknown time zone: {timezone!r}")
    offset = datetime.combine(on, time(12), tzinfo=UTC).astimezone(ZoneInfo(timezone)).utcoffset()
    return 0 if offset is None else int(offset.total_seconds()) // 60


# Explanations name the UTC hours people share as "Monday 17:00 UTC"; pages reword them in the reader's own zone.
UTC_HOUR_LABELS: Final = {
    f"{day}-{hour:02d}": f"{day_name} {hour:02d}:00 UTC" for day, day_name in DAYS for hour in range(24)
}
_UTC_HOUR_LABEL: Final = re.compile(r"\b(" + "|".join(name for _, name in DAYS) + r") (\d{2}):00 UTC\b")
_DAY_NAMES: Final = tuple(name for _, name in DAYS)


def local_time(moment: datetime, timezone: str | None) -> str:
    """A moment as a page shows it to its reader, in the zone of their profile: "9 December 2026, 16:30
    Europe/Berlin time"; in UTC ("9 December 2026, 15:30 UTC") for a reader without a (known) zone."""
    if not timezone or timezone == "UTC" or not is_valid_timezone(timezone):
        there, name = moment.astimezone(UTC), "UTC"
    else:
        there, name = moment.astimezone(ZoneInfo(timezone)), f"{timezone} time"
    return f"{there.day} {there:%B %Y, %H:%M} {name}"


def in_zone(text: str, timezone: str | None, *, beside: tuple[str | None, str] | None = None) -> str:
    """`text` with every UTC hour it names ("Monday 17:00 UTC") as the same hour in `timezone`, in the reference
    week the profile's blocks were converted in ("Monday 18:00 Europe/Berlin time"): the hours a reader ticked
    on their profile read back as they ticked them. Unknown zones and UTC keep the hour in UTC.

    `beside` = (zone, whose) adds the hour as that other person reads it where their clock shows another time:
    "Monday 18:00 Europe/Berlin time (Monday 12:00 America/New_York time for Ana)"."""
    if " UTC" not in text or (_zone(timezone) is None and (beside is None or _zone(beside[0]) is None)):
        return text

    def local(found: re.Match[str]) -> str:
        clock, zone_name = _hour_in(found[1], int(found[2]), timezone)
        if beside is not None:
            other_clock, other_zone = _hour_in(found[1], int(found[2]), beside[0])
            if other_clock != clock:
                return f"{clock} {zone_name} ({other_clock} {other_zone} for {beside[1]})"
        return f"{clock} {zone_name}"

    return _UTC_HOUR_LABEL.sub(local, text)


def _zone(timezone: str | None) -> ZoneInfo | None:
    """The zone hours are shown in: None for UTC, no zone or an unknown one (the hour stays in UTC)."""
    return ZoneInfo(timezone) if timezone and timezone != "UTC" and is_valid_timezone(timezone) else None


@lru_cache(maxsize=4096)  # a file's sentences name a few of the week's 168 hours, in a few zones
def _hour_in(day_name: str, hour: int, timezone: str | None) -> tuple[str, str]:
    """That UTC hour of the reference week on the zone's clock: ("Monday 18:00", "Europe/Berlin time"), or
    ("Monday 17:00", "UTC") where _zone gives none."""
    moment = _REFERENCE_MONDAY_UTC + timedelta(days=_DAY_NAMES.index(day_name), hours=hour)
    zone = _zone(timezone)
    there = moment if zone is None else moment.astimezone(zone)
    return f"{_DAY_NAMES[there.weekday()]} {there:%H:%M}", "UTC" if zone is None else f"{timezone} time"


def _parse_slot(slot: str) -> tuple[int, int]:
    if slot not in ALL_SLOTS:
        raise ValueError(f"not an availability slot: {slot!r}")
    day, start = slot.split("-")
    return _DAY_KEYS.index(day), int(start)


# ---------------------------------------------------------------------------------------------------------------
# Saving a profile
# ---------------------------------------------------------------------------------------------------------------


class ProfileError(MentorLtiError):
    """A profile change was refused because its data breaks a rule the form should have enforced."""


@dataclass(frozen=True)
class ProfileInput:
    """A profile as the participant submitted it, already parsed and validated by the form."""

    wants_to_mentor: bool
    wants_to_be_mentored: bool
    skill_levels: dict[str, int]
    goals: list[str]
    expertise: list[str]
    availability: list[str]
    timezone: str
    languages: list[str]
    department: str | None = None
    bio: str = ""
    capacity: int | None = None
    preferences: tuple[int, ...] = ()  # participant ids they would like to be matched with


@dataclass(frozen=True)
class ProfileSaved:
    participant: Participant
    created: bool
    completed_now: bool  # this save completed the profile for the first time (and recorded it)


def save_profile(
    program: Program, membership: Membership, data: ProfileInput, *, settings: Settings, tool_base: str
) -> ProfileSaved:
    """Create or update the member's participant profile. The first time it is complete, stamp `completed_at`
    and queue the "profile completed" statement in the same transaction. The caller commits."""
    may_mentor, may_be_mentored = allowed_roles(program, membership)
    if (data.wants_to_mentor and not may_mentor) or (data.wants_to_be_mentored and not may_be_mentored):
        raise NotAuthorised("This program does not offer you that role.")
    participant = participant_for(program, membership)
    _check(program, participant, data)
    created = participant is None
    if participant is None:
        participant = Participant(program=program, membership=membership)
        db.session.add(participant)
    participant.wants_to_mentor = data.wants_to_mentor
    participant.wants_to_be_mentored = data.wants_to_be_mentored
    participant.skill_levels = dict(data.skill_levels)
    participant.goals = list(data.goals)
    participant.expertise = list(data.expertise)
    participant.preferred_ids = list(dict.fromkeys(data.preferences))
    chosen_slots, chosen_languages = set(data.availability), set(data.languages)
    participant.availability = [slot for slot in ALL_SLOTS if slot in chosen_slots]  # stored in canonical order
    participant.timezone = data.timezone
    participant.languages = [code for code, _, _ in LANGUAGES if code in chosen_languages]
    participant.department = (data.department or "").strip() or None
    participant.bio = data.bio.strip()
    participant.capacity = data.capacity if data.wants_to_mentor else None
    completed_now = participant.completed_at is None and not missing_parts(participant, program)
    if completed_now:
        participant.completed_at = utcnow()
    db.session.flush()  # assigns the registration the statement carries
    if completed_now:
        record_profile_completed(participant, settings=settings, tool_base=tool_base)
    return ProfileSaved(participant=participant, created=created, completed_now=completed_now)


def _check(program: Program, participant: Participant | None, data: ProfileInput) -> None:
    keys = {skill.key for skill in program.skills}
    if not (data.wants_to_mentor or data.wants_to_be_mentored):
        raise ProfileError("Choose at least one role.")
    if set(data.skill_levels) != keys or not all(
        LEVEL_MIN <= level <= LEVEL_MAX for level in data.skill_levels.values()
    ):
        raise ProfileError(f"Rate every skill of the program from {LEVEL_MIN} to {LEVEL_MAX}.")
    if not set(data.goals) <= keys or not set(data.expertise) <= keys or len(data.goals) > MAX_GOALS:
        raise ProfileError(f"Goals (at most {MAX_GOALS}) and expertise must be skills of the program.")
    if len(set(data.preferences)) > MAX_PREFERENCES:
        raise ProfileError(f"Name at most {MAX_PREFERENCES} people you would like to be matched with.")
    if len(chosen_candidates(program, participant, data.preferences)) != len(set(data.preferences)):
        raise ProfileError("Choose people from this program's participants.")
    if data.wants_to_be_mentored and not data.goals:
        raise ProfileError("Choose at least one goal skill.")
    if not data.availability or not set(data.availability) <= set(ALL_SLOTS):
        raise ProfileError("Choose at least one weekly time slot.")
    if not is_valid_timezone(data.timezone):
        raise ProfileError("Choose a time zone from the list.")
    if not data.languages or not set(data.languages) <= LANGUAGE_CODES:
        raise ProfileError("Choose at least one language from the list.")
    if len((data.department or "").strip()) > MAX_DEPARTMENT or len(data.bio.strip()) > MAX_BIO:
        raise ProfileError(f"Department: at most {MAX_DEPARTMENT} characters; bio: at most {MAX_BIO}.")
    if data.wants_to_mentor and not (data.capacity is not None and MIN_CAPACITY <= data.capacity <= MAX_CAPACITY):
        raise ProfileError(f"Mentors take {MIN_CAPACITY} to {MAX_CAPACITY} mentees.")


# ---------------------------------------------------------------------------------------------------------------
# Status
# ---------------------------------------------------------------------------------------------------------------


class ProfileStatus(StrEnum):
    NOT_STARTED = "not started"
    INCOMPLETE = "incomplete"
    COMPLETE = "complete"


def missing_parts(participant: Participant, program: Program) -> list[str]:
    """What the profile still lacks, in words; empty when it is complete. A framework that gained skills after
    the profile was saved makes it incomplete again until those skills are rated."""
    missing = []
    if not (participant.wants_to_mentor or participant.wants_to_be_mentored):
        missing.append("your role in the program")
    unrated = [skill.name for skill in program.skills if skill.key not in (participant.skill_levels or {})]
    if unrated:
        missing.append("your level in " + ", ".join(unrated))
    if participant.wants_to_be_mentored and not participant.goals:
        missing.append("the skills you want to work on")
    if not participant.availability:
        missing.append("when you are available")
    if not participant.languages:
        missing.append("the languages you speak")
    return missing


def profile_status(participant: Participant | None, program: Program) -> ProfileStatus:
    if participant is None:
        return ProfileStatus.NOT_STARTED
    return ProfileStatus.INCOMPLETE if missing_parts(participant, program) else ProfileStatus.COMPLETE


# ---------------------------------------------------------------------------------------------------------------
# Published matches, as the participant sees them
# ---------------------------------------------------------------------------------------------------------------

CRITERION_LABELS: Final = {
    "goal_gain": "Help with your goals",
    "complementarity": "Complementary skills",
    "availability": "Shared availability",
    "diversity": "Different perspectives",
    "preferences": "Preferences",
    "waking_hours": "Waking hours in common",
    "language": "Shared language",
}
BAR_STEP: Final = 5  # bar widths are CSS classes in steps of 5% (the CSP forbids inline styles)
MAX_REASONS: Final = 12


@dataclass(frozen=True)
class ContributionBar:
    label: str
    value_text: str
    width: int  # 0-100, a multiple of BAR_STEP


@dataclass(frozen=True)
class MatchView:
    id: int
    other_name: str
    other_role: str  # "mentor" or "mentee": what the other person is to the viewer
    score_points: int | None
    skill_name: str | None
    other_department: str | None = None
    other_bio: str = ""
    other_email: str | None = None  # as the LMS shared it: how the pair gets in touch
    reasons: list[str] = field(default_factory=list)
    contributions: list[ContributionBar] = field(default_factory=list)
    relationship_id: int | None = None  # the pair page of this match


def published_matches(participant: Participant, program: Program) -> list[MatchView]:
    """The participant's published matches (drafts and ended matches are never shown to participants)."""
    matches = db.session.execute(
        select(Match)
        .where(
            Match.program_id == program.id,
            Match.status == MatchStatus.PUBLISHED.value,
            or_(Match.mentor_id == participant.id, Match.mentee_id == participant.id),
        )
        .order_by(Match.published_at, Match.id)
    ).scalars()
    skill_names = {skill.key: skill.name for skill in program.skills}
    views = []
    for match in matches:
        mentoring = match.mentor_id == participant.id
        other = match.mentee if mentoring else match.mentor
        reasons, bars = read_explanation(match.explanation)
        reasons = [in_zone(reason, participant.timezone) for reason in reasons]
        views.append(
            MatchView(
                id=match.id,
                other_name=other.membership.user.display_name,
                other_role="mentee" if mentoring else "mentor",
                score_points=score_points(match.score),
                skill_name=skill_names.get(match.skill_key or "", match.skill_key),
                other_department=other.department,
                other_bio=other.bio or "",
                other_email=other.membership.user.email,
                reasons=reasons,
                contributions=bars,
                relationship_id=match.relationship_id,
            )
        )
    return views


def score_points(score: Any) -> int | None:
    """A match score (0-1) in points of 100, the one scale every page shows scores in (a pair's score, each
    criterion's part of it, a run's total); scores already on a 0-100 scale are kept; junk gives None."""
    number = _number(score)
    if number is None:
        return None
    return round(max(0.0, min(1.0, number)) * 100) if number <= 1 else round(min(number, 100.0))


def read_explanation(explanation: Any) -> tuple[list[str], list[ContributionBar]]:
    """Reasons and per-criterion bars from Match.explanation, whatever shape the matching engine gave it:
    anything unexpected is skipped rather than allowed to break the participant's page."""
    if not isinstance(explanation, Mapping):
        return [], []
    raw_reasons = explanation.get("reasons", [])
    if isinstance(raw_reasons, str):
        raw_reasons = [raw_reasons]
    reasons = (
        [r.strip() for r in raw_reasons if isinstance(r, str) and r.strip()][:MAX_REASONS]
        if isinstance(raw_reasons, list | tuple)
        else []
    )
    raw = explanation.get("contributions", {})
    values: list[tuple[str, float]] = []
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if isinstance(value, Mapping):
                value = value.get("contribution", value.get("value"))
            number = _number(value)
            if number is not None:
                values.append((str(key), number))
    if not values:
        return reasons, []
    # Parts of the score (0-1) are drawn and said in points of 100; other scales relative to the largest part.
    fractions = all(0 <= v <= 1 for _, v in values)
    largest = max(abs(v) for _, v in values) or 1.0
    bars = []
    for key, number in sorted(values, key=lambda item: -item[1]):
        share = number if fractions else number / largest
        width = round(max(0.0, min(1.0, share)) * 100 / BAR_STEP) * BAR_STEP
        text = f"{round(number * 100)} points" if fractions else f"{number:.2f}"
        bars.append(ContributionBar(label=criterion_label(key), value_text=text, width=width))
    return reasons, bars


def criterion_label(key: str) -> str:
    return CRITERION_LABELS.get(key) or key.replace("_", " ").replace("-", " ").strip().capitalize() or "Other"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------------------------------
# Whom one may name as a preference: searched by name, never listed whole (a course may have 10,000 people)
# ---------------------------------------------------------------------------------------------------------------

PEOPLE_SHOWN: Final = 20  # people one search shows
MAX_QUERY: Final = 100  # characters of a name search that count


@dataclass(frozen=True)
class Candidate:
    """Someone a participant may ask to be matched with."""

    id: int  # their participant id
    name: str


@dataclass(frozen=True)
class CandidateSearch:
    query: str
    people: list[Candidate]  # at most PEOPLE_SHOWN, by name
    total: int  # everyone who matches

    @property
    def summary(self) -> str:
        """What the search found, in words (the page and the picker's live region say it)."""
        if not self.query:
            if self.total <= len(self.people):
                return f"Everyone you can choose ({self.total})."
            return f"The first {len(self.people)} of {self.total:,} people by name: search to find someone else."
        if not self.total:
            return f"Nobody you can choose is called “{self.query}”."
        found = f"{self.total:,} {'person matches' if self.total == 1 else 'people match'} “{self.query}”"
        return f"{found}." if self.total <= len(self.people) else f"{found}: the first {len(self.people)} shown."


def _candidates(program: Program, participant: Participant | None) -> Select[tuple[int, str]]:
    """The rule: the program's other participants with a complete profile."""
    found = (
        select(Participant.id, User.display_name)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(Participant.program_id == program.id, Participant.completed_at.is_not(None))
    )
    return found if participant is None else found.where(Participant.id != participant.id)


def search_candidates(program: Program, participant: Participant | None, query: str) -> CandidateSearch:
    """The first PEOPLE_SHOWN candidates whose name contains `query` (everyone for an empty one), by name."""
    query = " ".join(query.split())[:MAX_QUERY]
    found = _candidates(program, participant)
    if query:
        found = found.where(User.name_contains(query))
    total = db.session.execute(select(func.count()).select_from(found.subquery())).scalar_one()
    rows = db.session.execute(found.order_by(func.lower(User.display_name), Participant.id).limit(PEOPLE_SHOWN))
    return CandidateSearch(query, [Candidate(id, name) for id, name in rows], total)


def chosen_candidates(program: Program, participant: Participant | None, ids: Iterable[int]) -> list[Candidate]:
    """Those of `ids` the participant may choose, in the order given: what a choice is checked against."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    rows = db.session.execute(_candidates(program, participant).where(Participant.id.in_(wanted)))
    names = {id: name for id, name in rows}
    return [Candidate(id, names[id]) for id in wanted if id in names]
