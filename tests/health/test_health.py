"""The instructor's program health page, per-pair view and CSV exports, over a program with a known history."""

from __future__ import annotations

import csv
import html
import io
import re

import httpx
import pytest

from lti_tool.extensions import db
from lti_tool.health.services import pair_page, program_health
from lti_tool.programs.models import Program
from tests.health.conftest import (
    FORMULA_ANSWER,
    FORMULA_GOAL,
    FORMULA_MEASURE,
    FORMULA_TOPIC,
    PRIVATE,
    SHARED,
    KnownProgram,
)

EXPORTS = ("sessions", "goals", "assessments", "survey-answers")


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _stats(page: httpx.Response) -> dict[str, str]:
    return {_text(dt): _text(dd) for dt, dd in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page.text, re.S)}


def _figure(page: httpx.Response, figure_id: str) -> str:
    found = re.search(
        rf'<figure class="chart-figure" aria-labelledby="{figure_id}-caption">(.*?)</figure>', page.text, re.S
    )
    assert found, f"no figure {figure_id}"
    return found.group(1)


def _rows(fragment: str) -> list[list[str]]:
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", fragment, re.S)
    ]


def _csv(known: KnownProgram, name: str) -> httpx.Response:
    return known.pair.browser("instructor").get(f"{known.base}/exports/{name}.csv")


def test_health_figures_are_computed_from_the_programs_history(known: KnownProgram) -> None:
    with known.app.app_context():
        program = db.session.get(Program, known.pair.cohort.program_id)
        report = program_health(program)
        totals = report.totals
        assert (totals.open_pairs, totals.accepted_pairs, totals.overdue_pairs) == (2, 1, 1)
        assert (totals.sessions, totals.hours) == (2, 2.5)  # the disputed half hour does not count
        # The pair list starts with the pairs needing attention: the overdue one first.
        pairs = pair_page(program).pairs
        assert [(p.relationship_id, p.checkin.overdue) for p in pairs] == [
            (known.other_id, True),
            (known.pair.relationship_id, False),
        ]
        assert [(p.sessions, p.hours, p.goals_completed, p.goals_set) for p in pairs] == [(0, 0, 0, 1), (2, 2.5, 1, 2)]
        assert (report.goals_completed, report.goals_set) == (1, 3)
        assert [(r.round.title, r.completed, r.total) for r in report.rounds] == [
            ("Baseline", 2, 3),
            ("Follow-up", 1, 3),
        ]
        # Mentor ratings win over self ratings; a learner rated in one round only does not count.
        assert [(g.key, g.learners, g.baseline, g.latest) for g in report.growth] == [
            ("python", 1, 2.0, 4.0),
            ("sql", 1, 1.0, 2.0),
        ]
        assert sum(w.sessions for w in report.weeks) == 2 and report.weeks[-1].week_of <= report.weeks[-1].week_of
        [survey] = report.surveys
        assert (survey.responses, survey.participants) == (1, 5)
        satisfaction = next(d for d in survey.distributions if d.question.key == "satisfaction")
        assert [n for _, n in satisfaction.counts] == [0, 0, 0, 1, 0]


