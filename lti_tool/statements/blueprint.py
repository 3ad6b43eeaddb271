"""URL rules of the xAPI Profile and the course records page."""

from flask import Blueprint

from lti_tool.statements import views

bp = Blueprint("statements", __name__)
bp.add_url_rule("/xapi/profile", view_func=views.profile)
bp.add_url_rule("/courses/<int:course_id>/records", view_func=views.course_records)
