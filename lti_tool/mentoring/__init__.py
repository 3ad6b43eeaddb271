"""Mentoring after matching: pair pages with the agreement, session logs, goals and check-ins."""
