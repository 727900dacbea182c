"""Edges of the live service: Redis state and the event bus."""
