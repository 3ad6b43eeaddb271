"""The sandbox LMS's web pages and OIDC endpoints, served on their own port like a real LMS."""

from __future__ import annotations

from flask import Flask, Response, abort, jsonify, render_template, request

from lti_tool.resources import resource_path
from lti_tool.sandbox.platform import SandboxAuthError, SandboxPlatform


def create_sandbox_app(platform: SandboxPlatform) -> Flask:
    app = Flask(__name__, template_folder=str(resource_path("templates")), static_folder=None)

    @app.get("/")
    def home() -> str:
        return render_template("sandbox/home.html", platform=platform)

    @app.get("/courses/<course_id>")
    def course(course_id: str) -> str:
        try:
            found = platform.course(course_id)
        except KeyError:
            abort(404)
        return render_template("sandbox/course.html", platform=platform, course=found)

    @app.get("/courses/<course_id>/launch/<person_id>")
    def launch(course_id: str, person_id: str) -> str:
        try:
            found = platform.course(course_id)
            person = found.person(person_id)
        except KeyError:
            abort(404)
        return render_template(
            "sandbox/launch.html",
            platform=platform,
            course=found,
            person=person,
            frame_url=platform.login_initiation_url(course_id, person_id),
        )

    @app.route("/auth", methods=["GET", "POST"])
    def authorize() -> tuple[str, int] | str:
        params = {k: v for k, v in (request.values.items())}
        try:
            action, fields = platform.authorize(params)
        except SandboxAuthError as error:
            return render_template("sandbox/auth_error.html", message=str(error)), 400
        return render_template("sandbox/form_post.html", action=action, fields=fields)

    @app.get("/jwks")
    def jwks() -> Response:
        return jsonify(platform.keys.jwks())

    return app
