"""The bounds of a program's fields, shared by its forms (field checks) and services (the program's rules), so
that neither imports the other for them."""

from __future__ import annotations

from lti_tool.matching.engine import MAX_CAPACITY, MAX_HOURS_APART

MAX_TITLE = 200  # the title column's length
MAX_AGREEMENT = 5000
CAPACITY_RANGE = (1, MAX_CAPACITY)  # the engine's bound; a program's mentors take at least one mentee
CHECKIN_RANGE = (1, 90)
REQUEST_DAYS_RANGE = (1, 60)  # how long a mentor may have to answer a mentee's request
HOURS_APART_RANGE = (0, MAX_HOURS_APART)  # around the clock, nobody is more than 12 hours from anyone
