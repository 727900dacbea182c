"""Running stake totals per player, so placing a bet no longer sums the player's bets.

bets.place_bet summed every bet of the player placed in the 7-day window, and every open one,
on each bet: its cost grew with how much the player bets (most of the function's time for a
player with a hundred bets a week). The two sums are now kept as running totals:

- bets.player_stake_hours: per player and hour of placed_at (hours since the epoch, UTC), the
  stake counting against the 7-day cap (stake + cashed-out stake of every bet not REJECTED);
- bets.players.open_stake_minor: the stake of the player's PENDING and ACCEPTED bets.

The window is read as the hours after the one it starts in, from the totals, plus the bets of
that first hour from bets.bets (exact to the microsecond, as before).

bets.place_bet is the only writer of bets.bets rows (INSERT) and adds a placed bet to both totals
itself, under the player's lock. Every later change of a bet (a live bet decided, settlement,
its rollback, void, cash-out, partial cash-out; any UPDATE or DELETE, from any path) is noted by
a trigger as a row of bets.stake_changes: an insert, so the paths that change bets take no new
lock and keep their lock order. place_bet folds the player's noted changes into the totals,
under the player's lock, before it reads them.

Revision ID: 0007_stake_totals
Revises: 0006_deposit_cap
Create Date: 2026-11-24
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0007_stake_totals"
down_revision: str | None = "0006_deposit_cap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Historical, as PLACE_BET below: the one home is services/bets/sql/note_stake_change.sql.
# What a bet counts for: against the cap (not REJECTED: stake + cashed-out stake), and as open
# stake (PENDING or ACCEPTED: stake). Noted per player and hour of placed_at, as a change.
NOTE_STAKE_CHANGE = r"""
CREATE FUNCTION bets.note_stake_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_old_staked BIGINT := 0;
    v_old_open BIGINT := 0;
    v_new_staked BIGINT := 0;
    v_new_open BIGINT := 0;
    v_old_hour BIGINT := floor(extract(epoch FROM OLD.placed_at) / 3600)::BIGINT;
    v_new_hour BIGINT;
BEGIN
    IF OLD.status <> 'REJECTED' THEN
        v_old_staked := OLD.stake_minor + OLD.cashed_out_stake_minor;
    END IF;
    IF OLD.status IN ('PENDING', 'ACCEPTED') THEN
        v_old_open := OLD.stake_minor;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status <> 'REJECTED' THEN
            v_new_staked := NEW.stake_minor + NEW.cashed_out_stake_minor;
        END IF;
        IF NEW.status IN ('PENDING', 'ACCEPTED') THEN
            v_new_open := NEW.stake_minor;
        END IF;
        v_new_hour := floor(extract(epoch FROM NEW.placed_at) / 3600)::BIGINT;
        IF NEW.player_id = OLD.player_id AND v_new_hour = v_old_hour THEN
            v_new_staked := v_new_staked - v_old_staked;
            v_new_open := v_new_open - v_old_open;
            v_old_staked := 0;
            v_old_open := 0;
        END IF;
        IF v_new_staked <> 0 OR v_new_open <> 0 THEN
            INSERT INTO bets.stake_changes (player_id, hour, staked_minor, open_minor)
            VALUES (NEW.player_id, v_new_hour, v_new_staked, v_new_open);
        END IF;
    END IF;
    IF v_old_staked <> 0 OR v_old_open <> 0 THEN
        INSERT INTO bets.stake_changes (player_id, hour, staked_minor, open_minor)
        VALUES (OLD.player_id, v_old_hour, -v_old_staked, -v_old_open);
    END IF;
    RETURN NULL;
