"""Bets on PostgreSQL (schema "bets"): a bet's row, placing (one statement, `bets.place_bet`,
awaited or in a worker thread), the unit of work settlement, voids and cash-outs run in
(`PostgresBetSession`), and the reads of bets. Blocking except `place_async`: call from worker
threads. Reports: postgres_reports.py; what the event consumers keep: postgres_feed_state.py;
the outbox's relay side: postgres_outbox.py."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service_runtime import postgres
from service_runtime.events import Topic
from service_runtime.telemetry import inject_context
from services.bets.adapters.async_postgres import AsyncConnections, Prepared
from services.bets.adapters.postgres_ledger import PostgresLedgerSession
from services.bets.adapters.postgres_outbox import voided_envelope
from services.bets.domain.limits import PlacementRules
from services.bets.domain.model import (
    Bet,
    BetRejected,
    BetStatus,
    CashOutOffer,
    GameSnapshot,
    Leg,
    OddsAcceptance,
    Outcome,
    Rejection,
)
from services.bets.domain.placing import Placed
from services.bets.domain.settling import SettledNotice
from services.bets.domain.voiding import VoidedNotice

_BET_COLUMNS = (
    "bet_id, player_id, idempotency_key, fingerprint, status, rejection, rejection_message, live,"
    " acceptance, stake_minor, currency, odds_e4, potential_payout_minor, payout_minor,"
    " liability_minor, settlement_count, placed_at, decided_at, decide_after, settled_at, legs,"
    " cashed_out_stake_minor, cashed_out_minor"
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
        "fn": leg.fixture_name,
        "r": leg.outcome.value if leg.outcome else None,
        "dh": leg.dead_heat_e4,
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
        fixture_name=raw.get("fn", ""),  # legs stored before names were kept have none
        outcome=Outcome(raw["r"]) if raw.get("r") else None,
        # Legs stored before dead heats were settled have no factor: a plain result.
        dead_heat_e4=raw.get("dh", 10_000),
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
        cashed_out_stake_minor=row.cashed_out_stake_minor,
        cashed_out_minor=row.cashed_out_minor,
    )


def _legs_json(bet: Bet) -> list[dict[str, Any]]:
    return [_leg_json(leg) for leg in bet.legs]


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
        "legs": json.dumps(_legs_json(bet), separators=(",", ":")),
        "cashed_out_stake_minor": bet.cashed_out_stake_minor,
        "cashed_out_minor": bet.cashed_out_minor,
    }


# Driver-level (pyformat): the same text for the asynchronous connections and the pool's.
_PLACE_BET_ARGS = (
    "bet_id",
    "player_id",
    "idempotency_key",
    "fingerprint",
    "live",
    "acceptance",
    "stake_minor",
    "currency",
    "odds_e4",
    "potential_payout_minor",
    "liability_minor",
    "placed_at",
    "decide_after",
    "legs",
    "offer_rejection",
    "offer_message",
    "messages",
    "may_bet",
    "provisional_cutoff",
    "window_start",
    "max_open",
    "max_market",
    "max_fixture",
)
_PLACE_BET_JSONB = frozenset({"legs", "messages"})
_PLACE_BET_COLUMNS = "o_claimed, o_status, o_reason, o_message"
_PLACE_BET = (
    f"SELECT {_PLACE_BET_COLUMNS} FROM bets.place_bet("
    + ", ".join(f"%({a})s" + ("::jsonb" if a in _PLACE_BET_JSONB else "") for a in _PLACE_BET_ARGS)
    + ")"
)
# The hot path's form: prepared once per connection (AsyncConnections), so PostgreSQL does not
# parse and plan the call again on every bet (about 0.1 ms of its CPU per bet, measured).
PREPARE_PLACE_BET = (
    f"PREPARE place_bet AS SELECT {_PLACE_BET_COLUMNS} FROM bets.place_bet("
    + ", ".join(
        f"${n}" + ("::jsonb" if a in _PLACE_BET_JSONB else "")
        for n, a in enumerate(_PLACE_BET_ARGS, 1)
    )
    + ")"
)
_EXECUTE_PLACE_BET = "EXECUTE place_bet (" + ", ".join(f"%({a})s" for a in _PLACE_BET_ARGS) + ")"
# The figures that are the same on every bet a process places (the refusal messages, the KYC
# states that may bet, the three limits) are written into a statement prepared once per
# connection for them, not sent and parsed again on every bet: the messages alone (0.7 kB of
# JSON that only a refusal reads) cost PostgreSQL about 0.08 ms of CPU a bet
# (bench/bets/function_alone.py, docs/benchmarks/bets.md).
_PLACE_BET_FIXED = ("messages", "may_bet", "max_open", "max_market", "max_fixture")
# One statement per set of figures; more sets than this (never in one process) use place_bet.
_PLACE_BET_STATEMENTS = 8


def _cast(argument: str) -> str:
    return "::jsonb" if argument in _PLACE_BET_JSONB else ""


# The varying arguments reach a prepared statement as one jsonb document (one value to quote on
# the bets process's side, where adapting 18 values one by one cost more CPU than PostgreSQL
# spends reading them back out of the document); these are the ones that are not text.
_PLACE_BET_TYPES = {
    "live": "boolean",
    "stake_minor": "bigint",
    "odds_e4": "bigint",
    "potential_payout_minor": "bigint",
    "liability_minor": "bigint",
    "placed_at": "timestamptz",
    "decide_after": "timestamptz",
    "provisional_cutoff": "timestamptz",
    "window_start": "timestamptz",
}


def _from_document(argument: str) -> str:
    if argument in _PLACE_BET_JSONB:
        return f"$1->'{argument}'"
    sql_type = _PLACE_BET_TYPES.get(argument)
    return f"($1->>'{argument}')::{sql_type}" if sql_type else f"$1->>'{argument}'"


def _prepare_place_bet(name: str) -> str:
    """PREPARE `name` with the fixed figures as %(pyformat)s values, the rest read out of the
    one jsonb parameter (_place_document)."""
    return (
        f"PREPARE {name} (jsonb) AS SELECT {_PLACE_BET_COLUMNS} FROM bets.place_bet("
        + ", ".join(
            f"%({a})s{_cast(a)}" if a in _PLACE_BET_FIXED else _from_document(a)
            for a in _PLACE_BET_ARGS
        )
        + ")"
    )


def _execute_place_bet(name: str) -> str:
    return f"EXECUTE {name} (%(document)s)"


_UPDATE_BET = sa.text(
    "UPDATE bets.bets SET status = :status, rejection = :rejection, stake_minor = :stake_minor,"
    " cashed_out_stake_minor = :cashed_out_stake_minor, cashed_out_minor = :cashed_out_minor,"
    " rejection_message = :rejection_message, odds_e4 = :odds_e4,"
    " potential_payout_minor = :potential_payout_minor, payout_minor = :payout_minor,"
    " liability_minor = :liability_minor, settlement_count = :settlement_count,"
    " decided_at = :decided_at, decide_after = :decide_after, settled_at = :settled_at,"
    " legs = CAST(:legs AS jsonb) WHERE bet_id = :bet_id"
)


class PostgresBetSession(PostgresLedgerSession):
    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)

    def update_bet(self, bet: Bet) -> None:
        self.connection.execute(_UPDATE_BET, _bet_params(bet))

    def lock_bet(self, bet_id: str) -> Bet | None:
        row = self.connection.execute(
            sa.text(f"SELECT {_BET_COLUMNS} FROM bets.bets WHERE bet_id = :b FOR UPDATE"),
            {"b": bet_id},
        ).first()
        return None if row is None else _row_to_bet(row)

    def add_exposure(self, legs: list[Leg], liability_minor: int, stake_minor: int) -> None:
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

    def notify_voided(self, notice: VoidedNotice) -> None:
        self.connection.execute(
            sa.text(
                "INSERT INTO bets.outbox (event_id, topic, envelope, trace_context)"
                " VALUES (:e, :t, :v, CAST(:c AS JSONB)) ON CONFLICT (event_id) DO NOTHING"
            ),
            {
                "e": notice.event_id,
                "t": Topic.BETS_VOIDED.value,
                "v": voided_envelope(notice).SerializeToString(deterministic=True),
                "c": json.dumps(inject_context()),
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
                " expires_at, stake_minor) VALUES (:o, :b, :a, :p, :e, :s)"
            ),
            {
                "o": offer.offer_id,
                "b": offer.bet_id,
                "a": offer.amount_minor,
                "p": offer.prices,
                "e": offer.expires_at,
                "s": offer.stake_minor,
            },
        )

    def offer(self, offer_id: str) -> CashOutOffer | None:
        row = self.connection.execute(
            sa.text(
                "SELECT offer_id, bet_id, amount_minor, prices, expires_at, stake_minor"
                " FROM bets.cash_out_offers WHERE offer_id = :o"
            ),
            {"o": offer_id},
        ).first()
        return None if row is None else CashOutOffer(*row)

    def forget_offers(self, bet_id: str) -> None:
        self.connection.execute(
            sa.text("DELETE FROM bets.cash_out_offers WHERE bet_id = :b"), {"b": bet_id}
        )


def placing_engine(
    url: str,
    pool_size: int,
    answer_seconds: float,
    idle_in_transaction_seconds: float = postgres.IDLE_IN_TRANSACTION_SECONDS,
) -> Engine:
    """Connections for bets.place_bet, one atomic statement: in autocommit a bet costs one round
    trip instead of BEGIN, the call and COMMIT. Without the pool's liveness ping (one more round
    trip per bet): after a database restart, a stale connection fails one call, the pool then
    drops every connection it holds, and the client's retry with the same key is safe."""
    return postgres.create_engine(
        url,
        pool_size=pool_size,
        answer_seconds=answer_seconds,
        idle_in_transaction_seconds=idle_in_transaction_seconds,
        pre_ping=False,
        isolation_level="AUTOCOMMIT",
    )


