"""The Ralph test helper starts a usable LRS, stops it cleanly, and says why when it cannot start."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from lti_tool.devlrs import RalphLrs, RalphStartError, run_ralph


def test_lrs_fixture_answers_on_loopback_with_its_credentials(lrs: RalphLrs) -> None:
    assert lrs.endpoint == f"http://127.0.0.1:{lrs.port}/xAPI"
    assert lrs.running
    with httpx.Client(auth=(lrs.username, lrs.password)) as http:
        answer = http.get(f"{lrs.endpoint}/statements", params={"limit": 1})
    assert answer.status_code == 200
    assert "statements" in answer.json()


def test_a_port_already_taken_fails_fast_with_ralphs_own_words(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        lrs = RalphLrs(data_dir=tmp_path, username="u", password="p", port=squatter.getsockname()[1])
        with pytest.raises(RalphStartError, match=r"(?i)address already in use"):
            lrs.start()
    assert not lrs.running


def test_run_ralph_stops_the_server_on_exit(tmp_path: Path) -> None:
    with run_ralph(tmp_path) as lrs:
        url = f"{lrs.base_url}/__heartbeat__"
        assert httpx.get(url).status_code == 200
    assert not lrs.running
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=1.0)
