"""Creating programs and their frameworks, and finding a course's program and a member's participation."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from lti_tool.courses.models import Course, Membership, ResourceLink
from lti_tool.courses.services import RosterCounts, course_roster_counts
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db
from lti_tool.input_checks import NUL
from lti_tool.lti.roles import CourseRole
from lti_tool.matching.engine import MAX_SKILLS, MAX_WEIGHT, weight_ok
from lti_tool.programs.limits import (
    CAPACITY_RANGE,
    CHECKIN_RANGE,
    HOURS_APART_RANGE,
    MAX_AGREEMENT,
    MAX_TITLE,
    REQUEST_DAYS_RANGE,
)
from lti_tool.programs.models import (
    DEFAULT_RULES,
    DEFAULT_WEIGHTS,
    Eligibility,
    Match,
    MatchStatus,
    MentoringModel,
    Participant,
    Program,
    Skill,
)
from lti_tool.resources import resource_path

LEVELS = 5
LEVEL_NAMES = ("Beginner", "Developing", "Competent", "Proficient", "Expert")
CATEGORIES = ("technical", "soft")
CSV_COLUMNS = ("key", "name", "category", "description", *(f"level{n}" for n in range(1, LEVELS + 1)))


class ProgramError(MentorLtiError):
    """A program change was refused; the message names what to correct."""


class SkillFieldError(ProgramError):
    """One field of one skill is invalid: `where` names the skill (e.g. "row 4"), `field` the field."""

    def __init__(self, where: str, field: str, detail: str) -> None:
        super().__init__(f"{where}.{field}: {detail}")
        self.where = where
        self.field = field
        self.detail = detail


class SettingsInvalid(ProgramError):
    """Program settings break a rule; `errors` maps each settings field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SkillSpec:
    key: str
    name: str
    category: str
    description: str
    descriptors: tuple[str, ...]


def default_framework() -> list[SkillSpec]:
    """The skill framework shipped in config/skill-framework.json (technical and soft skills, 5-level rubric)."""
    data = json.loads((resource_path("config") / "skill-framework.json").read_text(encoding="utf-8"))
    return [parse_skill(entry, where=f"skills[{index}]") for index, entry in enumerate(data["skills"])]


def parse_skill(entry: Any, *, where: str) -> SkillSpec:
    """Validate one skill of a framework (from config, JSON or CSV import); errors name the field."""
    if not isinstance(entry, dict):
        raise ProgramError(f"{where}: must be an object with key, name, category and descriptors.")
    key = str(entry.get("key", "")).strip().lower()
    # isascii: str.isalnum() accepts every script's letters and digits; keys end up in URLs, CSV and xAPI.
    if not key or not key.isascii() or not all(c.isalnum() or c in "-_" for c in key) or len(key) > 64:
        raise SkillFieldError(where, "key", f"use 1-64 letters, digits, '-' or '_' (got {entry.get('key')!r}).")
    name = str(entry.get("name", "")).strip()
    if not name or len(name) > 120:
        raise SkillFieldError(where, "name", "required, at most 120 characters.")
    category = str(entry.get("category", "")).strip().lower()
    if category not in CATEGORIES:
        raise SkillFieldError(where, "category", f"must be 'technical' or 'soft' (got {entry.get('category')!r}).")
    description = entry.get("description") or ""
    if not isinstance(description, str) or len(description) > 500:
        raise SkillFieldError(where, "description", "text of at most 500 characters.")
    descriptors = entry.get("descriptors")
    if (
        not isinstance(descriptors, list)
        or len(descriptors) != LEVELS
        or not all(isinstance(d, str) and d.strip() for d in descriptors)
    ):
        raise SkillFieldError(where, "descriptors", f"exactly {LEVELS} non-empty descriptors, one per level 1-5.")
    if any(len(d.strip()) > 500 for d in descriptors):
        raise SkillFieldError(where, "descriptors", "each descriptor has at most 500 characters.")
    return SkillSpec(
        key=key,
        name=name,
        category=category,
        description=description.strip(),
        descriptors=tuple(d.strip() for d in descriptors),
    )


def replace_framework(program: Program, skills: list[SkillSpec]) -> None:
    """Set a program's skills (keys must be unique). The caller commits."""
    keys = [s.key for s in skills]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ProgramError(f"Skill keys must be unique; repeated: {', '.join(duplicates)}.")
    if not skills:
        raise ProgramError("A framework needs at least one skill.")
    program.skills.clear()
    db.session.flush()
    for position, spec in enumerate(skills):
        program.skills.append(
            Skill(
                key=spec.key,
                name=spec.name,
                category=spec.category,
                description=spec.description,
                descriptors=list(spec.descriptors),
                position=position,
            )
        )


def program_for_course(course_id: int) -> Program | None:
    """The course's program (one per course)."""
    return db.session.execute(
        select(Program).where(Program.course_id == course_id).order_by(Program.id).limit(1)
    ).scalar_one_or_none()


def create_program(course: Course, *, title: str, model: MentoringModel, resource_link_id: int | None) -> Program:
    if program_for_course(course.id) is not None:
        raise ProgramError("This course already has a mentorship program.")
    program = Program(
        course=course, title=title.strip() or "Mentorship program", model=model.value, resource_link_id=resource_link_id
    )
    db.session.add(program)
    replace_framework(program, default_framework())
    db.session.flush()
    return program


def participant_for(program: Program, membership: Membership) -> Participant | None:
    return db.session.execute(
        select(Participant).where(Participant.program_id == program.id, Participant.membership_id == membership.id)
    ).scalar_one_or_none()


def _eligible(rule: str, course_role: str) -> bool:
    role = CourseRole(course_role)
    if rule == Eligibility.STAFF.value:
        return role.is_staff
    if rule == Eligibility.LEARNERS.value:
        return role is CourseRole.LEARNER
    return role.is_staff or role is CourseRole.LEARNER


def allowed_roles(program: Program, membership: Membership) -> tuple[bool, bool]:
    """(may mentor, may be mentored) in this program, by its eligibility rules and the member's course role.

    Reverse mentoring lets anyone take either side: the direction is decided per skill, not by seniority.
    """
    return allowed_roles_of(program, membership.course_role)


def allowed_roles_of(program: Program, course_role: str) -> tuple[bool, bool]:
    """`allowed_roles` for a course role (`Membership.course_role`), for counting a program's people in SQL."""
    if program.model == MentoringModel.REVERSE.value:
        return True, True
    return _eligible(program.mentor_eligibility, course_role), _eligible(program.mentee_eligibility, course_role)


# --- Program setup: creation context, settings, the overview's figures -------------------------------------------


