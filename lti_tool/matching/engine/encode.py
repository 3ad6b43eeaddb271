"""A validated cohort as numpy arrays: levels, goal masks and bitsets, in a seeded internal order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from lti_tool.matching.engine.cohort import CRITERIA, MAX_LEVEL, Cohort, MentoringModel, Person, Program

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
WordArray = npt.NDArray[np.uint64]


def _index(names: Iterable[str]) -> dict[str, int]:
    return {name: position for position, name in enumerate(sorted(set(names)))}


def pack_bits(dense: BoolArray) -> WordArray:
    """Rows of booleans as rows of uint64 words, so set intersections are an AND and a popcount."""
    rows, width = dense.shape
    words = max(1, -(-width // 64))
    padded = np.zeros((rows, words * 64), dtype=np.bool_)
    padded[:, :width] = dense
    return np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64, copy=False)


def popcount(words: WordArray) -> IntArray:
    """Set bits per row of a (rows, words) bitset."""
    counts: IntArray = np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return counts


def unique_keys(keys: IntArray) -> IntArray:
    """Sorted distinct values (np.unique hashes first, which is several times slower on millions of keys)."""
    ordered = np.sort(keys)
    if len(ordered) < 2:
        return ordered
    distinct: IntArray = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    return distinct


def contains(sorted_keys: IntArray, keys: IntArray) -> BoolArray:
    """Whether each of `keys` is in `sorted_keys` (sorted, distinct)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=np.bool_)
    where = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found: BoolArray = sorted_keys[where] == keys
    return found


def any_per_row(matrix: npt.NDArray[np.bool_] | WordArray) -> BoolArray:
    """Whether each row has a true (non-zero) entry."""
    return np.asarray(matrix.any(axis=1), dtype=np.bool_)


@dataclass(frozen=True)
class Vocabulary:
    skills: tuple[str, ...]  # program order
    skill_labels: tuple[str, ...]
    slots: tuple[str, ...]  # sorted: bit i of an availability bitset is slots[i]
    languages: tuple[str, ...]
    departments: tuple[str, ...]
    offsets: tuple[int, ...]  # distinct UTC offsets (minutes), sorted


@dataclass(frozen=True)
class Side:
    """One side of the bipartite problem (mentors or mentees), people in the seeded internal order."""

    people: tuple[Person, ...]
    input_position: IntArray  # internal index -> position in the input list
    index_of: dict[str, int]  # id -> internal index
    levels: npt.NDArray[np.int8]  # (n, skills)
    goals: BoolArray  # (n, skills)
    # Bitsets over (threshold t = 1..5, skill): at_least has bit (t, s) set when the level in s is >= t, so
    # max(0, a - b) summed over skills is popcount(at_least_a & below_b), 5 x 30 bits in 3 words.
    at_least: WordArray  # (n, words)
    below: WordArray  # (n, words): the complement within the framework
    goal_planes: WordArray  # (n, words): the goal skills, at every threshold
    goal_gap: FloatArray  # sum over goal skills of (5 - level): how far the goals are from mastery
    total_gap: FloatArray  # the same over every skill
    language_matrix: BoolArray  # (n, languages)
    languages: WordArray  # the same as bitsets
    has_languages: BoolArray
    slot_matrix: BoolArray  # (n, slots)
    slots: WordArray
    department: IntArray  # index into Vocabulary.departments, -1 when not given
    utc_offset: IntArray  # minutes east of UTC (0 when not given)
    offset_code: IntArray  # index into Vocabulary.offsets, -1 when not given
    capacity: IntArray

    def __len__(self) -> int:
        return len(self.people)


@dataclass(frozen=True)
class Encoded:
    """Everything the scoring kernel, the exact scorer and the solver read, built once per run."""

    program: Program
    model: MentoringModel
    vocabulary: Vocabulary
    shares: FloatArray  # criterion weights divided by their sum, in CRITERIA order
    mentors: Side
    mentees: Side  # the same object as `mentors` in the peer model
    forbidden_keys: IntArray  # sorted pair keys (declined pairs, self pairs) that may never be proposed
    declined_keys: IntArray
    preferred_keys: IntArray  # sorted pair keys where either side asked for the other

    @property
    def peer(self) -> bool:
        return self.model is MentoringModel.PEER

    def key(self, mentee: IntArray, mentor: IntArray) -> IntArray:
        return mentee.astype(np.int64) * len(self.mentors) + mentor.astype(np.int64)


