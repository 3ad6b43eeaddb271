"""URL rules of content selection: the chooser a deep linking launch opens, which also answers it."""

from flask import Blueprint

from lti_tool.deep_linking import views

bp = Blueprint("deep_linking", __name__, url_prefix="/courses/<int:course_id>/deep-linking")
bp.add_url_rule("/<launch_id>", endpoint="choose", view_func=views.choose, methods=["GET", "POST"])