def test_the_health_page_shows_the_figures_with_charts_and_their_tables(known: KnownProgram) -> None:
    page = known.pair.browser("instructor").get(f"{known.base}/health")
    assert page.status_code == 200
    stats = _stats(page)
    assert stats["Pairs matched"] == "2"
    assert stats["Agreements accepted by everyone"] == "1 of 2"
    assert stats["Sessions logged"] == "2 2.5 hours"
    assert stats["Overdue for a check-in"] == "1 of 2"
    assert stats["Goals completed"] == "1 of 3"
    assert f"/program/pairs/{known.other_id}" in page.text  # the overdue pair is linked in the next step

    # Every chart is an accessible inline SVG image with a title and a description.
    charts = re.findall(r"<svg[^>]*>.*?</svg>", page.text, re.S)
    assert len(charts) >= 6
    for chart in charts:
        assert 'role="img"' in chart and "<title id=" in chart and "<desc id=" in chart and "<rect" in chart
    weekly = _figure(page, "weekly-hours")
    assert [row[1:3] for row in _rows(weekly)[1:] if row[1] != "0"] == [["1", "1.5 hours"], ["1", "1 hour"]]
    assert "2.5 hours in 2 sessions." in html.unescape(weekly)
    assert _rows(_figure(page, "assessment-completion"))[1:] == [
        ["Baseline", "2", "3", "67%"],
        ["Follow-up", "1", "3", "33%"],
    ]
    growth = _figure(page, "skill-growth")
    assert "Python from 2 to 4" in html.unescape(growth)
    assert _rows(growth)[1:] == [["Python", "1", "2.0", "4.0", "+2.0"], ["SQL", "1", "1.0", "2.0", "+1.0"]]
    assert ["Completed", "1"] in _rows(_figure(page, "goals"))
    satisfaction = _figure(page, f"survey-{known.survey_id}-satisfaction")
    assert ["4", "1"] in _rows(satisfaction) and "1 answer. Most chose 4 (1 answer). Mean 4.0 out of 5." in satisfaction
    career = _rows(_figure(page, f"survey-{known.survey_id}-career-outcomes"))
    assert ["I was promoted", "1"] in career and ["I led a project", "0"] in career
    assert "1 of 5 participants answered" in page.text
    pairs_table = _rows(page.text.split('class="pair-table"')[1].split("</table>")[0])
    # The overdue pair comes first, then the other.
    assert [row[1:4] for row in pairs_table[1:]] == [["Waiting", "0", "0 minutes"], ["Accepted", "2", "2.5 hours"]]
    assert "Overdue by 16 days" in _text(page.text)
    assert PRIVATE not in page.text
    assert FORMULA_ANSWER not in html.unescape(page.text)  # written answers are in the export, not on the page


def test_the_staff_pair_view_shows_everything_shared_but_never_a_private_note(known: KnownProgram) -> None:
    instructor = known.pair.browser("instructor")
    health = instructor.get(f"{known.base}/health")
    pair_path = f"{known.base}/pairs/{known.pair.relationship_id}"
    assert pair_path in health.text  # linked from the pair table
    page = instructor.get(pair_path)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert PRIVATE not in text
    assert "&lt;script&gt;alert(&#39;shared&#39;)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert SHARED in text
    for shared in ("Very useful", "Read the style guide", "We did not meet that day.", FORMULA_GOAL, "First report",
                   "Good start on the joins.", "confirmed", "disputed", "Times are in UTC"):  # fmt: skip
        assert shared in text, shared
    assert "2 sessions counted, 2.5 hours" in text
    other = instructor.get(f"{known.base}/pairs/{known.other_id}")
    assert "Can we meet?" in other.text and "Overdue" in other.text


def test_each_export_is_a_csv_file_without_private_notes_and_with_formulas_escaped(known: KnownProgram) -> None:
    files = {}
    for name in EXPORTS:
        response = _csv(known, name)
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == (
            f'attachment; filename="{name}-course-{known.pair.course_id}.csv"'
        )
        assert PRIVATE not in response.text, name
        files[name] = list(csv.DictReader(io.StringIO(response.text)))

    sessions = files["sessions"]
    assert len(sessions) == 3  # every logged session, disputed ones too, with their state
    confirmed = next(s for s in sessions if s["status"] == "confirmed")
    assert confirmed["topics"] == "'" + FORMULA_TOPIC
    assert confirmed["shared_notes"] == SHARED and confirmed["duration_minutes"] == "60"
    assert "Very useful" in confirmed["ratings"] and "Read the style guide" in confirmed["action_items"]
    goals = {g["title"]: g for g in files["goals"]}
    assert goals["'" + FORMULA_GOAL]["measure"] == "'" + FORMULA_MEASURE
    assert goals["Write SQL joins"]["milestones_done"] == "1" and goals["Write SQL joins"]["milestones_total"] == "1"
    ratings = files["assessments"]
    assert len(ratings) == 8  # one row per skill rating
    assert {(r["round"], r["rater_role"], r["skill_key"], r["level"]) for r in ratings} >= {
        ("Baseline", "mentor", "python", "2"),
        ("Follow-up", "self", "sql", "2"),
    }
    answers = {a["question_key"]: a for a in files["survey-answers"]}
    assert answers["proudest-outcome"]["answer"] == "'" + FORMULA_ANSWER
    assert answers["career-outcomes"]["answer"] == "I was promoted; I earned a certification"
    assert answers["career-outcomes"]["answer_code"] == "promotion[,]certification"
    assert answers["satisfaction"]["answer"] == "4"


@pytest.mark.parametrize("name", ["private-notes", "everything"])
def test_an_unknown_export_is_not_found(known: KnownProgram, name: str) -> None:
    assert _csv(known, name).status_code == 404
