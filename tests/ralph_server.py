"""Run Ralph's LRS on one host and port with the file-system backend, for tests and the demo."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="where the fs backend keeps statements")
    parser.add_argument("--auth-file", type=Path, required=True, help="Ralph's JSON credentials file")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def configure_environment(data_dir: Path, auth_file: Path) -> None:
    # Ralph reads its settings once, when ralph.conf is first imported, so the environment must be
    # complete before any ralph import below.
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "RALPH_APP_DIR": str(data_dir),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_AUTH_FILE": str(auth_file),
            "RALPH_HISTORY_FILE": str(data_dir / "history.json"),
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data_dir),
            "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(data_dir),
        }
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_environment(args.data_dir.resolve(), args.auth_file.resolve())

    import uvicorn
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.data.fs import FSDataBackend

    # ralph-malph 5.1.0's fs backend writes in CREATE mode, which refuses an existing file: every
    # POST after the first would answer 500. APPEND is what an LRS store needs.
    FSDataBackend.default_operation_type = BaseOperationType.APPEND

    # `ralph runserver` binds 0.0.0.0 and reloads; uvicorn directly keeps us on the host we were given.
    uvicorn.run("ralph.api:app", host=args.host, port=args.port, log_level=args.log_level, reload=False)


if __name__ == "__main__":
    main()
