"""The mesh supervisor: starts every betmesh service as its own process and watches it.

`Mesh(config).start()` brings up the infrastructure (embedded PostgreSQL, Redis and anvil unless
external URLs are given), then the services in stages (quote replicas, then the gateway that
needs their addresses, then the rest), each stage polled with the standard gRPC health check
until SERVING. `stop()` sends SIGTERM to every child, waits for the grace period, SIGKILLs
stragglers and stops the infrastructure.

No orphans, however the launcher ends: each child runs in its own process group (a terminal's
Ctrl-C reaches only the launcher, which then stops children in order), arms PR_SET_PDEATHSIG
(launcher/child.py) and is registered with a watchdog process (launcher/watchdog.py) that cleans
up when the launcher's pipe closes without a "done". PR_SET_PDEATHSIG fires when the *thread*
that forked the child exits: call start() from a thread that outlives the mesh (the main thread).
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

import grpc
from betmesh.common.v1 import sport_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from launcher.certificates import Issued, LocalAuthority, grpc_channel
from launcher.child import LAUNCHER_PID_VARIABLE
from launcher.embedded import (
    ROOT,
    Anvil,
    EmbeddedPostgres,
    EmbeddedRedis,
    free_port,
    replace_database,
    sqlalchemy_url,
)
from service_runtime.files import write_private
from services.quotes.domain.engines import ENGINES

if TYPE_CHECKING:  # web3 is heavy: imported only when a chain is prepared
    from services.oracle.adapters.chain.launch import OracleDeployment

HOST = "127.0.0.1"
ORACLE = "services.oracle"
SIGNER = "services.signer"
SIGNER_COUNT = 3  # a local deployment's n (k = 2): services/oracle/adapters/chain/launch.py
SIGNER_STAGE = 0  # with the first processes (they need only the chain); the oracle (2) asks them
SPORTS = ("football", "tennis", "basketball")
DEMO_CLIENT_ID = "betmesh-demo-operator"
# Audiences the demo operator may ask tokens for: every service it talks to.
DEMO_AUDIENCES = (
    "betmesh.bets",
    "betmesh.gateway",
    "betmesh.live",
    "betmesh.oracle",
    "betmesh.identity",
    "betmesh.quotes",
)
SECRET_FILE = "demo-operator.secret"
# Each service's own client credential (BETMESH_CLIENT_ID, the secret in a 0600 file under
# <state dir>/clients/), allowed tokens only for the services it calls.
CLIENTS_DIR = "clients"
PARTNER_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
SERVICE_CALLS: Mapping[str, tuple[str, ...]] = {
    "services.quotes": ("betmesh.quotes",),  # peers' snapshots
    # Replicas' prices; bets' yearly return-to-player figures (the margin controller).
    "gateway": ("betmesh.quotes", "betmesh.bets"),
    "services.live": ("betmesh.gateway",),  # in-play repricing
    "services.bets": ("betmesh.gateway", "betmesh.identity", "betmesh.live"),
    # Signatures from its signer processes (each answers the oracle's credential only).
    "services.oracle": ("betmesh.signer",),
    "services.signer": (),
    "services.identity": (),
    # Anonymous visitors' odds board: the edge's own token, role public (below), for live; for
    # identity, to vouch for a visitor's address on sign-in starts and sign-ups (rate limits).
    "services.edge": ("betmesh.live", "betmesh.identity"),
}
# A credential's role when it is not "service": the edge acts for anonymous visitors, so it gets
# the public role (the odds stream and nothing else: RPCs whose contract names the public role).
SERVICE_CLIENT_ROLES: Mapping[str, str] = {"services.edge": "public"}
AUTH_MODES = ("tokens", "anonymous")
MESH_FILE = "mesh.json"
# Spans are exported in batches every 5 s by default; a local mesh wants them seen at once.
OTLP_SCHEDULE_DELAY_MS = "200"
LOG_TAIL_LINES = 40
SERVING: int = health_pb2.HealthCheckResponse.SERVING
UNKNOWN: int = health_pb2.HealthCheckResponse.UNKNOWN
COLOURS = (36, 33, 35, 32, 34, 91, 92, 93, 94, 95, 96)


class MeshError(RuntimeError):
    """The mesh could not start; the message names the process and holds its last log lines."""


@dataclass(frozen=True)
class ServiceSpec:
    """One row of the service table: a process to run."""

    name: str  # instance name, unique in the mesh: "quotes-football-1", "gateway"
    module: str  # run as `python -m <module>`
    stage: int  # every process of a stage is SERVING before the next stage starts
    env: Mapping[str, str] = field(default_factory=dict)
    # Ready when GET <path> answers 200 on its port (an HTTP process, not a gRPC one).
    http_health: str | None = None


# Everything but the quote replicas, which are generated per sport (see quote_specs).
# Identity starts with the replicas (it needs only PostgreSQL), so its keys and tokens are there
# before any service is called. The gateway comes right after the replicas; the others find it
# by BETMESH_GATEWAY_ADDRESS.
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity", "services.identity", stage=0),
    ServiceSpec("gateway", "gateway", stage=1),
    ServiceSpec("bets", "services.bets", stage=2),
    ServiceSpec("live", "services.live", stage=2),
    ServiceSpec("oracle", "services.oracle", stage=2),
    # gRPC-web for browsers and the web app: last, in front of everything it forwards to.
    ServiceSpec("edge", "services.edge", stage=3, http_health="/healthz"),
)
EDGE_MODULE = "services.edge"
# Where the edge forwards each area's calls (services/edge/settings.py, BETMESH_EDGE_UPSTREAMS).
EDGE_UPSTREAM_MODULES = {
    "bets": "services.bets",
    "live": "services.live",
    "identity": "services.identity",
    "gateway": "gateway",
    "oracle": "services.oracle",
}
# The web app's dev server (Vite) may call the edge from its own origin.
EDGE_DEV_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")


def replica_engine(sport: str, index: int) -> str:
    """The engines of a sport take turns (1: reference, 2: independent, 3: reference, ...), so
    any set of two or more replicas runs two engines: 3 replicas are 2 + 1."""
    engines = ENGINES[sport_pb2.Sport.Value(f"SPORT_{sport.upper()}")]
    return engines[(index - 1) % len(engines)]


def quote_specs(replicas: Mapping[str, int]) -> list[ServiceSpec]:
    return [
        ServiceSpec(
            f"quotes-{sport}-{index}",
            "services.quotes",
            stage=0,
            env={
                "BETMESH_QUOTES_SPORT": sport,
                "BETMESH_QUOTES_REPLICA_ID": f"{sport}-{index}",
                "BETMESH_QUOTES_ENGINE": replica_engine(sport, index),
            },
        )
        for sport in SPORTS
        for index in range(1, replicas.get(sport, 0) + 1)
    ]


def module_exists(module: str) -> bool:
    """A service not written yet is skipped, not failed: the table lists the whole design."""
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class MeshConfig:
    state_dir: Path = ROOT / ".betmesh"
    database_url: str | None = None  # None: embedded PostgreSQL, database "betmesh"
    redis_url: str | None = None  # None: embedded Redis
    chain_rpc_urls: Sequence[str] = ()  # empty: a local anvil
    # The oracle publishes on the chain (its contract and signer processes): on a local or
    # external development chain the launcher deploys one; on a real network it takes a
    # deployment file from the deploy tool (docs/deploy-chain.md). False: no signers, the oracle
    # validates and stores results without publishing (said so in the table at start).
    chain_publishing: bool = True
    oracle_deployment: Path | None = None
    dispute_window_seconds: int = 5
    replicas: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(SPORTS, 3))
    otlp_endpoint: str | None = None
    base_port: int | None = None  # None: free ports
    log_level: str = "INFO"
    # Where children's prefixed log lines go (None: nowhere; they are still kept in files).
    log_stream: TextIO | None = field(default_factory=lambda: sys.stdout)
    colour: bool | None = None  # None: only when log_stream is a TTY
    startup_timeout: float = 90.0
    grace_seconds: float = 10.0
    # Restrict to these instance names or modules (e.g. {"services.quotes", "gateway"}).
    only: frozenset[str] | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Per instance, e.g. {"quotes-football-1": {"BETMESH_QUOTES_FAULT": "skew-odds"}}.
    instance_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # "tokens": every service verifies identity-issued tokens and gets a credential of its own
    # (identity then always runs, whatever `only` says); "anonymous": no authentication.
    auth: str = "tokens"
    # Production has several of these behind a load balancer; here, to test scale-out and
    # fail-over on one machine: extra processes are named live-2, gateway-2, ...
    live_processes: int = 1
    gateways: int = 1
    # The edge's HTTP port (browsers: http://127.0.0.1:8080); taken when free, else any free
    # port (several meshes on one machine); 0: always a free port.
    edge_port: int = 8080
    # Set when the operator named the port (--edge-port): taken means fail, not move.
    edge_port_strict: bool = False
    # --tls: a local CA made at start, a certificate per service (named after its client
    # credential), every gRPC port and the edge on TLS, every channel pinned to the CA.
    tls: bool = False
    edge_cors_origins: Sequence[str] = EDGE_DEV_ORIGINS
    # A service that crashes is restarted, as Kubernetes would, after a back-off doubling from
    # restart_backoff_seconds up to restart_backoff_max_seconds; more than restart_limit crashes
    # of one service within restart_window_seconds and the launcher gives up (stops the mesh).
    # `--partner-credential NAME`: a client credential with the partner role for the odds
    # stream (client id "partner-NAME", the secret in <state dir>/clients/, made at start).
    partner_credentials: Sequence[str] = ()
    restart_limit: int = 5
    restart_window_seconds: float = 300.0
    # How many times real time the match feeds run (`betmesh demo --speed`: its simulator's
    # replay): the live-bet delays are divided by it (BETMESH_BETS_FEED_SPEED, in every
    # process's environment: bets applies the delay, live announces it to partners), since a
    # delay covers a real feed's latency, which a faster timeline shrinks alike.
    feed_speed: float = 1.0
    restart_backoff_seconds: float = 1.0
    restart_backoff_max_seconds: float = 30.0
    # A liveness probe, as Kubernetes runs one on every Deployment (deploy/k8s/base): a service
    # that has not answered its health check `liveness_failures` times in a row, one check
    # every `liveness_period_seconds` (0: no probe), is killed and so restarted like a crash.
    # A frozen process (SIGSTOP, a deadlock) otherwise kept its port and answered nothing for
    # ever: a frozen live left every live market open at its last price, nothing suspending
    # it, while a restarted live's watchdog suspends a feed it has not heard from.
    liveness_period_seconds: float = 10.0
    liveness_timeout_seconds: float = 5.0
    liveness_failures: int = 3


def scaled_specs(live_processes: int, gateways: int) -> list[ServiceSpec]:
    counts = {"services.live": live_processes, "gateway": gateways}
    specs = []
    for spec in SERVICES:
        for index in range(1, max(1, counts.get(spec.module, 1)) + 1):
            name = spec.name if index == 1 else f"{spec.name}-{index}"
            specs.append(
                ServiceSpec(
                    name, spec.module, stage=spec.stage, env=spec.env, http_health=spec.http_health
                )
            )
    return specs


@dataclass
class Child:
    spec: ServiceSpec
    port: int
    process: subprocess.Popen[bytes] | None = None
    tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=LOG_TAIL_LINES)
    )
    ready_after: float | None = None
    # Prometheus text of the child's RPC and business metrics (-1: the child serves none).
    metrics_port: int = -1
    # Supervision: when it crashed (monotonic, within the window), when it is due to start
    # again, how often it was restarted, and whether it is back but not yet SERVING.
    crashes: list[float] = field(default_factory=list)
    restart_at: float | None = None
    restarts: int = 0
    recovering_since: float | None = None
    # The liveness probe: when it last asked, and how many checks in a row went unanswered.
    probed_at: float = 0.0
    unanswered: int = 0
    colour: int = 0
    _pump: threading.Thread | None = None
    _channel: grpc.Channel | None = None
    # The mesh's CA under --tls: health checks speak TLS and trust it alone.
    ca_file: Path | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def health(self, timeout: float = 1.0) -> int:
        """Health status for service "", or UNKNOWN while nothing answers."""
        if not _port_open(self.port):
            return UNKNOWN
        if self.spec.http_health is not None:
            return _http_health(self.address, self.spec.http_health, timeout, self.ca_file)
        if self._channel is None:
            self._channel = grpc_channel(self.address, self.ca_file)
        try:
            response = health_pb2_grpc.HealthStub(self._channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return UNKNOWN
        return int(response.status)

    def close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def _http_health(address: str, path: str, timeout: float, ca_file: Path | None = None) -> int:
    import http.client
    import ssl
    import urllib.request

    scheme, context = "http", None
    if ca_file is not None:
        scheme, context = "https", ssl.create_default_context(cafile=str(ca_file))
    try:
        with urllib.request.urlopen(
            f"{scheme}://{address}{path}", timeout=timeout, context=context
        ) as answer:
            return SERVING if answer.status == 200 else UNKNOWN
    except (OSError, http.client.HTTPException):  # URLError is an OSError
        return UNKNOWN


def _listen(port: int, strict: bool = False) -> socket.socket:
    """A listening socket on `port`, or on a free one when it is taken (unless `strict`: a port
    the operator asked for, which FranceConnect's registered redirect URIs depend on). Bound
    here and handed to the child, so no other mesh can take the port between the choice and the
    child's start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        if strict:
            sock.close()
            raise MeshError(f"the edge's port {port} is taken ({exc.strerror})") from exc
        sock.bind((HOST, 0))
    sock.listen(128)
    return sock


def ensure_database(admin_url: str, name: str) -> str:
    """Creates database `name` unless it exists (a local mesh keeps its data across runs)."""
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if found is None:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return replace_database(admin_url, name)


class Watchdog:
    """The launcher's side of launcher/watchdog.py."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "launcher.watchdog"],
            stdin=subprocess.PIPE,
            cwd=ROOT,
            process_group=0,
        )
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self._process.pid

    def _send(self, line: str) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        with self._lock, contextlib.suppress(BrokenPipeError, ValueError):
            stdin.write(f"{line}\n".encode())
            stdin.flush()

    def group(self, pid: int) -> None:
        self._send(f"group {pid}")

    def process(self, pid: int) -> None:
        self._send(f"process {pid}")

    def postgres(self, pgdata: Path) -> None:
        self._send(f"postgres {pgdata}")

    def close(self) -> None:
        self._send("done")
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()


class Mesh:
    """The whole mesh on one machine. Use as a context manager, or start() ... stop()."""

    def __init__(self, config: MeshConfig | None = None) -> None:
        self.config = config or MeshConfig()
        self.children: list[Child] = []
        self.skipped: list[ServiceSpec] = []
        self.database_url = ""
        self.redis_url = ""
        self.chain_rpc_urls: list[str] = []
        self.demo_client_id = DEMO_CLIENT_ID
        self.startup_seconds: float | None = None
        self._demo_secret = ""
        # Module -> (client id, secret file, sha256 of the secret); secrets stay in their files.
        self._service_clients: dict[str, tuple[str, Path, str]] = {}
        # Partners' credentials: (client id, secret file, sha256 of the secret).
        self.partner_clients: list[tuple[str, Path, str]] = []
        self._certificates: dict[str, Issued] = {}
        self._postgres: EmbeddedPostgres | None = None
        self._redis: EmbeddedRedis | None = None
        self._anvil: Anvil | None = None
        self.oracle_env: dict[str, str] = {}  # contract address and key file paths
        self.deployment: OracleDeployment | None = None
        self._watchdog: Watchdog | None = None
        self._out_lock = threading.Lock()
        self._log_files: list[IO[str]] = []
        self._started_at = 0.0
        self._stopped = False

    # ---- public API ---------------------------------------------------------------------

    @property
    def addresses(self) -> dict[str, str]:
        """Instance name -> host:port, for every service process."""
        return {child.name: child.address for child in self.children}

    @property
    def state_dir(self) -> Path:
        return self.config.state_dir

    @property
    def secret_file(self) -> Path:
        return self.config.state_dir / SECRET_FILE

    @property
    def demo_secret(self) -> str:
        return self._demo_secret

    def replica_addresses(self, sport: str) -> list[str]:
        return [c.address for c in self.children if c.spec.env.get("BETMESH_QUOTES_SPORT") == sport]

    def replica_engines(self, sport: str) -> list[str]:
        """Each replica's engine, as it runs it (an instance's env may override it)."""
        return [
            self.config.instance_env.get(c.name, {}).get(
                "BETMESH_QUOTES_ENGINE", c.spec.env.get("BETMESH_QUOTES_ENGINE", "")
            )
            for c in self.children
            if c.spec.env.get("BETMESH_QUOTES_SPORT") == sport
        ]

    def min_engines(self) -> str:
        """Per sport, 2 (the agreement rule), or 1 for a sport that runs one engine only (one
        replica, or overrides): it could never publish otherwise. Other sports keep the rule."""
        return ",".join(
            f"{sport}={2 if len(set(self.replica_engines(sport))) >= 2 else 1}"
            for sport in SPORTS
            if self.replica_addresses(sport)
        )

    def address_of(self, name: str) -> str | None:
        return self.addresses.get(name)

    @property
    def feed_speed(self) -> float:
        return self.config.feed_speed

    @property
    def edge_url(self) -> str | None:
        """Where a browser opens the web app and its gRPC-web API; None without an edge."""
        edge = next((c for c in self.children if c.spec.module == EDGE_MODULE), None)
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{edge.address}" if edge is not None else None

    def edge_env(self) -> dict[str, str]:
        """The edge's upstreams (every process of each area) and its browser-facing settings."""
        upstreams = []
        for area, module in EDGE_UPSTREAM_MODULES.items():
            found = [c.address for c in self.children if c.spec.module == module]
            if found:
                upstreams.append(f"{area}={','.join(found)}")
        return {
            "BETMESH_EDGE_PORT": str(self._edge_port()),
            "BETMESH_EDGE_UPSTREAMS": ";".join(upstreams),
            "BETMESH_EDGE_CORS_ORIGINS": ",".join(self.config.edge_cors_origins),
        }

    def _edge_port(self) -> int:
        edge = next((c for c in self.children if c.spec.module == EDGE_MODULE), None)
        return edge.port if edge is not None else 0

    def __enter__(self) -> Mesh:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Brings the whole mesh up; raises MeshError (after cleaning up) if any part fails."""
        self._started_at = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - self._started_at

    def stop(self, force: Callable[[], bool] = lambda: False) -> None:
        """SIGTERM to every child, SIGKILL after the grace period (or once force() says so)."""
        if self._stopped:
            return
        self._stopped = True
        running = [c for c in self.children if c.process is not None and c.exited() is None]
        for child in running:
            _kill_group(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.config.grace_seconds
        while any(c.exited() is None for c in running):
            if time.monotonic() > deadline or force():
                break
            time.sleep(0.05)
        for child in running:
            if child.exited() is None:
                self._emit(child, f"did not stop within {self.config.grace_seconds:.0f} s: SIGKILL")
                _kill_group(child.pid, signal.SIGKILL)
        for child in self.children:
            if child.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(5)
                # Whatever the service left in its group (it should have none) goes too.
                _kill_group(child.pid, signal.SIGKILL)
            child.close_channel()
            if child._pump is not None:
                child._pump.join(2)
        if self._edge_socket is not None:  # start-up failed before the edge took it
            self._edge_socket.close()
            self._edge_socket = None
        for part in (self._anvil, self._redis, self._postgres):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.stop()
        self._anvil = self._redis = self._postgres = None
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None
        for handle in self._log_files:
            handle.close()
        self._log_files.clear()

    def infra_pids(self) -> dict[str, int]:
        found: dict[str, int] = {}
        if self._redis is not None and self._redis.process is not None:
            found["redis"] = self._redis.process.pid
        if self._anvil is not None and self._anvil.process is not None:
            found["anvil"] = self._anvil.process.pid
        if self._postgres is not None:
            pid_file = self.config.state_dir / "postgres" / "pgdata" / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                found["postgres"] = int(pid_file.read_text().splitlines()[0])
        return found

    def failed_children(self) -> list[Child]:
        """Children that exited on their own (after start-up, this is a crash)."""
        return [c for c in self.children if c.exited() is not None]

    def supervise(self) -> Child | None:
        """One supervision pass: a crashed service is restarted after its back-off (a log line
        each time), a restarted one is reported once SERVING again. Returns a child that
        crashed more than `restart_limit` times within the window: the launcher gives up."""
        config = self.config
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child)
                continue
            code = child.exited()
            if code is None:
                self._probe(child, now)
                if child.recovering_since is not None and child.health(timeout=0.5) == SERVING:
                    took = time.monotonic() - child.recovering_since
                    child.recovering_since = None
                    self._notice(
                        child,
                        f"SERVING again (pid {child.pid}, restart {child.restarts}) "
                        f"{took:.2f} s after its restart",
                    )
                    self._write_mesh_file()
                continue
            if child._pump is not None:
                child._pump.join(2)
            child.close_channel()
            child.crashes = [t for t in child.crashes if now - t < config.restart_window_seconds]
            child.crashes.append(now)
            if len(child.crashes) > config.restart_limit:
                self._notice(
                    child,
                    f"exited with code {code}: {len(child.crashes)} crashes within "
                    f"{config.restart_window_seconds:.0f} s, giving up",
                )
                return child
            delay = min(
                config.restart_backoff_seconds * 2 ** (len(child.crashes) - 1),
                config.restart_backoff_max_seconds,
            )
            self._notice(
                child,
                f"exited with code {code}: restarting in {delay:.1f} s "
                f"(crash {len(child.crashes)} of {config.restart_limit} allowed within "
                f"{config.restart_window_seconds:.0f} s)",
            )
            child.restart_at = now + delay
        return None

    def _probe(self, child: Child, now: float) -> None:
        """The liveness probe of a running child (not one still starting after a restart): an
        answer of any status is alive; `liveness_failures` checks in a row without one and the
        child is killed, which the next pass restarts as a crash."""
        config = self.config
        if (
            not config.liveness_period_seconds
            or child.recovering_since is not None
            or now - child.probed_at < config.liveness_period_seconds
        ):
            return
        child.probed_at = now
        if child.health(timeout=config.liveness_timeout_seconds) != UNKNOWN:
            child.unanswered = 0
            return
        child.unanswered += 1
        if child.unanswered < config.liveness_failures:
            return
        child.unanswered = 0
        self._notice(
            child,
            f"no answer to {config.liveness_failures} health checks in a row "
            f"({config.liveness_period_seconds:g} s apart): killing pid {child.pid} to restart it",
        )
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)

    def _restart(self, child: Child) -> None:
        child.restart_at = None
        child.restarts += 1
        child.recovering_since = time.monotonic()
        if child.spec.module == EDGE_MODULE:
            self._edge_socket = _listen(child.port)
        self._spawn([child], self.child_env())
        self._notice(child, f"restarted (pid {child.pid}, restart {child.restarts})")
        self._write_mesh_file()

    def describe(self) -> str:
        width = max((len(c.name) for c in self.children), default=10)
        lines = [f"{'service':<{width}}  {'address':<21}  {'pid':>7}  module"]
        for child in self.children:
            lines.append(
                f"{child.name:<{width}}  {child.address:<21}  {child.pid:>7}  {child.spec.module}"
            )
        for spec in self.skipped:
            lines.append(f"{spec.name:<{width}}  {'(not built yet)':<21}  {'-':>7}  {spec.module}")
        infra = [("postgres", _redact(self.database_url)), ("redis", self.redis_url)]
        # Provider URLs carry API keys in their path: scheme and host only.
        from services.oracle.adapters.chain.rpc import redact

        infra += [("chain", redact(url)) for url in self.chain_rpc_urls]
        if not any(c.spec.module == SIGNER for c in self.children):
            infra.append(("chain", "results are not published (no signers in this mesh)"))
        elif self.deployment is not None:
            infra.append(("contract", self.deployment.contract_address))
        lines += [f"{name:<{width}}  {where}" for name, where in infra]
        return "\n".join(lines)

    def child_env(self) -> dict[str, str]:
        """Variables every child gets (the launcher contract), without per-service ones."""
        gateway = next((c for c in self.children if c.spec.module == "gateway"), None)
        identity = next((c for c in self.children if c.spec.module == "services.identity"), None)
        bets = next((c for c in self.children if c.spec.module == "services.bets"), None)
        clients = [
            {
                "client_id": DEMO_CLIENT_ID,
                "secret_sha256": hashlib.sha256(self._demo_secret.encode()).hexdigest(),
                "role": "operator",
                "audiences": list(DEMO_AUDIENCES),
            }
        ]
        clients += [
            {
                "client_id": client_id,
                "secret_sha256": digest,
                "role": SERVICE_CLIENT_ROLES.get(module, "service"),
                "audiences": list(SERVICE_CALLS.get(module, ())),
            }
            for module, (client_id, _, digest) in sorted(self._service_clients.items())
        ]
        # Partners stream odds (and read game states): live only.
        clients += [
            {
                "client_id": client_id,
                "secret_sha256": digest,
                "role": "partner",
                "audiences": ["betmesh.live"],
            }
            for client_id, _, digest in self.partner_clients
        ]
        env = {
            "BETMESH_HOST": HOST,
            "BETMESH_LOG_LEVEL": self.config.log_level,
            "BETMESH_DATABASE_URL": self.database_url,
            "BETMESH_REDIS_URL": self.redis_url,
            "BETMESH_GATEWAY_ADDRESS": gateway.address if gateway else "",
            # The return-to-player controller reads bets' figures with the gateway's service
            # token; with --auth anonymous bets refuses an unknown caller, so it stays off.
            "BETMESH_GATEWAY_BETS_ADDRESS": bets.address
            if bets and self.config.auth == "tokens"
            else "",
            "BETMESH_ORACLE_RPC_URLS": ",".join(self.chain_rpc_urls),
            "BETMESH_IDENTITY_CLIENTS": json.dumps(clients, separators=(",", ":")),
            "BETMESH_AUTH_MODE": self.config.auth,
            "BETMESH_IDENTITY_ADDRESS": identity.address if identity else "",
            # Each address with the engine it must run: the gateway counts engines from this.
            "BETMESH_GATEWAY_REPLICAS": ";".join(
                f"{sport}="
                + ",".join(
                    f"{address}@{engine}" if engine else address
                    for address, engine in zip(
                        self.replica_addresses(sport), self.replica_engines(sport), strict=True
                    )
                )
                for sport in SPORTS
                if self.replica_addresses(sport)
            ),
            "BETMESH_GATEWAY_MIN_ENGINES": self.min_engines(),
            # A strict majority of each sport's replicas, however many run.
            "BETMESH_GATEWAY_QUORUM": ",".join(
                f"{sport}={len(self.replica_addresses(sport)) // 2 + 1}"
                for sport in SPORTS
                if self.replica_addresses(sport)
            ),
            LAUNCHER_PID_VARIABLE: str(os.getpid()),
            "PYTHONUNBUFFERED": "1",
        }
        if self.config.auth == "anonymous":
            # The demo's crowd signs up from this one address. With tokens it does so as the
            # operator, whom the per-address quota does not count; without tokens nothing tells
            # it from a script opening accounts, so the quota is opened up for the local mesh.
            env["BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR"] = "1000"
        if self.config.otlp_endpoint:
            endpoint = self.config.otlp_endpoint
            if "://" not in endpoint:
                endpoint = f"http://{endpoint}"
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
            env["OTEL_EXPORTER_OTLP_INSECURE"] = "true"
            env["OTEL_BSP_SCHEDULE_DELAY"] = os.environ.get(
                "OTEL_BSP_SCHEDULE_DELAY", OTLP_SCHEDULE_DELAY_MS
            )
        if self.config.feed_speed != 1.0:
            env["BETMESH_BETS_FEED_SPEED"] = repr(self.config.feed_speed)
        env.update(self.config.extra_env)
        return env

    # ---- start-up -----------------------------------------------------------------------

    def _start(self) -> None:
        config = self.config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        (config.state_dir / "logs").mkdir(exist_ok=True)
        self._watchdog = Watchdog()
        self._demo_secret = secrets.token_urlsafe(32)
        write_private(self.secret_file, self._demo_secret + "\n")
        if config.auth not in AUTH_MODES:
            raise MeshError(f"auth must be one of {', '.join(AUTH_MODES)}, not {config.auth!r}")
        self._plan()
        self._make_service_clients()
        self._make_partner_clients()
        self._make_certificates()
        # Quote replicas keep their model snapshots in PostgreSQL: they start once it is up.
        first = [c for c in self.children if c.spec.stage == 0]
        # Meanwhile every sport's model is fitted on the shipped data into the snapshot cache
        # (a file read when it already holds that fit), so that the replicas, which store it at
        # start, read a file instead of fitting it nine times at once on a busy machine.
        warm = (
            subprocess.Popen(
                [sys.executable, "-m", "services.quotes.shipped"],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if any(c.spec.module == "services.quotes" for c in first)
            else None
        )
        infra = threading.Thread(target=self._start_infra_guarded, name="infra", daemon=True)
        infra.start()
        infra.join(config.startup_timeout)
        if self._infra_error is not None:
            raise self._infra_error
        if infra.is_alive():
            raise MeshError("infrastructure did not start in time")
        if warm is not None:
            try:
                warm.wait(config.startup_timeout)
            except subprocess.TimeoutExpired:
                warm.kill()  # the replicas fit for themselves
                warm.wait()
        self._spawn(first, self.child_env())
        self._wait_serving(first)
        for stage in sorted({c.spec.stage for c in self.children} - {0}):
            group = [c for c in self.children if c.spec.stage == stage]
            for child in group:
                if child.spec.module == EDGE_MODULE:
                    self._edge_socket = _listen(child.port, self.config.edge_port_strict)
                    child.port = int(self._edge_socket.getsockname()[1])
            self._spawn(group, self.child_env())
            self._wait_serving(group)
        self._write_mesh_file()

    def _plan(self) -> None:
        config = self.config
        specs = quote_specs(config.replicas) + scaled_specs(config.live_processes, config.gateways)
        if config.only is not None:
            wanted = set(config.only)
            if config.auth == "tokens":
                wanted.add("services.identity")  # every service needs its keys and tokens
            specs = [s for s in specs if {s.name, s.module, s.module.rsplit(".", 1)[-1]} & wanted]
        specs += self._signer_specs(specs)
        ports = iter(range(config.base_port, 65536)) if config.base_port else None
        for spec in specs:
            if not module_exists(spec.module):
                self.skipped.append(spec)
                continue
            if spec.module == EDGE_MODULE and config.edge_port:
                self.children.append(Child(spec, config.edge_port))
                continue
            self.children.append(
                Child(
                    spec,
                    next(ports) if ports else free_port(),
                    # The edge is not a gRPC host of the runtime: it serves no metrics.
                    metrics_port=-1 if spec.module == EDGE_MODULE else free_port(),
                )
            )

    def _signer_specs(self, planned: Sequence[ServiceSpec]) -> list[ServiceSpec]:
        """One process per oracle signer key, started before the oracle (which asks them)."""
        config = self.config
        if not config.chain_publishing or not any(s.module == ORACLE for s in planned):
            return []
        count = SIGNER_COUNT
        if config.oracle_deployment is not None:
            from services.oracle.adapters.chain.launch import OracleDeployment

            self.deployment = OracleDeployment.from_file(config.oracle_deployment)
            count = len(self.deployment.signers)
        return [
            ServiceSpec(f"signer-{index}", SIGNER, stage=SIGNER_STAGE)
            for index in range(1, count + 1)
        ]

    def _make_service_clients(self) -> None:
        """A fresh credential per service module at every start (like the demo operator's)."""
        if self.config.auth != "tokens":
            return
        for module in sorted({c.spec.module for c in self.children}):
            client_id = f"svc-{module.rsplit('.', 1)[-1]}"
            secret = secrets.token_urlsafe(32)
            path = self.config.state_dir / CLIENTS_DIR / f"{client_id}.secret"
            write_private(path, secret + "\n")
            digest = hashlib.sha256(secret.encode()).hexdigest()
            self._service_clients[module] = (client_id, path, digest)

    def _make_partner_clients(self) -> None:
        """A fresh secret per named partner at every start, in a 0600 file; never printed."""
        for name in self.config.partner_credentials:
            if not PARTNER_NAME.fullmatch(name):
                raise MeshError(
                    f"partner credential names are 1-40 of a-z, 0-9 and '-', not {name[:40]!r}"
                )
            client_id = f"partner-{name}"
            secret = secrets.token_urlsafe(32)
            path = self.config.state_dir / CLIENTS_DIR / f"{client_id}.secret"
            write_private(path, secret + "\n")
            digest = hashlib.sha256(secret.encode()).hexdigest()
            self.partner_clients.append((client_id, path, digest))

    def write_scrape_config(self) -> Path:
        """A Prometheus configuration that scrapes every child (`prometheus
        --config.file=.betmesh/prometheus.yml`), one job per service, instance by name."""
        jobs: dict[str, list[tuple[str, int]]] = {}
        for child in self.children:
            if child.metrics_port >= 0:
                jobs.setdefault(child.spec.module, []).append((child.name, child.metrics_port))
        lines = ["global:", "  scrape_interval: 15s", "scrape_configs:"]
        for job, targets in sorted(jobs.items()):
            lines += [f"  - job_name: {job}", "    static_configs:"]
            for name, port in targets:
                lines += [
                    f"      - targets: ['127.0.0.1:{port}']",
                    f"        labels: {{name: {name}}}",
                ]
        path = self.config.state_dir / "prometheus.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        return path

    @property
    def ca_file(self) -> Path | None:
        first = next(iter(self._certificates.values()), None)
        return first.ca_file if first is not None else None

    def _make_certificates(self) -> None:
        """Under --tls: a fresh CA at every start and one certificate per service module, named
        as its client credential (mutual TLS checks a token's subject against it)."""
        if not self.config.tls:
            return
        authority = LocalAuthority(self.config.state_dir / "tls")
        for module in sorted({c.spec.module for c in self.children}):
            self._certificates[module] = authority.issue(f"svc-{module.rsplit('.', 1)[-1]}")
        for child in self.children:
            child.ca_file = authority.ca_file

    def client_env(self, child: Child) -> dict[str, str]:
        """The child's own credential: its client id and where its secret is."""
        found = self._service_clients.get(child.spec.module)
        if found is None:
            return {}
        client_id, path, _ = found
        return {"BETMESH_CLIENT_ID": client_id, "BETMESH_CLIENT_SECRET_FILE": str(path)}

    _infra_error: BaseException | None = None
    _edge_socket: socket.socket | None = None

    def _start_infra_guarded(self) -> None:
        try:
            self._start_infra()
        except BaseException as exc:
            self._infra_error = exc

    def _start_infra(self) -> None:
        config = self.config
        watchdog = self._watchdog
        assert watchdog is not None
        parts: list[threading.Thread] = []
        errors: list[BaseException] = []

        def run(target: Callable[[], None]) -> None:
            def guarded() -> None:
                try:
                    target()
                except BaseException as exc:
                    errors.append(exc)

            thread = threading.Thread(target=guarded, daemon=True)
            thread.start()
            parts.append(thread)

        def postgres() -> None:
            if config.database_url:
                self.database_url = sqlalchemy_url(config.database_url)
                return
            self._postgres = EmbeddedPostgres(config.state_dir / "postgres")
            self._postgres.start()
            watchdog.postgres((config.state_dir / "postgres" / "pgdata").resolve())
            self.database_url = ensure_database(self._postgres.url(), "betmesh")

        def redis() -> None:
            if config.redis_url:
                self.redis_url = config.redis_url
                return
            self._redis = EmbeddedRedis(config.state_dir / "redis")
            self._redis.start()
            assert self._redis.process is not None
            watchdog.process(self._redis.process.pid)
            self.redis_url = self._redis.url

        def chain() -> None:
            if config.chain_rpc_urls:
                self.chain_rpc_urls = list(config.chain_rpc_urls)
            else:
                # A block every second, with or without transactions: the dispute window closes
                # by block time, so a lone result still becomes final.
                self._anvil = Anvil(block_time=1)
                self._anvil.start()
                assert self._anvil.process is not None
                watchdog.process(self._anvil.process.pid)
                self.chain_rpc_urls = [self._anvil.url]
            if not any(c.spec.module == SIGNER for c in self.children):
                return  # not publishing (or no oracle in this mesh)
            if self.deployment is None:
                # A development chain: contract deployed, keys generated (0600 files).
                from services.oracle.adapters.chain.launch import (
                    DevChainRefused,
                    prepare_local_chain,
                )

                try:
                    self.deployment = prepare_local_chain(
                        self.chain_rpc_urls[0],
                        config.state_dir / "oracle-keys",
                        config.dispute_window_seconds,
                    )
                except DevChainRefused as exc:
                    raise MeshError(str(exc)) from None
            self.oracle_env = self.deployment.oracle_env()

        for target in (postgres, redis, chain):
            run(target)
        for thread in parts:
            thread.join()
        if errors:
            raise MeshError(f"infrastructure failed to start: {errors[0]!r}") from errors[0]

    def _spawn(self, children: Iterable[Child], common: Mapping[str, str]) -> None:
        watchdog = self._watchdog
        assert watchdog is not None
        for index, child in enumerate(children):
            env = {
                **os.environ,
                **common,
                **child.spec.env,
                **self.client_env(child),
                **self.config.instance_env.get(child.name, {}),
                "BETMESH_PORT": str(child.port),
            }
            if child.metrics_port >= 0:
                env["BETMESH_METRICS_PORT"] = str(child.metrics_port)
            issued = self._certificates.get(child.spec.module)
            if issued is not None:
                env.update(issued.env())
            if child.spec.module == ORACLE:
                env.update(self.oracle_env)
                env["BETMESH_ORACLE_SIGNER_ADDRESSES"] = ",".join(
                    c.address for c in self.children if c.spec.module == SIGNER
                )
            if child.spec.module == SIGNER and self.deployment is not None:
                signers = [c for c in self.children if c.spec.module == SIGNER]
                env.update(self.deployment.signer_env(signers.index(child)))
                if self.config.auth == "anonymous":
                    env["BETMESH_SIGNER_ALLOW_ANONYMOUS"] = "true"
            if child.spec.module == "services.bets" and self.oracle_env:
                # Bets settles from what the contract stores, read through its own URLs.
                env.update(
                    {
                        "BETMESH_BETS_CHAIN_RPC_URLS": ",".join(self.chain_rpc_urls),
                        "BETMESH_BETS_RESULT_CONTRACT_ADDRESS": self.oracle_env[
                            "BETMESH_ORACLE_CONTRACT_ADDRESS"
                        ],
                        "BETMESH_BETS_CHAIN_CONFIRMATIONS": self.oracle_env.get(
                            "BETMESH_ORACLE_CONFIRMATIONS", "2"
                        ),
                        "BETMESH_BETS_CHAIN_RECHECK_SECONDS": "1",
                    }
                )
            inherited: tuple[int, ...] = ()
            if child.spec.module == EDGE_MODULE:
                env.update(self.edge_env())
                if self._edge_socket is not None:
                    inherited = (self._edge_socket.fileno(),)
                    env["BETMESH_EDGE_LISTEN_FD"] = str(inherited[0])
            attributes = f"betmesh.instance={child.name}"
            if os.environ.get("OTEL_RESOURCE_ATTRIBUTES"):
                attributes = f"{os.environ['OTEL_RESOURCE_ATTRIBUTES']},{attributes}"
            env["OTEL_RESOURCE_ATTRIBUTES"] = attributes
            child.process = subprocess.Popen(
                [sys.executable, "-m", "launcher.child", child.spec.module],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,
                pass_fds=inherited,
            )
            if inherited and self._edge_socket is not None:
                self._edge_socket.close()  # the child has its own copy
                self._edge_socket = None
            watchdog.group(child.pid)
            log_file = open(  # noqa: SIM115 - closed in stop()
                self.config.state_dir / "logs" / f"{child.name}.log", "a", encoding="utf-8"
            )
            self._log_files.append(log_file)
            if not child.colour:  # a restarted child keeps its colour
                child.colour = COLOURS[(len(self.children) + index) % len(COLOURS)]
            child._pump = threading.Thread(
                target=self._pump,
                args=(child, log_file, child.colour),
                name=f"log-{child.name}",
                daemon=True,
            )
            child._pump.start()

    def _wait_serving(self, children: Sequence[Child]) -> None:
        deadline = time.monotonic() + self.config.startup_timeout
        pending = list(children)
        delay = 0.02
        while pending:
            for child in list(pending):
                code = child.exited()
                if code is not None:
                    child._pump.join(2) if child._pump else None
                    raise MeshError(_exit_report(child, code, "during start-up"))
                if child.health() == SERVING:
                    child.ready_after = time.monotonic() - self._started_at
                    pending.remove(child)
            if not pending:
                return
            if time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise MeshError(
                    f"not SERVING after {self.config.startup_timeout:.0f} s: {names}\n"
                    + "\n".join(_exit_report(c, None, "") for c in pending)
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def _write_mesh_file(self) -> None:
        record = {
            "launcher_pid": os.getpid(),
            # gRPC services only; the edge speaks HTTP and is under "edge_url".
            "services": {
                c.name: {"address": c.address, "module": c.spec.module, "pid": c.pid}
                for c in self.children
                if c.spec.http_health is None
            },
            "gateway": next((c.address for c in self.children if c.spec.module == "gateway"), ""),
            "edge_url": self.edge_url or "",
            "demo_client_id": DEMO_CLIENT_ID,
            "demo_secret_file": str(self.secret_file),
            "auth": self.config.auth,
            # The feeds' speed the live-bet delays are set for (MeshConfig.feed_speed).
            "feed_speed": self.config.feed_speed,
            # Under --tls: the CA every client of this mesh must trust (and only it).
            "tls_ca_file": str(self.ca_file) if self.ca_file else "",
            # What `stop()` (or the watchdog) must end besides the services: for operators
            # and tests that check nothing is left behind.
            "watchdog_pid": self._watchdog.pid if self._watchdog else None,
            "infra_pids": self.infra_pids(),
        }
        (self.config.state_dir / MESH_FILE).write_text(json.dumps(record, indent=2) + "\n")

    # ---- logs ---------------------------------------------------------------------------

    def _pump(self, child: Child, log_file: IO[str], colour: int) -> None:
        assert child.process is not None and child.process.stdout is not None
        for raw in child.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            child.tail.append(line)
            with contextlib.suppress(ValueError):
                log_file.write(line + "\n")
                log_file.flush()
            self._emit(child, line, colour)

    def _notice(self, child: Child, line: str) -> None:
        """A supervision event: always said (stderr when the services' logs are not echoed)
        and kept in the service's log file."""
        path = self.config.state_dir / "logs" / f"{child.name}.log"
        with contextlib.suppress(OSError), path.open("a", encoding="utf-8") as handle:
            handle.write(f"launcher: {line}\n")
        if self.config.log_stream is None:
            with contextlib.suppress(OSError, ValueError):
                print(f"{child.name}: {line}", file=sys.stderr, flush=True)
            return
        self._emit(child, f"launcher: {line}", child.colour)

    def _emit(self, child: Child, line: str, colour: int = 0) -> None:
        stream = self.config.log_stream
        if stream is None:
            return
        width = max(len(c.name) for c in self.children)
        prefix = f"{child.name:<{width}} |"
        use_colour = self.config.colour
        if use_colour is None:
            use_colour = stream.isatty()
        if use_colour and colour:
            prefix = f"\x1b[{colour}m{prefix}\x1b[0m"
        with self._out_lock, contextlib.suppress(ValueError, OSError):
            stream.write(f"{prefix} {line}\n")
            stream.flush()


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _exit_report(child: Child, code: int | None, when: str) -> str:
    head = (
        f"{child.name} exited with code {code} {when}"
        if code is not None
        else f"{child.name} ({child.address}) is not SERVING"
    )
    tail = "\n".join(f"  {child.name} | {line}" for line in child.tail) or "  (no output)"
    return f"{head}; last log lines:\n{tail}"


def _redact(url: str) -> str:
    """Database URLs may carry a password; the table shows everything else."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