END
$$
"""

# Historical: the body this revision installed, kept so that the revisions replay as they ran.
# The function's one home is services/bets/sql/place_bet.sql (installed by 0010 and later).
# text() reads ":name" as a bind parameter even inside a literal; a backslash keeps the colon.
PLACE_BET = r"""
CREATE OR REPLACE FUNCTION bets.place_bet(
    p_bet_id TEXT,
    p_player_id TEXT,
    p_key TEXT,
    p_fingerprint TEXT,
    p_live BOOLEAN,
    p_acceptance TEXT,
    p_stake BIGINT,
    p_currency TEXT,
    p_odds_e4 BIGINT,
    p_potential_payout BIGINT,
    p_liability BIGINT,
    p_now TIMESTAMPTZ,
    p_decide_after TIMESTAMPTZ,
    p_legs JSONB,
    p_offer_rejection TEXT,
    p_offer_message TEXT,
    -- Message templates by reason ("KYC_REQUIRED/STATUS", ...): {a} {b} {id} {status}.
    p_messages JSONB,
    p_may_bet TEXT[],
    p_provisional_cutoff TIMESTAMPTZ,
    p_window_start TIMESTAMPTZ,
    p_max_open BIGINT,
    p_max_market BIGINT,
    p_max_fixture BIGINT
) RETURNS TABLE (o_claimed BOOLEAN, o_status TEXT, o_reason TEXT, o_message TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    v_player bets.players%ROWTYPE;
    v_reason TEXT;
    v_key TEXT;
    v_detail TEXT := '';
    v_a BIGINT := 0;
    v_b BIGINT := 0;
    v_cap BIGINT;
    v_staked BIGINT;
    v_open BIGINT;
    v_status TEXT;
    v_message TEXT := '';
    v_fixture TEXT;
    v_market TEXT;
    v_wallet BIGINT;
    v_held BIGINT;
    v_tx TEXT := 'tx_stake_' || p_bet_id;
    v_hour BIGINT;
BEGIN
    -- The player's row serialises their bets: a retry with the same key waits here for the
    -- first, then finds its bet; two bets cannot both fit under the stake cap.
    SELECT * INTO v_player FROM bets.players WHERE player_id = p_player_id FOR UPDATE;
    IF EXISTS (
        SELECT 1 FROM bets.bets WHERE player_id = p_player_id AND idempotency_key = p_key
    ) THEN
        RETURN QUERY SELECT false, ''::TEXT, ''::TEXT, ''::TEXT;
        RETURN;
    END IF;

    -- Player refusals come before offer refusals.
    IF v_player.player_id IS NULL THEN
        v_reason := 'KYC_REQUIRED';
        v_key := 'KYC_REQUIRED/UNKNOWN';
    ELSIF v_player.excluded THEN
        v_reason := 'SELF_EXCLUDED';
    ELSIF NOT v_player.of_age OR NOT (v_player.kyc_status = ANY (p_may_bet)) THEN
        v_reason := 'KYC_REQUIRED';
        v_key := 'KYC_REQUIRED/STATUS';
        v_detail := lower(v_player.kyc_status);
    ELSIF v_player.kyc_status <> 'VERIFIED'
        AND v_player.provisional_since IS NOT NULL
        AND v_player.provisional_since < p_provisional_cutoff THEN
        v_reason := 'KYC_REQUIRED';
        v_key := 'KYC_REQUIRED/PROVISIONAL_EXPIRED';
    ELSE
        v_cap := CASE
            WHEN v_player.pending_stake_cap_minor IS NOT NULL
                AND v_player.pending_stake_cap_effective_at IS NOT NULL
                AND v_player.pending_stake_cap_effective_at <= p_now
            THEN v_player.pending_stake_cap_minor
            ELSE v_player.stake_cap_minor
        END;
        IF v_cap IS NULL THEN
            v_reason := 'STAKE_CAP_NOT_SET';
        ELSIF p_offer_rejection <> '' THEN
            v_reason := p_offer_rejection;
            v_message := p_offer_message;
        END IF;
    END IF;

    IF v_reason IS NULL THEN
        -- Bets settled, voided, cashed out or decided since the player's last bet: what that
        -- changed in the running totals, folded in under the player's lock.
        IF EXISTS (SELECT 1 FROM bets.stake_changes c WHERE c.player_id = p_player_id) THEN
            WITH folded AS (
                DELETE FROM bets.stake_changes c WHERE c.player_id = p_player_id
                RETURNING c.hour, c.staked_minor, c.open_minor
            ), hours AS (
                INSERT INTO bets.player_stake_hours AS h (player_id, hour, staked_minor)
                SELECT p_player_id, f.hour, sum(f.staked_minor)::BIGINT
                FROM folded f GROUP BY f.hour
                ON CONFLICT (player_id, hour) DO UPDATE
                    SET staked_minor = h.staked_minor + EXCLUDED.staked_minor
            )
            SELECT coalesce(sum(f.open_minor), 0) INTO v_open FROM folded f;
            UPDATE bets.players SET open_stake_minor = open_stake_minor + v_open
            WHERE player_id = p_player_id
            RETURNING open_stake_minor INTO v_open;
        ELSE
            v_open := v_player.open_stake_minor;
        END IF;
        -- A stake partly cashed out was still staked: it counts against the cap. The hour the
        -- window starts in is summed from its bets; every later hour from the running totals.
        v_hour := floor(extract(epoch FROM p_window_start) / 3600)::BIGINT;
        SELECT (
            SELECT coalesce(sum(h.staked_minor), 0) FROM bets.player_stake_hours h
            WHERE h.player_id = p_player_id AND h.hour > v_hour
        ) + (
            SELECT coalesce(sum(x.stake_minor + x.cashed_out_stake_minor), 0) FROM bets.bets x
            WHERE x.player_id = p_player_id AND x.placed_at >= p_window_start
                AND x.placed_at < to_timestamp((v_hour + 1) * 3600) AND x.status <> 'REJECTED'
        ) INTO v_staked;
        IF v_staked + p_stake > v_cap THEN
            v_reason := 'RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED';
            v_a := v_cap;
            v_b := v_staked;
        ELSIF v_open + p_stake > p_max_open THEN
            v_reason := 'ABOVE_PLAYER_MAX';
        END IF;
    END IF;

    IF v_reason IS NULL THEN
        -- No subtransaction (one per bet costs more than the rest of the function): a refusal
        -- after the exposure is added takes it off again, in the same locked rows.
        -- Fixture rows first, in id order, as every other path locks them.
        FOR v_fixture IN
            SELECT DISTINCT l->>'f' FROM jsonb_array_elements(p_legs) l ORDER BY 1
        LOOP
            INSERT INTO bets.fixture_exposure (fixture_id) VALUES (v_fixture)
            ON CONFLICT (fixture_id) DO UPDATE SET fixture_id = EXCLUDED.fixture_id;
        END LOOP;
        INSERT INTO bets.selection_exposure AS e
            (fixture_id, market_id, selection_id, liability_minor, stakes_minor)
        SELECT l->>'f', l->>'m', l->>'s', p_liability, p_stake
        FROM jsonb_array_elements(p_legs) l ORDER BY l->>'f', l->>'m'
        ON CONFLICT (fixture_id, market_id, selection_id) DO UPDATE
            SET liability_minor = e.liability_minor + EXCLUDED.liability_minor,
                stakes_minor = e.stakes_minor + EXCLUDED.stakes_minor;
        IF p_liability > 0 THEN
            SELECT w.market_id INTO v_market
            FROM (
                SELECT s.fixture_id, s.market_id, max(s.liability_minor) AS worst
                FROM bets.selection_exposure s
                WHERE (s.fixture_id, s.market_id) IN (
                    SELECT l->>'f', l->>'m' FROM jsonb_array_elements(p_legs) l)
                GROUP BY s.fixture_id, s.market_id
            ) w
            WHERE w.worst > p_max_market
            ORDER BY w.fixture_id, w.market_id LIMIT 1;
            IF v_market IS NOT NULL THEN
                v_reason := 'ABOVE_MARKET_MAX';
                v_detail := v_market;
            ELSE
                SELECT t.fixture_id INTO v_fixture
                FROM (
                    SELECT w.fixture_id, sum(greatest(w.worst, 0)) AS total
                    FROM (
                        SELECT s.fixture_id, max(s.liability_minor) AS worst
                        FROM bets.selection_exposure s
                        WHERE s.fixture_id IN (
                            SELECT l->>'f' FROM jsonb_array_elements(p_legs) l)
                        GROUP BY s.fixture_id, s.market_id
                    ) w
                    GROUP BY w.fixture_id
                ) t
                WHERE t.total > p_max_fixture
                ORDER BY t.fixture_id LIMIT 1;
                IF FOUND THEN
                    v_reason := 'ABOVE_EVENT_MAX';
                    v_detail := v_fixture;
                END IF;
            END IF;
        END IF;

        -- The stake hold: wallet debited, held credited; account rows in id order.
        IF v_reason IS NULL THEN
            SELECT id INTO v_wallet FROM bets.accounts
            WHERE code = 'player:' || p_player_id || '\:wallet' AND currency = p_currency;
            SELECT id INTO v_held FROM bets.accounts
            WHERE code = 'player:' || p_player_id || '\:held' AND currency = p_currency;
            IF v_wallet IS NULL THEN
                v_reason := 'INSUFFICIENT_FUNDS';
            END IF;
        END IF;
        IF v_reason IS NULL AND v_held IS NULL THEN
            INSERT INTO bets.accounts
                (code, currency, kind, player_id, normal_side, allow_negative, balance_minor)
            VALUES ('player:' || p_player_id || '\:held', p_currency, 'player_held',
                p_player_id, -1, false, 0)
            ON CONFLICT (code, currency) DO NOTHING;
            SELECT id INTO v_held FROM bets.accounts
            WHERE code = 'player:' || p_player_id || '\:held' AND currency = p_currency;
        END IF;
        IF v_reason IS NULL AND v_wallet > v_held THEN
            UPDATE bets.accounts SET balance_minor = balance_minor + p_stake WHERE id = v_held;
        END IF;
        IF v_reason IS NULL THEN
            UPDATE bets.accounts SET balance_minor = balance_minor - p_stake
            WHERE id = v_wallet AND balance_minor >= p_stake;
            IF NOT FOUND THEN
                v_reason := 'INSUFFICIENT_FUNDS';
                IF v_wallet > v_held THEN
                    UPDATE bets.accounts SET balance_minor = balance_minor - p_stake
                    WHERE id = v_held;
                END IF;
            END IF;
        END IF;
        IF v_reason IS NULL THEN
            IF v_wallet < v_held THEN
                UPDATE bets.accounts SET balance_minor = balance_minor + p_stake
                WHERE id = v_held;
            END IF;
            INSERT INTO bets.transactions (id, kind, external_reference, bet_id)
            VALUES (v_tx, 'stake', '', p_bet_id);
            INSERT INTO bets.entries (transaction_id, account_id, amount_minor, currency)
            VALUES (v_tx, least(v_wallet, v_held),
                    CASE WHEN v_wallet < v_held THEN p_stake ELSE -p_stake END, p_currency),
                (v_tx, greatest(v_wallet, v_held),
                    CASE WHEN v_wallet < v_held THEN -p_stake ELSE p_stake END, p_currency);
        ELSE
            -- Refused by a limit or the wallet: the exposure comes off again.
            UPDATE bets.selection_exposure e
            SET liability_minor = e.liability_minor - p_liability,
                stakes_minor = e.stakes_minor - p_stake
            FROM jsonb_array_elements(p_legs) l
            WHERE (e.fixture_id, e.market_id, e.selection_id) = (l->>'f', l->>'m', l->>'s');
        END IF;
    END IF;

    IF v_reason IS NOT NULL AND v_message = '' THEN
        v_message := replace(replace(replace(replace(
            coalesce(p_messages->>coalesce(v_key, v_reason), v_reason),
            '{a}', v_a::TEXT), '{b}', v_b::TEXT), '{id}', v_detail), '{status}', v_detail);
    END IF;

    IF v_reason IS NOT NULL THEN
        v_status := 'REJECTED';
    ELSIF p_live THEN
        v_status := 'PENDING';
    ELSE
        v_status := 'ACCEPTED';
    END IF;
    INSERT INTO bets.bets (
        bet_id, player_id, idempotency_key, fingerprint, status, rejection, rejection_message,
        live, acceptance, stake_minor, currency, odds_e4, potential_payout_minor, payout_minor,
        liability_minor, settlement_count, placed_at, decided_at, decide_after, settled_at, legs
    ) VALUES (
        p_bet_id, p_player_id, p_key, p_fingerprint, v_status, v_reason, v_message,
        p_live, p_acceptance, p_stake, p_currency, p_odds_e4, p_potential_payout, 0,
        CASE WHEN v_reason IS NULL THEN p_liability ELSE 0 END, 0, p_now,
        CASE WHEN v_status = 'PENDING' THEN NULL ELSE p_now END,
        CASE WHEN v_status = 'PENDING' THEN p_decide_after ELSE NULL END, NULL, p_legs
    ) ON CONFLICT (player_id, idempotency_key) DO NOTHING;
    IF NOT FOUND THEN
        -- Only an unknown player has no row to serialise on, and nothing moved for them.
        IF v_reason IS NULL THEN
            RAISE EXCEPTION 'bet % lost its idempotency key after holding a stake', p_bet_id;
        END IF;
        RETURN QUERY SELECT false, ''::TEXT, ''::TEXT, ''::TEXT;
        RETURN;
    END IF;
    IF v_reason IS NULL THEN
        -- The running totals: a bet placed counts in full against both (0 if refused).
        INSERT INTO bets.player_stake_hours AS h (player_id, hour, staked_minor)
        VALUES (p_player_id, floor(extract(epoch FROM p_now) / 3600)::BIGINT, p_stake)
        ON CONFLICT (player_id, hour) DO UPDATE SET staked_minor = h.staked_minor + p_stake;
        UPDATE bets.players SET open_stake_minor = open_stake_minor + p_stake
        WHERE player_id = p_player_id;
    END IF;
    INSERT INTO bets.bet_legs (bet_id, fixture_id, market_id, placed_at)
    SELECT p_bet_id, l->>'f', l->>'m', p_now FROM jsonb_array_elements(p_legs) l;
    RETURN QUERY SELECT true, v_status, coalesce(v_reason, ''), v_message;
END
$$
"""


def _place_bet_0005() -> str:
    """The function as 0005 made it (0006 left it as it was), for the downgrade."""
    path = Path(__file__).with_name("0005_place_bet.py")
    spec = importlib.util.spec_from_file_location("_betmesh_bets_0005_place_bet", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.PLACE_BET
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    # Players first (placing locks a player's row, then writes bets), then no bet placed or
    # changed while the totals are filled in from the bets already there.
    op.execute("ALTER TABLE bets.players ADD COLUMN open_stake_minor BIGINT NOT NULL DEFAULT 0")
    op.execute("LOCK TABLE bets.bets IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        """
        CREATE TABLE bets.player_stake_hours (
            player_id TEXT NOT NULL,
            -- floor(epoch of placed_at / 3600)
            hour BIGINT NOT NULL,
            staked_minor BIGINT NOT NULL,
            PRIMARY KEY (player_id, hour)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.stake_changes (
            player_id TEXT NOT NULL,
            hour BIGINT NOT NULL,
            staked_minor BIGINT NOT NULL,
            open_minor BIGINT NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX stake_changes_player_idx ON bets.stake_changes (player_id)")
    op.execute(
        """
        INSERT INTO bets.player_stake_hours (player_id, hour, staked_minor)
        SELECT player_id, floor(extract(epoch FROM placed_at) / 3600)::BIGINT,
            sum(stake_minor + cashed_out_stake_minor)
        FROM bets.bets WHERE status <> 'REJECTED' GROUP BY 1, 2
        """
    )
    op.execute(
        """
        UPDATE bets.players p SET open_stake_minor = o.open_minor
        FROM (
            SELECT player_id, sum(stake_minor) AS open_minor FROM bets.bets
            WHERE status IN ('PENDING', 'ACCEPTED') GROUP BY player_id
        ) o
        WHERE p.player_id = o.player_id
        """
    )
    op.execute(NOTE_STAKE_CHANGE)
    op.execute(
        """
        CREATE TRIGGER bets_stake_changed
        AFTER UPDATE ON bets.bets
        FOR EACH ROW
        WHEN (
            OLD.status IS DISTINCT FROM NEW.status
            OR OLD.stake_minor IS DISTINCT FROM NEW.stake_minor
            OR OLD.cashed_out_stake_minor IS DISTINCT FROM NEW.cashed_out_stake_minor
            OR OLD.placed_at IS DISTINCT FROM NEW.placed_at
            OR OLD.player_id IS DISTINCT FROM NEW.player_id
        )
        EXECUTE FUNCTION bets.note_stake_change()
        """
    )
    op.execute(
        """
        CREATE TRIGGER bets_stake_deleted
        AFTER DELETE ON bets.bets
        FOR EACH ROW EXECUTE FUNCTION bets.note_stake_change()
        """
    )
    op.execute(PLACE_BET)


def downgrade() -> None:
    op.execute(_place_bet_0005())
    op.execute("DROP TRIGGER bets_stake_deleted ON bets.bets")
    op.execute("DROP TRIGGER bets_stake_changed ON bets.bets")
    op.execute("DROP FUNCTION bets.note_stake_change()")
    op.execute("DROP TABLE bets.stake_changes")
    op.execute("DROP TABLE bets.player_stake_hours")
    op.execute("ALTER TABLE bets.players DROP COLUMN open_stake_minor")
