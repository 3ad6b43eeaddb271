"""PLACEHOLDER: owned by a helper."""

from __future__ import annotations

from typing import Any

from lti_tool.mentoring.relationships import PairAccess


def section(access: PairAccess) -> dict[str, Any]:
    return {}
