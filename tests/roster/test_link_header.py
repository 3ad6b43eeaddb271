"""Reading `Link` headers: the next page's URL exactly as the platform wrote it, however the header is laid out."""

from __future__ import annotations

import httpx
import pytest

from lti_tool.roster.services import next_page_url, parse_link_header

BOOKMARK = "https://canvas.example/api/lti/courses/1/names_and_roles?page=bookmark%3AWyJTdHVkZW50IiwxMl0&per_page=4"


def _next(*values: str, url: str = "https://lms.example/api/memberships") -> str | None:
    response = httpx.Response(200, headers=[("Link", value) for value in values], request=httpx.Request("GET", url))
    return next_page_url(response)


def test_a_mixed_case_bookmark_is_kept_exactly() -> None:
    assert _next(f'<{BOOKMARK}>; rel="next"') == BOOKMARK


def test_the_next_link_is_found_among_several_in_any_order() -> None:
    header = (
        '<https://lms.example/m?page=1&per_page=4>; rel="current",'
        f' <{BOOKMARK}>; rel="next", <https://lms.example/m?page=1>; rel="first",'
        ' <https://lms.example/m?page=bookmark:Last>; rel="last"'
    )
    assert _next(header) == BOOKMARK


def test_links_may_come_in_several_header_lines() -> None:
    assert _next('<https://lms.example/m?page=1>; rel="first"', f"<{BOOKMARK}>; rel=next") == BOOKMARK


def test_commas_and_semicolons_inside_a_url_do_not_split_it() -> None:
    url = "https://lms.example/m?cursor=a,B;c&limit=4"
    assert _next(f'<https://lms.example/m?x=1,2>; rel="prev", <{url}>; rel="next"') == url


@pytest.mark.parametrize(
    "params",
    [
        'rel="next"',
        "rel=next",
        'REL="NEXT"',
        'rel="next last"',
        ' title="Next, please; thanks" ; rel = "next"',
        'title="a \\"quoted\\" title"; rel="next"',
    ],
)
def test_rel_is_read_quoted_or_not_as_a_list_and_case_insensitively(params: str) -> None:
    assert _next(f"<{BOOKMARK}>; {params}") == BOOKMARK


def test_only_the_first_rel_parameter_counts() -> None:
    assert _next(f'<{BOOKMARK}>; rel="last"; rel="next"') is None


def test_without_a_next_link_there_is_no_next_page() -> None:
    assert _next('<https://lms.example/m?page=1>; rel="first", <https://lms.example/m?page=1>; rel="last"') is None
    assert _next() is None
    assert _next("garbage without a link") is None
    assert _next(f'<{BOOKMARK}; rel="next"') is None  # the target never closes


def test_a_relative_next_link_is_resolved_against_the_page_url() -> None:
    assert _next('<?from=4&Limit=4>; rel="next"', url="https://lms.example/api/Memberships?from=0&Limit=4") == (
        "https://lms.example/api/Memberships?from=4&Limit=4"
    )


def test_parameters_are_returned_unquoted_with_lowercase_names() -> None:
    links = parse_link_header(['<https://a.example/x>; Rel="next"; type=application/json, <https://b.example/>'])
    assert links == [("https://a.example/x", {"rel": "next", "type": "application/json"}), ("https://b.example/", {})]