@functools.lru_cache(maxsize=8)
def _messages_json(messages: tuple[tuple[str, str], ...]) -> str:
    # The same few templates on every bet: encoded once.
    return json.dumps(dict(messages), separators=(",", ":"))


def _fixed_params(rules: PlacementRules) -> dict[str, Any]:
    """The placing arguments that are the same on every bet a process places."""
    return {
        "messages": _messages_json(tuple(rules.messages.items())),
        "may_bet": list(rules.may_bet),
        "max_open": rules.max_open_stake_minor,
        "max_market": rules.max_market_liability_minor,
        "max_fixture": rules.max_fixture_liability_minor,
    }


def _placing_arguments(
    bet: Bet, offer: BetRejected | None, rules: PlacementRules
) -> dict[str, Any]:
    """bets.place_bet's arguments that vary from bet to bet, by name (_PLACE_BET_ARGS but
    _PLACE_BET_FIXED), as Python values: instants as datetimes, the legs as a list."""
    return {
        "bet_id": bet.bet_id,
        "player_id": bet.player_id,
        "idempotency_key": bet.idempotency_key,
        "fingerprint": bet.fingerprint,
        "live": bet.live,
        "acceptance": bet.acceptance.value,
        "stake_minor": bet.stake_minor,
        "currency": bet.currency,
        "odds_e4": bet.odds_e4,
        "potential_payout_minor": bet.potential_payout_minor,
        "liability_minor": bet.liability_minor,
        "placed_at": bet.placed_at,
        "decide_after": bet.decide_after,
        "legs": _legs_json(bet),
        "offer_rejection": offer.reason.value if offer else "",
        "offer_message": offer.message if offer else "",
        "provisional_cutoff": rules.provisional_cutoff,
        "window_start": rules.window_start,
    }


