"""URL rules of the program pages; each sub-feature adds its rules from its own views module."""

from flask import Blueprint

from lti_tool.programs import views

bp = Blueprint("programs", __name__, url_prefix="/courses/<int:course_id>/program")
bp.add_url_rule("", view_func=views.overview, methods=["GET"])
bp.add_url_rule("", endpoint="create", view_func=views.create, methods=["POST"])
bp.add_url_rule("/settings", view_func=views.settings, methods=["GET", "POST"])
bp.add_url_rule("/skills", view_func=views.skills, methods=["GET", "POST"])
bp.add_url_rule("/skills/<int:skill_id>", view_func=views.edit_skill, methods=["GET", "POST"])
bp.add_url_rule("/skills/<int:skill_id>/remove", view_func=views.remove_skill, methods=["POST"])
bp.add_url_rule("/skills/import", view_func=views.import_skills, methods=["POST"])
bp.add_url_rule("/skills.json", view_func=views.export_skills, methods=["GET"])
