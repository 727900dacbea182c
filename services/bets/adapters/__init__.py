"""Edges of the bets service: PostgreSQL ledger, payment providers."""
