"""URL rules of the LTI endpoints."""

from flask import Blueprint

from lti_tool.extensions import csrf
from lti_tool.lti import views

bp = Blueprint("lti", __name__, url_prefix="/lti")
bp.add_url_rule("/login", view_func=views.login, methods=["GET", "POST"])
bp.add_url_rule("/launch", view_func=views.launch, methods=["POST"])
bp.add_url_rule("/jwks", view_func=views.jwks, methods=["GET"])
# The platform posts these cross-site; OIDC state, the state cookie and the single-use nonce protect them.
csrf.exempt(views.login)
csrf.exempt(views.launch)
