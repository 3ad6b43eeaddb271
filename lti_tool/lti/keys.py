"""The tool's own RSA signing keys: generated on first start, rotated and retired, published as a JWKS."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from lti_tool.errors import MentorLtiError
from lti_tool.extensions import utcnow

KEY_FILE = "tool_keys.json"


class KeyStoreError(MentorLtiError):
    """A key operation was refused (unknown kid, or retiring the only signing key)."""


@dataclass(frozen=True)
class ToolKey:
    kid: str
    created_at: datetime
    key: RSAKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "kid": self.kid, "alg": "RS256", "use": "sig"}

    @property
    def private_pem(self) -> str:
        return self.key.as_pem(private=True).decode()


class KeyStore:
    """Keys live in <instance>/tool_keys.json (mode 0600), newest last; the newest one signs."""

    def __init__(self, instance_path: Path) -> None:
        self.path = instance_path / KEY_FILE
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int], list[ToolKey]] | None = None

    def keys(self) -> list[ToolKey]:
        with self._lock:
            if not self.path.exists():
                self._write([_new_key()])
            # Parsing a private key costs ~50 ms; reparse only when the file changed (a rotation in any process).
            stat = self.path.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            if self._cache is None or self._cache[0] != version:
                self._cache = (version, [_load(entry) for entry in json.loads(self.path.read_text())["keys"]])
            return list(self._cache[1])

    def signing_key(self) -> ToolKey:
        return self.keys()[-1]

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        return {"keys": [key.public_jwk for key in self.keys()]}

    def rotate(self) -> ToolKey:
        """Add a new signing key; older keys stay published so tokens they signed still verify."""
        keys = self.keys()
        new = _new_key()
        with self._lock:
            self._write([*keys, new])
        return new

    def retire(self, kid: str) -> None:
        keys = self.keys()
        if kid not in {key.kid for key in keys}:
            raise KeyStoreError(f"No tool key has kid {kid!r}.", hint="Run `mentor-lti keys list`.")
        if keys[-1].kid == kid:
            raise KeyStoreError(
                f"Key {kid} is the current signing key.",
                hint="Run `mentor-lti keys rotate` first, then retire it.",
            )
        with self._lock:
            self._write([key for key in keys if key.kid != kid])

    def _write(self, keys: list[ToolKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "keys": [
                {"kid": k.kid, "created_at": k.created_at.isoformat(), "jwk": k.key.as_dict(private=True)} for k in keys
            ]
        }
        # Write then rename: a reader in another worker never sees half a file.
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
        tmp.replace(self.path)


def _new_key() -> ToolKey:
    key = RSAKey.generate_key(2048)
    return ToolKey(kid=key.thumbprint(), created_at=utcnow(), key=key)


def _load(entry: dict[str, Any]) -> ToolKey:
    return ToolKey(
        kid=entry["kid"],
        created_at=datetime.fromisoformat(entry["created_at"]),
        key=RSAKey.import_key(entry["jwk"]),
    )
