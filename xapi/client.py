"""A small xAPI 1.0.3 LRS client: deliver statement batches idempotently, isolate bad ones, read back."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal, Self
from uuid import UUID

import httpx

from xapi.exceptions import LrsAuthError, LrsProtocolError, LrsUnavailable
from xapi.models import Statement, render_timestamp

XAPI_VERSION: Final = "1.0.3"
# Fields the LRS sets or may rewrite on storage; they do not make two statements different.
LRS_ASSIGNED_FIELDS: Final = frozenset({"stored", "authority", "version"})
_MAX_DETAIL: Final = 8000
_MAX_PAGES: Final = 10_000

_system_random: Final = random.SystemRandom()


def backoff_delay(attempt: int, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential backoff with full jitter.

    Full jitter (uniform in [0, min(cap, base * 2**attempt)]) spreads the retries of many workers that
    failed together, so a recovering LRS is not hit by all of them at once.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must be >= 0")
    # The exponent is bounded so huge attempt numbers saturate at the cap instead of overflowing.
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    return (rng or _system_random).uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A statement the LRS will not take as is; resending the same bytes will not change that."""

    index: int  # position in the batch given to post_batch
    statement_id: str | None
    reason: Literal["conflict", "invalid"]
    status_code: int
    detail: str  # the LRS's answer body (truncated)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Outcome of one post_batch: which positions the LRS now holds and which it refused."""

    statement_ids: tuple[str | None, ...]
    delivered: tuple[int, ...]
    rejected: tuple[Rejection, ...]

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def delivered_ids(self) -> tuple[str, ...]:
        return tuple(i for i in (self.statement_ids[n] for n in self.delivered) if i is not None)


_UNPARSED: Final = object()


@dataclass(frozen=True, slots=True)
class _Item:
    index: int
    body: bytes
    statement_id: str | None
    parsed: Any  # _UNPARSED until needed, when the caller gave the statement's id


def _item(index: int, statement: bytes | Statement, statement_id: str | None = None) -> _Item:
    body = statement.to_json_bytes() if isinstance(statement, Statement) else bytes(statement)
    if statement_id is not None:
        return _Item(index, body, statement_id, _UNPARSED)
    parsed = _parse(body)
    found = parsed.get("id") if isinstance(parsed, dict) else None
    return _Item(index, body, found if isinstance(found, str) else None, parsed)


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _parsed(item: _Item) -> Any:
    return _parse(item.body) if item.parsed is _UNPARSED else item.parsed


