"""The running stake totals (0007) answer what summing the bets answered, whatever changes a bet.

bets.place_bet reads the 7-day stake and the open stake from running totals; every later change
of a bet is noted by a trigger and folded in at the player's next bet. Here bets are placed over
ten days, then decided, settled, rolled back, cashed out in part, moved and deleted straight in
SQL (as any path would), and after each change the cap is probed at its edge: a stake of exactly
what is left must be taken, one unit more refused with the sum of the bets in the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from service_runtime.postgres import migrate

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "bets" / "migrations"
CAP = 1_000_000
MAX_OPEN = 10_000_000
START = datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)

_PLACE = sa.text(
    "SELECT o_status, o_reason, o_message FROM bets.place_bet(:bet_id, :player, :key, 'fp',"
    " :live, 'ANY', :stake, 'EUR', 20000, 0, 0, :now, NULL,"
    " CAST(:legs AS jsonb), '', '', CAST(:messages AS jsonb), ARRAY['VERIFIED'],"
    " CAST(:now AS timestamptz) - interval '30 days', CAST(:window_start AS timestamptz),"
    " :max_open, 1000000000, 1000000000)"
)
_MESSAGES = '{"RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED": "{a}/{b}", "ABOVE_PLAYER_MAX": "open"}'


@pytest.fixture()
def engine(private_database_url: str) -> Iterator[sa.Engine]:
    url = sa.make_url(private_database_url).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bets CASCADE"))
    migrate(url.render_as_string(hide_password=False), MIGRATIONS, "bets")
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO bets.players (player_id, kyc_status, of_age, stake_cap_minor)"
                " VALUES ('p1', 'VERIFIED', true, :cap), ('p2', 'VERIFIED', true, :cap)"
            ),
            {"cap": CAP},
        )
        conn.execute(
            sa.text(
                "INSERT INTO bets.accounts (code, currency, kind, player_id, normal_side,"
                " allow_negative, balance_minor) SELECT 'player' || chr(58) || p || chr(58)"
                " || 'wallet', 'EUR', 'player_wallet', p, -1, false, 1000000000"
                " FROM unnest(ARRAY['p1', 'p2']) p"
            )
        )
    yield engine
    engine.dispose()


class Placer:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.n = 0

    def place(
        self,
        player: str,
        stake: int,
        now: datetime,
        window_start: datetime | None = None,
        live: bool = False,
        max_open: int = MAX_OPEN,
    ) -> tuple[str, str, str, str]:
        self.n += 1
        bet_id = f"bet-{self.n}"
        with self.engine.connect() as conn:
            row = conn.execute(
                _PLACE,
                {
                    "bet_id": bet_id,
                    "player": player,
                    "key": f"k-{self.n}",
                    "live": live,
                    "stake": stake,
                    "now": now,
                    "legs": '[{"f": "fx", "m": "fx/MR", "s": "home"}]',
                    "messages": _MESSAGES,
                    "window_start": window_start or now - timedelta(days=7),
                    "max_open": max_open,
                },
            ).one()
        return bet_id, row[0], row[1], row[2]

    def summed(self, player: str, window_start: datetime) -> tuple[int, int]:
        """The 7-day stake and the open stake as 0005 summed them from the bets."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT coalesce(sum(stake_minor + cashed_out_stake_minor) FILTER ("
                    " WHERE placed_at >= :w AND status <> 'REJECTED'), 0),"
                    " coalesce(sum(stake_minor) FILTER (WHERE status IN ('PENDING', 'ACCEPTED')),"
                    " 0) FROM bets.bets WHERE player_id = :p"
                ),
                {"p": player, "w": window_start},
            ).one()
        return int(row[0]), int(row[1])

    def probe(self, player: str, now: datetime, window_start: datetime) -> None:
        """At the cap's edge: one unit over is refused naming the sum; exactly up to it is
        taken (then voided, which the totals must follow too). Same for the open stakes."""
        staked, open_ = self.summed(player, window_start)
        room = CAP - staked
        assert room > 1, (staked, open_)
        _, status, reason, message = self.place(player, room + 1, now, window_start)
        assert (status, reason, message) == (
            "REJECTED",
            "RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED",
            f"{CAP}/{staked}",
        )
        _, status, reason, _ = self.place(player, 1, now, window_start, max_open=open_)
        assert (status, reason) == ("REJECTED", "ABOVE_PLAYER_MAX")
        bet_id, status, reason, _ = self.place(
            player, room, now, window_start, max_open=open_ + room
        )
        assert (status, reason) == ("ACCEPTED", "")
        self.update(bet_id, "status = 'VOID'")
        assert self.summed(player, window_start) == (CAP, open_)
        self.update(bet_id, "status = 'REJECTED'")
        assert self.summed(player, window_start) == (staked, open_)

    def update(self, bet_id: str, assignments: str, params: dict[str, Any] | None = None) -> None:
        with self.engine.connect() as conn:
            conn.execute(
                sa.text(f"UPDATE bets.bets SET {assignments} WHERE bet_id = :b"),
                {"b": bet_id, **(params or {})},
            )


