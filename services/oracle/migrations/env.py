from service_runtime.postgres import run_alembic_env

run_alembic_env()
