"""URL rules of the matching workflow (drafts, review, publish, rematch requests, mentees' requests of mentors)."""

from flask import Blueprint

from lti_tool.matching import views

bp = Blueprint("matching", __name__, url_prefix="/courses/<int:course_id>/program/matching")
bp.add_url_rule("", view_func=views.review, endpoint="review")
bp.add_url_rule("/run", view_func=views.run_matching, methods=["POST"])
bp.add_url_rule("/publish", view_func=views.publish, methods=["POST"])
bp.add_url_rule("/job", view_func=views.job_status, endpoint="job_status")
bp.add_url_rule("/manual", view_func=views.manual, methods=["POST"])
bp.add_url_rule("/manual", view_func=views.pick_pair, methods=["GET"], endpoint="pick_pair")
bp.add_url_rule("/swap", view_func=views.swap, methods=["POST"])
bp.add_url_rule("/<int:match_id>/lock", view_func=views.lock, methods=["POST"])
bp.add_url_rule("/<int:match_id>/remove", view_func=views.remove, methods=["POST"])
bp.add_url_rule("/<int:match_id>/reassign", view_func=views.reassign, methods=["POST"])
bp.add_url_rule("/<int:match_id>/mentors", view_func=views.find_mentor, endpoint="find_mentor")
bp.add_url_rule("/requests/<int:request_id>", view_func=views.resolve, methods=["POST"])
bp.add_url_rule("/<int:match_id>/rematch-request", view_func=views.request_rematch, methods=["POST"])
bp.add_url_rule("/choose", view_func=views.choose, methods=["GET", "POST"])
bp.add_url_rule("/mentor-requests", view_func=views.mentor_inbox, endpoint="mentor_inbox")
bp.add_url_rule("/mentor-requests/<int:request_id>/answer", view_func=views.answer, methods=["POST"])
bp.add_url_rule("/mentor-requests/waiting", view_func=views.waiting_requests, endpoint="waiting_requests")
bp.add_url_rule("/mentor-requests/<int:request_id>/step-in", view_func=views.step_in, methods=["POST"])