def test_the_cap_and_open_stakes_follow_every_change_of_a_bet(engine: sa.Engine) -> None:
    placer = Placer(engine)
    bets: list[str] = []
    for day in range(10):
        for minute in (0, 59, 61, 12 * 60 + 30):
            now = START + timedelta(days=day, minutes=minute, microseconds=day)
            bet_id, status, _, _ = placer.place("p1", 1_000 + day, now, live=minute == 59)
            assert status in ("ACCEPTED", "PENDING")
            bets.append(bet_id)
        placer.place("p2", 5_000, START + timedelta(days=day))
    now = START + timedelta(days=10, hours=1)
    # Windows starting on the hour, just after, inside an hour and before any bet.
    windows = [
        now - timedelta(days=7),
        START + timedelta(days=3, minutes=59, microseconds=4),
        START + timedelta(days=3, minutes=59, microseconds=2),
        START + timedelta(days=3, hours=1, minutes=1),
        START - timedelta(days=1),
    ]
    for window_start in windows:
        placer.probe("p1", now, window_start)

    changes = [
        (bets[1], "status = 'REJECTED', decided_at = placed_at"),  # live bet refused
        (bets[5], "status = 'ACCEPTED'"),  # live bet taken
        (bets[12], "status = 'WON', payout_minor = 2000"),
        (bets[12], "status = 'ACCEPTED', payout_minor = 0"),  # settlement rolled back
        (bets[13], "status = 'LOST'"),
        (bets[14], "status = 'VOID'"),
        # Partial cash-out, then the rest.
        (bets[15], "stake_minor = stake_minor - 400, cashed_out_stake_minor = 400"),
        (bets[15], "status = 'CASHED_OUT'"),
        (bets[16], "placed_at = placed_at + interval '2 hours'"),
        (bets[17], "player_id = 'p2'"),
        (bets[18], "stake_minor = 1"),
    ]
    for bet_id, assignments in changes:
        placer.update(bet_id, assignments)
        for window_start in windows:
            placer.probe("p1", now, window_start)
            placer.probe("p2", now, window_start)

    with engine.connect() as conn:
        for bet_id in (bets[20], bets[21]):
            conn.execute(sa.text("DELETE FROM bets.bet_legs WHERE bet_id = :b"), {"b": bet_id})
            conn.execute(sa.text("DELETE FROM bets.bets WHERE bet_id = :b"), {"b": bet_id})
    for window_start in windows:
        placer.probe("p1", now, window_start)


def test_upgrade_fills_the_totals_from_the_bets_and_downgrade_restores_0006(
    engine: sa.Engine,
) -> None:
    placer = Placer(engine)
    for day in range(9):
        placer.place("p1", 3_000, START + timedelta(days=day, minutes=30))
    placer.update("bet-3", "status = 'WON'")
    url = engine.url.render_as_string(hide_password=False)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = "bets"
    command.downgrade(config, "0006_deposit_cap")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('bets.stake_changes')")).scalar() is None
    now = START + timedelta(days=9)
    # 0006's function sums the bets.
    placer.place("p1", 7_000, now)
    command.upgrade(config, "head")
    for window_start in (now - timedelta(days=7), START, now - timedelta(hours=200, seconds=1)):
        placer.probe("p1", now, window_start)
