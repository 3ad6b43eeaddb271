"""What other features use of matching: their pages import this module, never matching's internals.

The workflow (`workflow`) and two-sided self-match (`mentor_requests`) are matching's own; the names here are
the part of them other features rely on, so matching can change the rest freely.
"""

from lti_tool.matching.mentor_requests import HomeNotice, home_notice, withdrawn
from lti_tool.matching.workflow import model_change_notes

__all__ = ["HomeNotice", "home_notice", "model_change_notes", "withdrawn"]
