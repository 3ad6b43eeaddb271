"""URL rules of a participant's own pages: their mentorship home and profile."""

from flask import Blueprint

from lti_tool.profiles import views

bp = Blueprint("profiles", __name__, url_prefix="/courses/<int:course_id>/me")
bp.add_url_rule("", view_func=views.home)
bp.add_url_rule("/profile", view_func=views.edit, methods=["GET", "POST"])
bp.add_url_rule("/profile/people", view_func=views.people)
