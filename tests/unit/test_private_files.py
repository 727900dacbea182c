"""service_runtime.files.write_private: the one writer of secret files (keys, client secrets)
for the launcher, its local CA and the oracle's deploy tool."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from service_runtime.files import write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        write_private(tmp_path / "keys" / "a.key", "0xsecret\n")
    finally:
        os.umask(previous)
    assert mode(tmp_path / "keys" / "a.key") == 0o600
    assert (tmp_path / "keys" / "a.key").read_text() == "0xsecret\n"


def test_an_existing_loose_file_is_narrowed_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "tls.key"
    path.write_bytes(b"an older and longer key")
    path.chmod(0o644)
    write_private(path, b"new key")
    assert mode(path) == 0o600
    assert path.read_bytes() == b"new key"
