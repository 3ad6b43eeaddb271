"""Candidate pairs for the solver: each mentee's best mentors and each mentor's best mentees, scored in chunks.

Scoring every pair exactly would cost (mentees x mentors x skills) operations, so the kernel scores whole
chunks with two float32 matrix products instead. With levels 0..5, max(0, a - b) = sum over t = 1..5 of
[a >= t][b < t], so the (weighted) gain of a mentor over a mentee is a dot product between a mentee vector
of coefficients and a mentor vector of level thresholds; shared slots are a dot product of 0/1 calendars,
department diversity one of one-hot departments, and time zones (waking hours in common, the "at most N hours
apart" rule) one of a mentee's row of a small offset-by-offset table with one-hot mentor offsets. Only the
selection uses these float32 scores: the pairs kept are rescored exactly (scoring.py) before the solver sees them.

Pairs that break a hard rule score -inf (or below FLOOR): languages are handled by only scoring blocks of
mentees and mentors who share one, which also skips most of the work when a cohort speaks several.

Top-K per row and per column without sorting rows: a row's threshold is the K-th largest of 2K bucket
maxima (at least K pairs reach it, rarely many more); a column's comes from a pre-pass over a sample of
mentees, set a few times lower than needed, and the few columns left with fewer than K pairs above it are
redone exactly. Pairs above either threshold are then ranked exactly. Where identical profiles make thousands
of pairs tie at a threshold, only the tied pairs whose tie-break hash ranks first are gathered (_tie_mask).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lti_tool.matching.engine.cohort import FULL_AVAILABILITY_SLOTS, MAX_LEVEL, MentoringModel
from lti_tool.matching.engine.encode import BoolArray, Encoded, IntArray, profile_classes, unique_keys
from lti_tool.matching.engine.scoring import minutes_apart, waking_share

Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
ScoreArray = npt.NDArray[np.floating[Any]]  # float32 to choose candidates, float64 to price (Kernel.precise)
HashArray = npt.NDArray[np.uint32]
Progress = Callable[[str, int, int], None]  # (stage, done, total)
ALL_TIES = np.uint32(0xFFFFFFFF)  # a tie limit that admits every tied pair

FLOOR = np.float32(-1.0)  # feasible pairs score 0..1; every rule breaker scores at or below this
ABOVE_FLOOR = np.nextafter(FLOOR, np.float32(1.0))
PENALTY = np.float32(4.0)  # subtracted for each broken rule: pushes the pair below FLOOR


@dataclass(frozen=True)
class KernelOptions:
    chunk_pairs: int = 1 << 21  # pairs scored per chunk: big enough for BLAS, small enough for the CPU caches
    buckets_per_k: int = 2  # row thresholds come from the maxima of (this x K) buckets of each row
    sample_rows: int = 2048  # at most this many mentees sampled up front to set column thresholds
    sample_share: float = 0.05  # ... and at most this share of them (at least 512)
    oversample: float = 4.0  # column thresholds aim at this many times K pairs, so few columns are redone
    # A chunk whose thresholds admit more than this many times the pairs it needs is crowded by ties (identical
    # profiles): it is gathered again with the pairs tied at a threshold limited by their hash (Kernel._tie_mask).
    crowded: float = 4.0


@dataclass(frozen=True)
class _Features:
    """Kernel inputs for the kernel's own rows and cols (in the order of Kernel.rows / Kernel.cols)."""

    rows: ScoreArray  # (rows, features): coefficients
    cols: ScoreArray  # (features, cols): thresholds and one-hots
    row_slots: ScoreArray | None  # (rows, slots)
    col_slots: ScoreArray | None  # (slots, cols)
    slot_unit: float  # availability weight per shared slot
    slot_rule: bool


def _threshold_planes(levels: npt.NDArray[np.int8], below: bool) -> BoolArray:
    """(people, skills * 5): [level >= t] (or [level < t]) for t = 1..5, skill-major."""
    thresholds = np.arange(1, MAX_LEVEL + 1, dtype=np.int8)
    planes = levels[:, :, None] < thresholds if below else levels[:, :, None] >= thresholds
    return planes.reshape(len(levels), levels.shape[1] * MAX_LEVEL)


def _coefficients(
    goals: BoolArray,
    goal_gap: npt.NDArray[np.float64],
    total_gap: npt.NDArray[np.float64],
    goal_weight: float,
    all_weight: float,
    dtype: type[np.floating[Any]],
) -> ScoreArray:
    per_goal = np.divide(goal_weight, goal_gap, out=np.zeros_like(goal_gap), where=goal_gap > 0)
    per_skill = np.divide(all_weight, total_gap, out=np.zeros_like(total_gap), where=total_gap > 0)
    coefficient = goals * per_goal[:, None].astype(dtype) + per_skill[:, None].astype(dtype)
    return np.repeat(coefficient.astype(dtype), MAX_LEVEL, axis=1)


