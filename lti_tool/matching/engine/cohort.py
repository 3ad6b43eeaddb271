"""What the engine matches: people, a program's weights and rules, and the checks they must pass."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain
from operator import attrgetter

from lti_tool.matching.engine.errors import MatchingInputError, Problem, at_key, quoted

MAX_LEVEL = 5
# The bounds of the engine's input, checked by validate() and shared by the program settings (README, "The
# matching engine"): every figure stays finite and every array the engine builds stays small.
MAX_CAPACITY = 50  # mentees (or peers) per mentor
MAX_WEIGHT = 1.0  # each weight is from 0 to this; only their shares count
MAX_SKILLS = 200  # in a framework: every skill adds 5 bits to each person's bitsets
MAX_SLOTS = 1000  # distinct availability slots in a cohort: each is a column of every person's calendar
MAX_LANGUAGES = 200  # distinct languages in a cohort, likewise
MAX_PREFERENCES = 100  # ids one person asks to be matched with: the engine keeps each asked pair
MAX_TEXT = 500  # characters in an id, name, skill, language, slot or department
MAX_SEED = 2**31 - 1  # CP-SAT takes a 32-bit seed
CRITERIA = ("goal_gain", "complementarity", "availability", "diversity", "preferences", "waking_hours")
# Three shared weekly slots leave room to reschedule; more adds little, so availability saturates there.
FULL_AVAILABILITY_SLOTS = 3
# Time zones: offsets from UTC in minutes, whole quarter hours (every zone's offset is), from UTC-12 to UTC+14;
# two people are at most 12 hours apart around the clock. Waking hours are 08:00-22:00 local time.
MIN_UTC_OFFSET = -12 * 60
MAX_UTC_OFFSET = 14 * 60
OFFSET_STEP = 15
MAX_HOURS_APART = 12
WAKING_MINUTES = 14 * 60
DAY_MINUTES = 24 * 60


class MentoringModel(StrEnum):
    ONE_ON_ONE = "one-on-one"  # each mentor takes up to `capacity` separate mentees (1 unless given)
    GROUP = "group"  # each mentor leads one group of up to `capacity` mentees meeting in one common slot
    PEER = "peer"  # one pool of participants who mentor each other
    REVERSE = "reverse"  # two cohorts; who teaches whom is decided per skill by level, not by side


@dataclass(frozen=True)
class Skill:
    key: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.key


@dataclass(frozen=True)
class Person:
    """A mentor, mentee or peer participant. Skills missing from `skills` are at level 0."""

    id: str
    skills: Mapping[str, int] = field(default_factory=dict)
    goals: tuple[str, ...] = ()  # skills this person wants to grow (mentees, participants; mentors in reverse)
    languages: frozenset[str] = frozenset()  # empty: not stated, so no language rule can exclude them
    availability: frozenset[str] = frozenset()  # weekly slots, e.g. "mon-18"
    department: str | None = None
    capacity: int | None = None  # as a mentor (or number of peers); None: the program's default
    preferences: frozenset[str] = frozenset()  # ids on the other side this person asked to be matched with
    name: str | None = None
    # Minutes east of UTC at the program's reference time (Berlin in winter: 60); None: not stated, so no time
    # zone rule can exclude them and they share no waking hours with anyone.
    utc_offset: int | None = None

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Weights:
    """Relative importance of each criterion; only the shares count (they are divided by their sum)."""

    goal_gain: float = 0.45
    complementarity: float = 0.15
    availability: float = 0.20
    diversity: float = 0.10
    preferences: float = 0.10
    waking_hours: float = 0.0  # off unless a program spans time zones: existing programs keep their scores

    def shares(self) -> dict[str, float]:
        raw = {name: float(getattr(self, name)) for name in CRITERIA}
        total = sum(raw.values())
        return {name: value / total for name, value in raw.items()}

    @classmethod
    def from_mapping(cls, weights: Mapping[str, float]) -> Weights:
        """Program weights as stored (missing criteria take their defaults, like the program settings)."""
        return cls(**{name: float(value) for name, value in weights.items() if name in CRITERIA})


@dataclass(frozen=True)
class Pair:
    mentor: str
    mentee: str


@dataclass(frozen=True)
class Rules:
    """Hard rules: a pair that breaks one is never proposed (fixed pairs are kept and flagged instead)."""

    same_language: bool = True
    shared_slot: bool = True  # at least one weekly slot both are free in
    different_department: bool = False
    never_repair_declined: bool = True
    require_reciprocity: bool = False  # peer: both must be able to teach the other one of their goals
    declined_pairs: tuple[Pair, ...] = ()  # pairs that declined each other before
    # Locked pairs the instructor decided and published matches (late joiners): kept, consume capacity.
    fixed_pairs: tuple[Pair, ...] = ()
    min_score: float = 0.0  # pairs scoring below this are not proposed
    maximize_matched: bool = True  # match as many mentees as possible first, then maximise the total score
    max_hours_apart: float | None = None  # pairs whose time zones are further apart are not proposed

    @classmethod
    def from_mapping(cls, rules: Mapping[str, object]) -> Rules:
        """Program rules as stored: the boolean switches of the program settings (others keep their defaults)."""
        switches = ("same_language", "shared_slot", "different_department", "never_repair_declined")
        return cls(**{name: bool(rules[name]) for name in switches if name in rules})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Program:
    skills: tuple[Skill, ...]
    model: MentoringModel = MentoringModel.ONE_ON_ONE
    weights: Weights = Weights()
    rules: Rules = Rules()
    default_capacity: int | None = None  # None: 1, or 4 for group mentoring
    # How explanations name languages and slots (e.g. "en" -> "English"); values without a label print as given.
    labels: Mapping[str, str] = field(default_factory=dict)
    # What availability slots are, in the explanations' words: (one, several).
    slot_unit: tuple[str, str] = ("free weekly slot", "free weekly slots")

    def label(self, value: str) -> str:
        return self.labels.get(value, value)

    def capacity_of(self, person: Person) -> int:
        """How many mentees (or peers) `person` takes: their own figure, else the program's default."""
        return person.capacity if person.capacity is not None else self.capacity_default

    @property
    def capacity_default(self) -> int:
        if self.default_capacity is not None:
            return self.default_capacity
        return 4 if self.model is MentoringModel.GROUP else 1


