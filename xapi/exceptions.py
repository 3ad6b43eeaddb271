"""Every exception the xapi package raises, one place to catch them from."""

from __future__ import annotations


class XapiError(Exception):
    """Base of all errors raised by the xapi package."""


class StatementBuildError(XapiError, ValueError):
    """The inputs given to a builder cannot make a statement (e.g. an opaque id unfit for an IRI).

    Invalid statement content found by the models raises pydantic's ValidationError instead.
    """


class ProfileError(XapiError):
    """The xAPI Profile document cannot be found, read, or understood (e.g. a JSONPath we do not support)."""


class LrsError(XapiError):
    """The LRS did not take a batch; base of the delivery errors.

    Messages carry the endpoint and the status code, never credentials.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LrsAuthError(LrsError):
    """The LRS refused our credentials or their scope (401/403).

    Retrying will not help: stop delivering and alert someone to fix the configuration.
    """


class LrsUnavailable(LrsError):
    """The LRS is busy or out of reach (429, 5xx, timeout, no connection): retry later with backoff.

    `retry_after` holds the delay in seconds the LRS asked for, when it said so.
    """

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class LrsProtocolError(LrsError):
    """The LRS answered something xAPI does not allow there (e.g. 404 from a wrong endpoint URL).

    Most likely a misconfiguration; retrying as-is will not help.
    """
