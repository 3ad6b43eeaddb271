"""URL rules of the surveys: the instructor's under the program pages, a participant's under the course."""

from flask import Blueprint

from lti_tool.surveys import views

bp = Blueprint("surveys", __name__, url_prefix="/courses/<int:course_id>")
bp.add_url_rule("/program/surveys", view_func=views.surveys, methods=["GET"])
bp.add_url_rule("/program/surveys", endpoint="create", view_func=views.create, methods=["POST"])
bp.add_url_rule("/program/surveys/<int:survey_id>", view_func=views.survey, methods=["GET", "POST"])
bp.add_url_rule(
    "/program/surveys/<int:survey_id>/import", endpoint="import", view_func=views.import_questions, methods=["POST"]
)
bp.add_url_rule(
    "/program/surveys/<int:survey_id>/questions.json",
    endpoint="export",
    view_func=views.export_questions,
    methods=["GET"],
)
bp.add_url_rule("/program/surveys/<int:survey_id>/open", view_func=views.open_survey, methods=["POST"])
bp.add_url_rule("/program/surveys/<int:survey_id>/close", view_func=views.close_survey, methods=["POST"])
bp.add_url_rule("/surveys/<int:survey_id>", view_func=views.answer, methods=["GET", "POST"])