@dataclass(frozen=True)
class Cohort:
    """Mentors and mentees, or (peer model) one list of participants who take both roles."""

    mentors: tuple[Person, ...] = ()
    mentees: tuple[Person, ...] = ()
    participants: tuple[Person, ...] = ()

    def sides(self, model: MentoringModel) -> tuple[tuple[Person, ...], tuple[Person, ...]]:
        """(mentors, mentees) as the engine sees them: in the peer model everyone is on both sides."""
        if model is MentoringModel.PEER:
            return self.participants, self.participants
        return self.mentors, self.mentees


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {quoted(close[0])}?)" if close else ""


def text_problem(value: str) -> str | None:
    """Why `value` cannot be an id, name or label (None when it can): short, valid Unicode, no NUL."""
    if len(value) > MAX_TEXT:
        return f"text of at most {MAX_TEXT} characters (this has {len(value):,})"
    if "\x00" in value:
        return "a NUL character is not allowed"
    if not value.isascii() and not _encodes(value):
        return f"{quoted(value)} is not valid Unicode text (it has a lone surrogate)"
    return None


def _encodes(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _texts_clean(texts: tuple[str, ...]) -> bool:
    """Whether every text is fine, in a few C-level passes: the path of the common, valid record."""
    joined = "".join(texts)
    return max(map(len, texts)) <= MAX_TEXT and "\x00" not in joined and (joined.isascii() or _encodes(joined))


def capacity_problem(capacity: int) -> str | None:
    """Why `capacity` is not a mentor's number of places (None when it is)."""
    if capacity < 0:
        return f"{capacity} is below 0"
    if capacity > MAX_CAPACITY:
        return f"{capacity} is above {MAX_CAPACITY}"
    return None


def offset_problem(minutes: int) -> str | None:
    """Why `minutes` is not an offset from UTC (None when it is)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        return f"{minutes!r} is not a whole number of minutes"
    if not MIN_UTC_OFFSET <= minutes <= MAX_UTC_OFFSET:
        return f"{minutes} minutes is not an offset from UTC-12:00 to UTC+14:00"
    if minutes % OFFSET_STEP:
        return f"{minutes} minutes is not a whole number of quarter hours"
    return None


def offset_label(minutes: int) -> str:
    """An offset from UTC as people write it: "UTC+05:30", "UTC-08:00", "UTC"."""
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours:02d}:{rest:02d}"


def weight_ok(value: float) -> bool:
    """A weight is a finite number from 0 to MAX_WEIGHT (NaN is not)."""
    return 0 <= value <= MAX_WEIGHT


def validate(program: Program, cohort: Cohort, *, seed: int = 0) -> None:
    """Raise MatchingInputError naming every field that breaks the engine's rules or bounds (the MAX_ constants);
    return when all is well."""
    problems: list[Problem] = []
    if not 0 <= seed <= MAX_SEED:
        problems.append(Problem("seed", f"{seed} is not a whole number from 0 to {MAX_SEED}"))
    skill_keys = [skill.key for skill in program.skills]
    known = set(skill_keys)
    if not skill_keys:
        problems.append(Problem("skills", "list at least one skill"))
    if len(skill_keys) > MAX_SKILLS:
        problems.append(Problem("skills", f"at most {MAX_SKILLS} skills (this has {len(skill_keys):,})"))
    for index, skill in enumerate(program.skills):
        for where, text in ((f"skills[{index}]", skill.key), (f"skills[{index}].name", skill.name)):
            message = text_problem(text)
            if message:
                problems.append(Problem(where, message))
    for key, count in Counter(skill_keys).items():
        if count > 1:
            problems.append(Problem("skills", f"skill {quoted(key)} is listed {count} times"))
    shares = [getattr(program.weights, name) for name in CRITERIA]
    for name, value in zip(CRITERIA, shares, strict=True):
        if not weight_ok(value):
            problems.append(Problem(f"weights.{name}", f"weight {value:g} is not a number from 0 to {MAX_WEIGHT:g}"))
    if not sum(value for value in shares if value > 0) > 0:
        problems.append(Problem("weights", "at least one weight must be above 0, or matching has nothing to go by"))
    if not 0 <= program.rules.min_score <= 1:
        problems.append(Problem("rules.min_score", f"{program.rules.min_score} is not between 0 and 1"))
    limit = program.rules.max_hours_apart
    if limit is not None and not 0 <= limit <= MAX_HOURS_APART:
        problems.append(
            Problem("rules.max_hours_apart", f"{limit:g} is not a number of hours from 0 to {MAX_HOURS_APART}")
        )
    if program.default_capacity is not None and (message := capacity_problem(program.default_capacity)):
        problems.append(Problem("default_capacity", message))

    peer = program.model is MentoringModel.PEER
    if peer and (cohort.mentors or cohort.mentees):
        problems.append(
            Problem("participants", "the peer model takes one list of participants, not mentors and mentees")
        )
    if not peer and cohort.participants:
        problems.append(
            Problem("participants", f"the {program.model.value} model takes mentors and mentees, not participants")
        )
    lists = {"participants": cohort.participants} if peer else {"mentors": cohort.mentors, "mentees": cohort.mentees}
    ids: dict[str, set[str]] = {}
    for list_name, people in lists.items():
        seen: set[str] = set()
        for index, person in enumerate(people):
            where = f"{list_name}[{index}]"
            problems.extend(_person_problems(person, where, known, skill_keys))
            if person.id in seen:
                problems.append(Problem(f"{where}.id", f"id {quoted(person.id)} is used twice in {list_name}"))
            seen.add(person.id)
        ids[list_name] = seen
    problems.extend(_vocabulary_problems(lists))
    mentor_ids = ids["participants"] if peer else ids["mentors"]
    mentee_ids = ids["participants"] if peer else ids["mentees"]
    if not peer:
        for both in sorted(mentor_ids & mentee_ids):
            problems.append(Problem("mentees", f"{quoted(both)} is both a mentor and a mentee: give them two ids"))
    problems.extend(_pair_problems(program, cohort, mentor_ids, mentee_ids))
    if problems:
        raise MatchingInputError(problems)


def _vocabulary_problems(lists: Mapping[str, tuple[Person, ...]]) -> list[Problem]:
    """Distinct slots and languages in the whole cohort: each one is a column of every person's arrays."""
    problems: list[Problem] = []
    for attribute, limit, what in (
        ("availability", MAX_SLOTS, "availability slots"),
        ("languages", MAX_LANGUAGES, "languages"),
    ):
        sets = [map(attrgetter(attribute), people) for people in lists.values()]
        if len(frozenset().union(*chain.from_iterable(sets))) <= limit:
            continue
        found: set[str] = set()  # too many: find the first person past the limit, to name the field
        for list_name, people in lists.items():
            for index, person in enumerate(people):
                found |= getattr(person, attribute)
                if len(found) > limit:
                    where = f"{list_name}[{index}].{attribute}"
                    problems.append(Problem(where, f"the cohort names more than {limit} distinct {what}"))
                    break
            if len(found) > limit:
                break
    return problems


def _person_problems(person: Person, where: str, known: set[str], skill_keys: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    if not person.id:
        problems.append(Problem(f"{where}.id", "an id is required"))
    texts = (person.id, person.name or "", person.department or "")
    if not _texts_clean((*texts, *person.languages, *person.availability, *person.preferences)):
        problems.extend(_text_problems(person, where))
    levels = person.skills.values()
    # Fast path for the common, valid record: cohorts of 100k people are validated in well under a second.
    clean_skills = (
        person.skills.keys() <= known
        and all(type(level) is int for level in levels)
        and (not levels or (min(levels) >= 0 and max(levels) <= MAX_LEVEL))
    )
    for key, level in () if clean_skills else person.skills.items():
        path = at_key(f"{where}.skills", key)
        if key not in known:
            problems.append(Problem(path, f"unknown skill{_did_you_mean(key, skill_keys)}"))
        elif isinstance(level, bool) or not isinstance(level, int):
            problems.append(Problem(path, f"level {level!r} is not a whole number from 0 to 5"))
        elif level > MAX_LEVEL:
            problems.append(Problem(path, f"level {level} is above {MAX_LEVEL}"))
        elif level < 0:
            problems.append(Problem(path, f"level {level} is below 0"))
    for index, goal in enumerate(() if known.issuperset(person.goals) else person.goals):
        if goal not in known:
            problems.append(
                Problem(f"{where}.goals[{index}]", f"unknown skill {quoted(goal)}{_did_you_mean(goal, known)}")
            )
    if len(set(person.goals)) != len(person.goals):
        problems.append(Problem(f"{where}.goals", "a goal is listed twice"))
    if person.capacity is not None and (message := capacity_problem(person.capacity)):
        problems.append(Problem(f"{where}.capacity", message))
    if person.utc_offset is not None and (message := offset_problem(person.utc_offset)):
        problems.append(Problem(f"{where}.utc_offset", message))
    if len(person.preferences) > MAX_PREFERENCES:
        problems.append(
            Problem(f"{where}.preferences", f"at most {MAX_PREFERENCES} ids (this has {len(person.preferences):,})")
        )
    return problems


def _text_problems(person: Person, where: str) -> list[Problem]:
    """Each of the person's texts that is not fine, by field (the sets' items have no position to name)."""
    fields = [("id", person.id), ("name", person.name), ("department", person.department)]
    for attribute in ("languages", "availability", "preferences"):
        fields.extend((attribute, text) for text in sorted(getattr(person, attribute)))
    problems: list[Problem] = []
    for name, text in fields:
        message = None if text is None else text_problem(text)
        if message:
            problems.append(Problem(f"{where}.{name}", message))
    return problems


def person_problems(person: Person, where: str, program: Program) -> list[Problem]:
    """What is wrong with one person's record (`where` names it in messages, e.g. "mentor")."""
    keys = [skill.key for skill in program.skills]
    return _person_problems(person, where, set(keys), keys)


def _pair_problems(program: Program, cohort: Cohort, mentor_ids: set[str], mentee_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    rules = program.rules
    for name, pairs in (("declined_pairs", rules.declined_pairs), ("fixed_pairs", rules.fixed_pairs)):
        for index, pair in enumerate(pairs):
            if pair.mentor not in mentor_ids:
                problems.append(Problem(f"rules.{name}[{index}].mentor", f"no mentor has id {quoted(pair.mentor)}"))
            if pair.mentee not in mentee_ids:
                problems.append(Problem(f"rules.{name}[{index}].mentee", f"no mentee has id {quoted(pair.mentee)}"))
            if pair.mentor == pair.mentee:
                problems.append(Problem(f"rules.{name}[{index}]", "a person cannot be paired with themself"))
    mentors, _ = cohort.sides(program.model)
    capacity = {person.id: program.capacity_of(person) for person in mentors}
    taken: Counter[str] = Counter()
    mentee_seen: dict[str, int] = {}
    declined = set(rules.declined_pairs)
    for index, pair in enumerate(rules.fixed_pairs):
        where = f"rules.fixed_pairs[{index}]"
        if pair in declined and rules.never_repair_declined:
            problems.append(Problem(where, f"{quoted(pair.mentor)} and {quoted(pair.mentee)} are also a declined pair"))
        if pair.mentee in mentee_seen:
            first = mentee_seen[pair.mentee]
            problems.append(Problem(where, f"mentee {quoted(pair.mentee)} is already fixed in fixed_pairs[{first}]"))
        mentee_seen.setdefault(pair.mentee, index)
        taken[pair.mentor] += 1
    for mentor, count in taken.items():
        if mentor in capacity and count > capacity[mentor]:
            problems.append(
                Problem(
                    "rules.fixed_pairs",
                    f"mentor {quoted(mentor)} has {count} fixed mentees but capacity {capacity[mentor]}",
                )
            )
    return problems
