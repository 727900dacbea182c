"""Alembic environment of the identity schema (service_runtime.postgres.migrate runs it)."""

from service_runtime.postgres import run_alembic_env

run_alembic_env()
