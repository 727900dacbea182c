"""Edges of the identity service: key files."""
