"""A mesh of its own for one benchmark run (bench/gateway, bench/live).

`run_on_mesh` starts the processes a bench names, runs its measurement against them and stops
them however the measurement ends. The run's state is a temporary folder and, given
--database-url, a database made for the run and dropped after (a bench leaves a week of
fixtures behind otherwise). What every such bench wants unless it says otherwise: no chain (an
address nothing listens on), no tokens (they cost the same on every path compared;
bench/identity measures them), the gateway's pre-match scheduler off (it would price on its
own during the measurement), quiet logs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from launcher.embedded import create_database, drop_database, unique_name
from launcher.mesh import Mesh, MeshConfig

T = TypeVar("T")


def add_mesh_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `run_on_mesh` reads: an external PostgreSQL (admin URL, the run's database
    is made beside) and Redis; without them the mesh embeds its own."""
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")


def run_on_mesh(
    args: argparse.Namespace,
    measure: Callable[[Mesh], Awaitable[T]],
    extra_env: Mapping[str, str] | None = None,
    **config: Any,
) -> T:
    """`measure(mesh)` on a mesh of the run's own (args: the bench's --database-url and
    --redis-url); `extra_env` adds to the environment every process gets, `config` sets or
    overrides MeshConfig's fields."""
    name = unique_name("betmesh_bench")
    database_url = create_database(args.database_url, name) if args.database_url else None
    with tempfile.TemporaryDirectory(prefix="betmesh-bench-") as state:
        settings: dict[str, Any] = {
            "chain_rpc_urls": ("http://127.0.0.1:9",),
            "log_stream": None,
            "log_level": "WARNING",
            "auth": "anonymous",
            **config,
        }
        mesh = Mesh(
            MeshConfig(
                state_dir=Path(state),
                database_url=database_url,
                redis_url=args.redis_url,
                extra_env={"BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0", **(extra_env or {})},
                **settings,
            )
        )
        mesh.start()
        try:
            return asyncio.run(measure(mesh))
        finally:
            mesh.stop()
            if database_url:
                drop_database(args.database_url, name)