def _features(
    encoded: Encoded,
    rows: IntArray,
    cols: IntArray,
    meeting_slots: BoolArray | None,
    dtype: type[np.floating[Any]],
) -> _Features:
    mentees, mentors = encoded.mentees, encoded.mentors
    goal_w, comp_w, slot_w, diversity_w, _, waking_w = (float(share) for share in encoded.shares)
    rules = encoded.program.rules
    half = 0.5 if encoded.model is MentoringModel.REVERSE else 1.0
    levels_e, levels_m = mentees.levels[rows], mentors.levels[cols]
    row_blocks: list[ScoreArray] = [
        _threshold_planes(levels_e, below=True)
        * _coefficients(
            mentees.goals[rows], mentees.goal_gap[rows], mentees.total_gap[rows], half * goal_w, half * comp_w, dtype
        )
    ]
    col_blocks: list[ScoreArray] = [_threshold_planes(levels_m, below=False).astype(dtype)]
    if encoded.model is MentoringModel.REVERSE:
        row_blocks.append(_threshold_planes(levels_e, below=False).astype(dtype))
        col_blocks.append(
            _threshold_planes(levels_m, below=True)
            * _coefficients(
                mentors.goals[cols],
                mentors.goal_gap[cols],
                mentors.total_gap[cols],
                half * goal_w,
                half * comp_w,
                dtype,
            )
        )
    departments = len(encoded.vocabulary.departments)
    if departments and (diversity_w > 0 or rules.different_department):
        penalty = diversity_w + (float(PENALTY) if rules.different_department else 0.0)

        def one_hot(codes: IntArray) -> ScoreArray:
            table = np.zeros((len(codes), departments + 1), dtype=dtype)
            known = codes >= 0
            table[known, 0] = 1.0
            table[np.flatnonzero(known), codes[known] + 1] = 1.0
            return table

        # diversity = known_e * known_m - same_department: bilinear in (known, one-hot).
        mentee_table = one_hot(mentees.department[rows])
        mentee_table[:, 0] *= diversity_w
        mentee_table[:, 1:] *= -penalty
        row_blocks.append(mentee_table)
        col_blocks.append(one_hot(mentors.department[cols]))
    offsets = np.array(encoded.vocabulary.offsets, dtype=np.int64)
    if len(offsets) and (waking_w > 0 or rules.max_hours_apart is not None):
        # table[i, j]: the time zone part of the score of a mentee at offset i and a mentor at offset j (code 0:
        # no time zone given, which scores 0 and breaks no rule).
        apart = minutes_apart(offsets[:, None], offsets[None, :])
        table = np.zeros((len(offsets) + 1, len(offsets) + 1), dtype=dtype)
        table[1:, 1:] = waking_w * waking_share(apart)
        if rules.max_hours_apart is not None:
            table[1:, 1:] -= np.where(apart > rules.max_hours_apart * 60, PENALTY, np.float32(0.0))
        row_blocks.append(table[mentees.offset_code[rows] + 1])
        mentor_codes = np.zeros((len(cols), len(offsets) + 1), dtype=dtype)
        mentor_codes[np.arange(len(cols)), mentors.offset_code[cols] + 1] = 1.0
        col_blocks.append(mentor_codes)
    use_slots = bool(encoded.vocabulary.slots) and (slot_w > 0 or rules.shared_slot)
    mentor_slots = mentors.slot_matrix if meeting_slots is None else meeting_slots
    return _Features(
        rows=np.ascontiguousarray(np.hstack(row_blocks), dtype=dtype),
        cols=np.ascontiguousarray(np.hstack(col_blocks).T, dtype=dtype),
        row_slots=mentees.slot_matrix[rows].astype(dtype) if use_slots else None,
        col_slots=np.ascontiguousarray(mentor_slots[cols].T, dtype=dtype) if use_slots else None,
        slot_unit=slot_w / FULL_AVAILABILITY_SLOTS,
        slot_rule=rules.shared_slot,
    )


