"""Protobuf wire encoding by hand, for the one hot path that needs it: stream messages.

An update is serialised once per journal entry (and market-type view) and the bytes are shared
by every stream that sends it; a stream message is then its own small header (id, sequence,
token, time) followed by the shared update bytes. Protobuf allows this: fields may come in any
order, and a repeated message field is just its elements' encodings one after the other.
"""

from __future__ import annotations

from betmesh.live.v1 import live_odds_service_pb2 as pb

# Wire tags (field number << 3 | length-delimited): OddsDeltas.updates = 1,
# StreamOddsResponse.deltas = 11.
_UPDATES_TAG = b"\x0a"
_DELTAS_TAG = b"\x5a"


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def update_chunk(update: pb.OddsUpdate) -> bytes:
    """One element of OddsDeltas.updates, as it appears inside the encoded OddsDeltas."""
    body = update.SerializeToString()
    return _UPDATES_TAG + varint(len(body)) + body


def deltas_field(chunks: list[bytes]) -> bytes:
    """StreamOddsResponse.deltas holding these updates, ready to append to a header."""
    body = b"".join(chunks)
    return _DELTAS_TAG + varint(len(body)) + body
