"""URL rules of the roster sync: the staff's "Sync now" button."""

from flask import Blueprint

from lti_tool.roster import views

bp = Blueprint("roster", __name__, url_prefix="/courses/<int:course_id>/roster")
bp.add_url_rule("/sync", view_func=views.sync_now, methods=["POST"])
