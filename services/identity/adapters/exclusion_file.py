"""The national exclusion register as a file: the demo's stand-in for the ANJ's register.

One JSON list of people, each {"family_name", "given_name", "birthdate"} and optionally
"birthplace". Matching is on normalised names (case and accents folded) and birthdate, as a
register lookup by civil identity does; the file is re-read when it changes.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from datetime import date
from pathlib import Path

from services.identity.domain.players import VerifiedIdentity

Entry = tuple[str, str, date, str]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).upper().split())


def parse_register(text: str) -> set[Entry]:
    raw = json.loads(text)
    if not isinstance(raw, list):
        raise ValueError("the exclusion register is a JSON list")
    entries: set[Entry] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValueError(f"entry #{index} is not an object")
        try:
            entries.add(
                (
                    _fold(str(item["family_name"])),
                    _fold(str(item["given_name"])).split(" ")[0],
                    date.fromisoformat(str(item["birthdate"])),
                    str(item.get("birthplace", "")),
                )
            )
        except (KeyError, ValueError) as exc:
            raise ValueError(f"entry #{index}: {exc}") from None
    return entries


class FileExclusionRegister:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._entries: set[Entry] = set()
        self._load()

    def _load(self) -> None:
        with self._lock:
            mtime = self.path.stat().st_mtime
            if mtime != self._mtime:
                self._entries = parse_register(self.path.read_text(encoding="utf-8"))
                self._mtime = mtime

    def is_excluded(self, identity: VerifiedIdentity) -> bool:
        self._load()
        family, given = _fold(identity.family_name), _fold(identity.given_name).split(" ")[0]
        for e_family, e_given, e_birthdate, e_birthplace in self._entries:
            if (e_family, e_given, e_birthdate) != (family, given, identity.birthdate):
                continue
            if not e_birthplace or e_birthplace == identity.birthplace:
                return True
        return False


class EmptyExclusionRegister:
    """No register configured: nobody is listed (development only; settings refuse it in
    production)."""

    def is_excluded(self, identity: VerifiedIdentity) -> bool:
        return False
