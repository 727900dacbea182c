"""What bets keeps of what it hears (adapters/feeds.py) on PostgreSQL: game states for live
re-checks, market statuses (bet stops), and each player's standing from identity (KYC,
exclusion, the 7-day stake and deposit caps). Each write keeps the newest by sequence or by
when identity said it, so a redelivered or late event changes nothing; blocking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.bets.domain.limits import CapKind, SevenDayCap
from services.bets.domain.model import GameSnapshot, PlayerStanding

# (cap, raise waiting, when the raise applies, when identity said it) per kind of cap.
_CAP_COLUMNS = {
    CapKind.STAKE: (
        "stake_cap_minor",
        "pending_stake_cap_minor",
        "pending_stake_cap_effective_at",
        "limits_said_at",
    ),
    CapKind.DEPOSIT: (
        "deposit_cap_minor",
        "pending_deposit_cap_minor",
        "pending_deposit_cap_effective_at",
        "deposit_limits_said_at",
    ),
}


def _player(row: Any) -> PlayerStanding:
    return PlayerStanding(
        player_id=row.player_id,
        kyc_status=row.kyc_status,
        of_age=row.of_age,
        excluded=row.excluded,
        provisional_since=row.provisional_since,
        stake_cap_minor=row.stake_cap_minor,
        pending_stake_cap_minor=row.pending_stake_cap_minor,
        pending_stake_cap_effective_at=row.pending_stake_cap_effective_at,
    )


class PostgresFeedState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save_game(self, fixture_id: str, game: GameSnapshot) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO bets.game_states VALUES (:f, :q, :h, :a, :hr, :ar)"
                    " ON CONFLICT (fixture_id) DO UPDATE SET event_sequence = :q,"
                    " home_score = :h, away_score = :a, home_red_cards = :hr,"
                    " away_red_cards = :ar WHERE game_states.event_sequence < :q"
                ),
                {
                    "f": fixture_id,
                    "q": game.event_sequence,
                    "h": game.home_score,
                    "a": game.away_score,
                    "hr": game.home_red_cards,
                    "ar": game.away_red_cards,
                },
            )

    def save_status(
        self, fixture_id: str, market_ids: list[str], status: str, sequence: int, said_at: datetime
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO bets.market_status VALUES (:f, :m, :s, :q, :t)"
                    " ON CONFLICT (fixture_id, market_id) DO UPDATE SET status = :s,"
                    " event_sequence = :q, said_at = :t"
                    " WHERE (market_status.event_sequence, market_status.said_at) <= (:q, :t)"
                ),
                [
                    {"f": fixture_id, "m": m, "s": status, "q": sequence, "t": said_at}
                    for m in (market_ids or [""])
                ],
            )

    def statuses(self) -> list[tuple[str, str, str, int, datetime]]:
        with self.engine.connect() as connection:
            return [
                (r.fixture_id, r.market_id, r.status, r.event_sequence, r.said_at)
                for r in connection.execute(sa.text("SELECT * FROM bets.market_status"))
            ]

    def save_kyc(
        self, player_id: str, status: str, of_age: bool, excluded: bool, said_at: datetime
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO bets.players (player_id, kyc_status, of_age, excluded,"
                    " provisional_since, kyc_said_at) VALUES (:p, :s, :o, :x, :t, :t)"
                    " ON CONFLICT (player_id) DO UPDATE SET kyc_status = :s, of_age = :o,"
                    " excluded = :x, kyc_said_at = :t,"
                    " provisional_since = coalesce(players.provisional_since, :t)"
                    " WHERE players.kyc_said_at IS NULL OR players.kyc_said_at <= :t"
                ),
                {"p": player_id, "s": status, "o": of_age, "x": excluded, "t": said_at},
            )

    def save_cap(
        self,
        kind: CapKind,
        player_id: str,
        cap_minor: int,
        effective_at: datetime,
        said_at: datetime,
        raise_delay_seconds: float,
    ) -> None:
        """Records what identity said, as the domain decides (SevenDayCap.changed)."""
        cap_column, pending_column, at_column, said_column = _CAP_COLUMNS[kind]
        with self.engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO bets.players (player_id) VALUES (:p) ON CONFLICT DO NOTHING"),
                {"p": player_id},
            )
            row = connection.execute(
                sa.text(
                    f"SELECT {cap_column}, {pending_column}, {at_column}, {said_column}"
                    " FROM bets.players WHERE player_id = :p FOR UPDATE"
                ),
                {"p": player_id},
            ).one()
            cap, pending, pending_at, said = row
            if said is not None and said > said_at:
                return
            after = SevenDayCap(cap, pending, pending_at).changed(
                cap_minor, effective_at, said_at, timedelta(seconds=raise_delay_seconds)
            )
            params: dict[str, Any] = {
                "p": player_id,
                "t": said_at,
                "cap": after.cap_minor,
                "pending": after.pending_cap_minor,
                "at": after.pending_effective_at,
            }
            connection.execute(
                sa.text(
                    f"UPDATE bets.players SET {cap_column} = :cap, {pending_column} = :pending,"
                    f" {at_column} = :at, {said_column} = :t WHERE player_id = :p"
                ),
                params,
            )

    def kyc_status(self, player_id: str) -> PlayerStanding | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT * FROM bets.players WHERE player_id = :p"), {"p": player_id}
            ).first()
        return None if row is None else _player(row)
