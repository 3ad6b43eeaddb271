"""Mentor matching: the pure engine and the instructor workflow around it."""
