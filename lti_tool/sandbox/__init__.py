"""The sandbox LMS: a development and demo LTI 1.3 platform, off unless `sandbox_enabled` is set."""
