"""The custom parameters of a link placed by deep linking, which say what its launches open (no database here:
the launch and the gradebook read them too)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

# A round is named by its id, which a launch accepts only when the round belongs to the launched course's program
# (a copied course keeps the links, not the rounds).
TARGET = "mentor_lti_target"
ROUND = "mentor_lti_round"
ROUND_ID = re.compile(r"[0-9]{1,9}")  # a round id as placed links carry it: fits the id column everywhere


class Target(StrEnum):
    PROGRAM = "program"
    ASSESSMENT = "assessment"


def placed_round_id(custom: Mapping[str, str]) -> int | None:
    """The round a placed assessment link names, unchecked against any course; None for any other link."""
    round_id = custom.get(ROUND, "")
    # ASCII digits only, and within the id column's range: `isdigit()` also takes "²", which `int()` refuses.
    if custom.get(TARGET) != Target.ASSESSMENT.value or not ROUND_ID.fullmatch(round_id):
        return None
    return int(round_id)
