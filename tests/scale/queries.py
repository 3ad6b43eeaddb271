"""Counting the SQL statements a request runs, and naming the code behind the repeated ones (an N+1 at a glance).

    with count_statements(app) as counted:
        browser.get(page)
    assert counted.total <= 50, counted.report()

A SQLAlchemy `before_cursor_execute` listener on the app's engine records every statement with the innermost
frames of this project's code (lti_tool/, xapi/) that led to it. The served test app answers in another thread
while the test waits for the answer, so everything the engine runs in the window is the request's.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa
from flask import Flask

from lti_tool.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tuple(str(ROOT / package) for package in ("lti_tool", "xapi"))
_NUMBERS = re.compile(r"\b\d+\b")


@dataclass
class Statement:
    sql: str
    frames: tuple[str, ...]  # "lti_tool/health/services.py:120 in program_health", innermost first

    @property
    def shape(self) -> str:
        """The statement with literal numbers folded, so that an IN list of 3 and one of 30 compare alike."""
        return _NUMBERS.sub("N", re.sub(r"\(__\[POSTCOMPILE_\w+\]\)|IN \([^)]*\)", "IN (...)", self.sql))


def _periodic(statement: Statement) -> bool:
    """A statement no page causes: each process rebuilds the origins that may frame the tool (the CSP) at most every
    few seconds, in whichever request comes then (lti_tool/lti/frame_origins.py). Counting it would make a count
    depend on the clock, not on the page or the course's size."""
    return any(" in allowed_origins" in frame for frame in statement.frames)


@dataclass
class CountedStatements:
    statements: list[Statement] = field(default_factory=list)

    @property
    def total(self) -> int:
        """The request's own statements (`_periodic` ones left out)."""
        return sum(1 for s in self.statements if not _periodic(s))

    def report(self, *, repeated_at_least: int = 2) -> str:
        """Every statement run more than once, how often, and the project frames behind it."""
        shapes = Counter(s.shape for s in self.statements)
        lines = [f"{self.total} SQL statements"]
        for shape, times in shapes.most_common():
            if times < repeated_at_least:
                break
            first = next(s for s in self.statements if s.shape == shape)
            lines.append(f"{times}x {shape[:300]}")
            lines.extend(f"    at {frame}" for frame in first.frames[:4])
        return "\n".join(lines)


def _project_frames() -> tuple[str, ...]:
    # The live frames, innermost first, read without `traceback`: it checks every file of the stack on disk (a
    # stat per frame and statement), which would add tens of milliseconds to the page being measured.
    found = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(PROJECT):
            found.append(f"{Path(filename).relative_to(ROOT)}:{frame.f_lineno} in {frame.f_code.co_name}")
        frame = frame.f_back
    return tuple(found)


@contextmanager
def count_statements(app: Flask) -> Iterator[CountedStatements]:
    """Record every statement the app's engine runs inside the block."""
    counted = CountedStatements()

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        counted.statements.append(Statement(" ".join(statement.split()), _project_frames()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
