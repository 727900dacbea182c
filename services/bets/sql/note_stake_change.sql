-- bets.note_stake_change: the trigger on bets.bets that notes what a change of a bet does to
-- the running stake totals place_bet reads (migration 0007 explains them). What a bet counts
-- for is a placement rule and lives here and in place_bet.sql only: against the 7-day cap
-- every bet not REJECTED, for stake + cashed-out stake; as open stake the PENDING and
-- ACCEPTED ones, for their stake. Noted per player and hour of placed_at, as a change.
--
-- Source managed as code, like place_bet.sql: edit it, then add a migration that reloads it
-- (docs/conventions.md, "Rules in SQL").
CREATE OR REPLACE FUNCTION bets.note_stake_change() RETURNS trigger
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
$$;
