"""Growth, strengths and weaknesses, disagreements, grades and the chart geometry, as plain functions."""

from __future__ import annotations

import pytest

from lti_tool.assessments.charts import Series, change_text, grouped_bars, level_text, shorten
from lti_tool.assessments.growth import (
    RoundRatings,
    compare_rounds,
    disagreements,
    grade_score,
    strengths_and_weaknesses,
)
from lti_tool.assessments.models import GradeRule, RaterRole

SELF, MENTOR, INSTRUCTOR = RaterRole.SELF, RaterRole.MENTOR, RaterRole.INSTRUCTOR
ORDER = ["python", "sql", "data-viz", "communication"]


def test_a_skills_level_is_the_mentors_else_the_instructors_else_the_mentees_own() -> None:
    ratings = RoundRatings(
        {
            SELF: {"python": [2], "sql": [1], "data-viz": [4]},
            MENTOR: {"python": [4, 3]},  # two mentors (a peer program): their mean
            INSTRUCTOR: {"python": [5], "sql": [3]},
        }
    )
    assert ratings.levels() == {"python": 3.5, "sql": 3.0, "data-viz": 4.0}
    assert ratings.mean(SELF, "python") == 2
    assert ratings.mean(MENTOR, "sql") is None


def test_growth_compares_the_first_and_latest_rounds_with_ratings_on_skills_rated_in_both() -> None:
    baseline = RoundRatings({SELF: {"python": [1], "sql": [2], "communication": [3]}})
    empty_midpoint = RoundRatings()
    follow_up = RoundRatings({SELF: {"sql": [4], "python": [3], "data-viz": [2]}, MENTOR: {"sql": [3]}})
    growth = compare_rounds([("Baseline", baseline), ("Midpoint", empty_midpoint), ("Follow-up", follow_up)], ORDER)
    assert (growth.first, growth.latest) == ("Baseline", "Follow-up")
    assert [(g.key, g.first, g.latest, g.change) for g in growth.skills] == [
        ("python", 1, 3, 2),
        ("sql", 2, 3, 1),  # the mentor's 3, not the self-rating's 4
    ]
    assert growth.not_compared == ("data-viz", "communication")


def test_one_round_with_ratings_shows_levels_without_growth_and_none_shows_nothing() -> None:
    only = compare_rounds(
        [("Baseline", RoundRatings({SELF: {"sql": [2], "python": [1]}})), ("Later", RoundRatings())], ORDER
    )
    assert (only.first, only.latest) == (None, "Baseline")
    assert [(g.key, g.first, g.latest, g.change) for g in only.skills] == [
        ("python", None, 1, None),
        ("sql", None, 2, None),
    ]
    assert compare_rounds([("Baseline", RoundRatings())], ORDER).latest is None


def test_strengths_and_weaknesses_are_the_highest_and_lowest_skills_with_ties() -> None:
    assert strengths_and_weaknesses({"python": 4, "sql": 2, "data-viz": 4, "communication": 3}) == (
        ["python", "data-viz"],
        ["sql"],
    )
    assert strengths_and_weaknesses({"python": 3, "sql": 3}) == ([], [])
    assert strengths_and_weaknesses({"python": 5}) == ([], [])


def test_disagreements_are_the_largest_gaps_of_a_level_or_more_between_self_and_mentor() -> None:
    ratings = RoundRatings(
        {
            SELF: {"python": [5], "sql": [2], "data-viz": [3], "communication": [1]},
            MENTOR: {"python": [2], "sql": [4], "data-viz": [3], "communication": [1, 2]},  # half a level: not
            INSTRUCTOR: {"python": [1]},  # instructors are not part of the comparison
        }
    )
    found = disagreements(ratings)
    assert [(d.key, d.gap) for d in found] == [("python", 3), ("sql", -2)]
    assert disagreements(ratings, limit=1)[0].key == "python"
    assert disagreements(RoundRatings({SELF: {"python": [5]}})) == []


@pytest.mark.parametrize(
    ("rule", "ratings", "score"),
    [
        (GradeRule.AVERAGE_LEVEL, RoundRatings({SELF: {"python": [2], "sql": [3]}}), 50.0),
        (GradeRule.AVERAGE_LEVEL, RoundRatings({SELF: {"python": [2]}, MENTOR: {"python": [4], "sql": [5]}}), 90.0),
        (GradeRule.AVERAGE_LEVEL, RoundRatings({MENTOR: {"python": [1], "sql": [1], "data-viz": [2]}}), 26.7),
        (GradeRule.AVERAGE_LEVEL, RoundRatings(), None),
        (GradeRule.COMPLETION, RoundRatings({SELF: {"python": [1]}}), 100.0),
        (GradeRule.COMPLETION, RoundRatings({MENTOR: {"python": [5]}}), None),
    ],
)
def test_grade_rules(rule: GradeRule, ratings: RoundRatings, score: float | None) -> None:
    assert grade_score(rule, ratings) == score


def test_levels_and_changes_read_as_people_write_them() -> None:
    assert [level_text(v) for v in (3, 3.0, 3.25, 3.5, 26.666, None)] == ["3", "3", "3.2", "3.5", "26.7", "not rated"]
    assert [change_text(v) for v in (2, -1.5, 0, None)] == ["+2", "\u22121.5", "no change", ""]
    assert shorten("Data visualisation", 8) == "Data vi…"
    assert shorten("SQL", 8) == "SQL"


def test_grouped_bars_scale_each_value_to_the_plot_and_stack_rows_below_the_legend() -> None:
    chart = grouped_bars(
        ["Python", "SQL"],
        [Series("Baseline", (1.0, None)), Series("Follow-up", (5.0, 2.5))],
        maximum=5,
        ticks=range(1, 6),
        width=572,
    )
    span = chart.plot_right - chart.plot_left
    assert chart.plot_right == 500  # 72 px kept for the values
    assert [t.x for t in chart.ticks] == [100, 200, 300, 400, 500]
    assert [t.label for t in chart.ticks] == ["1", "2", "3", "4", "5"]
    python, sql = chart.rows
    assert [b.width for b in python.bars] == [span / 5, span]
    assert [b.text for b in sql.bars] == ["not rated", "2.5"]
    assert sql.bars[0].width == 0
    assert [b.series for b in python.bars] == [0, 1]
    # Rows go down the page without overlapping, all inside the chart.
    bottoms = [bar.y + bar.height for row in chart.rows for bar in row.bars]
    tops = [bar.y for row in chart.rows for bar in row.bars]
    assert all(top >= previous for top, previous in zip(tops[1:], bottoms[:-1], strict=True))
    assert tops[0] >= chart.plot_top > chart.legend[0].y
    assert chart.height >= bottoms[-1]
    assert chart.legend[1].x > chart.legend[0].text_x  # the second key after the first one's name


def test_grouped_bars_refuse_values_that_do_not_fit_the_categories() -> None:
    with pytest.raises(ValueError, match="one value per category"):
        grouped_bars(["Python"], [Series("Baseline", (1.0, 2.0))], maximum=5, ticks=())
    with pytest.raises(ValueError, match="maximum"):
        grouped_bars(["Python"], [Series("Baseline", (1.0,))], maximum=0, ticks=())
