"""PostgreSQL's CPU per bets.place_bet call, alone, beside the cost of the call itself.

    .venv/bin/python bench/bets/function_alone.py [--chunks 10] [--calls 100]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--also /tmp/before.sql ...] [--book-fixtures 0]

Two fresh databases migrated to head, 200 verified and funded players each. In one, the function
as shipped (services/bets/sql/place_bet.sql); in the other, "call only": the same signature
called the same way (the prepared 23-argument EXECUTE the bets process sends, the player's row
lock, the commit) with the body cut after the lock. One connection each, in autocommit as the
bets process places; chunks of `calls` accepted pre-match singles alternate between the two so
both meet the same neighbours on shared cores. Printed: the serving backend's CPU (user and
user + system, from /proc) per call. The difference is what the placement rules' statements
cost; "call only" is the floor any one-statement bet pays, to hold against a pgbench -N
transaction (bench/bets/placing.py prints both sides' CPU).

--also times another place_bet.sql in the same run, on a database of its own, for a before and
after measured against the same neighbours (`git show main:services/bets/sql/place_bet.sql >
/tmp/before.sql`; its body must run on head's schema). --book-fixtures fills
bets.selection_exposure with that many other fixtures (10 markets of 3 selections each, no bet
on them) first, so that a query reading more than its bet's fixtures shows its cost.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs in the lock
import psycopg2
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "gen" / "python"))

from launcher.embedded import create_database, drop_database, unique_name  # noqa: E402
from service_runtime.postgres import migrate  # noqa: E402
from services.bets import sql  # noqa: E402
from services.bets.adapters.async_postgres import libpq_dsn  # noqa: E402
from services.bets.adapters.postgres_bets import (  # noqa: E402
    _EXECUTE_PLACE_BET,
    PREPARE_PLACE_BET,
)
from services.bets.domain.bet_rules import BetRules  # noqa: E402
from services.bets.domain.limits import MAY_BET, placement_messages  # noqa: E402

MIGRATIONS = ROOT / "services" / "bets" / "migrations"
PLAYERS = [f"player-{i}" for i in range(200)]
FIXTURES = [f"fixture-{i}" for i in range(50)]
LOCK = "SELECT * INTO v_player FROM bets.players WHERE player_id = p_player_id FOR UPDATE;\n"


def call_only() -> str:
    """place_bet.sql with everything after the player's lock replaced by an accepted answer."""
    text = sql.statement("place_bet.sql")
    start = text.index(LOCK) + len(LOCK)
    end = text.rindex("END\n$$;")
    answer = (
        "    o_claimed := true; o_status := 'ACCEPTED'; o_reason := ''; o_message := '';\n"
        "    RETURN NEXT;\n"
    )
    return text[:start] + answer + text[end:]


def prepare_database(url: str, function: str | None, book_fixtures: int = 0) -> None:
    migrate(
        sa.make_url(url).set(drivername="postgresql+psycopg2").render_as_string(False),
        MIGRATIONS,
        "bets",
    )
    connection = psycopg2.connect(libpq_dsn(url))
    connection.autocommit = True
    cursor = connection.cursor()
    if function is not None:
        cursor.execute(function)
    if book_fixtures:
        cursor.execute(
            "INSERT INTO bets.fixture_exposure (fixture_id)"
            " SELECT 'book-' || f FROM generate_series(1, %(n)s) f;"
            " INSERT INTO bets.selection_exposure"
            " (fixture_id, market_id, selection_id, liability_minor, stakes_minor)"
            " SELECT 'book-' || f, 'book-' || f || '/m' || m, 's' || s, 1000 * s, 500"
            " FROM generate_series(1, %(n)s) f, generate_series(1, 10) m, generate_series(1, 3) s;"
            " ANALYZE bets.fixture_exposure; ANALYZE bets.selection_exposure",
            {"n": book_fixtures},
        )
    for player in PLAYERS:
        cursor.execute(
            "INSERT INTO bets.players (player_id, kyc_status, of_age, stake_cap_minor)"
            " VALUES (%s, 'VERIFIED', true, 10000000)",
            (player,),
        )
        cursor.execute(
            "INSERT INTO bets.accounts (code, currency, kind, player_id, normal_side,"
            " allow_negative, balance_minor) VALUES (%s, 'EUR', 'player_wallet', %s, 1, false,"
            " 500000000)",
            (f"player:{player}:wallet", player),
        )
    connection.close()


