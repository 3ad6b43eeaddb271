"""Scores in the LMS gradebook through LTI Assignment and Grade Services, delivered durably like statements."""
