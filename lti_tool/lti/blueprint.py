"""URL rules of the LTI endpoints."""

from flask import Blueprint

from lti_tool.extensions import csrf
from lti_tool.lti import registration_views, views

bp = Blueprint("lti", __name__, url_prefix="/lti")
bp.add_url_rule("/login", view_func=views.login, methods=["GET", "POST"])
bp.add_url_rule("/launch", view_func=views.launch, methods=["POST"])
bp.add_url_rule("/jwks", view_func=views.jwks, methods=["GET"])
# The platform posts these cross-site; OIDC state, the state cookie and the single-use nonce protect them.
csrf.exempt(views.login)
csrf.exempt(views.launch)
# Installing the tool: LTI Dynamic Registration (opened by the LMS, through an invitation's link), the Canvas
# developer key JSON, the admin page.
bp.add_url_rule("/register/<invitation>", view_func=registration_views.register, methods=["GET"])
bp.add_url_rule("/register", view_func=registration_views.register_uninvited, methods=["GET"])
bp.add_url_rule("/canvas.json", view_func=registration_views.canvas_json, methods=["GET"])
bp.add_url_rule("/admin", view_func=registration_views.admin, methods=["GET"])
bp.add_url_rule("/admin/sign-in", view_func=registration_views.admin_sign_in, methods=["POST"])
bp.add_url_rule("/admin/sign-out", view_func=registration_views.admin_sign_out, methods=["POST"])
bp.add_url_rule("/admin/invitations", view_func=registration_views.admin_create_invitation, methods=["POST"])
bp.add_url_rule(
    "/admin/invitations/<int:invitation_id>/revoke",
    view_func=registration_views.admin_revoke_invitation,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/platforms/<int:platform_id>/deployments",
    view_func=registration_views.admin_add_deployment,
    methods=["POST"],
)
