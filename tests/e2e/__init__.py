"""End-to-end tests: real processes started by the launcher."""
