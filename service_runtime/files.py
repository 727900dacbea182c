"""Files that hold a secret (keys, client secrets): created 0600 before anything is written."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: str | bytes) -> None:
    """Writes `data` to `path`, readable and writable by this user only. The mode is set on the
    open file before the secret is written, also when the file existed with a looser one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(fd, 0o600)
        handle.write(data.encode() if isinstance(data, str) else data)
