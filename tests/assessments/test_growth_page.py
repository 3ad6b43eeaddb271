"""The growth page: a mentee's levels from baseline to now as a chart and a table, strengths and weaknesses,
disagreements with their mentor, every round's ratings and comments, and grades for the mentee and staff."""

from __future__ import annotations

import html
import re

from tests.assessments.conftest import Assessing
from tests.conftest import row_counts


def _two_rounds(assessing: Assessing, *, graded: bool = False) -> tuple[int, int]:
    """A baseline and a follow-up with self and mentor ratings of the mentee (python and sql)."""
    extra = {"graded": "y", "grade_rule": "average-level"} if graded else {}
    baseline = assessing.create_round("Baseline", **extra)
    assessing.open_round(baseline)
    assessing.rate(assessing.mentee, baseline, assessing.mentee, {"python": 1, "sql": 2}, "<script>alert(1)</script>")
    assessing.rate(assessing.mentor, baseline, assessing.mentee, {"python": 1, "sql": 1})
    assessing.close_round(baseline)
    follow_up = assessing.create_round("Follow-up", kind="follow-up", position=2, **extra)
    assessing.open_round(follow_up)
    assessing.rate(assessing.mentee, follow_up, assessing.mentee, {"python": 5, "sql": 2})
    assessing.rate(assessing.mentor, follow_up, assessing.mentee, {"python": 3, "sql": 2}, "Great progress")
    return baseline, follow_up


