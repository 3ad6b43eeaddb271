"""Weekly availability in a person's time zone, as the UTC hours matching compares (a pure function)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lti_tool.profiles.services import ALL_SLOTS, UTC_HOUR_LABELS, in_zone, local_time, utc_hour_slots


def test_utc_is_the_same_hours() -> None:
    assert utc_hour_slots(["tue-18"], "UTC") == {"tue-18", "tue-19", "tue-20"}


def test_east_of_utc_moves_earlier() -> None:
    # The reference week is in January: Paris is on winter time (UTC+01:00).
    assert utc_hour_slots(["mon-06"], "Europe/Paris") == {"mon-05", "mon-06", "mon-07"}


def test_far_east_wraps_back_to_the_previous_day_and_week() -> None:
    assert utc_hour_slots(["mon-06"], "Asia/Tokyo") == {"sun-21", "sun-22", "sun-23"}
    # Southern summer in January: Auckland is UTC+13:00.
    assert utc_hour_slots(["mon-06"], "Pacific/Auckland") == {"sun-17", "sun-18", "sun-19"}


def test_west_of_utc_moves_later_and_wraps_into_the_next_week() -> None:
    assert utc_hour_slots(["mon-06"], "America/Los_Angeles") == {"mon-14", "mon-15", "mon-16"}
    assert utc_hour_slots(["sun-21"], "America/New_York") == {"mon-02", "mon-03", "mon-04"}


def test_half_hour_zone_keeps_only_whole_free_hours() -> None:
    # Kolkata is UTC+05:30: 06:00-09:00 local is 00:30-03:30 UTC, fully covering 01:00-03:00 only.
    assert utc_hour_slots(["mon-06"], "Asia/Kolkata") == {"mon-01", "mon-02"}
    # Adjacent blocks join before rounding: 06:00-12:00 local is 00:30-06:30 UTC.
    assert utc_hour_slots(["mon-06", "mon-09"], "Asia/Kolkata") == {f"mon-{h:02d}" for h in range(1, 6)}
    # West of UTC too: St John's is UTC-03:30, so 06:00-09:00 local is 09:30-12:30 UTC.
    assert utc_hour_slots(["mon-06"], "America/St_Johns") == {"mon-10", "mon-11"}


def test_quarter_hour_zones() -> None:
    assert utc_hour_slots(["mon-06"], "Asia/Kathmandu") == {"mon-01", "mon-02"}  # UTC+05:45
    assert utc_hour_slots(["mon-06"], "Pacific/Chatham") == {"sun-17", "sun-18"}  # UTC+13:45 in January


def test_blocks_running_to_midnight_join_the_next_day() -> None:
    # Late Sunday in Tokyo (UTC+09:00) is Sunday midday in UTC.
    assert utc_hour_slots(["sun-21"], "Asia/Tokyo") == {"sun-12", "sun-13", "sun-14"}


def test_whole_week() -> None:
    assert len(utc_hour_slots(ALL_SLOTS, "UTC")) == 7 * 18
    assert len(utc_hour_slots(ALL_SLOTS, "Asia/Kolkata")) == 7 * 17  # 00:30-18:30 UTC each day


def test_empty_and_repeated_slots() -> None:
    assert utc_hour_slots([], "Europe/Paris") == set()
    assert utc_hour_slots(["fri-12", "fri-12"], "UTC") == utc_hour_slots(["fri-12"], "UTC")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "localtime", "Factory"])
def test_unknown_time_zone_is_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="time zone"):
        utc_hour_slots(["mon-06"], zone)


@pytest.mark.parametrize("slot", ["mon-07", "monday-06", "mon-24", "", "xyz-06"])
def test_unknown_slot_is_refused(slot: str) -> None:
    with pytest.raises(ValueError, match="slot"):
        utc_hour_slots([slot], "UTC")


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("such as Monday 17:00 UTC.", "Europe/Berlin", "such as Monday 18:00 Europe/Berlin time."),
        (
            "Monday 01:00 UTC, Sunday 23:00 UTC",
            "America/New_York",
            "Sunday 20:00 America/New_York time, Sunday 18:00 America/New_York time",
        ),
        (
            "Your group meets at Friday 00:00 UTC.",
            "Asia/Kolkata",
            "Your group meets at Friday 05:30 Asia/Kolkata time.",
        ),
        ("Monday 17:00 UTC", "UTC", "Monday 17:00 UTC"),
        ("Monday 17:00 UTC", None, "Monday 17:00 UTC"),
        ("Monday 17:00 UTC", "Not/AZone", "Monday 17:00 UTC"),
        (
            "No hours here, only 17:00 UTC without a day.",
            "Europe/Berlin",
            "No hours here, only 17:00 UTC without a day.",
        ),
    ],
)
def test_explanations_name_shared_hours_in_the_readers_zone(text: str, zone: str | None, expected: str) -> None:
    assert in_zone(text, zone) == expected


@pytest.mark.parametrize(
    ("zone", "other", "expected"),
    [
        (
            "Europe/Berlin",
            "America/New_York",
            "Monday 18:00 Europe/Berlin time (Monday 12:00 America/New_York time for Ana)",
        ),
        (None, "Asia/Tokyo", "Monday 17:00 UTC (Tuesday 02:00 Asia/Tokyo time for Ana)"),
        ("Asia/Tokyo", None, "Tuesday 02:00 Asia/Tokyo time (Monday 17:00 UTC for Ana)"),
        ("Europe/Berlin", "Europe/Paris", "Monday 18:00 Europe/Berlin time"),  # the same clock: said once
        (None, "UTC", "Monday 17:00 UTC"),
    ],
)
def test_an_hour_two_people_share_reads_on_both_clocks_where_they_differ(
    zone: str | None, other: str | None, expected: str
) -> None:
    assert in_zone("Monday 17:00 UTC", zone, beside=(other, "Ana")) == expected


def test_an_hour_a_profile_ticked_reads_back_as_ticked_in_its_own_zone() -> None:
    for zone in ("Europe/Paris", "Australia/Sydney", "America/Los_Angeles", "Asia/Kathmandu"):
        hours = sorted(utc_hour_slots(["wed-18"], zone))
        assert in_zone(UTC_HOUR_LABELS[hours[0]], zone).startswith("Wednesday 18:")


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Berlin", "9 December 2026, 16:30 Europe/Berlin time"),  # winter: UTC+1
        ("America/New_York", "9 December 2026, 10:30 America/New_York time"),
        ("Pacific/Kiritimati", "10 December 2026, 05:30 Pacific/Kiritimati time"),  # the next day
        ("UTC", "9 December 2026, 15:30 UTC"),
        (None, "9 December 2026, 15:30 UTC"),
        ("Mars/Olympus", "9 December 2026, 15:30 UTC"),  # a zone no longer known: UTC, never an error
    ],
)
def test_deadlines_read_in_the_readers_own_zone(zone: str | None, expected: str) -> None:
    assert local_time(datetime(2026, 12, 9, 15, 30, tzinfo=UTC), zone) == expected
