"""Counts, durations and lists of people read as sentences: plurals right, minutes under an hour."""

from __future__ import annotations

import pytest

from lti_tool.wording import (
    duration_text,
    most_chosen_text,
    names_text,
    sessions_text,
    time_in_sessions_text,
    waiting_for_text,
)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (1, "1 minute"),
        (45, "45 minutes"),
        (59.6, "1 hour"),
        (60, "1 hour"),
        (75, "1.5 hours"),
        (90, "1.5 hours"),
        (100, "1.5 hours"),
        (105, "2 hours"),
        (120, "2 hours"),
        (590, "10 hours"),
        (750, "13 hours"),
    ],
)
def test_a_duration_is_in_minutes_under_an_hour_and_in_rounded_hours_above(minutes: float, text: str) -> None:
    assert duration_text(minutes) == text


def test_counts_of_sessions_are_singular_for_one() -> None:
    assert [sessions_text(n) for n in (0, 1, 2)] == ["0 sessions", "1 session", "2 sessions"]
    assert time_in_sessions_text(45, 1) == "45 minutes in 1 session"
    assert time_in_sessions_text(180, 4) == "3 hours in 4 sessions"


def test_people_are_listed_with_and_and_the_viewer_first_as_you() -> None:
    assert names_text(["Ana", "Ben", "Chen"]) == "Ana, Ben and Chen"
    assert (
        waiting_for_text(["Priya Natarajan"], me=True, to="accept") == "Waiting for you and Priya Natarajan to accept."
    )
    assert waiting_for_text([], me=True, to="accept") == "Waiting for you to accept."
    assert waiting_for_text(["Ana", "Ben"], me=False, to="accept") == "Waiting for Ana and Ben to accept."


def test_the_most_chosen_answer_names_every_answer_tied_for_most() -> None:
    assert most_chosen_text([("3", 0), ("4", 3), ("5", 1)]) == "Most chose 4 (3 answers)."
    assert most_chosen_text([("3", 0), ("4", 1)]) == "Most chose 4 (1 answer)."
    assert most_chosen_text([("3", 2), ("4", 2), ("5", 1)]) == "Most chose 3 or 4 (2 each)."
    assert most_chosen_text([("Yes", 1), ("No", 1), ("Maybe", 1)]) == "Most chose Yes, No or Maybe (1 each)."
    assert most_chosen_text([("3", 0), ("4", 0)]) == ""