def _levels_of(person: Person, keys: tuple[str, ...]) -> tuple[int, ...]:
    try:
        # Most records rate every skill: one C-level lookup of all keys.
        return tuple(itemgetter(*keys)(person.skills)) if len(keys) > 1 else (person.skills[keys[0]],)
    except KeyError:
        return tuple(person.skills.get(key, 0) for key in keys)


def _side(people: Sequence[Person], order: IntArray, vocabulary: Vocabulary, default_capacity: int) -> Side:
    skill_position = {key: index for index, key in enumerate(vocabulary.skills)}
    slot_position = {slot: index for index, slot in enumerate(vocabulary.slots)}
    language_position = {language: index for index, language in enumerate(vocabulary.languages)}
    department_position = {name: index for index, name in enumerate(vocabulary.departments)}
    offset_position = {offset: index for index, offset in enumerate(vocabulary.offsets)}
    ordered = tuple(people[int(position)] for position in order)
    n, skill_count = len(ordered), len(vocabulary.skills)
    levels = np.array([_levels_of(person, vocabulary.skills) for person in ordered], dtype=np.int8)
    levels = levels.reshape(n, skill_count)
    goals = np.zeros((n, skill_count), dtype=np.bool_)
    slot_matrix = np.zeros((n, len(vocabulary.slots)), dtype=np.bool_)
    language_matrix = np.zeros((n, len(vocabulary.languages)), dtype=np.bool_)
    # One fancy assignment per matrix: per-person numpy calls would dominate encoding 100k people.
    for matrix, position, attribute in (
        (goals, skill_position, "goals"),
        (slot_matrix, slot_position, "availability"),
        (language_matrix, language_position, "languages"),
    ):
        sets = [getattr(person, attribute) for person in ordered]
        owners = np.repeat(np.arange(n), [len(values) for values in sets])
        columns = np.fromiter(
            (position[value] for values in sets for value in values), dtype=np.int64, count=len(owners)
        )
        matrix[owners, columns] = True
    headroom = (MAX_LEVEL - levels).astype(np.float64)
    thresholds = np.arange(1, MAX_LEVEL + 1, dtype=np.int8)
    at_least = (levels[:, None, :] >= thresholds[None, :, None]).reshape(n, MAX_LEVEL * skill_count)
    return Side(
        people=ordered,
        input_position=order,
        index_of={person.id: row for row, person in enumerate(ordered)},
        levels=levels,
        goals=goals,
        at_least=pack_bits(at_least),
        below=pack_bits(~at_least),
        goal_planes=pack_bits(np.tile(goals, MAX_LEVEL)),
        goal_gap=(headroom * goals).sum(axis=1),
        total_gap=headroom.sum(axis=1),
        language_matrix=language_matrix,
        languages=pack_bits(language_matrix),
        has_languages=any_per_row(language_matrix),
        slot_matrix=slot_matrix,
        slots=pack_bits(slot_matrix),
        department=np.array(
            [department_position[p.department] if p.department is not None else -1 for p in ordered], dtype=np.int64
        ),
        utc_offset=np.array([p.utc_offset or 0 for p in ordered], dtype=np.int64),
        offset_code=np.array(
            [offset_position[p.utc_offset] if p.utc_offset is not None else -1 for p in ordered], dtype=np.int64
        ),
        capacity=np.array(
            [p.capacity if p.capacity is not None else default_capacity for p in ordered], dtype=np.int64
        ),
    )


