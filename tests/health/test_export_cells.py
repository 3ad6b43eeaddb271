"""The pieces fast exports are made of write what the slow, obvious way wrote: rows put together from CSV pieces
are the csv writer's rows, and the times and dates the database formats are `moment`'s and `date.isoformat`'s."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import product

import pytest
import sqlalchemy as sa

from lti_tool.extensions import UTCDateTime
from lti_tool.health.exports import Cell, _Fields, _IsoDay, _UtcMinute, moment

AWKWARD: list[Cell] = ["plain", "", None, 0, 42, "a,b", 'say "hi"', "two\nlines", "cr\rhere", "'=1+2", " spaced ", "☃"]


def _written(cells: tuple[Cell, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def test_a_row_put_together_from_pieces_is_the_row_the_csv_writer_writes() -> None:
    fields = _Fields()
    for first, second, last in product(AWKWARD, repeat=3):
        assert fields(first, second) + fields.end(last) == _written((first, second, last))
        assert fields(first) + fields.end(second, last) == _written((first, second, last))
        texts = tuple("" if cell is None else str(cell) for cell in (first, second, last))
        assert fields(first) + fields.end_text(texts) == _written((first, *texts))


@pytest.fixture
def probe(database_url: str) -> Iterator[tuple[sa.Engine, sa.Table]]:
    """A table of times and dates, stored as the models store them, in the test's own database."""
    engine = sa.create_engine(database_url)
    table = sa.Table(
        "export_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime),
        sa.Column("day", sa.Date),
    )
    table.create(engine)
    try:
        yield engine, table
    finally:
        table.drop(engine)
        engine.dispose()


def test_the_database_writes_times_and_dates_as_the_exports_did(probe: tuple[sa.Engine, sa.Table]) -> None:
    engine, table = probe
    stored = [  # (time, day) as the models store them
        (datetime(2026, 11, 2, 9, 30, tzinfo=UTC), date(2026, 11, 2)),
        (datetime(2026, 11, 2, 9, 30, 59, 999_600, tzinfo=UTC), date(999, 1, 1)),  # still 09:30
        (datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), date(1, 1, 1)),
        (datetime(2026, 3, 29, 1, 15, tzinfo=timezone(timedelta(hours=5, minutes=30))), None),  # kept in UTC
        (datetime(999, 1, 1, 0, 0, tzinfo=UTC), None),
        (None, None),
    ]
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"at": at, "day": day} for at, day in stored])
    expected = [(moment(at), day.isoformat() if day else None) for at, day in stored]
    query = sa.select(_UtcMinute(table.c.at), _IsoDay(table.c.day)).order_by(table.c.id)
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(query)] == expected
        if engine.dialect.name == "postgresql":  # whatever the session's time zone and date style
            connection.exec_driver_sql("SET TIME ZONE 'Asia/Kolkata'")
            connection.exec_driver_sql("SET DateStyle = 'SQL, DMY'")
            assert [tuple(row) for row in connection.execute(query)] == expected
