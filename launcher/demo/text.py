"""How the demo writes odds, money and times."""

from __future__ import annotations

from betmesh.common.v1 import money_pb2
from google.protobuf.timestamp_pb2 import Timestamp

CURRENCY = "EUR"


def odds(odds_e4: int) -> str:
    return f"{odds_e4 // 10_000}.{odds_e4 % 10_000 // 100:02d}"


def money(amount_minor: int, currency: str = CURRENCY) -> str:
    sign = "-" if amount_minor < 0 else ""
    amount = abs(amount_minor)
    return f"{sign}{amount // 100:,}.{amount % 100:02d} {currency}"


def eur(amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount_minor, currency=CURRENCY)


def percent_e4(value_e4: int) -> str:
    return f"{value_e4 / 100:.2f}%"


def now() -> Timestamp:
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


def at(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp
