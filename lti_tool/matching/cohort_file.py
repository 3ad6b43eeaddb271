"""The cohort file format of `mentor-lti match` (config/matching-input.schema.json and
config/matching-output.schema.json): reading with errors that name the field, writing the result."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lti_tool.matching.engine import (
    CRITERIA,
    Cohort,
    MatchingInputError,
    MatchResult,
    MentoringModel,
    Pair,
    Person,
    Problem,
    Program,
    Rules,
    Skill,
    Weights,
    validate,
)
from lti_tool.matching.engine.errors import at_key, quoted
from lti_tool.profiles.services import (
    REFERENCE_MONDAY,
    UTC_HOUR_LABELS,
    in_zone,
    is_valid_timezone,
    utc_offset_minutes,
    valid_timezones,
)

MAX_PROBLEMS = 20  # a file with a systematic mistake would otherwise print one line per person
# Integers written with more digits are read as floats: no bound of the format needs them, and int() of a
# very long one is slow (Python refuses past 4300 digits). As floats they fail the checks of their field.
MAX_DIGITS = 30
EXACT_FLOAT = 2**53  # floats beyond this are not exact whole numbers: too large for any whole-number field
TOP_LEVEL = {
    "$schema",
    "model",
    "seed",
    "skills",
    "weights",
    "rules",
    "default_capacity",
    "reference_date",
    "mentors",
    "mentees",
    "participants",
}
PERSON_FIELDS = {
    "id",
    "name",
    "skills",
    "goals",
    "languages",
    "availability",
    "department",
    "capacity",
    "preferences",
    "timezone",
}
RULE_SWITCHES = (
    "same_language",
    "shared_slot",
    "different_department",
    "never_repair_declined",
    "require_reciprocity",
    "maximize_matched",
)
RULE_NUMBERS = ("min_score", "max_hours_apart")
RULE_FIELDS = {*RULE_SWITCHES, *RULE_NUMBERS, "declined_pairs", "fixed_pairs"}


@dataclass(frozen=True)
class CohortFile:
    program: Program
    cohort: Cohort
    seed: int | None  # the file's seed, if it gives one
    timezones: Mapping[str, str]  # person id -> the IANA time zone the file gives them


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Reader:
    """Walks the parsed JSON, collecting a Problem (with its path) for everything out of place."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def fields(self, value: object, path: str, allowed: set[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object, got {_kind(value)}")
            return None
        for key in value:
            if len(self.problems) > MAX_PROBLEMS:
                break
            if key not in allowed:
                self.fail(at_key(path, key), f"unknown field{_closest(key, allowed)}")
        return value

    def string(self, value: object, path: str, *, required: bool = True) -> str | None:
        if isinstance(value, str) and (value or not required):
            return value
        self.fail(
            path, "expected a non-empty string" if isinstance(value, str) else f"expected a string, got {_kind(value)}"
        )
        return None

    def strings(self, value: object, path: str) -> list[str]:
        if not isinstance(value, list):
            self.fail(path, f"expected a list of strings, got {_kind(value)}")
            return []
        found = [self.string(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return [item for item in found if item is not None]

    def integer(self, value: object, path: str) -> int | None:
        """A whole number of at least 0 (the engine checks the upper bounds)."""
        if isinstance(value, float) and (math.isinf(value) or (value.is_integer() and abs(value) > EXACT_FLOAT)):
            self.fail(path, "the number is too large")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.fail(path, f"expected a whole number, got {_got(value)}")
                return None
        if value < 0:
            self.fail(path, f"{value} is below 0")
            return None
        return value

    def number(self, value: object, path: str) -> float | None:
        if isinstance(value, float) and math.isinf(value):
            self.fail(path, "the number is too large")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            self.fail(path, f"expected a number, got {_got(value)}")
            return None
        return float(value)

    def boolean(self, value: object, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_kind(value)}")
            return None
        return value


def _shown(value: object) -> str:
    """A value of the file as a message quotes it: as JSON, with long strings cut and lists and objects elided."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, list | dict):
        return "[...]" if isinstance(value, list) else "{...}"
    return json.dumps(value)  # a number, true, false or null (NaN and Infinity as Python's JSON reads them)


def _got(value: object) -> str:
    """How a message names a value of the wrong kind: a float as written (1.5, NaN), anything else by its kind."""
    return _shown(value) if isinstance(value, float) else _kind(value)


def _closest(word: str, choices: set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _skills(reader: _Reader, value: object) -> tuple[Skill, ...]:
    if not isinstance(value, list):
        reader.fail("skills", f"expected a list of skill keys or {{key, name}} objects, got {_kind(value)}")
        return ()
    skills: list[Skill] = []
    for index, item in enumerate(value):
        path = f"skills[{index}]"
        if isinstance(item, str):
            if reader.string(item, path) is not None:
                skills.append(Skill(item))
            continue
        entry = reader.fields(item, path, {"key", "name"})
        if entry is None:
            continue
        key = reader.string(entry.get("key"), f"{path}.key")
        name = reader.string(entry.get("name", ""), f"{path}.name", required=False)
        if key is not None:
            skills.append(Skill(key, name or ""))
    return tuple(skills)


def _weights(reader: _Reader, value: object) -> Weights:
    entry = reader.fields(value, "weights", set(CRITERIA))
    if entry is None:
        return Weights()
    numbers = {name: reader.number(entry[name], f"weights.{name}") for name in CRITERIA if name in entry}
    return Weights.from_mapping({name: number for name, number in numbers.items() if number is not None})


def _pairs(reader: _Reader, value: object, path: str) -> tuple[Pair, ...]:
    if not isinstance(value, list):
        reader.fail(path, f"expected a list of {{mentor, mentee}} objects, got {_kind(value)}")
        return ()
    pairs: list[Pair] = []
    for index, item in enumerate(value):
        entry = reader.fields(item, f"{path}[{index}]", {"mentor", "mentee"})
        if entry is None:
            continue
        mentor = reader.string(entry.get("mentor"), f"{path}[{index}].mentor")
        mentee = reader.string(entry.get("mentee"), f"{path}[{index}].mentee")
        if mentor is not None and mentee is not None:
            pairs.append(Pair(mentor=mentor, mentee=mentee))
    return tuple(pairs)


def _rules(reader: _Reader, value: object) -> Rules:
    entry = reader.fields(value, "rules", RULE_FIELDS)
    if entry is None:
        return Rules()
    settings: dict[str, Any] = {}
    for name in RULE_SWITCHES:
        if name in entry:
            switch = reader.boolean(entry[name], f"rules.{name}")
            if switch is not None:
                settings[name] = switch
    for name in RULE_NUMBERS:
        if name in entry:
            number = reader.number(entry[name], f"rules.{name}")
            if number is not None:
                settings[name] = number
    for name in ("declined_pairs", "fixed_pairs"):
        if name in entry:
            settings[name] = _pairs(reader, entry[name], f"rules.{name}")
    return Rules(**settings)


def _reference_date(reader: _Reader, value: object) -> date:
    text = reader.string(value, "reference_date")
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        if text is not None:
            reader.fail("reference_date", f"{_shown(text)} is not a date written YYYY-MM-DD")
        return REFERENCE_MONDAY


def _utc_offset(reader: _Reader, value: object, path: str, on: date) -> int | None:
    """A person's IANA time zone as its offset from UTC on the reference date."""
    zone = reader.string(value, path)
    if zone is None:
        return None
    if not is_valid_timezone(zone):
        close = difflib.get_close_matches(zone, sorted(valid_timezones()), n=1)
        hint = f" (did you mean {quoted(close[0])}?)" if close else ', e.g. "Europe/Berlin" or "UTC"'
        reader.fail(path, f"{quoted(zone)} is not an IANA time zone name{hint}")
        return None
    return utc_offset_minutes(zone, on)


def _person(reader: _Reader, value: object, path: str, on: date, zones: dict[str, str]) -> Person | None:
    entry = reader.fields(value, path, PERSON_FIELDS)
    if entry is None:
        return None
    person_id = reader.string(entry.get("id"), f"{path}.id")
    skills: dict[str, int] = {}
    raw_skills = entry.get("skills", {})
    if isinstance(raw_skills, dict):
        for key, level in raw_skills.items():
            if isinstance(level, bool) or not isinstance(level, int):
                reader.fail(at_key(f"{path}.skills", key), f"level {_shown(level)} is not a whole number from 0 to 5")
            else:
                skills[key] = level
    else:
        reader.fail(f"{path}.skills", f"expected an object of skill: level, got {_kind(raw_skills)}")
    department = entry.get("department")
    capacity = entry.get("capacity")
    name = entry.get("name")
    timezone = entry.get("timezone")
    utc_offset = None if timezone is None else _utc_offset(reader, timezone, f"{path}.timezone", on)
    if person_id and utc_offset is not None and isinstance(timezone, str):
        zones[person_id] = timezone
    return Person(
        id=person_id or "",
        skills=skills,
        goals=tuple(reader.strings(entry.get("goals", []), f"{path}.goals")),
        languages=frozenset(reader.strings(entry.get("languages", []), f"{path}.languages")),
        availability=frozenset(reader.strings(entry.get("availability", []), f"{path}.availability")),
        department=None if department is None else reader.string(department, f"{path}.department"),
        capacity=None if capacity is None else reader.integer(capacity, f"{path}.capacity"),
        preferences=frozenset(reader.strings(entry.get("preferences", []), f"{path}.preferences")),
        name=None if name is None else reader.string(name, f"{path}.name"),
        utc_offset=utc_offset,
    )


def _people(
    reader: _Reader, document: Mapping[str, Any], key: str, on: date, zones: dict[str, str]
) -> tuple[Person, ...]:
    value = document.get(key, [])
    if not isinstance(value, list):
        reader.fail(key, f"expected a list of people, got {_kind(value)}")
        return ()
    people: list[Person] = []
    for index, item in enumerate(value):
        found = _person(reader, item, f"{key}[{index}]", on, zones)
        if found is not None:
            people.append(found)
        if len(reader.problems) > MAX_PROBLEMS:
            break
    return tuple(people)


def read_document(document: object, *, model: MentoringModel | None = None) -> CohortFile:
    """A parsed cohort file as the engine's Program and Cohort. `model` overrides the file's."""
    reader = _Reader()
    top = reader.fields(document, "", TOP_LEVEL)
    if top is None:
        raise MatchingInputError(reader.problems)
    if model is None:
        raw_model = top.get("model", MentoringModel.ONE_ON_ONE.value)
        try:
            model = MentoringModel(raw_model)
        except ValueError:
            names = ", ".join(m.value for m in MentoringModel)
            reader.fail("model", f"{_shown(raw_model)} is not one of {names}")
            model = MentoringModel.ONE_ON_ONE
    seed = reader.integer(top["seed"], "seed") if "seed" in top else None
    default_capacity = (
        reader.integer(top["default_capacity"], "default_capacity") if "default_capacity" in top else None
    )
    program = Program(
        skills=_skills(reader, top.get("skills")) if "skills" in top else (),
        model=model,
        weights=_weights(reader, top["weights"]) if "weights" in top else Weights(),
        rules=_rules(reader, top["rules"]) if "rules" in top else Rules(),
        default_capacity=default_capacity,
        # Slots written day-HH are hours in UTC: sentences name them "Monday 17:00 UTC", and result_document
        # says them in each person's own zone.
        labels=UTC_HOUR_LABELS,
    )
    if "skills" not in top:
        reader.fail("skills", "the file must list the skills of the framework")
    if model is MentoringModel.PEER:
        for side in ("mentors", "mentees"):
            if side in top:
                reader.fail(side, "the peer model takes one list of participants, not mentors and mentees")
    elif "participants" in top:
        reader.fail("participants", f"the {model.value} model takes mentors and mentees, not participants")
    # Time zones are compared by their offsets on this date (summer time or not); the profiles' reference week.
    on = _reference_date(reader, top["reference_date"]) if "reference_date" in top else REFERENCE_MONDAY
    zones: dict[str, str] = {}
    cohort = Cohort(
        mentors=_people(reader, top, "mentors", on, zones),
        mentees=_people(reader, top, "mentees", on, zones),
        participants=_people(reader, top, "participants", on, zones),
    )
    problems = list(reader.problems)
    try:
        validate(program, cohort, seed=seed or 0)
    except MatchingInputError as error:
        # Report the rule breaks too, except where the field already failed to read.
        seen = {problem.path for problem in problems}
        problems += [problem for problem in error.problems if problem.path not in seen]
    if problems:
        raise MatchingInputError(problems[:MAX_PROBLEMS])
    return CohortFile(program=program, cohort=cohort, seed=seed, timezones=zones)


def read_cohort_file(path: Path, *, model: MentoringModel | None = None) -> CohortFile:
    """Read and check a cohort file; MatchingInputError names the file's faults (bad JSON included)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise MatchingInputError([Problem("", f"{path.name} is not UTF-8 text ({error.reason})")]) from error
    except OSError as error:
        raise MatchingInputError([Problem("", f"Could not read {path.name}: {error.strerror}")]) from error
    try:
        document = json.loads(text, parse_int=_whole_number)
    except json.JSONDecodeError as error:
        raise MatchingInputError(
            [Problem("", f"{path.name} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})")]
        ) from error
    except RecursionError as error:
        raise MatchingInputError([Problem("", f"{path.name} nests lists or objects too deeply")]) from error
    return read_document(document, model=model)


def _whole_number(digits: str) -> int | float:
    return int(digits) if len(digits) <= MAX_DIGITS else float(digits)


def result_document(result: MatchResult, source: CohortFile) -> dict[str, Any]:
    """The result of matching `source` as the output file format (config/matching-output.schema.json). Hours
    are said in the time zone of the person a sentence speaks to (the mentee), followed by the mentor's where
    their clock shows another time; without a time zone, in UTC."""
    zones = source.timezones
    mentors = {person.id: person for person in source.cohort.sides(result.model)[0]}
    matches: list[dict[str, Any]] = []
    for match in result.matches:
        beside = (zones.get(match.mentor), mentors[match.mentor].label)
        entry: dict[str, Any] = {
            "mentor": match.mentor,
            "mentee": match.mentee,
            "score": match.score,
            "explanation": dict(match.explanation.contributions),
            "factors": [
                in_zone(factor, zones.get(match.mentee), beside=beside) for factor in match.explanation.factors
            ],
            "teaches": dict(match.teaches),
        }
        if match.fixed:
            entry["fixed"] = True
        if match.explanation.broken_rules:
            entry["broken_rules"] = list(match.explanation.broken_rules)
        if match.slot is not None:
            entry["slot"] = match.slot
        if match.reciprocal:
            entry["reciprocal"] = True
        matches.append(entry)
    return {
        "model": result.model.value,
        "seed": result.seed,
        "objective": result.objective,
        "upper_bound": result.proof.upper_bound,
        "gap": result.proof.gap,
        "summary": dict(result.stats),
        "matches": matches,
        "unmatched": [
            {
                "mentee": unmatched.mentee,
                "reason": unmatched.reason.value,
                "message": in_zone(unmatched.message, zones.get(unmatched.mentee)),
            }
            for unmatched in result.unmatched
        ],
    }
