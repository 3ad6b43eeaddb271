"""Counts, durations and lists of people in words, one helper per phrase, the same on every page.

Every singular/plural pair is a whole sentence fragment formatted with `%(num)s`, the way Flask-Babel's
`ngettext(singular, plural, num, **variables)` takes it, so marking them for translation later is an import swap."""

from __future__ import annotations

import math
from collections.abc import Sequence


def ngettext(singular: str, plural: str, num: int, **variables: object) -> str:
    """English plural rule with Flask-Babel's signature: `num` is `%(num)s` in both forms."""
    return (singular if num == 1 else plural) % {"num": num, **variables}


def sessions_text(num: int) -> str:
    return ngettext("%(num)s session", "%(num)s sessions", num)


def done_action_items_text(num: int) -> str:
    return ngettext("%(num)s action item done", "%(num)s action items done", num)


def duration_text(minutes: float) -> str:
    """A length of time as people say it: "45 minutes" under an hour, then hours to the half hour under ten
    ("1 hour", "1.5 hours") and whole hours from ten on ("12 hours")."""
    whole_minutes = round(minutes)
    if whole_minutes < 60:
        return ngettext("%(num)s minute", "%(num)s minutes", whole_minutes)
    hours = whole_minutes / 60
    # Halves round up (75 minutes is 1.5 hours), not to even as round() would.
    halves = math.floor(hours * 2 + 0.5) / 2 if hours < 10 else float(math.floor(hours + 0.5))
    if halves == int(halves):
        return ngettext("%(num)s hour", "%(num)s hours", int(halves))
    return f"{halves:.1f} hours"


def hours_text(hours: float) -> str:
    """`duration_text` of an amount kept in hours (the health figures)."""
    return duration_text(hours * 60)


def time_in_sessions_text(minutes: float, sessions: int) -> str:
    """ "45 minutes in 1 session", "3 hours in 4 sessions"."""
    return ngettext(
        "%(duration)s in %(num)s session", "%(duration)s in %(num)s sessions", sessions, duration=duration_text(minutes)
    )


def names_text(names: Sequence[str], conjunction: str = "and") -> str:
    """ "Ana", "Ana and Ben", "Ana, Ben and Chen" (or "3 or 4" with `conjunction` "or")."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def most_chosen_text(counts: Sequence[tuple[str, int]]) -> str:
    """Which answer was chosen most, ties named together: "Most chose 4 (3 answers).", "Most chose 3 or 4
    (2 each)."; nothing when no answer was chosen."""
    top = max((n for _, n in counts), default=0)
    if not top:
        return ""
    chosen = [label for label, n in counts if n == top]
    if len(chosen) == 1:
        return ngettext("Most chose %(choice)s (%(num)s answer).", "Most chose %(choice)s (%(num)s answers).", top,
                        choice=chosen[0])  # fmt: skip
    return f"Most chose {names_text(chosen, 'or')} ({top} each)."


def waiting_for_text(others: Sequence[str], *, me: bool, to: str) -> str:
    """Whom something waits on, the viewer first as "you": "Waiting for you and Priya Natarajan to accept the
    agreement." (`to` is what they must do, "accept the agreement")."""
    people = (["you"] if me else []) + list(others)
    return f"Waiting for {names_text(people)} to {to}."


# The helpers templates use as filters: {{ totals.hours | hours }}.
FILTERS = {
    "hours": hours_text,
    "sessions": sessions_text,
    "done_action_items": done_action_items_text,
    "time_in_sessions": time_in_sessions_text,
    "names": names_text,
}
