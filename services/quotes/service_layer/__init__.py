"""Quotes' use cases (docs/conventions.md): commands, their handlers, and the snapshot resolver."""
