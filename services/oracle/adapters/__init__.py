"""Edges of the oracle service: PostgreSQL storage and the event bus."""