class _Workspace:
    """Reused chunk buffers: allocating fresh (rows x cols) arrays for every chunk costs more in page faults
    than the arithmetic done in them."""

    def __init__(self, dtype: type[np.floating[Any]]) -> None:
        self.dtype = dtype
        self._float: dict[str, ScoreArray] = {}
        self._bool: dict[str, BoolArray] = {}
        self._hash: dict[str, HashArray] = {}

    def floats(self, name: str, rows: int, cols: int) -> ScoreArray:
        buffer = self._float.get(name)
        if buffer is None or buffer.size < rows * cols:
            # Zeroed, not np.empty: with uninitialised output buffers, the same inputs now and then raised
            # 'invalid value encountered in matmul' (garbage read as NaN by the BLAS kernel), never with zeros.
            buffer = np.zeros(rows * cols, dtype=self.dtype)
            self._float[name] = buffer
        return buffer[: rows * cols].reshape(rows, cols)

    def bools(self, name: str, rows: int, cols: int) -> BoolArray:
        buffer = self._bool.get(name)
        if buffer is None or buffer.size < rows * cols:
            buffer = np.empty(rows * cols, dtype=np.bool_)
            self._bool[name] = buffer
        return buffer[: rows * cols].reshape(rows, cols)

    def hashes(self, name: str, rows: int, cols: int) -> HashArray:
        buffer = self._hash.get(name)
        if buffer is None or buffer.size < rows * cols:
            buffer = np.empty(rows * cols, dtype=np.uint32)
            self._hash[name] = buffer
        return buffer[: rows * cols].reshape(rows, cols)


