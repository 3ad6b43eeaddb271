"""Finds NUL characters in input from outside: no real input has one, and PostgreSQL cannot store it in text."""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def nul_path(value: Any, where: str = "") -> str | None:
    """Where the first NUL character in `value` (text, or dicts and lists of it, keys included) is, as a path
    like `context.title` or `members[3].email` under `where`; None when there is none. Iterative, so input of
    any depth is walked without recursion."""
    pending: list[tuple[str, Any]] = [(where, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return path or "value"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and NUL in key:
                    return path or "key"
                pending.append((name, child))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
    return None
