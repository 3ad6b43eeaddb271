"""A framework is imported from CSV or JSON all or nothing, and exported as JSON that imports back unchanged."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from flask import Flask

from lti_tool.resources import resource_path
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import field_error, post_form, program_state

HEADER = ["key", "name", "category", "description", "level1", "level2", "level3", "level4", "level5"]
LEVELS = ["Starts with help.", "Works on simple cases.", "Works alone.", "Handles hard cases.", "Teaches others."]


def _csv(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _import(browser: LtiBrowser, course: int, filename: str, content: bytes) -> Any:
    pages = f"/courses/{course}/program/skills"
    return post_form(browser, pages, f"{pages}/import", {}, files={"framework": (filename, content)})


def _keys(app: Flask, course: int) -> list[str]:
    state = program_state(app, course)
    assert state is not None
    return [skill[0] for skill in state["skills"]]


def test_csv_import_replaces_the_framework(app: Flask, instructor: LtiBrowser, course: int) -> None:
    content = _csv(
        [
            ["negotiation", "Negotiation", "soft", "Reaching agreements.", *LEVELS],
            ["Rust", "Rust programming", "Technical", "", *LEVELS],  # key and category are case-insensitive
        ]
    )
    response = _import(instructor, course, "framework.csv", b"\xef\xbb\xbf" + content)  # with Excel's BOM
    assert response.status_code == 303
    assert "Imported 2 skills" in instructor.get(response.headers["location"]).text
    state = program_state(app, course)
    assert state is not None
    assert state["skills"] == [
        ("negotiation", "Negotiation", "soft", "Reaching agreements.", LEVELS, 0),
        ("rust", "Rust programming", "technical", "", LEVELS, 1),
    ]


def test_json_import_replaces_the_framework(app: Flask, instructor: LtiBrowser, course: int) -> None:
    document = {
        "skills": [
            {"key": "mentoring", "name": "Mentoring", "category": "soft", "descriptors": LEVELS},
            {"key": "sql", "name": "SQL", "category": "technical", "description": None, "descriptors": LEVELS},
        ]
    }
    response = _import(instructor, course, "framework.json", json.dumps(document).encode())
    assert response.status_code == 303
    assert _keys(app, course) == ["mentoring", "sql"]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        (
            "bad.csv",
            _csv(
                [
                    ["a", "A", "soft", "", *LEVELS],
                    ["b", "B", "soft", "", *LEVELS],
                    ["c", "C", "soft", "", *LEVELS[:4], ""],
                ]
            ),
            "row 4: descriptors: exactly 5 non-empty descriptors",
        ),
        (
            "bad.csv",
            _csv([["a", "A", "soft", "", *LEVELS], ["a", "A again", "soft", "", *LEVELS]]),
            "row 3: key: 'a' repeats row 2",
        ),
        ("bad.csv", _csv([["a", "A", "people", "", *LEVELS]]), "row 2: category: must be 'technical' or 'soft'"),
        ("bad.csv", _csv([["a b", "A", "soft", "", *LEVELS]]), "row 2: key: use 1-64 letters"),
        ("bad.csv", _csv([["a", "", "soft", "", *LEVELS]]), "row 2: name: required"),
        ("bad.csv", _csv([["a", "A", "soft", "", *LEVELS, "extra"]]), "row 2: has 10 cells but the header names 9"),
        (
            "bad.csv",
            _csv([["a", "A", "soft", *LEVELS]], header=HEADER[:-1]),
            "row 1 (header): missing column(s) level5",
        ),
        ("bad.csv", _csv([]), "The file has no skills"),
        ("bad.json", b'{"skills": [', "Not valid JSON: line 1, column 13"),
        ("bad.json", b'[{"key": "a"}]', 'an object with a "skills" list'),
        (
            "bad.json",
            json.dumps({"skills": [{"key": "a", "name": "A", "category": "soft", "descriptors": LEVELS[:3]}]}).encode(),
            "skills[0]: descriptors: exactly 5",
        ),
        ("bad.csv", "key,name\n".encode("utf-16"), "not UTF-8 text"),
        ("bad.csv", _csv([["a", "A\x00", "soft", "", *LEVELS]]), "contains a NUL character"),
        ("framework.txt", _csv([["a", "A", "soft", "", *LEVELS]]), "Upload a .csv or .json file."),
    ],
)
def test_a_bad_file_changes_nothing_and_names_the_row_and_field(
    app: Flask, instructor: LtiBrowser, course: int, filename: str, content: bytes, message: str
) -> None:
    before = program_state(app, course)
    response = _import(instructor, course, filename, content)
    assert response.status_code == 400
    assert message in field_error(response, "framework")
    assert program_state(app, course) == before


def test_an_import_without_a_file_is_refused(app: Flask, instructor: LtiBrowser, course: int) -> None:
    before = program_state(app, course)
    pages = f"/courses/{course}/program/skills"
    response = post_form(instructor, pages, f"{pages}/import", {})
    assert response.status_code == 400
    assert "Choose a CSV or JSON file." in field_error(response, "framework")
    assert program_state(app, course) == before


def test_the_exported_framework_imports_back_unchanged(app: Flask, instructor: LtiBrowser, course: int) -> None:
    attack = "<script>alert(1)</script> & “quotes”"
    pages = f"/courses/{course}/program/skills"
    data = {"add-key": "odd", "add-name": attack, "add-category": "soft", "add-description": attack}
    data.update({f"add-level{n}": f"{attack} {n}" for n in range(1, 6)})
    assert post_form(instructor, pages, pages, data).status_code == 303
    before = program_state(app, course)

    export = instructor.get(f"/courses/{course}/program/skills.json")
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/json"
    assert "attachment" in export.headers["content-disposition"]
    document = export.json()
    assert len(document["skills"]) == 19
    assert document["skills"][-1]["name"] == attack

    response = _import(instructor, course, "skill-framework.json", export.content)
    assert response.status_code == 303
    assert program_state(app, course) == before
    assert instructor.get(f"/courses/{course}/program/skills.json").json() == document


def test_the_shipped_framework_imports_as_it_is(app: Flask, instructor: LtiBrowser, course: int) -> None:
    before = program_state(app, course)
    shipped = (resource_path("config") / "skill-framework.json").read_bytes()
    assert _import(instructor, course, "skill-framework.json", shipped).status_code == 303
    after = program_state(app, course)
    assert after is not None and before is not None
    assert after["skills"] == before["skills"]