def params(n: int, messages: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    fixture = FIXTURES[(n * 7) % len(FIXTURES)]
    return {
        "bet_id": f"bet-{uuid.uuid4().hex}",
        "player_id": PLAYERS[n % len(PLAYERS)],
        "idempotency_key": uuid.uuid4().hex,
        "fingerprint": "bench",
        "live": False,
        "acceptance": "ODDS_ACCEPTANCE_ANY",
        "stake_minor": 100,
        "currency": "EUR",
        "odds_e4": 20_000,
        "potential_payout_minor": 200,
        "liability_minor": 100,
        "placed_at": now,
        "decide_after": None,
        "legs": json.dumps(
            [{"f": fixture, "m": f"{fixture}/MATCH_RESULT", "s": "home", "o": 20_000}]
        ),
        "offer_rejection": "",
        "offer_message": "",
        "messages": messages,
        "may_bet": list(MAY_BET),
        "provisional_cutoff": now - timedelta(days=30),
        "window_start": now - timedelta(days=7),
        "max_open": 10**12,
        "max_market": 10**12,
        "max_fixture": 10**12,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="PLACE_BET_SQL",
        type=Path,
        help="another place_bet.sql to time beside the shipped one (repeatable)",
    )
    parser.add_argument(
        "--book-fixtures",
        type=int,
        default=0,
        help="other fixtures' exposure rows in each database before the calls",
    )
    args = parser.parse_args()
    variants: dict[str, str | None] = {"shipped": None, "call only": call_only()}
    for path in args.also:
        variants[path.name] = sql.without_header(path.read_text(encoding="utf-8"))
    names = {variant: unique_name("bench_place_bet") for variant in variants}
    messages = json.dumps(placement_messages(BetRules()))
    try:
        cursors: dict[str, Any] = {}
        backends: dict[str, psutil.Process] = {}
        for variant, function in variants.items():
            url = create_database(args.admin_url, names[variant])
            prepare_database(url, function, args.book_fixtures)
            connection = psycopg2.connect(libpq_dsn(url))
            connection.autocommit = True
            cursor = connection.cursor()
            cursor.execute(PREPARE_PLACE_BET)
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone() or (None,)
            backends[variant] = psutil.Process(pid)
            cursors[variant] = cursor
        spent = {variant: [0.0, 0.0, 0] for variant in variants}
        n = 0
        for chunk in range(args.chunks):
            order = list(variants) if chunk % 2 == 0 else list(variants)[::-1]
            for variant in order:
                before = backends[variant].cpu_times()
                for _ in range(args.calls):
                    n += 1
                    cursors[variant].execute(_EXECUTE_PLACE_BET, params(n, messages))
                    row = cursors[variant].fetchone()
                    if row is None or row[1] != "ACCEPTED":
                        raise SystemExit(f"{variant}: bet not accepted: {row}")
                after = backends[variant].cpu_times()
                spent[variant][0] += after.user - before.user
                spent[variant][1] += after.user + after.system - before.user - before.system
                spent[variant][2] += args.calls
        for cursor in cursors.values():
            cursor.connection.close()
        for variant, (user, total, calls) in spent.items():
            print(
                f"{variant:<10} {calls} calls: backend CPU {user / calls * 1000:.3f} ms user,"
                f" {total / calls * 1000:.3f} ms user + system per call"
            )
    finally:
        for name in names.values():
            drop_database(args.admin_url, name)


if __name__ == "__main__":
    main()
