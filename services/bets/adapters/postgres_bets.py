"""Bets on PostgreSQL (schema "bets"). Blocking: call from worker threads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from services.bets.adapters.postgres_ledger import PostgresLedgerSession
from services.bets.domain.bet_ports import (
    Liabilities,
    MarketExposureRow,
    ReturnToPlayer,
    SettledNotice,
)
from services.bets.domain.model import (
    Bet,
    BetStatus,
    CashOutOffer,
    GameSnapshot,
    Leg,
    OddsAcceptance,
    Outcome,
    PlayerStanding,
    Rejection,
)

_BET_COLUMNS = (
    "bet_id, player_id, idempotency_key, fingerprint, status, rejection, rejection_message, live,"
    " acceptance, stake_minor, currency, odds_e4, potential_payout_minor, payout_minor,"
    " liability_minor, settlement_count, placed_at, decided_at, decide_after, settled_at, legs"
)


def _leg_json(leg: Leg) -> dict[str, Any]:
    game = leg.game
    return {
        "f": leg.fixture_id,
        "m": leg.market_id,
        "s": leg.selection_id,
        "o": leg.odds_e4,
        "a": leg.accepted_odds_e4,
        "d": leg.quote_set_digest,
        "t": leg.market_type,
        "l": leg.line_e2,
        "sd": leg.side,
        "sp": leg.sport,
        "mn": leg.market_name,
        "sn": leg.selection_name,
        "r": leg.outcome.value if leg.outcome else None,
        "v": leg.result_version,
        "x": leg.voided,
        "g": [
            game.event_sequence,
            game.home_score,
            game.away_score,
            game.home_red_cards,
            game.away_red_cards,
        ]
        if game
        else None,
    }


def _leg(raw: dict[str, Any]) -> Leg:
    game = raw.get("g")
    return Leg(
        fixture_id=raw["f"],
        market_id=raw["m"],
        selection_id=raw["s"],
        odds_e4=raw["o"],
        accepted_odds_e4=raw["a"],
        quote_set_digest=raw["d"],
        market_type=raw["t"],
        line_e2=raw["l"],
        side=raw["sd"],
        sport=raw["sp"],
        market_name=raw["mn"],
        selection_name=raw["sn"],
        outcome=Outcome(raw["r"]) if raw.get("r") else None,
        result_version=raw["v"],
        voided=raw["x"],
        game=GameSnapshot(*game) if game else None,
    )


def _row_to_bet(row: Any) -> Bet:
    return Bet(
        bet_id=row.bet_id,
        player_id=row.player_id,
        idempotency_key=row.idempotency_key,
        fingerprint=row.fingerprint,
        legs=[_leg(raw) for raw in row.legs],
        stake_minor=row.stake_minor,
        currency=row.currency,
        odds_e4=row.odds_e4,
        potential_payout_minor=row.potential_payout_minor,
        status=BetStatus(row.status),
        acceptance=OddsAcceptance(row.acceptance),
        live=row.live,
        placed_at=row.placed_at,
        rejection=Rejection(row.rejection) if row.rejection else None,
        rejection_message=row.rejection_message,
        decided_at=row.decided_at,
        settled_at=row.settled_at,
        payout_minor=row.payout_minor,
        decide_after=row.decide_after,
        settlement_count=row.settlement_count,
        liability_minor=row.liability_minor,
    )


def _bet_params(bet: Bet) -> dict[str, Any]:
    return {
        "bet_id": bet.bet_id,
        "player_id": bet.player_id,
        "idempotency_key": bet.idempotency_key,
        "fingerprint": bet.fingerprint,
        "status": bet.status.value,
        "rejection": bet.rejection.value if bet.rejection else None,
        "rejection_message": bet.rejection_message,
        "live": bet.live,
        "acceptance": bet.acceptance.value,
        "stake_minor": bet.stake_minor,
        "currency": bet.currency,
        "odds_e4": bet.odds_e4,
        "potential_payout_minor": bet.potential_payout_minor,
        "payout_minor": bet.payout_minor,
        "liability_minor": bet.liability_minor,
        "settlement_count": bet.settlement_count,
        "placed_at": bet.placed_at,
        "decided_at": bet.decided_at,
        "decide_after": bet.decide_after,
        "settled_at": bet.settled_at,
        "legs": json.dumps([_leg_json(leg) for leg in bet.legs], separators=(",", ":")),
    }


_INSERT_BET = sa.text(
    f"INSERT INTO bets.bets ({_BET_COLUMNS}) VALUES (:bet_id, :player_id, :idempotency_key,"
    " :fingerprint, :status, :rejection, :rejection_message, :live, :acceptance, :stake_minor,"
    " :currency, :odds_e4, :potential_payout_minor, :payout_minor, :liability_minor,"
    " :settlement_count, :placed_at, :decided_at, :decide_after, :settled_at, CAST(:legs AS jsonb))"
    " ON CONFLICT (player_id, idempotency_key) DO NOTHING RETURNING bet_id"
)
_UPDATE_BET = sa.text(
    "UPDATE bets.bets SET status = :status, rejection = :rejection,"
    " rejection_message = :rejection_message, odds_e4 = :odds_e4,"
    " potential_payout_minor = :potential_payout_minor, payout_minor = :payout_minor,"
    " liability_minor = :liability_minor, settlement_count = :settlement_count,"
    " decided_at = :decided_at, decide_after = :decide_after, settled_at = :settled_at,"
    " legs = CAST(:legs AS jsonb) WHERE bet_id = :bet_id"
)


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


class PostgresBetSession(PostgresLedgerSession):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)

    def claim_bet(self, bet: Bet) -> Bet | None:
        claimed = self.connection.execute(_INSERT_BET, _bet_params(bet)).first()
        if claimed is not None:
            self.connection.execute(
                sa.text(
                    "INSERT INTO bets.bet_legs (bet_id, fixture_id, market_id, placed_at)"
                    " VALUES (:b, :f, :m, :p)"
                ),
                [
                    {"b": bet.bet_id, "f": leg.fixture_id, "m": leg.market_id, "p": bet.placed_at}
                    for leg in bet.legs
                ],
            )
            return None
        # The insert waited for a concurrent holder of the key to finish; its row is visible.
        row = self.connection.execute(
            sa.text(
                f"SELECT {_BET_COLUMNS} FROM bets.bets"
                " WHERE player_id = :p AND idempotency_key = :k"
            ),
            {"p": bet.player_id, "k": bet.idempotency_key},
        ).one()
        return _row_to_bet(row)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        fresh = dict(self._fresh)
        try:
            with self.connection.begin_nested():
                yield
        except BaseException:
            # Accounts created inside the savepoint are gone with it.
            self._fresh = fresh
            raise

    def update_bet(self, bet: Bet) -> None:
        self.connection.execute(_UPDATE_BET, _bet_params(bet))

    def lock_bet(self, bet_id: str) -> Bet | None:
        row = self.connection.execute(
            sa.text(f"SELECT {_BET_COLUMNS} FROM bets.bets WHERE bet_id = :b FOR UPDATE"),
            {"b": bet_id},
        ).first()
        return None if row is None else _row_to_bet(row)

    def player(self, player_id: str, *, lock: bool) -> PlayerStanding | None:
        # The lock serialises one player's bets, so two cannot both fit under the stake cap.
        row = self.connection.execute(
            sa.text(
                "SELECT * FROM bets.players WHERE player_id = :p" + (" FOR UPDATE" if lock else "")
            ),
            {"p": player_id},
        ).first()
        return None if row is None else _player(row)

    def stakes(self, player_id: str, since: datetime, excluding_bet: str) -> tuple[int, int]:
        row = self.connection.execute(
            sa.text(
                "SELECT coalesce(sum(stake_minor) FILTER (WHERE placed_at >= :since"
                " AND status <> 'REJECTED'), 0),"
                " coalesce(sum(stake_minor) FILTER (WHERE status IN ('PENDING', 'ACCEPTED')), 0)"
                " FROM bets.bets WHERE player_id = :p AND bet_id <> :b"
                " AND (placed_at >= :since OR status IN ('PENDING', 'ACCEPTED'))"
            ),
            {"p": player_id, "since": since, "b": excluding_bet},
        ).one()
        return int(row[0]), int(row[1])

    def add_exposure(self, legs: list[Leg], liability_minor: int, stake_minor: int) -> Liabilities:
        fixtures = sorted({leg.fixture_id for leg in legs})
        # Fixture rows are locked in id order before any account row, in every path.
        # An upsert that touches the row locks it, created or not: one round trip per fixture.
        for fixture_id in fixtures:
            self.connection.execute(
                sa.text(
                    "INSERT INTO bets.fixture_exposure (fixture_id) VALUES (:f)"
                    " ON CONFLICT (fixture_id) DO UPDATE SET fixture_id = EXCLUDED.fixture_id"
                ),
                {"f": fixture_id},
            )
        self.connection.execute(
            sa.text(
                "INSERT INTO bets.selection_exposure"
                " (fixture_id, market_id, selection_id, liability_minor, stakes_minor)"
                " VALUES (:f, :m, :s, :l, :st) ON CONFLICT (fixture_id, market_id, selection_id)"
                " DO UPDATE SET liability_minor = selection_exposure.liability_minor + :l,"
                " stakes_minor = selection_exposure.stakes_minor + :st"
            ),
            [
                {
                    "f": leg.fixture_id,
                    "m": leg.market_id,
                    "s": leg.selection_id,
                    "l": liability_minor,
                    "st": stake_minor,
                }
                for leg in sorted(legs, key=lambda x: (x.fixture_id, x.market_id))
            ],
        )
        if liability_minor <= 0:
            return Liabilities({}, {})
        rows = self.connection.execute(
            sa.text(
                "SELECT fixture_id, market_id, max(liability_minor) AS worst"
                " FROM bets.selection_exposure WHERE fixture_id = ANY(:f)"
                " GROUP BY fixture_id, market_id"
            ),
            {"f": fixtures},
        ).all()
        wanted = {(leg.fixture_id, leg.market_id) for leg in legs}
        markets = {(r.fixture_id, r.market_id): int(r.worst) for r in rows}
        totals: dict[str, int] = {}
        for (fixture_id, _), worst in markets.items():
            totals[fixture_id] = totals.get(fixture_id, 0) + max(worst, 0)
        return Liabilities({k: v for k, v in markets.items() if k in wanted}, totals)

    def game(self, fixture_id: str) -> GameSnapshot | None:
        row = self.connection.execute(
            sa.text(
                "SELECT event_sequence, home_score, away_score, home_red_cards, away_red_cards"
                " FROM bets.game_states WHERE fixture_id = :f"
            ),
            {"f": fixture_id},
        ).first()
        return None if row is None else GameSnapshot(*row)

    def bet_ids_on(
        self,
        fixture_id: str,
        market_ids: list[str],
        placed_after: datetime | None,
        placed_before: datetime | None,
    ) -> list[str]:
        query = "SELECT DISTINCT bet_id FROM bets.bet_legs WHERE fixture_id = :f"
        params: dict[str, Any] = {"f": fixture_id}
        if market_ids:
            query += " AND market_id = ANY(:m)"
            params["m"] = list(market_ids)
        if placed_after is not None:
            query += " AND placed_at >= :a"
            params["a"] = placed_after
        if placed_before is not None:
            query += " AND placed_at < :b"
            params["b"] = placed_before
        return sorted(r[0] for r in self.connection.execute(sa.text(query), params))

    def notify_settled(self, notice: SettledNotice) -> None:
        self.connection.execute(
            sa.text(
                "INSERT INTO bets.outbox (event_id, bet_id, player_id, status, payout_minor,"
                " currency) VALUES (:e, :b, :p, :s, :a, :c) ON CONFLICT (event_id) DO NOTHING"
            ),
            {
                "e": notice.event_id,
                "b": notice.bet_id,
                "p": notice.player_id,
                "s": notice.status.value,
                "a": notice.payout_minor,
                "c": notice.currency,
            },
        )

    def claim_operation(self, key: str, fingerprint: str) -> tuple[str, int] | None:
        claimed = self.connection.execute(
            sa.text(
                "INSERT INTO bets.operations (key, fingerprint) VALUES (:k, :f)"
                " ON CONFLICT DO NOTHING RETURNING key"
            ),
            {"k": key, "f": fingerprint},
        ).first()
        if claimed is not None:
            return None
        row = self.connection.execute(
            sa.text("SELECT fingerprint, result FROM bets.operations WHERE key = :k"), {"k": key}
        ).one()
        if row.result is None and row.fingerprint == fingerprint:
            # The first call died half-way: running it again is safe (each step is idempotent).
            return None
        return row.fingerprint, int(row.result or 0)

    def finish_operation(self, key: str, result: int) -> None:
        self.connection.execute(
            sa.text("UPDATE bets.operations SET result = :r WHERE key = :k"),
            {"k": key, "r": result},
        )

    def save_offer(self, offer: CashOutOffer) -> None:
        self.connection.execute(
            sa.text(
                "INSERT INTO bets.cash_out_offers (offer_id, bet_id, amount_minor, prices,"
                " expires_at) VALUES (:o, :b, :a, :p, :e)"
            ),
            {
                "o": offer.offer_id,
                "b": offer.bet_id,
                "a": offer.amount_minor,
                "p": offer.prices,
                "e": offer.expires_at,
            },
        )

    def offer(self, offer_id: str) -> CashOutOffer | None:
        row = self.connection.execute(
            sa.text(
                "SELECT offer_id, bet_id, amount_minor, prices, expires_at"
                " FROM bets.cash_out_offers WHERE offer_id = :o"
            ),
            {"o": offer_id},
        ).first()
        return None if row is None else CashOutOffer(*row)


class PostgresBetStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[PostgresBetSession]:
        with self.engine.begin() as connection:
            session = PostgresBetSession(connection)
            yield session
        session.committed()

    def get_bet(self, bet_id: str) -> Bet | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text(f"SELECT {_BET_COLUMNS} FROM bets.bets WHERE bet_id = :b"), {"b": bet_id}
            ).first()
        return None if row is None else _row_to_bet(row)

    def list_bets(
        self, player_id: str, statuses: list[BetStatus], before: str | None, limit: int
    ) -> list[Bet]:
        query = f"SELECT {_BET_COLUMNS} FROM bets.bets WHERE player_id = :p"
        params: dict[str, Any] = {"p": player_id, "n": limit}
        if statuses:
            query += " AND status = ANY(:s)"
            params["s"] = [s.value for s in statuses]
        if before is not None:
            query += (
                " AND (placed_at, bet_id) < (SELECT placed_at, bet_id FROM bets.bets"
                " WHERE bet_id = :before)"
            )
            params["before"] = before
        query += " ORDER BY placed_at DESC, bet_id DESC LIMIT :n"
        with self.engine.connect() as connection:
            return [_row_to_bet(r) for r in connection.execute(sa.text(query), params)]

    def due_pending(self, now: datetime, limit: int) -> list[str]:
        with self.engine.connect() as connection:
            return [
                r[0]
                for r in connection.execute(
                    sa.text(
                        "SELECT bet_id FROM bets.bets WHERE status = 'PENDING'"
                        " AND decide_after <= :now ORDER BY decide_after LIMIT :n"
                    ),
                    {"now": now, "n": limit},
                )
            ]

    def return_to_player(self, start: datetime, end: datetime) -> ReturnToPlayer:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    "SELECT coalesce(sum(stake_minor), 0) AS stakes,"
                    " coalesce(sum(payout_minor), 0) AS payouts, count(*) AS n FROM bets.bets"
                    " WHERE settled_at >= :a AND settled_at < :b AND status <> 'VOID'"
                ),
                {"a": start, "b": end},
            ).one()
        return ReturnToPlayer(int(row.stakes), int(row.payouts), int(row.n))

    def exposure(self, fixture_id: str) -> list[MarketExposureRow]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT market_id, max(liability_minor) AS worst, sum(stakes_minor) AS stakes"
                    " FROM bets.selection_exposure WHERE fixture_id = :f"
                    " GROUP BY market_id ORDER BY market_id"
                ),
                {"f": fixture_id},
            ).all()
        return [MarketExposureRow(r.market_id, int(r.worst), int(r.stakes)) for r in rows]

    # ---- what the event consumers keep -------------------------------------------------

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

    def save_stake_cap(
        self,
        player_id: str,
        cap_minor: int,
        effective_at: datetime,
        said_at: datetime,
        raise_delay_seconds: float,
    ) -> None:
        """A first cap or a cut applies at once; a raise waits out the delay (ANJ: 48 h)."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO bets.players (player_id) VALUES (:p) ON CONFLICT DO NOTHING"),
                {"p": player_id},
            )
            row = connection.execute(
                sa.text(
                    "SELECT stake_cap_minor, pending_stake_cap_minor,"
                    " pending_stake_cap_effective_at, limits_said_at FROM bets.players"
                    " WHERE player_id = :p FOR UPDATE"
                ),
                {"p": player_id},
            ).one()
            if row.limits_said_at is not None and row.limits_said_at > said_at:
                return
            current = row.stake_cap_minor
            if (
                row.pending_stake_cap_minor is not None
                and row.pending_stake_cap_effective_at is not None
                and row.pending_stake_cap_effective_at <= said_at
            ):
                current = row.pending_stake_cap_minor
            params: dict[str, Any] = {"p": player_id, "t": said_at}
            if current is None or cap_minor <= current:
                params.update(cap=cap_minor, pending=None, at=None)
            else:
                earliest = said_at.timestamp() + raise_delay_seconds
                at = max(effective_at.timestamp(), earliest)
                params.update(
                    cap=current,
                    pending=cap_minor,
                    at=datetime.fromtimestamp(at, tz=said_at.tzinfo),
                )
            connection.execute(
                sa.text(
                    "UPDATE bets.players SET stake_cap_minor = :cap,"
                    " pending_stake_cap_minor = :pending,"
                    " pending_stake_cap_effective_at = :at, limits_said_at = :t"
                    " WHERE player_id = :p"
                ),
                params,
            )

    def outbox(self, limit: int) -> list[SettledNotice]:
        with self.engine.connect() as connection:
            return [
                SettledNotice(
                    r.event_id,
                    r.bet_id,
                    r.player_id,
                    BetStatus(r.status),
                    r.payout_minor,
                    r.currency,
                )
                for r in connection.execute(
                    sa.text("SELECT * FROM bets.outbox ORDER BY id LIMIT :n"), {"n": limit}
                )
            ]

    def forget_outbox(self, event_ids: list[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM bets.outbox WHERE event_id = ANY(:e)"), {"e": event_ids}
            )

    def kyc_status(self, player_id: str) -> PlayerStanding | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text("SELECT * FROM bets.players WHERE player_id = :p"), {"p": player_id}
            ).first()
        return None if row is None else _player(row)
