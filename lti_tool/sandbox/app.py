"""The sandbox LMS's web pages and OIDC endpoints, served on their own port like a real LMS."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, abort, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.resources import resource_path
from lti_tool.sandbox.advantage import AGS_SCOPES, NRPS_SCOPE, ServiceError
from lti_tool.sandbox.platform import DEEP_LINKING, LMS_SESSION_COOKIE, SandboxAuthError, SandboxPlatform

LINE_ITEM_SCOPES = (AGS_SCOPES[0], "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly")


def create_sandbox_app(platform: SandboxPlatform) -> Flask:
    app = Flask(__name__, template_folder=str(resource_path("templates")), static_folder="static")

    @app.after_request
    def lms_session(response: Response) -> Response:
        """Like Moodle 4.5.11+, the LMS's own session cookie is SameSite=Lax: a browser sends it on the LMS's own
        pages and on top-level GETs, not on a cross-site POST from the tool's frame."""
        if platform.lax_session_cookie and LMS_SESSION_COOKIE not in request.cookies:
            response.set_cookie(
                LMS_SESSION_COOKIE, "signed-in", httponly=True, samesite="Lax", secure=request.is_secure
            )
        return response

    def signed_in_or_repost() -> BaseResponse | tuple[str, int] | None:
        """Moodle's require_login for its OIDC and deep linking endpoints: without its session cookie a POST is
        posted again from the LMS's own page (Moodle's repost_crosssite_page), where the Lax cookie goes along;
        a GET without it is refused."""
        if not platform.lax_session_cookie or LMS_SESSION_COOKIE in request.cookies:
            return None
        if request.method == "POST" and not request.form.get("repost"):
            fields = {**request.form.to_dict(), "repost": "1"}
            return render_template("sandbox/form_post.html", action=request.url, fields=fields), 200
        return render_template("sandbox/auth_error.html", message="You are not signed in to the LMS."), 401

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
        """Launch the course's link, a link placed by deep linking (`?link=`), or a content selection
        (`?placement=`), optionally as a dynamically registered client (`?client_id=`)."""
        try:
            found = platform.course(course_id)
            person = found.person(person_id)
            options: dict[str, Any] = {"client_id": request.args.get("client_id") or None}
            if request.args.get("link"):
                options["link_id"] = request.args["link"]
            if request.args.get("placement"):
                options["message_type"] = DEEP_LINKING
                options["placement"] = request.args["placement"]
            in_editor = bool(request.args.get("editor"))
            frame_url = platform.login_initiation_url(course_id, person_id, in_editor=in_editor, **options)
        except (KeyError, SandboxAuthError):
            abort(404)
        return render_template(
            "sandbox/launch.html",
            platform=platform,
            course=found,
            person=person,
            frame_url=frame_url,
            storage=platform.storage_target(in_editor=in_editor),
        )

    @app.get("/post_message_forwarding")
    def post_message_forwarding() -> str:
        """Canvas's storage frame: answers lti.put_data and lti.get_data from the tools' frames, at the origin of
        the OIDC authorization URL."""
        return render_template("sandbox/post_message_forwarding.html", platform=platform)

    # --- LTI Dynamic Registration ---------------------------------------------------------------------------

    @app.get("/admin/register-tool")
    def register_tool_start() -> BaseResponse | tuple[str, int]:
        """Like Moodle's startltiadvregistration.php: open the tool's registration URL with a fresh token."""
        url = request.args.get("url", "")
        if not url.startswith(("http://", "https://")):
            return render_template("sandbox/auth_error.html", message="Give the tool's registration URL."), 400
        return redirect(platform.registration_start_url(url))

    @app.get("/mod/lti/openid-configuration.php")
    @app.get("/api/lti/security/openid-configuration")
    def openid_configuration() -> Response:
        if request.path != platform.openid_configuration_url.removeprefix(platform.base_url):
            abort(404)
        return jsonify(platform.openid_configuration())

    @app.post("/mod/lti/openid-registration.php")
    @app.post("/api/lti/registrations")
    def registration() -> tuple[Response, int]:
        if request.path != platform.registration_url.removeprefix(platform.base_url):
            abort(404)
        try:
            body = request.get_json(silent=True)
            return jsonify(platform.register_tool(request.headers.get("Authorization"), body)), 200
        except ServiceError as error:
            return jsonify(error.body()), error.status

    # --- OAuth 2 token endpoint -----------------------------------------------------------------------------

    @app.post("/token")
    def token() -> tuple[Response, int]:
        try:
            return jsonify(platform.advantage.issue_token(request.form.to_dict())), 200
        except ServiceError as error:
            return jsonify(error.body()), error.status

    # --- Assignment and Grade Services ----------------------------------------------------------------------

    def _json(data: Any, status: int = 200, media_type: str = "application/json") -> Response:
        response = jsonify(data)
        response.status_code = status
        response.content_type = media_type
        return response

    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response:
        response = _json(error.body(), error.status)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.route("/api/courses/<course_id>/line_items", methods=["GET", "POST"])
    def line_items(course_id: str) -> Response:
        _course_or_404(course_id)
        platform.advantage.check_service_query(request.args)
        if request.method == "POST":
            platform.advantage.authorise(request.headers.get("Authorization"), AGS_SCOPES[0])
            item = platform.advantage.create_line_item(course_id, request.get_json(silent=True))
            return _json(
                platform.advantage.line_item_json(item, platform.base_url),
                201,
                "application/vnd.ims.lis.v2.lineitem+json",
            )
        platform.advantage.authorise(request.headers.get("Authorization"), LINE_ITEM_SCOPES)
        items = platform.advantage.find_line_items(course_id, request.args.to_dict())
        return _json(
            [platform.advantage.line_item_json(i, platform.base_url) for i in items],
            media_type="application/vnd.ims.lis.v2.lineitemcontainer+json",
        )

    @app.get("/api/courses/<course_id>/line_items/<item_id>")
    def line_item(course_id: str, item_id: str) -> Response:
        platform.advantage.check_service_query(request.args)
        platform.advantage.authorise(request.headers.get("Authorization"), LINE_ITEM_SCOPES)
        item = platform.advantage.line_item(course_id, item_id)
        return _json(
            platform.advantage.line_item_json(item, platform.base_url),
            media_type="application/vnd.ims.lis.v2.lineitem+json",
        )

    @app.post("/api/courses/<course_id>/line_items/<item_id>/scores")
    def scores(course_id: str, item_id: str) -> tuple[str, int]:
        platform.advantage.check_service_query(request.args)
        platform.advantage.authorise(request.headers.get("Authorization"), AGS_SCOPES[2])
        members = {m.user_id: m for m in platform.members(_course_or_404(course_id).id)}
        platform.advantage.post_score(course_id, item_id, request.get_json(silent=True), members)
        return "", 204

    @app.get("/api/courses/<course_id>/line_items/<item_id>/results")
    def results(course_id: str, item_id: str) -> Response:
        platform.advantage.check_service_query(request.args)
        platform.advantage.authorise(request.headers.get("Authorization"), AGS_SCOPES[1])
        found = platform.advantage.results(course_id, item_id, platform.base_url, request.args.get("user_id"))
        return _json(found, media_type="application/vnd.ims.lis.v2.resultcontainer+json")

    # --- Names and Role Provisioning Services ---------------------------------------------------------------

    @app.get("/api/courses/<course_id>/memberships")
    def memberships(course_id: str) -> Response:
        course = _course_or_404(course_id)
        platform.advantage.authorise(request.headers.get("Authorization"), NRPS_SCOPE)
        url = f"{platform.base_url}/api/courses/{course_id}/memberships"
        page, next_url = platform.advantage.memberships_page(url, platform.members(course_id), request.args.to_dict())
        personal = ("name", "given_name", "family_name", "email") if platform.advantage.share_personal_data else ()
        response = _json(
            {
                "id": request.url,
                "context": {"id": course.id, "label": course.label, "title": course.title},
                "members": [
                    {
                        "status": m.status,
                        **{attribute: getattr(m, attribute) for attribute in personal},
                        "user_id": m.user_id,
                        "roles": m.roles,
                    }
                    for m in page
                ],
            },
            media_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
        )
        if next_url:
            response.headers["Link"] = f'<{next_url}>; rel="next"'
        return response

    # --- Deep Linking return --------------------------------------------------------------------------------

    @app.post("/deep_linking/return")
    def deep_linking_return() -> BaseResponse | tuple[str, int] | str:
        refused = signed_in_or_repost()
        if refused is not None:
            return refused
        try:
            placed = platform.accept_deep_linking_response(request.form.get("JWT", ""))
        except SandboxAuthError as error:
            return render_template("sandbox/auth_error.html", message=str(error)), 400
        return render_template("sandbox/deep_linking_done.html", platform=platform, placed=placed)

    def _course_or_404(course_id: str) -> Any:
        try:
            return platform.course(course_id)
        except KeyError:
            abort(404)

    @app.route("/auth", methods=["GET", "POST"])
    def authorize() -> BaseResponse | tuple[str, int] | str:
        refused = signed_in_or_repost()
        if refused is not None:
            return refused
        params = {k: v for k, v in (request.values.items()) if k != "repost"}
        try:
            action, fields = platform.authorize(params)
        except SandboxAuthError as error:
            return render_template("sandbox/auth_error.html", message=str(error)), 400
        return render_template("sandbox/form_post.html", action=action, fields=fields)

    @app.get("/jwks")
    def jwks() -> Response:
        return jsonify(platform.keys.jwks())

    return app