def _nonzero(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """np.nonzero for sparse masks, about 3x faster: scan 8 booleans at a time as one uint64 word."""
    flat = mask.reshape(-1)
    whole = len(flat) // 8 * 8
    words = np.flatnonzero(flat[:whole].view(np.uint64))
    positions = (words[:, None] * 8 + np.arange(8)).reshape(-1)
    positions = np.concatenate([positions[flat[positions]], whole + np.flatnonzero(flat[whole:])])
    rows, cols = np.divmod(positions, mask.shape[1])
    return rows, cols


class Kernel:
    """Chunked float32 scoring of `rows` (mentees) against `cols` (mentors), both internal indices.

    `precise` scores in float64 instead (half the speed, within `error` of the exact score): for pricing, where
    float32's margin would make every tie of an identical-profile cohort a pair to rescore.
    """

    def __init__(
        self,
        encoded: Encoded,
        rows: IntArray,
        cols: IntArray,
        *,
        meeting_slots: BoolArray | None = None,
        options: KernelOptions | None = None,
        progress: Progress | None = None,
        precise: bool = False,
    ) -> None:
        self.encoded = encoded
        self.rows = np.unique(np.asarray(rows, dtype=np.int64))
        self.cols = np.unique(np.asarray(cols, dtype=np.int64))
        self.options = options or KernelOptions()
        self.progress = progress
        dtype: type[np.floating[Any]] = np.float64 if precise else np.float32
        self.features = _features(encoded, self.rows, self.cols, meeting_slots, dtype)
        # The kernel's rounding error: a dot product of n terms whose absolute values sum to at most ~1.1 errs
        # by at most n * eps/2 * 1.1 in any summation order, plus a few roundings of the slot term; twice that.
        self.error = (self.features.rows.shape[1] + 8) * float(np.finfo(dtype).eps)
        self._row_index = np.full(len(encoded.mentees), -1, dtype=np.int64)
        self._row_index[self.rows] = np.arange(len(self.rows))
        # Per row (position in rows): the position of the first row of its profile class. Identical mentees
        # have identical feature rows, so _block scores one of them and copies its scores to the others.
        row_class = profile_classes(encoded, self.rows, self.cols).row[self.rows]
        _, first, inverse = np.unique(row_class, return_index=True, return_inverse=True)
        self._stand_in = first[inverse.reshape(-1)].astype(np.int64)
        self._col_index = np.full(len(encoded.mentors), -1, dtype=np.int64)
        self._col_index[self.cols] = np.arange(len(self.cols))
        self.empty_slots_rule = encoded.program.rules.shared_slot and not encoded.vocabulary.slots
        forbidden = encoded.forbidden_keys
        self.forbidden_rows = forbidden // len(encoded.mentors)
        self.forbidden_cols = forbidden % len(encoded.mentors)
        self._row_position = np.full(len(encoded.mentees), -1, dtype=np.int64)
        self._col_position = np.full(len(encoded.mentors), -1, dtype=np.int64)
        self._work = _Workspace(dtype)
        self._row_salt = salt(np.arange(len(encoded.mentees), dtype=np.int64))
        self._col_salt = salt(np.arange(len(encoded.mentors), dtype=np.int64))
        self.groups = list(self._language_groups())
        self.total_pairs = sum(len(r) * len(c) for r, c in self.groups)
        self._done = 0
        # Set by top_pairs: upper bounds on the kernel scores of the pairs it leaves out, per row and column.
        self.row_bound = np.full(len(encoded.mentees), np.inf, dtype=np.float32)
        self.col_bound = np.full(len(encoded.mentors), np.inf, dtype=np.float32)
        self.gathered_pairs = 0  # pairs the last top_pairs ranked exactly (its cost beyond scoring)

    def _language_groups(self) -> Iterator[tuple[IntArray, IntArray]]:
        """Blocks (mentees, mentors) who share a language (or have none stated): other pairs are never scored."""
        if not len(self.rows) or not len(self.cols):
            return
        if not self.encoded.program.rules.same_language:
            yield self.rows, self.cols
            return
        mentees, mentors = self.encoded.mentees, self.encoded.mentors
        col_words = mentors.languages[self.cols]
        col_open = ~mentors.has_languages[self.cols]
        words = mentees.languages[self.rows]
        order = np.lexsort(words.T[::-1])
        ordered = words[order]
        starts = np.flatnonzero(np.concatenate(([True], (ordered[1:] != ordered[:-1]).any(axis=1))))
        for start, stop in zip(starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True):
            key = ordered[start]
            members = np.sort(self.rows[order[start:stop]])
            if not key.any():
                yield members, self.cols
                continue
            compatible = col_open | (col_words & key).any(axis=1)
            if compatible.any():
                yield members, self.cols[compatible]

    def _chunks(self, members: IntArray, width: int) -> Iterator[IntArray]:
        size = max(64, self.options.chunk_pairs // max(width, 1))
        for start in range(0, len(members), size):
            yield members[start : start + size]

    def _gather(self, cols: IntArray) -> tuple[ScoreArray, ScoreArray | None]:
        """The features of a block's columns, contiguous (BLAS wants them so), and their positions for _block."""
        self._col_position[:] = -1
        self._col_position[cols] = np.arange(len(cols))
        positions = self._col_index[cols]
        col_slots = self.features.col_slots
        return (
            np.ascontiguousarray(self.features.cols[:, positions]),
            None if col_slots is None else np.ascontiguousarray(col_slots[:, positions]),
        )

    def _block(
        self, rows: IntArray, cols: IntArray, col_features: ScoreArray, col_slots: ScoreArray | None
    ) -> ScoreArray:
        """Kernel scores of rows x cols (cols' features pre-gathered); rule breakers score below FLOOR.

        The result lives in a reused buffer: use it before the next call.
        """
        stand_ins, copies = np.unique(self._stand_in[self._row_index[rows]], return_inverse=True)
        if 2 * len(stand_ins) <= len(rows):
            # Mostly identical profiles: score one row per class, copy (a gather is far cheaper than scoring).
            distinct = self._scored(stand_ins, cols, col_features, col_slots, "distinct")
            scores = np.take(
                distinct, copies.reshape(-1), axis=0, out=self._work.floats("scores", len(rows), len(cols))
            )
        else:
            scores = self._scored(self._row_index[rows], cols, col_features, col_slots, "scores")
        if len(self.forbidden_rows):
            self._row_position[rows] = np.arange(len(rows))
            hit_rows = self._row_position[self.forbidden_rows]
            hit_cols = self._col_position[self.forbidden_cols]
            hit = (hit_rows >= 0) & (hit_cols >= 0)
            scores[hit_rows[hit], hit_cols[hit]] = -np.inf
            self._row_position[rows] = -1
        self._done += len(rows) * len(cols)
        if self.progress is not None:
            self.progress("scoring", self._done, self.total_pairs)
        return scores

    def _scored(
        self,
        positions: IntArray,
        cols: IntArray,
        col_features: ScoreArray,
        col_slots: ScoreArray | None,
        buffer: str,
    ) -> ScoreArray:
        """Kernel scores of the rows at `positions` (in rows) x cols, in the reused buffer named `buffer`."""
        features = self.features
        scores = np.matmul(
            features.rows[positions], col_features, out=self._work.floats(buffer, len(positions), len(cols))
        )
        if features.row_slots is not None and col_slots is not None:
            shared = np.matmul(
                features.row_slots[positions], col_slots, out=self._work.floats("shared", len(positions), len(cols))
            )
            # In place and branch-free: masked writes (putmask) cost several times this arithmetic.
            if features.slot_rule:
                unshared = np.minimum(
                    shared, np.float32(1.0), out=self._work.floats("unshared", len(positions), len(cols))
                )
                unshared -= np.float32(1.0)
                unshared *= PENALTY  # -PENALTY where no slot is shared, else 0
                scores += unshared
            if features.slot_unit > 0:
                np.minimum(shared, np.float32(FULL_AVAILABILITY_SLOTS), out=shared)
                shared *= np.float32(features.slot_unit)
                scores += shared
        elif self.empty_slots_rule:
            scores -= PENALTY
        return scores

    def blocks(self) -> Iterator[tuple[IntArray, IntArray, Float32Array]]:
        """Every pair that may keep the hard rules, as (rows, cols, kernel scores) chunks; rule breakers score
        below FLOOR. Each chunk's scores live in a reused buffer: use them before asking for the next."""
        for members, cols in self.groups:
            col_features, col_slots = self._gather(cols)
            for rows in self._chunks(members, len(cols)):
                yield rows, cols, self._block(rows, cols, col_features, col_slots)

    def all_pairs(self) -> tuple[IntArray, IntArray]:
        """Every pair that keeps the hard rules (the exhaustive candidate set)."""
        found_rows: list[IntArray] = []
        found_cols: list[IntArray] = []
        for rows, cols, scores in self.blocks():
            r, c = _nonzero(np.greater(scores, FLOOR, out=self._work.bools("mask", *scores.shape)))
            found_rows.append(rows[r])
            found_cols.append(cols[c])
        return _joined(found_rows), _joined(found_cols)

    def priced_pairs(
        self,
        row_threshold: Float64Array,
        col_price: Float64Array,
        scale: float,
        price_cap: Float64Array,
        min_score: float,
    ) -> tuple[IntArray, IntArray, Float64Array, int]:
        """Every pair of a row and a column priced at most the row's price_cap (both indexed by internal index;
        rows capped at -inf and columns priced +inf are skipped) that keeps the hard rules, scores at least
        min_score and has value = scale * score - col_price[col] >= row_threshold[row]: (rows, cols, values),
        and the number of pairs scored.

        Rows go in order of their cap against a prefix of the columns in order of price, so a row is only
        scored against the columns under its cap (and those of the rows chunked with it). Only on a precise
        kernel: prices can be far larger than scale, beyond float32's resolution."""
        if self.features.rows.dtype != np.float64:
            raise ValueError("pricing needs a precise (float64) kernel")
        floor = max(float(FLOOR), min_score - 1e-9)
        found_rows: list[IntArray] = []
        found_cols: list[IntArray] = []
        found_values: list[Float64Array] = []
        scored = 0
        for members, group_cols in self.groups:
            wanted = members[price_cap[members] > -np.inf]
            if not len(wanted):
                continue
            by_price = group_cols[np.argsort(col_price[group_cols], kind="stable")]
            by_price = by_price[col_price[by_price] < np.inf]
            wanted = wanted[np.argsort(price_cap[wanted], kind="stable")]
            reach = np.searchsorted(col_price[by_price], price_cap[wanted], side="right")
            start = 0
            while start < len(wanted):
                if reach[start] == 0:
                    start += 1
                    continue
                # The chunk's rows reach at most reach[stop - 1] columns: keep chunks near chunk_pairs.
                stop = start + 1
                while stop < len(wanted) and (stop + 1 - start) * reach[stop] <= self.options.chunk_pairs:
                    stop += 1
                rows, cols = np.sort(wanted[start:stop]), np.sort(by_price[: reach[stop - 1]])
                start = stop
                col_features, col_slots = self._gather(cols)
                scores = self._block(rows, cols, col_features, col_slots)
                scored += len(rows) * len(cols)
                mask = np.greater(scores, floor, out=self._work.bools("mask", *scores.shape))
                scores *= scale
                scores -= col_price[cols][None, :]
                mask &= np.greater_equal(
                    scores, row_threshold[rows][:, None], out=self._work.bools("other", *scores.shape)
                )
                r, c = _nonzero(mask)
                found_rows.append(rows[r])
                found_cols.append(cols[c])
                found_values.append(scores[r, c].astype(np.float64))
        values = np.concatenate(found_values) if found_values else np.zeros(0)
        return _joined(found_rows), _joined(found_cols), values, scored

    def top_pairs(self, per_row: int, per_col: int) -> tuple[IntArray, IntArray]:
        """The union of each row's best `per_row` and each column's best `per_col` feasible pairs.

        Also sets `row_bound` and `col_bound` (per internal index, float32 kernel scores): no pair left out
        scores above its row's bound or above its column's (certificate.py prunes its pricing with them).
        """
        options = self.options
        n_mentors = len(self.encoded.mentors)
        self.row_bound = np.full(len(self.encoded.mentees), np.inf if per_row <= 0 else -np.inf, dtype=np.float32)
        self.col_bound = np.full(n_mentors, np.inf if per_col <= 0 else -np.inf, dtype=np.float32)
        self.gathered_pairs = 0
        col_limit = np.full(n_mentors, ALL_TIES, dtype=np.uint32)
        if per_col > 0:
            col_threshold, col_limit, col_exact = self._column_thresholds(per_col)
        else:
            col_threshold, col_exact = np.full(n_mentors, np.inf, dtype=np.float32), True
        # Pairs a chunk of r rows needs: per_row per row, and each column's share of its oversampled list.
        col_share = min(1.0, options.oversample * per_col / max(len(self.rows), 1)) if per_col > 0 else 0.0
        out_rows: list[IntArray] = []
        out_cols: list[IntArray] = []
        col_rows: list[IntArray] = []
        col_cols: list[IntArray] = []
        col_values: list[Float32Array] = []
        for members, cols in self.groups:
            col_features, col_slots = self._gather(cols)
            width = len(cols)
            # Row thresholds: the per_row-th largest of `buckets` bucket maxima. At least per_row buckets
            # reach it, so every row keeps at least per_row pairs (or all its feasible ones), and rarely
            # many more: no sorting of whole rows, no row ever redone.
            buckets = min(width, options.buckets_per_k * per_row) if per_row > 0 else 0
            starts = np.linspace(0, width, buckets, endpoint=False).astype(np.int64)
            block_col_threshold, block_col_limit = col_threshold[cols], col_limit[cols]
            for rows in self._chunks(members, len(cols)):
                scores = self._block(rows, cols, col_features, col_slots)
                if per_row <= 0:
                    row_threshold = np.full(len(rows), np.inf, dtype=np.float32)
                elif buckets <= per_row:
                    row_threshold = np.full(len(rows), ABOVE_FLOOR, dtype=np.float32)
                else:
                    maxima = np.maximum.reduceat(scores, starts, axis=1)
                    maxima.partition(buckets - per_row, axis=1)
                    row_threshold = np.maximum(maxima[:, buckets - per_row], ABOVE_FLOOR)
                mask = np.greater_equal(scores, row_threshold[:, None], out=self._work.bools("mask", *scores.shape))
                if per_col > 0:
                    other = np.greater_equal(
                        scores, block_col_threshold[None, :], out=self._work.bools("other", *scores.shape)
                    )
                    mask |= other
                wanted = len(rows) * (max(per_row, 0) + col_share * width)
                if np.count_nonzero(mask) > options.crowded * wanted:
                    mask = self._tie_mask(
                        scores, rows, cols, row_threshold, per_row, block_col_threshold, block_col_limit, per_col
                    )
                r, c = _nonzero(mask)
                self.gathered_pairs += len(r)
                values = scores[r, c]
                if per_row > 0:
                    in_row = values >= row_threshold[r]
                    keep_r, keep_c, kth = _top_in_rows(
                        r[in_row], c[in_row], values[in_row], len(rows), per_row, rows, cols
                    )
                    out_rows.append(rows[keep_r])
                    out_cols.append(cols[keep_c])
                    # Left out: below the row's threshold, or at most its per_row-th best kept.
                    self.row_bound[rows] = np.maximum(kth, row_threshold)
                if per_col > 0:
                    in_col = values >= block_col_threshold[c]
                    col_rows.append(rows[r[in_col]])
                    col_cols.append(cols[c[in_col]])
                    col_values.append(values[in_col])
        if per_col > 0:
            pair_rows, pair_cols, values = _joined(col_rows), _joined(col_cols), _joined_f(col_values)
            # Columns short of per_col pairs are redone exactly where their threshold came from a sample or
            # their ties were limited by hash (at the floor, every feasible pair was gathered).
            counts = np.bincount(pair_cols, minlength=n_mentors)
            short = (counts < per_col) & (col_threshold > ABOVE_FLOOR) & (not col_exact or col_limit < ALL_TIES)
            redo_mask = np.zeros(n_mentors, dtype=np.bool_)
            redo_mask[self.cols] = short[self.cols]
            if redo_mask.any():
                keep = ~redo_mask[pair_cols]
                extra_rows, extra_cols, extra_values = self._full_columns(np.flatnonzero(redo_mask))
                self.gathered_pairs += len(extra_rows)
                pair_rows = np.concatenate([pair_rows[keep], extra_rows])
                pair_cols = np.concatenate([pair_cols[keep], extra_cols])
                values = np.concatenate([values[keep], extra_values])
            chosen = _top_in_groups(pair_cols, values, per_col, tiebreak(pair_rows, pair_cols))
            out_rows.append(pair_rows[chosen])
            out_cols.append(pair_cols[chosen])
            # A column with fewer than per_col pairs gathered had every feasible pair gathered (it was redone,
            # or its threshold was the floor); otherwise nothing left out beats its per_col-th best.
            kept_min = np.full(n_mentors, np.inf, dtype=np.float32)
            np.minimum.at(kept_min, pair_cols[chosen], values[chosen])
            full = np.bincount(pair_cols[chosen], minlength=n_mentors) >= per_col
            self.col_bound[full] = kept_min[full]
        return _unique_pairs(_joined(out_rows), _joined(out_cols), n_mentors)

    def _tie_mask(
        self,
        scores: ScoreArray,
        rows: IntArray,
        cols: IntArray,
        row_threshold: Float32Array,
        per_row: int,
        col_threshold: Float32Array,
        col_limit: HashArray,
        per_col: int,
    ) -> BoolArray:
        """The pairs of a chunk crowded by ties to gather: every pair above its row's or its column's threshold,
        and of those tied at one, only those whose tiebreak hash is under a limit (about twice what the row
        still needs, or the column's limit): they rank first among the tied, so the lists chosen from them are
        the lists all ties would give (top_pairs redoes a column left short). Pairs left out are at most their
        thresholds, so the bounds hold."""
        shape = scores.shape
        work = self._work
        hashes = np.multiply(
            self._row_salt[rows][:, None], self._col_salt[cols][None, :], out=work.hashes("hash", *shape)
        )
        mask = work.bools("mask", *shape)
        mask[:] = False
        strict, tied, admitted = work.bools("strict", *shape), work.bools("tied", *shape), work.bools("admit", *shape)
        if per_row > 0:
            np.greater(scores, row_threshold[:, None], out=strict)
            np.equal(scores, row_threshold[:, None], out=tied)
            need = 2 * (per_row - np.count_nonzero(strict, axis=1)) + 8
            row_limit = _hash_limit(need, np.count_nonzero(tied, axis=1))
            mask |= strict
            tied &= np.less_equal(hashes, row_limit[:, None], out=admitted)
            mask |= tied
        if per_col > 0:
            np.greater(scores, col_threshold[None, :], out=strict)
            np.equal(scores, col_threshold[None, :], out=tied)
            mask |= strict
            tied &= np.less_equal(hashes, col_limit[None, :], out=admitted)
            mask |= tied
        return mask

    def _column_thresholds(self, per_col: int) -> tuple[Float32Array, HashArray, bool]:
        """Per mentor, a score that about `oversample * per_col` mentees reach (from a sample of mentees), and
        a hash limit for the pairs tied at it: where many tie (identical profiles), only about as many as the
        list needs are gathered (_tie_mask). The flag says the sample was everyone, so the thresholds are exact."""
        options = self.options
        n = len(self.rows)
        sampled = min(n, max(512, min(options.sample_rows, int(options.sample_share * n))))
        exact = sampled == n
        rank = per_col if exact else min(sampled, math.ceil(options.oversample * per_col * sampled / n))
        threshold = np.full(len(self.encoded.mentors), ABOVE_FLOOR, dtype=np.float32)
        limit = np.full(len(self.encoded.mentors), ALL_TIES, dtype=np.uint32)
        if rank >= sampled:
            return threshold, limit, exact
        in_sample = np.zeros(len(self.encoded.mentees), dtype=np.bool_)
        in_sample[self.rows[np.linspace(0, n - 1, sampled).astype(np.int64)]] = True
        dense = np.full((len(self.cols), sampled), -np.inf, dtype=np.float32)
        filled = 0
        for members, cols in self.groups:
            chosen = members[in_sample[members]]
            if not len(chosen):
                continue
            col_features, col_slots = self._gather(cols)
            for rows in self._chunks(chosen, len(cols)):
                block = self._block(rows, cols, col_features, col_slots)
                dense[self._col_index[cols], filled : filled + len(rows)] = block.T
                filled += len(rows)
        dense.partition(sampled - rank, axis=1)
        kth = dense[:, sampled - rank]
        threshold[self.cols] = np.maximum(kth, ABOVE_FLOOR)
        above = np.count_nonzero(dense > kth[:, None], axis=1)
        tied = np.count_nonzero(dense == kth[:, None], axis=1)
        # A sampled threshold already aims at oversample times per_col; an exact one gets the same room.
        need = rank - above if not exact else 2 * (rank - above) + 8
        limit[self.cols] = np.where(kth > ABOVE_FLOOR, _hash_limit(need, tied), ALL_TIES)
        return threshold, limit, exact

    def _full_columns(self, mentors: IntArray) -> tuple[IntArray, IntArray, Float32Array]:
        """Every feasible (row, col, score) for a few columns."""
        found_rows: list[IntArray] = []
        found_cols: list[IntArray] = []
        found_values: list[Float32Array] = []
        wanted_mask = np.zeros(len(self.encoded.mentors), dtype=np.bool_)
        wanted_mask[mentors] = True
        for members, cols in self.groups:
            wanted = cols[wanted_mask[cols]]
            if not len(wanted):
                continue
            col_features, col_slots = self._gather(wanted)
            for rows in self._chunks(members, len(wanted)):
                scores = self._block(rows, wanted, col_features, col_slots)
                r, c = np.nonzero(scores > FLOOR)
                found_rows.append(rows[r])
                found_cols.append(wanted[c])
                found_values.append(scores[r, c])
        return _joined(found_rows), _joined(found_cols), _joined_f(found_values)


def _hash_limit(need: IntArray, tied: IntArray) -> HashArray:
    """The hash limit that admits about `need` of `tied` pairs (every one when need >= tied)."""
    share = np.minimum(np.maximum(need, 0) / np.maximum(tied, 1), 1.0)
    return np.minimum(share * 2.0**32, float(ALL_TIES)).astype(np.uint32)


def _joined(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts).astype(np.int64, copy=False) if parts else np.zeros(0, dtype=np.int64)


def _joined_f(parts: list[Float32Array]) -> Float32Array:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _unique_pairs(rows: IntArray, cols: IntArray, n_cols: int) -> tuple[IntArray, IntArray]:
    keys = unique_keys(rows * n_cols + cols)
    return keys // n_cols, keys % n_cols


def salt(index: IntArray) -> npt.NDArray[np.uint32]:
    """An odd 32-bit mix of each internal index (which follows the seed): the factors of tiebreak."""
    with np.errstate(over="ignore"):
        mixed = index.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(31)
        mixed *= np.uint64(0x94D049BB133111EB)
        mixed ^= mixed >> np.uint64(29)
    return ((mixed >> np.uint64(32)) | np.uint64(1)).astype(np.uint32)


def tiebreak(rows: IntArray, cols: IntArray) -> npt.NDArray[np.uint64]:
    """A hash of each pair, in the top 32 bits: equal scores are ranked by it, smallest first, so that people
    with identical profiles do not all list the same few partners. It is the product of the two salts (mod
    2**32), so a chunk computes it for all its pairs with one multiplication (Kernel._tie_mask)."""
    with np.errstate(over="ignore"):
        product = salt(rows) * salt(cols)
    return product.astype(np.uint64) << np.uint64(32)


def _top_in_rows(
    r: IntArray, c: IntArray, values: Float32Array, n_rows: int, k: int, rows: IntArray, cols: IntArray
) -> tuple[IntArray, IntArray, Float32Array]:
    """The k best (r, c) per row r from sparse entries sorted by r (np.nonzero order), and per row the k-th
    best value (-inf for rows with fewer than k entries). r and c index `rows` and `cols` (internal indices);
    ties go by tiebreak, smallest first."""
    kth = np.full(n_rows, -np.inf, dtype=np.float32)
    if not len(r):
        return r, c, kth
    counts = np.bincount(r, minlength=n_rows)
    widest = int(counts.max())
    if widest <= k:
        if widest == k:
            least = np.full(n_rows, np.inf, dtype=np.float32)
            np.minimum.at(least, r, values)
            kth[counts == k] = least[counts == k]
        return r, c, kth
    starts = np.cumsum(counts) - counts
    slot = np.arange(len(r)) - starts[r]
    # Ranked in float64 with a hash below half a float32 step of any score that matters (>= 0.01).
    padded = np.full((n_rows, widest), -np.inf, dtype=np.float64)
    padded[r, slot] = values - (tiebreak(rows[r], cols[c]) >> np.uint64(11)) * (2.0**-53 * 1e-10)
    columns = np.full((n_rows, widest), -1, dtype=np.int64)
    columns[r, slot] = c
    best = np.argpartition(padded, widest - k, axis=1)[:, widest - k :]
    chosen_values = np.full((n_rows, widest), -np.inf, dtype=np.float32)
    chosen_values[r, slot] = values
    chosen_values = np.take_along_axis(chosen_values, best, axis=1)
    chosen_cols = np.take_along_axis(columns, best, axis=1)
    valid = chosen_values > FLOOR
    full = counts >= k
    kth[full] = chosen_values[full].min(axis=1)
    return np.nonzero(valid)[0].astype(np.int64), chosen_cols[valid], kth


def _top_in_groups(groups: IntArray, values: Float32Array, k: int, tiebreak: npt.NDArray[np.uint64]) -> IntArray:
    """Indices of the k largest values within each group id (ties: by the tiebreak hash, then input order)."""
    # One stable sort on (group, descending value, hash bits) packed into an int64: a third of lexsort's time.
    bits = values.astype(np.float32).view(np.int32).astype(np.int64)
    monotone = np.where(bits >= 0, bits, bits ^ 0x7FFFFFFF)  # orders like the floats
    group_bits = max(1, int(groups.max(initial=0)).bit_length())
    hash_bits = max(0, 63 - 32 - group_bits)
    salt = (tiebreak >> np.uint64(64 - hash_bits)).astype(np.int64) if hash_bits else 0
    key = (groups << (32 + hash_bits)) | ((0x7FFFFFFF - monotone) << hash_bits) | salt
    order = np.argsort(key, kind="stable")
    sorted_groups = groups[order]
    boundaries = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    starts = np.repeat(boundaries, np.diff(np.r_[boundaries, len(order)]))
    rank = np.arange(len(order)) - starts
    chosen: IntArray = order[rank < k]
    return chosen
