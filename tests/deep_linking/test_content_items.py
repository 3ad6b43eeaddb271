"""The content items and the choice rules as plain data: what each LMS setting changes in the answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lti_tool.deep_linking.services import (
    Choice,
    SelectionError,
    SelectionRequest,
    Target,
    content_items,
    pick,
)

LAUNCH_URL = "https://tool.example/lti/launch"
PROGRAM = Choice(key="program", target=Target.PROGRAM, title="Spring mentoring", text="The program.")
GRADED = Choice(
    key="assessment-7", target=Target.ASSESSMENT, title="Baseline", text="A round.", round_id=7, graded=True
)
REQUEST = SelectionRequest(
    launch_id="lti1p3-launch-x",
    course_id=1,
    membership_id=1,
    platform_id=1,
    deployment_id="d1",
    return_url="https://lms.example/return",
    accept_multiple=True,
    accept_lineitem=True,
    targets=("iframe", "window"),
    data="opaque",
)


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (("iframe", "window"), {"iframe": {"width": 800, "height": 800}}),
        (("window",), {"window": {"targetName": "mentor-lti"}}),
        (("embed",), {}),
    ],
)
def test_the_presentation_follows_the_accepted_document_targets(
    targets: tuple[str, ...], expected: dict[str, object]
) -> None:
    (item,) = content_items([PROGRAM], replace(REQUEST, targets=targets), launch_url=LAUNCH_URL)
    assert {k: v for k, v in item.items() if k in ("iframe", "window")} == expected


def test_a_graded_round_carries_a_line_item_unless_the_lms_ignores_them() -> None:
    (item,) = content_items([GRADED], REQUEST, launch_url=LAUNCH_URL)
    assert item["lineItem"] == {
        "scoreMaximum": 100,
        "label": "Baseline",
        "resourceId": "assessment-7",
        "tag": "skill-assessment",
    }
    assert item["custom"] == {"mentor_lti_target": "assessment", "mentor_lti_round": "7"}
    (plain,) = content_items([GRADED], replace(REQUEST, accept_lineitem=False), launch_url=LAUNCH_URL)
    assert "lineItem" not in plain
    (ungraded,) = content_items([replace(GRADED, graded=False)], REQUEST, launch_url=LAUNCH_URL)
    assert "lineItem" not in ungraded


def test_one_item_only_where_the_lms_takes_one() -> None:
    assert pick([PROGRAM, GRADED], ["assessment-7", "program"], accept_multiple=True) == [PROGRAM, GRADED]
    assert pick([PROGRAM, GRADED], ["program"], accept_multiple=False) == [PROGRAM]
    with pytest.raises(SelectionError, match="single item"):
        pick([PROGRAM, GRADED], ["assessment-7", "program"], accept_multiple=False)
    with pytest.raises(SelectionError, match="Choose what to add"):
        pick([PROGRAM, GRADED], ["assessment-8"], accept_multiple=True)
