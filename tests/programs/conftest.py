"""Fixtures of the program setup tests: an instructor who launched into ment-101 and created its program."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.lti_browser import LtiBrowser
from tests.programs.helpers import course_id, create_program


@pytest.fixture
def instructor(browser: LtiBrowser) -> LtiBrowser:
    """The instructor of ment-101, launched from the sandbox LMS (no program yet)."""
    browser.launch("ment-101", "instructor")
    return browser


@pytest.fixture
def course(app: Flask, instructor: LtiBrowser) -> int:
    """ment-101's id, once its instructor has created the program through the overview form."""
    found = course_id(app, "ment-101")
    create_program(instructor, found, title="Spring mentoring")
    return found
