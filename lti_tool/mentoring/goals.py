"""PLACEHOLDER: owned by a helper."""

from __future__ import annotations

from typing import Any

from lti_tool.mentoring.relationships import PairAccess


def section(access: PairAccess, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    return {}
