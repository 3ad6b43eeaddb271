"""Instructors add, edit and remove the skills of their program's framework."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import field_error, post_form, program_state, skill_id, text_of

RUBRIC = {
    "level1": "Follows a checklist with help.",
    "level2": "Runs a short retrospective.",
    "level3": "Facilitates team workshops.",
    "level4": "Designs facilitation for hard conversations.",
    "level5": "Trains other facilitators.",
}


def _add(browser: LtiBrowser, course: int, **fields: str) -> Any:
    path = f"/courses/{course}/program/skills"
    data = {"add-key": "facilitation", "add-name": "Facilitation", "add-category": "soft", **RUBRIC}
    data = {name if name.startswith("add-") else f"add-{name}": value for name, value in {**data, **fields}.items()}
    return post_form(browser, path, path, data)


def _skills(app: Flask, course: int) -> dict[str, tuple[Any, ...]]:
    state = program_state(app, course)
    assert state is not None
    return {skill[0]: skill for skill in state["skills"]}


def test_skills_are_listed_by_category_with_their_rubric(instructor: LtiBrowser, course: int) -> None:
    page = instructor.get(f"/courses/{course}/program/skills")
    assert page.status_code == 200
    assert heading(page) == "Skill framework"
    technical, soft = page.text.index('<h2 id="technical-title">'), page.text.index('<h2 id="soft-title">')
    assert technical < page.text.index("Python programming") < soft < page.text.index("Conflict resolution")
    text = text_of(page)
    assert "Expert: Sets practices for teams; reviews and mentors others' Python code." in text
    assert "key,name,category,description,level1,level2,level3,level4,level5" in text
    assert f'href="/courses/{course}/program/skills.json"' in page.text


def test_instructor_adds_a_skill(app: Flask, instructor: LtiBrowser, course: int) -> None:
    response = _add(instructor, course, description="Helping a group think together.")
    assert response.status_code == 303
    page = instructor.get(response.headers["location"])
    assert "Added “Facilitation”." in page.text
    added = _skills(app, course)["facilitation"]
    assert added[1:5] == ("Facilitation", "soft", "Helping a group think together.", list(RUBRIC.values()))
    assert added[5] == max(skill[5] for skill in _skills(app, course).values())  # appended at the end


def test_a_skill_with_a_bad_key_or_missing_levels_is_refused(app: Flask, instructor: LtiBrowser, course: int) -> None:
    before = program_state(app, course)
    response = _add(instructor, course, key="python")
    assert response.status_code == 400
    assert "already the key of another skill" in field_error(response, "add-key")
    response = _add(instructor, course, key="not a key!")
    assert "letters, digits" in field_error(response, "add-key")
    response = _add(instructor, course, level3="   ")
    assert "Describe what level 3 looks like." in field_error(response, "add-level3")
    response = _add(instructor, course, category="hard")
    assert "Not a valid choice" in field_error(response, "add-category")
    assert program_state(app, course) == before


def test_instructor_edits_a_skill_but_not_its_key(app: Flask, instructor: LtiBrowser, course: int) -> None:
    path = f"/courses/{course}/program/skills/{skill_id(app, course, 'python')}"
    page = instructor.get(path)
    assert heading(page) == "Edit skill"
    assert "Python programming" in page.text
    data = {"name": "Python", "category": "technical", "description": "Scripts and services.", **RUBRIC}
    response = post_form(instructor, path, path, {**data, "key": "py"})
    assert response.status_code == 303
    skills = _skills(app, course)
    assert "py" not in skills
    assert skills["python"][1:5] == ("Python", "technical", "Scripts and services.", list(RUBRIC.values()))

    before = program_state(app, course)
    response = post_form(instructor, path, path, {**data, "name": "", "level5": ""})
    assert response.status_code == 400
    assert "Give the skill a name." in field_error(response, "name")
    assert "Describe what level 5" in field_error(response, "level5")
    assert program_state(app, course) == before


def test_instructor_removes_a_skill(app: Flask, instructor: LtiBrowser, course: int) -> None:
    pages = f"/courses/{course}/program/skills"
    response = post_form(instructor, pages, f"{pages}/{skill_id(app, course, 'ux-design')}/remove", {})
    assert response.status_code == 303
    assert "Removed “UX design”." in instructor.get(response.headers["location"]).text
    assert "ux-design" not in _skills(app, course)
    assert len(_skills(app, course)) == 17


def test_the_last_skill_cannot_be_removed(app: Flask, instructor: LtiBrowser, course: int) -> None:
    pages = f"/courses/{course}/program/skills"
    for key in list(_skills(app, course))[:-1]:
        assert post_form(instructor, pages, f"{pages}/{skill_id(app, course, key)}/remove", {}).status_code == 303
    (last,) = _skills(app, course)
    response = post_form(instructor, pages, f"{pages}/{skill_id(app, course, last)}/remove", {}, follow_redirects=True)
    assert "A framework needs at least one skill" in response.text
    assert list(_skills(app, course)) == [last]


def test_an_unknown_skill_is_not_found(instructor: LtiBrowser, course: int) -> None:
    pages = f"/courses/{course}/program/skills"
    assert instructor.get(f"{pages}/999999").status_code == 404
    assert post_form(instructor, pages, f"{pages}/999999/remove", {}).status_code == 404


def test_a_skill_name_is_shown_escaped(app: Flask, instructor: LtiBrowser, course: int) -> None:
    attack = "<script>alert('skill')</script>"
    assert _add(instructor, course, name=attack, description=attack).status_code == 303
    for path in (
        f"/courses/{course}/program/skills",
        f"/courses/{course}/program/skills/{skill_id(app, course, 'facilitation')}",
    ):
        page = instructor.get(path)
        assert attack not in page.text
        assert "&lt;script&gt;alert(&#39;skill&#39;)&lt;/script&gt;" in page.text
