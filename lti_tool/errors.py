"""Domain exceptions and the one place that maps them to HTTP answers."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, Request, jsonify, redirect, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, MethodNotAllowed

from lti_tool.extensions import db
from lti_tool.form_pages import form_page_url
from lti_tool.input_checks import NUL, nul_path


class MentorLtiError(Exception):
    """Base class: an error the tool explains to the person who met it."""

    status = 400
    title = "Something went wrong"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def explanation(self) -> str:
        """The message and what to do about it, as one line (for command output and flashed notices)."""
        return f"{self.message} {self.hint}".strip()


def click_error(error: MentorLtiError) -> click.ClickException:
    """A domain error as a command-line failure: its explanation, exit code 1, no traceback."""
    return click.ClickException(error.explanation)


class LaunchError(MentorLtiError):
    """An LTI login or launch was refused: `code` names the failed check, `hint` tells an admin what to check."""

    title = "This LTI launch could not be accepted"

    def __init__(self, code: str, message: str, *, hint: str = "", status: int = 400, **extra: Any) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status
        self.extra = extra


class NotAuthorised(MentorLtiError):
    """The request has no launch session for this course, or the role does not allow it."""

    status = 403
    title = "You do not have access to this page"


class NotFound(MentorLtiError):
    """The thing asked for does not exist, or exists where the asker may not know of it (another pair, course)."""

    status = 404
    title = "Not found"


class RegistrationError(MentorLtiError):
    """A platform registration is invalid or conflicts with an existing one."""


def _wants_json(req: Request) -> bool:
    best = req.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and req.accept_mimetypes[best] > req.accept_mimetypes["text/html"]


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(MentorLtiError)
    def domain_error(error: MentorLtiError) -> tuple[Any, int]:
        db.session.rollback()
        code = getattr(error, "code", type(error).__name__)
        if _wants_json(request):
            return jsonify(error=code, message=error.message, hint=error.hint), error.status
        return render_template("errors/problem.html", error=error, code=code), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, int]:
        status = error.code or 500
        if _wants_json(request):
            return jsonify(error=error.name, message=error.description), status
        return render_template("errors/http.html", error=error), status

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(error: MethodNotAllowed) -> Any:
        page = form_page_url(request)
        return redirect(page, 303) if page is not None else http_error(error)

    @app.errorhandler(500)
    def internal_error(error: Exception) -> tuple[Any, int]:
        db.session.rollback()
        if _wants_json(request):
            return jsonify(error="Internal Server Error"), 500
        return render_template("errors/http.html", error=None), 500


def register_input_checks(app: Flask) -> None:
    """Refuse, before any view runs, a request with a NUL character in its path, query, form or JSON body: a 400
    that says so, and nothing written (PostgreSQL cannot store the character; no real input has one). Uploaded
    files are bytes until their reader decodes them: the reader refuses a NUL in the text, and can say more (a
    UTF-16 file is full of zero bytes and is better told to be saved as UTF-8)."""

    @app.before_request
    def refuse_nul_characters() -> None:
        where = _nul_in(request)
        if where is not None:
            raise BadRequest(f"The request's {where} contains a NUL character, which is never valid input.")


def _nul_in(req: Request) -> str | None:
    if NUL in req.path:
        return "path"
    for source, values in (("query", req.args), ("form", req.form)):
        for key, value in values.items(multi=True):
            if NUL in key or NUL in value:
                return f"{source} field {key.replace(NUL, '')!r}"
    if req.is_json:
        try:
            body = req.get_json(silent=True)
        except RecursionError as error:
            raise BadRequest("The request's JSON body is nested too deeply.") from error
        where = nul_path(body)
        if where is not None:
            return f"JSON field {where!r}"
    return None
