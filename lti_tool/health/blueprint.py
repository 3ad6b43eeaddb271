"""URL rules of the instructor's program health pages, beside the program setup pages."""

from flask import Blueprint

from lti_tool.health import views

bp = Blueprint("health", __name__, url_prefix="/courses/<int:course_id>/program")
bp.add_url_rule("/health", view_func=views.health, methods=["GET"])
bp.add_url_rule("/pairs/<int:relationship_id>", view_func=views.pair, methods=["GET"])
bp.add_url_rule("/exports/<name>.csv", view_func=views.export, methods=["GET"])