def course_resource_link_id(course_id: int) -> int | None:
    """The course's first tool placement: the launch session does not say which one a person came from."""
    return db.session.execute(
        select(ResourceLink.id).where(ResourceLink.course_id == course_id).order_by(ResourceLink.id).limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class ProgramSettings:
    """Everything the settings page edits, as plain data (keys of weights/rules as in DEFAULT_WEIGHTS/RULES)."""

    title: str
    model: MentoringModel
    mentor_eligibility: Eligibility
    mentee_eligibility: Eligibility
    default_capacity: int
    starts_on: date | None
    ends_on: date | None
    checkin_every_days: int
    agreement_text: str
    weights: dict[str, float]
    rules: dict[str, bool]
    self_match: bool
    require_reciprocity: bool
    mentor_accepts: bool = False  # two-sided self-match: the chosen mentor accepts or declines
    request_days: int = 7  # how long a mentor has to answer
    min_score: float = 0.0  # 0..1: pairs scoring below are never proposed (0: match as many as possible)
    max_hours_apart: int | None = None  # time zones further apart are never paired (None: no limit)


def settings_of(program: Program) -> ProgramSettings:
    """A program's current settings; weights and rules missing from the row take their defaults."""
    return ProgramSettings(
        title=program.title,
        model=MentoringModel(program.model),
        mentor_eligibility=Eligibility(program.mentor_eligibility),
        mentee_eligibility=Eligibility(program.mentee_eligibility),
        default_capacity=program.default_capacity,
        starts_on=program.starts_on,
        ends_on=program.ends_on,
        checkin_every_days=program.checkin_every_days,
        agreement_text=program.agreement_text or "",
        weights={key: float((program.weights or {}).get(key, value)) for key, value in DEFAULT_WEIGHTS.items()},
        rules={key: bool((program.rules or {}).get(key, value)) for key, value in DEFAULT_RULES.items()},
        self_match=program.self_match,
        require_reciprocity=program.require_reciprocity,
        mentor_accepts=program.mentor_accepts,
        request_days=program.request_days,
        min_score=program.min_score,
        max_hours_apart=program.max_hours_apart,
    )


def settings_errors(settings: ProgramSettings) -> dict[str, str]:
    """The rules a program's settings must keep, by field name (empty when they are valid)."""
    errors: dict[str, str] = {}
    if not settings.title.strip():
        errors["title"] = "Give the program a title."
    elif len(settings.title) > MAX_TITLE:
        errors["title"] = f"At most {MAX_TITLE} characters."
    low, high = CAPACITY_RANGE
    if not low <= settings.default_capacity <= high:
        errors["default_capacity"] = f"Enter a whole number from {low} to {high}."
    elif settings.model is MentoringModel.GROUP and settings.default_capacity < 2:
        errors["default_capacity"] = "Group mentoring needs a capacity of at least 2 mentees per mentor."
    if settings.starts_on and settings.ends_on and settings.ends_on <= settings.starts_on:
        errors["ends_on"] = "The end date must be after the start date."
    low, high = CHECKIN_RANGE
    if not low <= settings.checkin_every_days <= high:
        errors["checkin_every_days"] = f"Enter a whole number of days from {low} to {high}."
    if len(settings.agreement_text) > MAX_AGREEMENT:
        errors["agreement_text"] = f"At most {MAX_AGREEMENT} characters (this has {len(settings.agreement_text)})."
    if set(settings.weights) != set(DEFAULT_WEIGHTS):
        errors["weights"] = f"Give exactly these weights: {', '.join(DEFAULT_WEIGHTS)}."
    elif not all(weight_ok(w) for w in settings.weights.values()):
        errors["weights"] = f"Each weight is a number from 0 to {MAX_WEIGHT:g}."
    elif not any(w > 0 for w in settings.weights.values()):
        errors["weights"] = "At least one weight must be above 0, or matching has nothing to go by."
    low, high = REQUEST_DAYS_RANGE
    if not low <= settings.request_days <= high:
        errors["request_days"] = f"Enter a whole number of days from {low} to {high}."
    if set(settings.rules) != set(DEFAULT_RULES):
        errors["rules"] = f"Give exactly these rules: {', '.join(DEFAULT_RULES)}."
    if not 0 <= settings.min_score <= 1:  # NaN too
        errors["min_score"] = "Enter a minimum score from 0 to 100 points."
    low, high = HOURS_APART_RANGE
    if settings.max_hours_apart is not None and not low <= settings.max_hours_apart <= high:
        errors["max_hours_apart"] = (
            f"Enter a whole number of hours from {low} to {high}, or leave it empty for no limit."
        )
    return errors


def update_settings(program: Program, settings: ProgramSettings) -> None:
    """Write valid settings to the program, or raise SettingsInvalid and change nothing. The caller commits."""
    errors = settings_errors(settings)
    if errors:
        raise SettingsInvalid(errors)
    program.title = settings.title.strip()
    program.model = settings.model.value
    program.mentor_eligibility = settings.mentor_eligibility.value
    program.mentee_eligibility = settings.mentee_eligibility.value
    program.default_capacity = settings.default_capacity
    program.starts_on = settings.starts_on
    program.ends_on = settings.ends_on
    program.checkin_every_days = settings.checkin_every_days
    program.agreement_text = settings.agreement_text
    # New dicts, not in-place edits: the JSON columns only notice assignment.
    program.weights = {key: float(settings.weights[key]) for key in DEFAULT_WEIGHTS}
    program.rules = {key: bool(settings.rules[key]) for key in DEFAULT_RULES}
    program.self_match = settings.self_match
    program.require_reciprocity = settings.require_reciprocity
    program.mentor_accepts = settings.mentor_accepts
    program.request_days = settings.request_days
    program.min_score = settings.min_score
    program.max_hours_apart = settings.max_hours_apart


def weight_shares(weights: dict[str, float]) -> dict[str, float | None]:
    """Each weight as a percentage of their sum (None for all when the sum is 0)."""
    total = sum(max(w, 0.0) for w in weights.values())
    return {key: (100 * max(w, 0.0) / total if total > 0 else None) for key, w in weights.items()}


@dataclass(frozen=True)
class ProgramCounts:
    members: int  # active course members, from launches and roster syncs
    learners: int
    staff: int
    profiles_started: int
    profiles_complete: int
    technical_skills: int
    soft_skills: int
    draft_matches: int
    published_matches: int


def program_counts(program: Program, roster: RosterCounts | None = None) -> ProgramCounts:
    """The overview's figures; `roster` is the course's `course_roster_counts` when the caller already has it."""
    if roster is None:
        roster = course_roster_counts(program.course_id)
    complete = Participant.completed_at.is_not(None)
    participant_rows = db.session.execute(
        select(complete, func.count(Participant.id))
        .join(Membership, Participant.membership_id == Membership.id)
        .where(Participant.program_id == program.id, Membership.active.is_(True))
        .group_by(complete)
    ).all()
    participants: dict[bool, int] = {bool(done): count for done, count in participant_rows}
    match_rows = db.session.execute(
        select(Match.status, func.count(Match.id)).where(Match.program_id == program.id).group_by(Match.status)
    ).all()
    matches: dict[str, int] = {status: count for status, count in match_rows}
    return ProgramCounts(
        members=sum(roster.members.values()),
        learners=roster.members.get("learner", 0),
        staff=roster.members.get("instructor", 0) + roster.members.get("teaching_assistant", 0),
        profiles_started=sum(participants.values()),
        profiles_complete=participants.get(True, 0),
        technical_skills=sum(1 for s in program.skills if s.category == "technical"),
        soft_skills=sum(1 for s in program.skills if s.category == "soft"),
        draft_matches=matches.get(MatchStatus.DRAFT.value, 0),
        published_matches=matches.get(MatchStatus.PUBLISHED.value, 0),
    )


# --- Editing the skill framework ------------------------------------------------------------------------------


def skill_of(program: Program, skill_id: int) -> Skill | None:
    """One of the program's skills by id; None for another program's skill (ids are guessable)."""
    return next((skill for skill in program.skills if skill.id == skill_id), None)


def skill_by_key(program: Program, key: str) -> Skill | None:
    wanted = key.strip().lower()
    return next((skill for skill in program.skills if skill.key == wanted), None)


def add_skill(program: Program, spec: SkillSpec) -> Skill:
    """Append a skill to the framework; its key must be new. The caller commits."""
    if skill_by_key(program, spec.key) is not None:
        raise SkillFieldError("skill", "key", f"'{spec.key}' is already the key of another skill; keys are unique.")
    if len(program.skills) >= MAX_SKILLS:
        raise ProgramError(f"A framework has at most {MAX_SKILLS} skills.")
    skill = Skill(
        key=spec.key,
        name=spec.name,
        category=spec.category,
        description=spec.description,
        descriptors=list(spec.descriptors),
        position=max((s.position for s in program.skills), default=-1) + 1,
    )
    program.skills.append(skill)
    db.session.flush()
    return skill


def update_skill(skill: Skill, spec: SkillSpec) -> None:
    """Change a skill's name, category, description and rubric. Its key stays: profiles refer to it."""
    if spec.key != skill.key:
        raise SkillFieldError("skill", "key", "A skill's key cannot change; remove the skill and add a new one.")
    skill.name = spec.name
    skill.category = spec.category
    skill.description = spec.description
    skill.descriptors = list(spec.descriptors)


def remove_skill(program: Program, skill: Skill) -> None:
    """Remove a skill; the last one stays, since matching needs a framework. The caller commits.

    Profiles keep their ratings of the removed key, so adding a skill with the same key brings them back.
    """
    if len(program.skills) <= 1:
        raise ProgramError("A framework needs at least one skill: add another before removing this one.")
    program.skills.remove(skill)
    db.session.flush()


# --- Importing and exporting a whole framework -----------------------------------------------------------------


def framework_document(program: Program) -> dict[str, Any]:
    """The program's framework in the JSON import format (the format of config/skill-framework.json)."""
    return {
        "name": f"{program.title}: skill framework",
        "levels": list(LEVEL_NAMES),
        "skills": [
            {
                "key": skill.key,
                "name": skill.name,
                "category": skill.category,
                "description": skill.description,
                "descriptors": list(skill.descriptors),
            }
            for skill in program.skills
        ],
    }


def _parse_entries(entries: list[tuple[str, Any]]) -> list[SkillSpec]:
    """Validate (where, entry) pairs as a whole framework; errors read "row 4: descriptors: ..."."""
    if not entries:
        raise ProgramError("The file has no skills; a framework needs at least one.")
    if len(entries) > MAX_SKILLS:
        raise ProgramError(f"The file has {len(entries)} skills; a framework has at most {MAX_SKILLS}.")
    specs: list[SkillSpec] = []
    first_seen: dict[str, str] = {}
    for where, entry in entries:
        try:
            spec = parse_skill(entry, where=where)
        except SkillFieldError as error:
            raise ProgramError(f"{error.where}: {error.field}: {error.detail}") from error
        if spec.key in first_seen:
            raise ProgramError(f"{where}: key: '{spec.key}' repeats {first_seen[spec.key]}; keys must be unique.")
        first_seen[spec.key] = where
        specs.append(spec)
    return specs


def parse_framework_json(text: str) -> list[SkillSpec]:
    """A framework in the format of config/skill-framework.json: {"skills": [{key, name, ...}, ...]}."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProgramError(f"Not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}.") from error
    if not isinstance(data, dict) or not isinstance(data.get("skills"), list):
        raise ProgramError('The JSON must be an object with a "skills" list, like the exported file.')
    return _parse_entries([(f"skills[{index}]", entry) for index, entry in enumerate(data["skills"])])


def parse_framework_csv(text: str) -> list[SkillSpec]:
    """A framework as CSV with a header row: key,name,category,description,level1..level5 (rows count from 1
    at the header, as a spreadsheet shows them)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except StopIteration:
        raise ProgramError("The CSV file is empty; it needs a header row and one row per skill.") from None
    except csv.Error as error:
        raise ProgramError(f"row 1: not readable as CSV ({error}).") from error
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise ProgramError(f"row 1 (header): missing column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}.")
    index = {column: header.index(column) for column in CSV_COLUMNS}
    entries: list[tuple[str, Any]] = []
    row_number = 1
    try:
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, e.g. at the end of a spreadsheet export
            if len(cells) > len(header):
                raise ProgramError(f"row {row_number}: has {len(cells)} cells but the header names {len(header)}.")
            padded = [*cells, *[""] * (len(header) - len(cells))]
            entry: dict[str, Any] = {column: padded[index[column]] for column in CSV_COLUMNS[:4]}
            entry["descriptors"] = [padded[index[f"level{n}"]] for n in range(1, LEVELS + 1)]
            entries.append((f"row {row_number}", entry))
    except csv.Error as error:
        raise ProgramError(f"row {row_number + 1}: not readable as CSV ({error}).") from error
    return _parse_entries(entries)


def parse_framework_upload(filename: str, content: bytes) -> list[SkillSpec]:
    """Parse an uploaded framework, CSV or JSON by its extension (or, without one, by its first character)."""
    try:
        text = content.decode("utf-8-sig")  # spreadsheet programs often start UTF-8 CSV with a BOM
    except UnicodeDecodeError:
        raise ProgramError("The file is not UTF-8 text; save it as UTF-8 CSV or JSON.") from None
    if NUL in text:
        raise ProgramError("The file contains a NUL character, which no skill framework has; save it as UTF-8 text.")
    name = filename.lower()
    if name.endswith(".json") or (not name.endswith(".csv") and text.lstrip().startswith(("{", "["))):
        return parse_framework_json(text)
    if name.endswith(".csv") or "," in text:
        return parse_framework_csv(text)
    raise ProgramError("Upload a .csv or .json file.")


def import_framework(program: Program, filename: str, content: bytes) -> int:
    """Replace the framework with an uploaded one, all or nothing (nothing changes unless every skill is valid).

    Returns how many skills it now has. The caller commits."""
    specs = parse_framework_upload(filename, content)
    replace_framework(program, specs)
    db.session.flush()
    return len(specs)
