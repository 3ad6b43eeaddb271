"""xAPI statements for mentor-lti: models, vocabulary, builders, profile checks and an LRS client (no Flask)."""
