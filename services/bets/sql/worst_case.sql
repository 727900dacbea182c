-- bets.market_worst_case: the house's worst-case loss, the one home of the measure that
-- bets.place_bet limits (ABOVE_MARKET_MAX, ABOVE_EVENT_MAX, under the fixtures' row locks:
-- place_bet.sql) and GetExposureReport shows (PostgresReports.exposure,
-- services/bets/adapters/postgres_reports.py, which only maps these rows to the domain's types).
-- A row per market of a fixture that has selection_exposure rows:
--   - worst_case_loss_minor: the market's worst case, the liability of its worst selection (the
--     selections of a market exclude each other: only one can win); stakes_minor beside it;
--   - fixture_worst_case_loss_minor: the fixture's worst case, the sum of its markets' worst
--     cases that are positive (a market the house wins whatever happens offsets nothing
--     elsewhere), the same on each of the fixture's rows.
-- The liabilities are bets.selection_exposure's running figures (migration 0002), kept by
-- place_bet and by every path that settles, voids or cashes out a bet (add_exposure).
--
-- One view with the fixture's sum as a window over its markets, not a second view grouping
-- this one: place_bet reads both figures of its fixtures in one pass over their rows. A plain
-- view: the planner inlines it, and a caller's `fixture_id = ...` or `fixture_id = ANY (...)`
-- goes below the grouping and the window (fixture_id partitions both) onto selection_exposure's
-- primary key, so one fixture's rows are read, not the table. A join or an IN (SELECT ...) on
-- fixture_id does not go down (it is planned after the grouping: every fixture is read); filter
-- with a value or an array, as place_bet.sql does.
--
-- Managed as code like place_bet.sql (docs/conventions.md, "Rules in SQL"): to change the
-- measure, edit this file and add a migration that reloads it. CREATE OR REPLACE VIEW keeps
-- the columns' names, types and order; changing those needs a DROP VIEW in that migration.
CREATE OR REPLACE VIEW bets.market_worst_case AS
SELECT
    s.fixture_id,
    s.market_id,
    max(s.liability_minor) AS worst_case_loss_minor,
    sum(s.stakes_minor) AS stakes_minor,
    sum(greatest(max(s.liability_minor), 0)) OVER (PARTITION BY s.fixture_id)
        AS fixture_worst_case_loss_minor
FROM bets.selection_exposure s
GROUP BY s.fixture_id, s.market_id;