def _comparable(statement: Mapping[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in statement.items() if k not in LRS_ASSIGNED_FIELDS}
    # An LRS may fill in the default objectType and re-render the timestamp; neither is a change.
    for key, default in (("actor", "Agent"), ("object", "Activity")):
        part = result.get(key)
        if isinstance(part, dict) and "objectType" not in part:
            result[key] = {**part, "objectType": default}
    timestamp = result.get("timestamp")
    if isinstance(timestamp, str):
        with contextlib.suppress(ValueError):
            result["timestamp"] = datetime.fromisoformat(timestamp)
    return result


def same_statement(stored: Mapping[str, Any], ours: Mapping[str, Any]) -> bool:
    """Whether the LRS's copy is our statement, ignoring what the LRS adds on storage."""
    return _comparable(stored) == _comparable(ours)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    return response.text[:_MAX_DETAIL]


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return render_timestamp(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


class LrsClient:
    """Talks to one LRS endpoint (e.g. Ralph's http://host:port/xAPI) with Basic auth."""

    def __init__(
        self,
        endpoint: str,
        username: str,
        password: str,
        *,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = httpx.URL(endpoint)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("LRS endpoint must be an http(s) URL")
        if url.userinfo:
            # Credentials in the URL would end up in logs and exception messages.
            raise ValueError("put LRS credentials in username/password, not in the endpoint URL")
        self.endpoint = str(url).rstrip("/")
        self._statements_url = self.endpoint + "/statements"
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password),
            headers={"X-Experience-API-Version": XAPI_VERSION},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"LrsClient(endpoint={self.endpoint!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- Delivery --------------------------------------------------------------------------------

    def post_batch(
        self, statements: Sequence[bytes | Statement], *, statement_ids: Sequence[str] | None = None
    ) -> BatchResult:
        """Deliver a batch; each statement ends up delivered (new or already there) or rejected.

        `statement_ids` (the statements' ids, in order), when the caller knows them, saves parsing each one;
        a statement is then parsed only to compare it with the LRS's copy after a 409.

        Raises LrsAuthError (stop and alert), LrsUnavailable (retry the whole batch later: statements
        already stored are recognised by id and content) or LrsProtocolError.
        """
        if statement_ids is not None and len(statement_ids) != len(statements):
            raise ValueError("statement_ids must give one id per statement")
        ids: Sequence[str | None] = statement_ids if statement_ids is not None else [None] * len(statements)
        items = [_item(index, statement, ids[index]) for index, statement in enumerate(statements)]
        delivered: list[int] = []
        rejected: list[Rejection] = []
        if items:
            self._deliver(items, delivered, rejected)
        return BatchResult(
            statement_ids=tuple(item.statement_id for item in items),
            delivered=tuple(sorted(delivered)),
            rejected=tuple(sorted(rejected, key=lambda r: r.index)),
        )

    def _deliver(self, items: list[_Item], delivered: list[int], rejected: list[Rejection]) -> None:
        response = self._send("POST", self._statements_url, content=b"[" + b",".join(i.body for i in items) + b"]")
        status = response.status_code
        if status in (200, 204):
            delivered.extend(item.index for item in items)
        elif status == 409:
            self._resolve_conflict(items, response, delivered, rejected)
        elif status in (400, 413, 422):
            # xAPI batches are atomic: one bad statement fails them all. Halving isolates it in
            # O(bad * log n) requests and delivers everything else.
            if len(items) == 1:
                item = items[0]
                rejected.append(Rejection(item.index, item.statement_id, "invalid", status, _detail(response)))
            else:
                middle = len(items) // 2
                self._deliver(items[:middle], delivered, rejected)
                self._deliver(items[middle:], delivered, rejected)
        else:
            self._raise_for(response)
            raise LrsProtocolError(f"unexpected answer {status} to POST {self._statements_url}", status_code=status)

    def _resolve_conflict(
        self,
        items: list[_Item],
        response: httpx.Response,
        delivered: list[int],
        rejected: list[Rejection],
    ) -> None:
        # 409 means some id is already stored. It is our own earlier delivery when the content
        # matches (a retry after a lost answer), a real conflict when it differs; an LRS stores
        # nothing from a batch it answered 409 to, so whatever is not there yet is sent again.
        pending: list[_Item] = []
        for item in items:
            stored = self.get_statement(item.statement_id) if item.statement_id else None
            if stored is None:
                pending.append(item)
            elif isinstance(ours := _parsed(item), dict) and same_statement(stored, ours):
                delivered.append(item.index)
            else:
                rejected.append(
                    Rejection(item.index, item.statement_id, "conflict", response.status_code, _detail(response))
                )
        if not pending:
            return
        if len(pending) < len(items):
            self._deliver(pending, delivered, rejected)
        elif len(pending) == 1:
            # The LRS says conflict but shows no stored copy (e.g. its reads are scoped): trust it.
            item = pending[0]
            rejected.append(
                Rejection(item.index, item.statement_id, "conflict", response.status_code, _detail(response))
            )
        else:
            middle = len(pending) // 2
            self._deliver(pending[:middle], delivered, rejected)
            self._deliver(pending[middle:], delivered, rejected)

    # --- Reading back ----------------------------------------------------------------------------

    def get_statement(self, statement_id: str | UUID) -> dict[str, Any] | None:
        """The stored statement with this id, or None when the LRS does not have it."""
        response = self._send("GET", self._statements_url, params={"statementId": str(statement_id)})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            self._raise_for(response)
            raise LrsProtocolError(
                f"unexpected answer {response.status_code} to GET {self._statements_url}",
                status_code=response.status_code,
            )
        body = self._json(response)
        # The spec answers a single statement; Ralph wraps it in a StatementResult.
        if isinstance(body, dict) and isinstance(body.get("statements"), list):
            found = [s for s in body["statements"] if isinstance(s, dict) and s.get("id") == str(statement_id)]
            return found[0] if found else None
        return body if isinstance(body, dict) and body.get("id") == str(statement_id) else None

    def iter_statements(self, **params: object) -> Iterator[dict[str, Any]]:
        """Statements matching xAPI query parameters (agent=dict, since=datetime, ...), across pages."""
        url: httpx.URL | str = self._statements_url
        query: dict[str, str] | None = {key: _query_value(value) for key, value in params.items()}
        for _ in range(_MAX_PAGES):
            response = self._send("GET", url, params=query)
            if response.status_code != 200:
                self._raise_for(response)
                raise LrsProtocolError(
                    f"unexpected answer {response.status_code} to GET {self._statements_url}",
                    status_code=response.status_code,
                )
            body = self._json(response)
            statements = body.get("statements") if isinstance(body, dict) else None
            if not isinstance(statements, list):
                raise LrsProtocolError("the LRS answered a statement query without a statements list")
            yield from statements
            more = body.get("more")
            if not more or not statements:
                return
            # `more` is relative to the LRS origin and carries the whole query itself.
            url, query = httpx.URL(self.endpoint).join(more), None
        raise LrsProtocolError(f"the LRS kept answering `more` after {_MAX_PAGES} pages")

    def get_statements(self, **params: object) -> list[dict[str, Any]]:
        """All statements matching the query, following `more` links."""
        return list(self.iter_statements(**params))

    # --- Plumbing --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            return self._http.request(method, url, content=content, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise LrsUnavailable(f"LRS at {self.endpoint} timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            # httpx's messages name the error (e.g. connection refused), never the request's headers.
            raise LrsUnavailable(f"LRS at {self.endpoint} unreachable: {type(exc).__name__}: {exc}") from exc

    def _raise_for(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in (401, 403):
            raise LrsAuthError(
                f"LRS at {self.endpoint} refused our credentials ({status}); fix the configuration",
                status_code=status,
            )
        if status in (408, 429) or status >= 500:
            raise LrsUnavailable(
                f"LRS at {self.endpoint} answered {status}", status_code=status, retry_after=_retry_after(response)
            )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise LrsProtocolError(f"LRS at {self.endpoint} answered invalid JSON") from None
