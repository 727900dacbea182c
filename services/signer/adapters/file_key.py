"""A signer key read from a file of its own (0600, from the launcher or a Kubernetes Secret)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32


class FileKey:
    source = "file"

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def load(cls, path: Path) -> FileKey:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Readable by others: someone else may already hold the key.
            raise PermissionError(f"{path} must not be accessible to group or others (chmod 600)")
        return cls(Account.from_key(path.read_text().strip()))

    @property
    def address(self) -> str:
        return str(self._account.address)

    def __repr__(self) -> str:
        return f"FileKey({self.address})"

    def sign_digest(self, digest: bytes) -> bytes:
        # eth-account signs with RFC 6979 and a low s, v in {27, 28}: what ecrecover expects.
        return bytes(self._account.unsafe_sign_hash(Hash32(digest)).signature)
