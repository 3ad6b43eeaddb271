"""How a match's score and explanation are read for the participant's page, whatever shape they arrive in."""

from __future__ import annotations

from typing import Any

import pytest

from lti_tool.profiles.services import ContributionBar, read_explanation, score_points


def test_reasons_and_shares_of_the_score() -> None:
    reasons, bars = read_explanation(
        {
            "reasons": ["You both speak French.", "  ", 42, "Lukas is strong in Python, your first goal."],
            "contributions": {"availability": 0.2, "goal_gain": 0.4, "diversity": 0.0},
        }
    )
    assert reasons == ["You both speak French.", "Lukas is strong in Python, your first goal."]
    assert bars == [
        ContributionBar("Help with your goals", "40 points", 40),
        ContributionBar("Shared availability", "20 points", 20),
        ContributionBar("Different perspectives", "0 points", 0),
    ]


def test_other_scales_are_drawn_relative_to_the_largest() -> None:
    _, bars = read_explanation({"contributions": {"goal_gain": 4, "custom_rule": {"value": 2}, "bad": -1}})
    assert [(b.label, b.width) for b in bars] == [("Help with your goals", 100), ("Custom rule", 50), ("Bad", 0)]
    assert bars[0].value_text == "4.00"


@pytest.mark.parametrize(
    "explanation",
    [
        None,
        [],
        "text",
        {"reasons": None, "contributions": None},
        {"contributions": [1, 2]},
        {"contributions": {"x": "high", "y": True, "z": float("nan")}},
    ],
)
def test_unexpected_shapes_show_nothing_rather_than_fail(explanation: Any) -> None:
    assert read_explanation(explanation) == ([], [])


def test_a_single_reason_string() -> None:
    assert read_explanation({"reasons": "Same department."}) == (["Same department."], [])


@pytest.mark.parametrize(
    ("score", "percent"), [(0.826, 83), (1, 100), (0, 0), (-0.2, 0), (87.4, 87), (250, 100), (None, None), ("x", None)]
)
def test_score_as_a_percentage(score: Any, percent: int | None) -> None:
    assert score_points(score) == percent
