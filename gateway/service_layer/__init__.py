"""The gateway's use cases (docs/conventions.md): commands and their handlers."""
