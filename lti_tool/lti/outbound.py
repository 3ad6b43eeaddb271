"""HTTP to addresses that an LMS or an anonymous caller chose: only to permitted addresses, within a total deadline.

Dynamic registration fetches whatever URL its caller names, and a platform's key set, token and service URLs are
whatever the platform said. So every such request goes through `PlatformHttp`, whose rules hold where they cannot
be talked around:

- Addresses are checked when the connection is made, on every address the host name resolves to, and the socket
  connects to a checked address (not to the name again): DNS rebinding and redirects cannot reach what a URL check
  let through. Loopback, private, shared, link-local, unspecified, multicast and reserved addresses (and IPv6 forms
  that embed them: IPv4-mapped, -compatible, 6to4, Teredo, NAT64) are refused unless they are inside one of
  `allowed_private_networks`. TLS still verifies the URL's host name.
- Each request has one deadline for all of it (name lookup, connect, TLS, sending, headers, body): every socket
  read and write waits at most the time left, so a platform that drips its answer byte by byte cannot hold a thread.
- No redirects, no proxies or credentials from the environment, and `fetch` reads at most `max_bytes` of an answer.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from lti_tool.settings import Settings

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# getaddrinfo cannot be given a timeout: lookups run here so that a request can stop waiting for a slow resolver.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbound-dns")
# When the request being sent must be complete (time.monotonic()); None outside PlatformHttp's requests.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("outbound_deadline", default=None)
_ENCODING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
# httpcore's errors as httpx's, so that callers see the exceptions an httpx client raises.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


class Unreachable(Exception):
    """The request got no answer: refused, reset, timed out, name not found, or an address not permitted. Callers
    show one message for all of them, so that nobody can probe which one it was; `detail` is for the log."""

    def __init__(self, url: str, detail: str) -> None:
        self.origin = display_origin(url)
        super().__init__(f"{self.origin} could not be reached")
        self.detail = detail


class AnswerTooLarge(Exception):
    """The answer was longer than the caller's `max_bytes`; it was not read further."""


class AddressNotPermitted(httpcore.ConnectError):
    """Every address of the host is loopback, private, or otherwise not public, and none is in an allowed network."""


def is_permitted(address: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    """Public unicast addresses, and addresses inside `allowed`; an IPv6 address embedding an IPv4 one must pass
    with both."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if any(address in network or (embedded is not None and embedded in network) for network in allowed):
        return True
    return all(c.is_global and not c.is_multicast for c in (address, embedded) if c is not None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _IPV4_COMPATIBLE or any(address in prefix for prefix in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """The socket timeout for one operation: its own, cut to what is left of the request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


@contextmanager
def _until(deadline: float) -> Iterator[None]:
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for core_error, httpx_error in _HTTPX_ERRORS:
            if isinstance(error, core_error):
                raise httpx_error(str(error) or type(error).__name__) from error
        raise


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads, writes and TLS handshake never wait past the request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host (not the address connected to): certificates are checked against it.
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _PermittedAddressBackend(httpcore.SyncBackend):
    """Resolves the host itself, keeps the permitted addresses, and connects to one of them by address."""

    def __init__(self, allowed: Sequence[IPNetwork]) -> None:
        self._allowed = tuple(allowed)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        lookup = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            found = lookup.result(timeout=_time_left(timeout, httpcore.ConnectTimeout))
        except LookupTimeout as error:
            raise httpcore.ConnectTimeout(f"looking up {host} took too long") from error
        except (OSError, UnicodeError) as error:  # UnicodeError: a name IDNA cannot encode (empty or long labels)
            raise httpcore.ConnectError(f"{host} was not found ({error})") from error
        addresses = [str(info[4][0]) for info in found]
        permitted = [a for a in dict.fromkeys(addresses) if is_permitted(ipaddress.ip_address(a), self._allowed)]
        if not permitted:
            raise AddressNotPermitted(f"{host} resolves to {', '.join(addresses)}: not a permitted address")
        for address in permitted:
            try:
                stream = super().connect_tcp(
                    address,
                    port,
                    timeout=_time_left(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if address == permitted[-1]:
                    raise
            else:
                return _DeadlineStream(stream)
        raise AssertionError("unreachable")  # pragma: no cover


class _BodyWithinDeadline(httpx.SyncByteStream):
    """The answer's body, read under the same deadline as its request."""

    def __init__(self, stream: Iterable[bytes], deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        while True:
            with _as_httpx_errors(), _until(self._deadline):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        with _as_httpx_errors():
            getattr(self._stream, "close", lambda: None)()


class _GuardedTransport(httpx.BaseTransport):
    """httpx's HTTP transport, on httpcore's public API, with the permitted-address backend and the deadline."""

    def __init__(self, allowed: Sequence[IPNetwork], deadline_seconds: float) -> None:
        self._deadline_seconds = deadline_seconds
        self._pool = httpcore.ConnectionPool(
            # Certificates: certifi's, or SSL_CERT_FILE / SSL_CERT_DIR (an institution's own CA for its LMS).
            ssl_context=httpx.create_ssl_context(trust_env=True),
            network_backend=_PermittedAddressBackend(allowed),
            retries=0,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = time.monotonic() + self._deadline_seconds
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=cast(Iterable[bytes], request.stream),
            extensions=request.extensions,
        )
        with _as_httpx_errors(), _until(deadline):
            answer = self._pool.handle_request(core_request)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_BodyWithinDeadline(cast(Iterable[bytes], answer.stream), deadline),
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class PlatformHttp(httpx.Client):
    """The client for every URL an LMS or a caller supplied (see the module docstring). Each request may take
    `platform_http_timeout_seconds` in all."""

    def __init__(self, settings: Settings) -> None:
        seconds = settings.platform_http_timeout_seconds
        super().__init__(
            transport=_GuardedTransport(settings.allowed_private_networks, seconds),
            timeout=httpx.Timeout(seconds),
            follow_redirects=False,
            trust_env=False,  # HTTP(S)_PROXY would send requests around the transport; .netrc would add credentials
        )


def fetch(
    http: PlatformHttp,
    method: str,
    url: str | httpx.URL,
    *,
    max_bytes: int,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response:
    """Send one request and read its answer (at most `max_bytes`). `body`: httpx's `json=`, `data=` or `content=`.
    Raises Unreachable (logged) or AnswerTooLarge; any HTTP status is returned for the caller to judge."""
    # Identity: the size limit counts the bytes as decoded, and a compressed answer could expand far past them.
    headers = {"Accept-Encoding": "identity", **(headers or {})}
    try:
        with http.stream(method, url, headers=headers, **body) as response:
            content = bytearray()
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) > max_bytes:
                    raise AnswerTooLarge(f"{display_origin(str(url))} answered more than {max_bytes} bytes")
    # InvalidURL and IDNA's UnicodeError come from a URL httpx cannot even send (e.g. `https://0177.0.0.1/`): to the
    # caller that is one more way of not reaching the LMS.
    except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as error:
        unreachable = Unreachable(str(url), f"{type(error).__name__}: {error}")
        log.warning("outbound %s to %s failed: %s", method, display_origin(str(url)), unreachable.detail)
        raise unreachable from error
    # The content is decoded already: without these headers httpx does not decode (or count) it again.
    kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _ENCODING_HEADERS]
    return httpx.Response(response.status_code, headers=kept, content=bytes(content), request=response.request)


def display_origin(url: str) -> str:
    """Scheme, host and port of a URL: what may be shown or logged (paths and queries can carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "(an unreadable address)"
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "", "", ""))[:200] or "(no address)"
