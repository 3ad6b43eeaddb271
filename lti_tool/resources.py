"""Locates the top-level templates/, config/ and migrations/ folders, in a checkout or in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """Return the folder `name` (templates, config, migrations).

    A checkout (or an editable install) keeps them beside the packages; the wheel carries them inside
    `lti_tool/_resources/` (see `[tool.hatch.build.targets.wheel.force-include]` in pyproject.toml).
    """
    for candidate in (_PACKAGE_DIR / "_resources" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mentor-lti resource folder {name!r} is missing from this installation")
