"""URL rules of the matching workflow (drafts, review, publish, rematch requests)."""

from flask import Blueprint

bp = Blueprint("matching", __name__, url_prefix="/courses/<int:course_id>/program/matching")
