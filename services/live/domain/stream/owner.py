"""Who holds a stream: one stream, one connection at a time, across every live process."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    """Who holds a stream: a process, for a partner, on one connection."""

    process_id: str
    partner: str
    connection_id: str

    def encode(self) -> str:
        return f"{self.process_id}|{self.connection_id}|{self.partner}"

    @classmethod
    def decode(cls, raw: str) -> Owner:
        process_id, _, rest = raw.partition("|")
        connection_id, _, partner = rest.partition("|")
        return cls(process_id, partner, connection_id)
