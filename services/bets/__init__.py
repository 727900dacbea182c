"""Bets service: the player wallet on a double-entry ledger, and (later) bets and settlement."""