def _table(page: str, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, as the text of their cells."""
    body = page.split(caption, 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ]


def test_the_mentee_sees_growth_as_a_chart_and_the_same_numbers_as_a_table(assessing: Assessing) -> None:
    _two_rounds(assessing)
    page = assessing.page(assessing.mentee, assessing.growth_path(assessing.mentee))
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Your skill growth" in text
    assert "Growth from “Baseline” to “Follow-up”" in text
    # The chart: an image with its title and description, the data in words.
    svg = re.search(r"<svg class=\"bar-chart\".*?</svg>", page.text, re.S)
    assert svg is not None
    assert 'role="img"' in svg.group(0) and 'aria-labelledby="growth-chart-title growth-chart-desc"' in svg.group(0)
    title = "Level per skill, from 1 (Beginner) to 5 (Expert), in Baseline and Follow-up"
    assert f'<title id="growth-chart-title">{title}</title>' in svg.group(0)
    assert '<desc id="growth-chart-desc">Python 1 then 3; SQL 1 then 2.</desc>' in svg.group(0)
    assert (
        svg.group(0).count('class="chart-bar series-0"') == 2 and svg.group(0).count('class="chart-bar series-1"') == 2
    )
    # The levels are the mentor's where they rated: python 1 -> 3, sql 1 -> 2.
    assert _table(text, "Level per skill, and the change") == [
        ["Skill", "Baseline", "Follow-up", "Change"],
        ["Python", "1", "3", "+2"],
        ["SQL", "1", "2", "+1"],
    ]


def test_strengths_weaknesses_and_disagreements_come_from_the_latest_round(assessing: Assessing) -> None:
    _two_rounds(assessing)
    text = html.unescape(assessing.page(assessing.mentee, assessing.growth_path(assessing.mentee)).text)
    assert re.search(r'<ul class="strengths"><li>Python</li></ul>', text)
    assert re.search(r'<ul class="weaknesses"><li>SQL</li></ul>', text)
    # Self 5 against the mentor's 3 in python; sql agrees (2 and 2).
    assert _table(text, "differ by a level or more, in “Follow-up”") == [
        ["Skill", "Self", "Mentor", "Difference"],
        ["Python", "5", "3", "rated 2 levels higher by the mentee than by their mentor"],
    ]


def test_every_rounds_ratings_and_comments_are_listed_with_comments_escaped(assessing: Assessing) -> None:
    _two_rounds(assessing)
    page = assessing.page(assessing.mentor, assessing.growth_path(assessing.mentee))
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    text = html.unescape(page.text)
    assert "Great progress" in text
    assert _table(text, "Every rating in Baseline") == [
        ["Skill", "Self", "Mentor", "Instructor"],
        ["Python", "1", "1", "not rated"],
        ["SQL", "2", "1", "not rated"],
    ]
    # Submission times are shown in the viewer's own time zone.
    assert "(Europe/Paris)" in text


def test_grades_are_shown_to_the_mentee_and_staff_with_the_rule_but_not_to_the_mentor(assessing: Assessing) -> None:
    _, follow_up = _two_rounds(assessing, graded=True)
    rule = "Average rubric level achieved: the average level over the rated skills, out of 5, as a percentage"
    for person in (assessing.mentee, "instructor"):
        text = html.unescape(assessing.page(person, assessing.growth_path(assessing.mentee)).text)
        assert "Grade: <strong>50 %</strong>" in text  # follow-up: mentor's 3 and 2 -> 2.5 of 5
        assert "Grade: <strong>20 %</strong>" in text  # baseline: mentor's 1 and 1
        assert rule in text
    assert "Grade:" not in assessing.page(assessing.mentor, assessing.growth_path(assessing.mentee)).text
    round_page = html.unescape(assessing.page("instructor", f"/manage/{follow_up}").text)
    assert '<td role="cell" data-label="Grade">50 %</td>' in round_page
    assert '<td role="cell" data-label="Grade">no grade yet</td>' in round_page  # the other mentees have no ratings


def test_with_one_round_the_page_shows_its_levels_and_says_growth_comes_later(
    assessing: Assessing, open_baseline: int
) -> None:
    before = assessing.page(assessing.mentee, assessing.growth_path(assessing.mentee))
    assert "No ratings yet" in before.text and "<svg" not in before.text
    assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 2, "sql": 4})
    text = html.unescape(assessing.page(assessing.mentee, assessing.growth_path(assessing.mentee)).text)
    assert "Levels in “Baseline”" in text and "Growth appears once a second round has ratings." in text
    assert '<desc id="growth-chart-desc">Python 2; SQL 4.</desc>' in text
    assert _table(text, "Level per skill</caption>") == [["Skill", "Baseline"], ["Python", "2"], ["SQL", "4"]]
    assert "appears once the mentee and their mentor have both rated" in text


def test_only_the_mentee_their_mentor_and_staff_see_the_growth_page(assessing: Assessing) -> None:
    _two_rounds(assessing)
    path = assessing.growth_path(assessing.mentee)
    before = row_counts(assessing.app)
    assert assessing.page("instructor", path).status_code == 200
    for person in (assessing.outsider, "learner-02"):  # another pair's mentee; another pair's mentor
        assert assessing.page(person, path).status_code == 404
    assert assessing.page("stranger", path).status_code == 403
    assert assessing.page("other-instructor", path).status_code == 403
    assert assessing.page("other-instructor", path, course=assessing.other_course_id).status_code == 404
    assert assessing.page(assessing.mentee, "/people/999999").status_code == 404
    # A mentor only is not assessed: there is no growth page of theirs.
    assert assessing.page("instructor", assessing.growth_path(assessing.mentor)).status_code == 404
    assert row_counts(assessing.app) == before


def test_home_and_assessments_page_say_what_waits_on_each_person(assessing: Assessing, open_baseline: int) -> None:
    home = html.unescape(assessing.browser(assessing.mentee).get(f"/courses/{assessing.course_id}/me").text)
    assert "Skill assessments" in home and "Rate yourself in “Baseline”" in home
    assert f"/assessments/people/{assessing.participant(assessing.mentee)}" in home  # their growth page
    mentor_home = html.unescape(assessing.browser(assessing.mentor).get(f"/courses/{assessing.course_id}/me").text)
    mentee_name = (
        assessing.pair.cohort.browsers[assessing.mentee].platform.course("ment-101").person(assessing.mentee).name
    )
    assert f"Rate {mentee_name} in “Baseline”" in mentor_home
    assessing.rate(assessing.mentee, open_baseline, assessing.mentee, {"python": 2, "sql": 4})
    home = html.unescape(assessing.browser(assessing.mentee).get(f"/courses/{assessing.course_id}/me").text)
    assert "You have submitted every open assessment." in home
    listing = html.unescape(assessing.page(assessing.mentor).text)
    assert f"Rate {mentee_name}" in listing and "Waiting for you" in listing
    assert f"/assessments/people/{assessing.participant(assessing.mentee)}" in listing  # their mentee's growth
