"""The built wheel is a complete tool: templates, config, migrations and static files travel inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_runs_without_the_checkout(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("mentor_lti-*.whl")
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    # The unpacked wheel comes first on the path, and the working directory is far from the checkout.
    env = {**os.environ, "PYTHONPATH": str(unpacked), "MENTOR_LTI_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("MENTOR_LTI_DATABASE_URL", None)
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import lti_tool, lti_tool.resources as r; "
            "print(lti_tool.__file__); print(*(r.resource_path(n) for n in ('templates', 'config', 'migrations')))",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where, where
    assert where.count(str(unpacked)) == 4
    upgrade = subprocess.run(
        [sys.executable, "-m", "lti_tool", "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Running upgrade" in upgrade.stderr
    assert (unpacked / "lti_tool" / "static" / "mentor.css").exists()
