"""Skill assessments: rounds the instructor opens and closes, self, mentor and instructor ratings, growth."""