def _place_params(bet: Bet, offer: BetRejected | None, rules: PlacementRules) -> dict[str, Any]:
    """Every argument, for the statements that take them one by one (_PLACE_BET)."""
    params = _placing_arguments(bet, offer, rules)
    params["legs"] = json.dumps(params["legs"], separators=(",", ":"))
    params.update(_fixed_params(rules))
    return params


def _place_document(bet: Bet, offer: BetRejected | None, rules: PlacementRules) -> str:
    """The varying arguments of a prepared placing statement (_prepare_place_bet) as one JSON
    document; instants in ISO 8601 with their offset, as PostgreSQL reads a timestamptz."""
    return json.dumps(
        {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in _placing_arguments(bet, offer, rules).items()
        },
        separators=(",", ":"),
    )


def _placed(row: tuple[Any, ...]) -> Placed:
    claimed, status, reason, message = row
    if not claimed:
        return Placed(claimed=False)
    return Placed(
        claimed=True,
        status=BetStatus(status),
        rejection=Rejection(reason) if reason else None,
        message=message,
    )


class PostgresBetStore:
    def __init__(
        self,
        engine: Engine,
        placing: Engine | None = None,
        async_placing: AsyncConnections | None = None,
    ) -> None:
        self.engine = engine
        self.placing = placing or engine.execution_options(isolation_level="AUTOCOMMIT")
        # Without it, place_async runs `place` in a worker thread.
        self.async_placing = async_placing
        # The placing statements by their fixed figures (_PLACE_BET_FIXED).
        self._statements: dict[tuple[Any, ...], Prepared] = {}

    def place(self, bet: Bet, offer: BetRejected | None, rules: PlacementRules) -> Placed:
        with self.placing.connect() as connection:
            row = connection.exec_driver_sql(_PLACE_BET, _place_params(bet, offer, rules)).one()
        return _placed(tuple(row))

    async def place_async(
        self, bet: Bet, offer: BetRejected | None, rules: PlacementRules
    ) -> Placed:
        if self.async_placing is None:
            return await asyncio.to_thread(self.place, bet, offer, rules)
        fixed_params = _fixed_params(rules)
        fixed = tuple(
            tuple(value) if isinstance(value, list) else value
            for value in (fixed_params[a] for a in _PLACE_BET_FIXED)
        )
        statement = self._statements.get(fixed)
        if statement is None and len(self._statements) < _PLACE_BET_STATEMENTS:
            name = f"place_bet_{len(self._statements) + 1}"
            statement = self._statements[fixed] = Prepared(
                name=name,
                prepare=_prepare_place_bet(name),
                params=fixed_params,
                execute=_execute_place_bet(name),
            )
        if statement is None:
            row = await self.async_placing.fetchone(
                _EXECUTE_PLACE_BET, _place_params(bet, offer, rules)
            )
        else:
            document = _place_document(bet, offer, rules)
            row = await self.async_placing.fetchone(
                statement.execute, {"document": document}, statement
            )
        return _placed(row)

    def bet_by_key(self, player_id: str, idempotency_key: str) -> Bet | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.text(
                    f"SELECT {_BET_COLUMNS} FROM bets.bets"
                    " WHERE player_id = :p AND idempotency_key = :k"
                ),
                {"p": player_id, "k": idempotency_key},
            ).first()
        return None if row is None else _row_to_bet(row)

    def games(self, fixture_ids: list[str]) -> dict[str, GameSnapshot]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT fixture_id, event_sequence, home_score, away_score, home_red_cards,"
                    " away_red_cards FROM bets.game_states WHERE fixture_id = ANY(:f)"
                ),
                {"f": list(fixture_ids)},
            ).all()
        return {r[0]: GameSnapshot(*r[1:]) for r in rows}

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

    def purge_offers(self, expired_before: datetime, batch: int = 1_000) -> int:
        """Deletes offers that expired before the time given, in short transactions."""
        purged = 0
        while True:
            with self.engine.begin() as connection:
                deleted = connection.execute(
                    sa.text(
                        "DELETE FROM bets.cash_out_offers WHERE offer_id IN (SELECT offer_id"
                        " FROM bets.cash_out_offers WHERE expires_at < :t LIMIT :n)"
                    ),
                    {"t": expired_before, "n": batch},
                ).rowcount
            purged += deleted
            if deleted < batch:
                return purged
