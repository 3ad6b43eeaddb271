"""URL rules of the course landing page."""

from flask import Blueprint

from lti_tool.courses import views

bp = Blueprint("courses", __name__, url_prefix="/courses/<int:course_id>")
bp.add_url_rule("/", view_func=views.home)
