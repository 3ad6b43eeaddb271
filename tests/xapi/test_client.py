"""The LRS client against a real Ralph LRS: delivery, idempotent resends, conflicts, bad statements, outages."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lti_tool.devlrs import RalphLrs, free_port
from xapi.client import XAPI_VERSION, LrsClient, backoff_delay, same_statement
from xapi.exceptions import LrsAuthError, LrsProtocolError, LrsUnavailable
from xapi.models import Statement

WHEN = datetime(2025, 6, 1, 10, 0, 0, 250000, tzinfo=UTC)


def statement(registration: UUID, *, duration: str = "PT45M", statement_id: UUID | None = None) -> Statement:
    return Statement.model_validate(
        {
            "id": str(statement_id or uuid4()),
            "actor": {"account": {"homePage": "https://canvas.example.edu", "name": "a6c2e0f4"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended"}},
            "object": {
                "id": "https://mentor.example.edu/xapi/activities/meeting/s-1",
                "definition": {"type": "http://adlnet.gov/expapi/activities/meeting"},
            },
            "result": {"duration": duration},
            "context": {"registration": str(registration), "platform": "Moodle"},
            "timestamp": WHEN,
        }
    )


def poisoned(statement_id: UUID) -> bytes:
    # Well-formed JSON that Ralph answers 422 to: an actor with two identifiers.
    return json.dumps(
        {
            "id": str(statement_id),
            "actor": {"mbox": "mailto:a@example.edu", "account": {"homePage": "https://x.example", "name": "a"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
            "object": {"id": "https://mentor.example.edu/xapi/activities/meeting/s-1"},
        }
    ).encode()


@pytest.fixture
def client(lrs: RalphLrs) -> Iterator[LrsClient]:
    with LrsClient(lrs.endpoint, lrs.username, lrs.password, timeout=10.0) as lrs_client:
        yield lrs_client


def test_a_good_batch_is_delivered_and_reads_back_unchanged(client: LrsClient) -> None:
    registration = uuid4()
    batch = [statement(registration) for _ in range(3)]
    result = client.post_batch(batch)
    assert result.ok
    assert result.delivered == (0, 1, 2)
    assert result.delivered_ids == tuple(str(s.id) for s in batch)
    for sent in batch:
        stored = client.get_statement(sent.id)
        assert stored is not None
        assert stored["stored"] and stored["authority"]  # the LRS's own additions
        assert same_statement(stored, sent.to_dict())
        assert {k: v for k, v in stored.items() if k not in ("stored", "authority")} == sent.to_dict()


def test_reading_back_follows_more_links(client: LrsClient) -> None:
    registration = uuid4()
    batch = [statement(registration) for _ in range(5)]
    assert client.post_batch(batch).ok
    found = client.get_statements(registration=registration, limit=2)
    assert sorted(s["id"] for s in found) == sorted(str(s.id) for s in batch)
    assert client.get_statement(uuid4()) is None


def test_statement_bytes_are_accepted_as_they_are(client: LrsClient) -> None:
    sent = statement(uuid4())
    result = client.post_batch([sent.to_json_bytes()])
    assert result.delivered_ids == (str(sent.id),)


def test_resending_a_delivered_batch_is_success(client: LrsClient) -> None:
    batch = [statement(uuid4()) for _ in range(3)]
    assert client.post_batch(batch).ok
    again = client.post_batch([s.to_json_bytes() for s in batch])
    assert again.ok and again.delivered == (0, 1, 2)
    # Old and new together: the LRS keeps the old ones and stores the new one.
    fresh = statement(uuid4())
    mixed = client.post_batch([*batch, fresh])
    assert mixed.ok and mixed.delivered == (0, 1, 2, 3)
    assert client.get_statement(fresh.id) is not None


def test_the_same_statement_twice_in_one_batch_is_delivered_once(client: LrsClient) -> None:
    sent = statement(uuid4())
    result = client.post_batch([sent, sent])
    assert result.ok and result.delivered == (0, 1)
    assert client.get_statement(sent.id) is not None


def test_same_id_with_other_content_is_a_conflict_and_the_rest_is_delivered(client: LrsClient) -> None:
    registration = uuid4()
    original = statement(registration, duration="PT45M")
    assert client.post_batch([original]).ok
    # An LRS compares content: PT45M00S is the same time but not the same statement.
    changed = statement(registration, duration="PT45M00S", statement_id=original.id)
    bystander = statement(uuid4())
    result = client.post_batch([bystander, changed])
    assert result.delivered == (0,)
    [rejection] = result.rejected
    assert (rejection.index, rejection.statement_id, rejection.reason) == (1, str(original.id), "conflict")
    assert rejection.status_code == 409
    assert "Differing statements already exist" in rejection.detail
    assert client.get_statement(bystander.id) is not None
    stored = client.get_statement(original.id)
    assert stored is not None and stored["result"]["duration"] == "PT45M"


def test_a_poisoned_statement_is_isolated_and_reported_with_the_lrs_answer(client: LrsClient) -> None:
    good = [statement(uuid4()) for _ in range(4)]
    bad_id = uuid4()
    result = client.post_batch([good[0], good[1], poisoned(bad_id), good[2], good[3]])
    assert result.delivered == (0, 1, 3, 4)
    [rejection] = result.rejected
    assert (rejection.index, rejection.statement_id, rejection.reason, rejection.status_code) == (
        2,
        str(bad_id),
        "invalid",
        422,
    )
    # The LRS's own words, pointing at the actor of the one statement it was sent alone.
    assert '"loc":["body",0,"actor"' in rejection.detail
    assert all(client.get_statement(s.id) is not None for s in good)
    assert client.get_statement(bad_id) is None


def test_bytes_that_are_not_json_are_rejected_alone(client: LrsClient) -> None:
    good = statement(uuid4())
    result = client.post_batch([b"{not json", good])
    assert result.delivered_ids == (str(good.id),)
    [rejection] = result.rejected
    assert (rejection.index, rejection.statement_id, rejection.status_code) == (0, None, 400)
    assert "Invalid JSON" in rejection.detail


def test_an_empty_batch_sends_nothing(client: LrsClient) -> None:
    result = client.post_batch([])
    assert result.ok and result.delivered == ()


def test_a_wrong_password_raises_an_auth_error_without_the_password(lrs: RalphLrs) -> None:
    with LrsClient(lrs.endpoint, lrs.username, "not-the-password-123") as wrong:
        with pytest.raises(LrsAuthError) as raised:
            wrong.post_batch([statement(uuid4())])
        assert raised.value.status_code == 401
        assert "not-the-password-123" not in str(raised.value)
        assert "not-the-password-123" not in repr(wrong)
        assert lrs.password not in repr(wrong)


def test_nothing_listening_is_unavailable() -> None:
    nowhere = LrsClient(f"http://127.0.0.1:{free_port()}/xAPI", "u", "p", timeout=2.0)
    with nowhere, pytest.raises(LrsUnavailable) as raised:
        nowhere.post_batch([statement(uuid4())])
    assert raised.value.status_code is None


def test_a_silent_server_times_out_as_unavailable() -> None:
    # A socket that accepts connections (the kernel completes the handshake) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        stuck = LrsClient(f"http://127.0.0.1:{port}/xAPI", "u", "p", timeout=0.5)
        with stuck, pytest.raises(LrsUnavailable, match="timed out"):
            stuck.post_batch([statement(uuid4())])


def test_an_outage_is_retryable_and_the_store_survives_a_restart(lrs: RalphLrs, client: LrsClient) -> None:
    before = statement(uuid4())
    assert client.post_batch([before]).ok
    during = statement(uuid4())
    lrs.stop()
    try:
        with pytest.raises(LrsUnavailable):
            client.post_batch([during])
    finally:
        lrs.start()
    assert client.post_batch([during]).ok
    assert client.get_statement(before.id) is not None


def test_endpoint_with_trailing_slash_works(lrs: RalphLrs) -> None:
    with LrsClient(lrs.endpoint + "/", lrs.username, lrs.password) as slashed:
        assert slashed.post_batch([statement(uuid4())]).ok


def test_credentials_in_the_endpoint_are_refused() -> None:
    with pytest.raises(ValueError, match="not in the endpoint") as raised:
        LrsClient("http://user:s3cret@127.0.0.1:1/xAPI", "u", "p")
    assert "s3cret" not in str(raised.value)


# The cases Ralph cannot be made to produce on demand (version header, throttling, odd answers)
# use httpx's in-process transport.


def answering(status: int, seen: list[httpx.Request], **kwargs: object) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, **kwargs)  # type: ignore[arg-type]

    return httpx.MockTransport(handler)


def test_every_request_carries_the_xapi_version_and_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[] if request.method == "POST" else {"statements": []})

    with LrsClient("http://lrs.test/xAPI", "u", "p", transport=httpx.MockTransport(handler)) as mocked:
        mocked.post_batch([statement(uuid4())])
        mocked.get_statements(limit=1)
    assert [r.url.path for r in seen] == ["/xAPI/statements", "/xAPI/statements"]
    assert all(r.headers["X-Experience-API-Version"] == XAPI_VERSION for r in seen)
    assert all(r.headers["Authorization"].startswith("Basic ") for r in seen)


def test_the_posted_body_is_the_exact_statement_bytes() -> None:
    seen: list[httpx.Request] = []
    sent = [statement(uuid4()), statement(uuid4())]
    with LrsClient("http://lrs.test/xAPI", "u", "p", transport=answering(204, seen)) as mocked:
        mocked.post_batch(sent)
    assert seen[0].content == b"[" + sent[0].to_json_bytes() + b"," + sent[1].to_json_bytes() + b"]"
    assert seen[0].headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_throttling_and_server_errors_are_retryable(status: int) -> None:
    seen: list[httpx.Request] = []
    transport = answering(status, seen, headers={"Retry-After": "7"})
    mocked = LrsClient("http://lrs.test/xAPI", "u", "p", transport=transport)
    with mocked, pytest.raises(LrsUnavailable) as raised:
        mocked.post_batch([statement(uuid4())])
    assert (raised.value.status_code, raised.value.retry_after) == (status, 7.0)


def test_forbidden_is_an_auth_error_and_not_found_a_protocol_error() -> None:
    forbidden = LrsClient("http://lrs.test/xAPI", "u", "p", transport=answering(403, []))
    with forbidden, pytest.raises(LrsAuthError):
        forbidden.post_batch([statement(uuid4())])
    misplaced = LrsClient("http://lrs.test/xAPI", "u", "p", transport=answering(404, []))
    with misplaced, pytest.raises(LrsProtocolError):
        misplaced.post_batch([statement(uuid4())])


@given(st.integers(min_value=0, max_value=10_000), st.floats(0.01, 10), st.floats(0, 1000), st.integers())
def test_backoff_delay_stays_within_full_jitter_bounds(attempt: int, base: float, cap: float, seed: int) -> None:
    delay = backoff_delay(attempt, base=base, cap=cap, rng=random.Random(seed))  # noqa: S311 -- seeded for reproducible jitter
    assert 0.0 <= delay <= min(cap, base * 2.0 ** min(attempt, 64))


def test_backoff_delay_grows_then_saturates() -> None:
    rng = random.Random(1)  # noqa: S311 -- seeded for reproducible jitter
    early = max(backoff_delay(1, rng=rng) for _ in range(200))
    late = max(backoff_delay(20, rng=rng) for _ in range(200))
    assert early <= 2.0
    assert 250.0 < late <= 300.0
    assert backoff_delay(10_000, rng=rng) <= 300.0
    with pytest.raises(ValueError):
        backoff_delay(-1)