def encode(program: Program, cohort: Cohort, seed: int) -> Encoded:
    """Arrays for a validated cohort. The seed shuffles the internal order, which decides ties, and nothing else."""
    mentors, mentees = cohort.sides(program.model)
    everyone = (*mentors, *mentees)
    vocabulary = Vocabulary(
        skills=tuple(skill.key for skill in program.skills),
        skill_labels=tuple(skill.label for skill in program.skills),
        slots=tuple(_index(slot for person in everyone for slot in person.availability)),
        languages=tuple(_index(language for person in everyone for language in person.languages)),
        departments=tuple(_index(p.department for p in everyone if p.department is not None)),
        offsets=tuple(sorted({p.utc_offset for p in everyone if p.utc_offset is not None})),
    )
    rng = np.random.default_rng(seed)
    mentor_order = rng.permutation(len(mentors)).astype(np.int64)
    mentor_side = _side(mentors, mentor_order, vocabulary, program.capacity_default)
    if program.model is MentoringModel.PEER:
        mentee_side = mentor_side
    else:
        mentee_side = _side(mentees, rng.permutation(len(mentees)).astype(np.int64), vocabulary, 0)
    shares = program.weights.shares()

    def keys(pairs: Iterable[tuple[str, str]]) -> IntArray:
        found = [
            mentee_side.index_of[mentee] * len(mentor_side) + mentor_side.index_of[mentor]
            for mentor, mentee in pairs
            if mentor in mentor_side.index_of and mentee in mentee_side.index_of
        ]
        return unique_keys(np.array(found, dtype=np.int64))

    declined = keys((pair.mentor, pair.mentee) for pair in program.rules.declined_pairs)
    if program.model is MentoringModel.PEER:
        # A declined peer pair is declined in both directions.
        reverse = keys((pair.mentee, pair.mentor) for pair in program.rules.declined_pairs)
        declined = unique_keys(np.concatenate([declined, reverse]))
    forbidden = declined if program.rules.never_repair_declined else np.zeros(0, dtype=np.int64)
    if program.model is MentoringModel.PEER:
        selves = np.arange(len(mentor_side), dtype=np.int64) * (len(mentor_side) + 1)
        forbidden = unique_keys(np.concatenate([forbidden, selves]))
    asked: list[tuple[str, str]] = []
    for mentee in mentee_side.people:
        asked.extend((mentor, mentee.id) for mentor in mentee.preferences)
    for mentor in mentor_side.people:
        asked.extend((mentor.id, mentee) for mentee in mentor.preferences)
    if program.model is MentoringModel.PEER:
        asked.extend([(mentee, mentor) for mentor, mentee in asked])
    return Encoded(
        program=program,
        model=program.model,
        vocabulary=vocabulary,
        shares=np.array([shares[name] for name in CRITERIA], dtype=np.float64),
        mentors=mentor_side,
        mentees=mentee_side,
        forbidden_keys=forbidden,
        declined_keys=declined,
        preferred_keys=keys(asked),
    )


@dataclass(frozen=True)
class ProfileClasses:
    """People who score alike: a mentee class holds mentees with the same encoded profile (levels, goals,
    languages, calendar, department, time zone), so every mentor scores them the same and keeps or breaks the
    same rules with them; a mentor class the same for mentors (with their meeting slots, in the group model).
    Anyone named in a pair rule (declined, preferred, forbidden) is a class of their own."""

    row: IntArray  # per mentee (internal index): its class, -1 outside the rows classed
    col: IntArray  # per mentor (internal index): its class, -1 outside the cols classed
    row_size: IntArray  # per mentee class: members
    col_size: IntArray  # per mentor class: members


def _classes(side: Side, members: IntArray, alone: BoolArray, extra: BoolArray | None) -> tuple[IntArray, IntArray]:
    # The profile as words: the level thresholds (which give the levels), goals, languages, calendar, and the
    # department and time zone codes.
    parts = [side.at_least, side.goal_planes, side.languages, side.slots]
    words = np.hstack(
        [part[members] for part in parts]
        + [side.department[members, None].astype(np.uint64), side.offset_code[members, None].astype(np.uint64)]
        + ([] if extra is None else [pack_bits(extra[members])])
    )
    # A hash of each profile sorts fast; members whose profile differs from their hash class's first one (a
    # collision) are put in classes of their own, so a class always holds identical profiles.
    with np.errstate(over="ignore"):
        hashed = np.zeros(len(members), dtype=np.uint64)
        for word in words.T:
            hashed = (hashed ^ word) * np.uint64(0x9E3779B97F4A7C15)
            hashed ^= hashed >> np.uint64(29)
    _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    if len(first) < len(members):
        single = alone[members] | (words != words[first[inverse]]).any(axis=1)
        inverse[single] = len(first) + np.arange(int(single.sum()))
        _, inverse = np.unique(inverse, return_inverse=True)  # number the classes left 0, 1, ...
        inverse = inverse.reshape(-1).astype(np.int64)
    classes = np.full(len(side), -1, dtype=np.int64)
    classes[members] = inverse
    return classes, np.bincount(inverse, minlength=int(inverse.max(initial=-1)) + 1)


def profile_classes(
    encoded: Encoded, rows: IntArray, cols: IntArray, meeting_slots: BoolArray | None = None
) -> ProfileClasses:
    """The classes of the mentees `rows` and the mentors `cols` (internal indices)."""
    width = len(encoded.mentors)
    named = np.concatenate([encoded.forbidden_keys, encoded.declined_keys, encoded.preferred_keys])
    alone_rows = np.zeros(len(encoded.mentees), dtype=np.bool_)
    alone_rows[named // width] = True
    alone_cols = np.zeros(width, dtype=np.bool_)
    alone_cols[named % width] = True
    row, row_size = _classes(encoded.mentees, rows, alone_rows, None)
    col, col_size = _classes(encoded.mentors, cols, alone_cols, meeting_slots)
    return ProfileClasses(row, col, row_size, col_size)
