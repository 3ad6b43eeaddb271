"""URL rules of the course pages."""

from flask import Blueprint

from lti_tool.courses import views

bp = Blueprint("courses", __name__, url_prefix="/courses/<int:course_id>")
bp.add_url_rule("/", view_func=views.home)
bp.add_url_rule("/program", view_func=views.program_setup)
bp.add_url_rule("/me", view_func=views.my_mentorship)
