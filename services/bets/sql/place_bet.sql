-- bets.place_bet: a bet's placement as one statement, and the one home of the placement rules
-- that need the player's lock. BetsCore (services/bets/domain/bets.py) checks what needs no
-- database (the request, prices, odds acceptance, min/max stake and payout) and passes its
-- verdict in p_offer_rejection; everything below is decided here, in this order:
--   1. the player: unknown (KYC_REQUIRED), self-excluded (SELF_EXCLUDED), a KYC state outside
--      p_may_bet or not of age (KYC_REQUIRED), a non-VERIFIED account provisional since before
--      p_provisional_cutoff (KYC_REQUIRED), no 7-day stake cap (STAKE_CAP_NOT_SET);
--   2. the offer's own verdict (p_offer_rejection);
--   3. the 7-day stake cap: stakes placed at or after p_window_start (not REJECTED; a partly
--      cashed-out stake still counts in full) + this stake must not exceed the cap in force
--      (a pending raise once its effective time <= p_now: SevenDayCap.in_force's definition,
--      services/bets/domain/ports.py, which deposits and recording identity's changes use;
--      read here as it must be, under the player's lock) (RESPONSIBLE_BETTING_LOSS_LIMIT_EXCEEDED);
--   4. open stakes (PENDING and ACCEPTED) + this stake <= p_max_open (ABOVE_PLAYER_MAX);
--   5. the house's liability, the worst-case loss as bets.market_worst_case defines it
--      (worst_case.sql: the measure GetExposureReport shows):
--      each leg's market's <= p_max_market (ABOVE_MARKET_MAX), each leg's fixture's
--      <= p_max_fixture (ABOVE_EVENT_MAX), both with this bet's liability added to each leg's
--      selection (a bet that risks nothing, p_liability 0, is not checked);
--   6. funds: the wallet must cover the stake, an equal balance does (INSUFFICIENT_FUNDS);
-- then the stake hold, one balanced transaction: wallet +stake (debit), held -stake (credit).
-- A refusal stores the bet REJECTED and moves nothing.
--
-- This file is the function's source, managed as code (the same goes for every *.sql here):
-- to change a rule, edit this file and add a migration that reloads it (docs/conventions.md,
-- "Rules in SQL"); tests/integration/test_bets_sql_functions.py fails while the function a
-- fresh database gets differs from this file. The historical bodies in migrations 0005 and
-- 0007 are what those revisions installed, kept so that old revisions replay as they were.
-- The running totals it reads (players.open_stake_minor, player_stake_hours, stake_changes)
-- are explained in migration 0007.
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
    v_hour BIGINT := floor(extract(epoch FROM p_window_start) / 3600)::BIGINT;
    v_wallet_code TEXT := 'player:' || p_player_id || ':wallet';
    v_held_code TEXT := 'player:' || p_player_id || ':held';
    v_seen BOOLEAN;
    v_changed BOOLEAN;
    v_stored INT;
BEGIN
    -- Cost: every statement here costs PostgreSQL about as much as a small transaction, so
    -- what can be read together is read in one statement (docs/benchmarks/bets.md, session 6).
    --
    -- The player's row serialises their bets: a retry with the same key waits here for the
    -- first, then finds its bet; two bets cannot both fit under the stake cap.
    SELECT * INTO v_player FROM bets.players WHERE player_id = p_player_id FOR UPDATE;
    -- A statement of its own, after the lock: it must see what the bet we waited for wrote.
    -- With it, read now what the checks below need: the 7-day sum (the hour the window starts
    -- in summed from its bets, a partly cashed-out stake still counting in full; every later
    -- hour from the running totals) and the player's two account ids.
    SELECT
        EXISTS (
            SELECT 1 FROM bets.bets WHERE player_id = p_player_id AND idempotency_key = p_key
        ),
        EXISTS (SELECT 1 FROM bets.stake_changes c WHERE c.player_id = p_player_id),
        (
            SELECT coalesce(sum(h.staked_minor), 0) FROM bets.player_stake_hours h
            WHERE h.player_id = p_player_id AND h.hour > v_hour
        ) + (
            SELECT coalesce(sum(x.stake_minor + x.cashed_out_stake_minor), 0) FROM bets.bets x
            WHERE x.player_id = p_player_id AND x.placed_at >= p_window_start
                AND x.placed_at < to_timestamp((v_hour + 1) * 3600) AND x.status <> 'REJECTED'
        ),
        (SELECT id FROM bets.accounts WHERE code = v_wallet_code AND currency = p_currency),
        (SELECT id FROM bets.accounts WHERE code = v_held_code AND currency = p_currency)
    INTO v_seen, v_changed, v_staked, v_wallet, v_held;
    IF v_seen THEN
        o_claimed := false;
        o_status := '';
        o_reason := '';
        o_message := '';
        RETURN NEXT;
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
        v_open := v_player.open_stake_minor;
        -- Bets settled, voided, cashed out or decided since the player's last bet: what that
        -- changed in the running totals, folded in under the player's lock, and the 7-day sum
        -- read again over them.
        IF v_changed THEN
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
            SELECT (
                SELECT coalesce(sum(h.staked_minor), 0) FROM bets.player_stake_hours h
                WHERE h.player_id = p_player_id AND h.hour > v_hour
            ) + (
                SELECT coalesce(sum(x.stake_minor + x.cashed_out_stake_minor), 0)
                FROM bets.bets x
                WHERE x.player_id = p_player_id AND x.placed_at >= p_window_start
                    AND x.placed_at < to_timestamp((v_hour + 1) * 3600)
                    AND x.status <> 'REJECTED'
            ) INTO v_staked;
        END IF;
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
        -- Fixture rows first, in id order, as every other path locks them (an INSERT takes
        -- its rows in the order its SELECT gives them).
        INSERT INTO bets.fixture_exposure (fixture_id)
        SELECT DISTINCT l->>'f' FROM jsonb_array_elements(p_legs) l ORDER BY 1
        ON CONFLICT (fixture_id) DO UPDATE SET fixture_id = EXCLUDED.fixture_id;
        INSERT INTO bets.selection_exposure AS e
            (fixture_id, market_id, selection_id, liability_minor, stakes_minor)
        SELECT l->>'f', l->>'m', l->>'s', p_liability, p_stake
        FROM jsonb_array_elements(p_legs) l ORDER BY l->>'f', l->>'m'
        ON CONFLICT (fixture_id, market_id, selection_id) DO UPDATE
            SET liability_minor = e.liability_minor + EXCLUDED.liability_minor,
                stakes_minor = e.stakes_minor + EXCLUDED.stakes_minor;
        IF p_liability > 0 THEN
            -- Both limits in one reading of the legs' fixtures, on the measure's one home
            -- (worst_case.sql, the view GetExposureReport reads too): the first market (in id
            -- order) whose worst case is over its limit, else the first fixture whose worst
            -- case is. The fixtures as an array (a parameter, which goes into the view onto
            -- the primary key), not an IN (SELECT ...), planned after the view's grouping:
            -- that would read every fixture's rows.
            WITH w AS (
                SELECT * FROM bets.market_worst_case m
                WHERE m.fixture_id = ANY (ARRAY(
                    SELECT l->>'f' FROM jsonb_array_elements(p_legs) l))
            )
            SELECT (
                SELECT w.market_id FROM w
                WHERE w.worst_case_loss_minor > p_max_market
                    AND (w.fixture_id, w.market_id) IN (
                        SELECT l->>'f', l->>'m' FROM jsonb_array_elements(p_legs) l)
                ORDER BY w.fixture_id, w.market_id LIMIT 1
            ), (
                SELECT w.fixture_id FROM w
                WHERE w.fixture_worst_case_loss_minor > p_max_fixture
                ORDER BY w.fixture_id LIMIT 1
            ) INTO v_market, v_fixture;
            IF v_market IS NOT NULL THEN
                v_reason := 'ABOVE_MARKET_MAX';
                v_detail := v_market;
            ELSIF v_fixture IS NOT NULL THEN
                v_reason := 'ABOVE_EVENT_MAX';
                v_detail := v_fixture;
            END IF;
        END IF;

        -- The stake hold: wallet debited, held credited; account rows in id order.
        IF v_reason IS NULL AND v_wallet IS NULL THEN
            v_reason := 'INSUFFICIENT_FUNDS';
        END IF;
        IF v_reason IS NULL AND v_held IS NULL THEN
            INSERT INTO bets.accounts
                (code, currency, kind, player_id, normal_side, allow_negative, balance_minor)
            VALUES (v_held_code, p_currency, 'player_held', p_player_id, -1, false, 0)
            ON CONFLICT (code, currency) DO NOTHING;
            SELECT id INTO v_held FROM bets.accounts
            WHERE code = v_held_code AND currency = p_currency;
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
            -- The transaction and its two entries in one statement (the entries' foreign key
            -- to the transaction is checked at the statement's end, when its row is there).
            WITH tx AS (
                INSERT INTO bets.transactions (id, kind, external_reference, bet_id)
                VALUES (v_tx, 'stake', '', p_bet_id)
                RETURNING id
            )
            INSERT INTO bets.entries (transaction_id, account_id, amount_minor, currency)
            SELECT tx.id, e.account_id, e.amount_minor, p_currency
            FROM tx, (VALUES
                (least(v_wallet, v_held),
                    CASE WHEN v_wallet < v_held THEN p_stake ELSE -p_stake END, 1),
                (greatest(v_wallet, v_held),
                    CASE WHEN v_wallet < v_held THEN -p_stake ELSE p_stake END, 2)
            ) AS e (account_id, amount_minor, n)
            ORDER BY e.n;
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
    -- The bet, its legs and (if taken) the running totals, in one statement: a bet placed
    -- counts in full against both totals (0 if refused). The legs' foreign key to the bet is
    -- checked at the statement's end.
    WITH stored AS (
        INSERT INTO bets.bets (
            bet_id, player_id, idempotency_key, fingerprint, status, rejection,
            rejection_message, live, acceptance, stake_minor, currency, odds_e4,
            potential_payout_minor, payout_minor, liability_minor, settlement_count, placed_at,
            decided_at, decide_after, settled_at, legs
        ) VALUES (
            p_bet_id, p_player_id, p_key, p_fingerprint, v_status, v_reason, v_message,
            p_live, p_acceptance, p_stake, p_currency, p_odds_e4, p_potential_payout, 0,
            CASE WHEN v_reason IS NULL THEN p_liability ELSE 0 END, 0, p_now,
            CASE WHEN v_status = 'PENDING' THEN NULL ELSE p_now END,
            CASE WHEN v_status = 'PENDING' THEN p_decide_after ELSE NULL END, NULL, p_legs
        ) ON CONFLICT (player_id, idempotency_key) DO NOTHING
        RETURNING bet_id
    ), legs AS (
        INSERT INTO bets.bet_legs (bet_id, fixture_id, market_id, placed_at)
        SELECT stored.bet_id, l->>'f', l->>'m', p_now
        FROM stored, jsonb_array_elements(p_legs) l
    ), hours AS (
        INSERT INTO bets.player_stake_hours AS h (player_id, hour, staked_minor)
        SELECT p_player_id, floor(extract(epoch FROM p_now) / 3600)::BIGINT, p_stake
        FROM stored WHERE v_reason IS NULL
        ON CONFLICT (player_id, hour) DO UPDATE SET staked_minor = h.staked_minor + p_stake
    ), opened AS (
        UPDATE bets.players SET open_stake_minor = open_stake_minor + p_stake
        WHERE player_id = p_player_id AND v_reason IS NULL AND EXISTS (SELECT FROM stored)
    )
    SELECT count(*) INTO v_stored FROM stored;
    IF v_stored = 0 THEN
        -- Only an unknown player has no row to serialise on, and nothing moved for them.
        IF v_reason IS NULL THEN
            RAISE EXCEPTION 'bet % lost its idempotency key after holding a stake', p_bet_id;
        END IF;
        o_claimed := false;
        o_status := '';
        o_reason := '';
        o_message := '';
        RETURN NEXT;
        RETURN;
    END IF;
    o_claimed := true;
    o_status := v_status;
    o_reason := coalesce(v_reason, '');
    o_message := v_message;
    RETURN NEXT;
END
$$;
