"""Runs a command against a fresh, empty PostgreSQL schema (dropped afterwards).

Usage: python tests/postgres_schema.py POSTGRES_URL -- COMMAND...
The command sees MENTOR_LTI_DATABASE_URL and MENTOR_LTI_INSTANCE_PATH (a temporary folder).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid

import sqlalchemy as sa


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    url, command = argv[0], argv[2:]
    schema = f"check_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL is not reachable at {url}: {error.orig}", file=sys.stderr)
        print("Start it, or point TEST_DATABASE_URL at one (make test TEST_DATABASE_URL=...).", file=sys.stderr)
        return 1
    separator = "&" if "?" in url else "?"
    try:
        with tempfile.TemporaryDirectory() as instance:
            env = {
                **os.environ,
                "MENTOR_LTI_DATABASE_URL": f"{url}{separator}options=-csearch_path%3D{schema}",
                "MENTOR_LTI_INSTANCE_PATH": instance,
            }
            return subprocess.run(command, env=env, check=False).returncode
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
