"""`betmesh admin`: the operator's toolbox over the public gRPC APIs, with a client credential.

    betmesh admin prices holds                      # what the integrity guard is holding
    betmesh admin prices release HOLD_ID --note "checked against the market"
    betmesh admin dead-letters list
    betmesh admin bets void FIXTURE_ID --set reason="abandoned"
    betmesh admin call betmesh.gateway.v1.FixtureService ListFixtures '{"sport": "SPORT_TENNIS"}'
    betmesh admin --json replicas list
    betmesh admin snapshots fit --results EPL.csv --out s.bin   # the fitting job, run here
    betmesh admin snapshots publish s.bin --database-url ...    # stored; the canary reviews it

Every command is one RPC: its request is built from the positional arguments (named fields of
the request), `--note`, and any number of `--set field=value` (dotted for nested fields; the
value is read as JSON when it parses, e.g. `--set status=PRICE_HOLD_STATUS_HELD`), then checked
against the contract before it is sent. Answers print as a table of the response's first list
(or its fields), `--json` prints the response in protobuf JSON.

Where: a mesh started by `betmesh up` is found from its state directory (`.betmesh/mesh.json`
names each process's address; the demo operator's credential is used unless `--client-id` and
`--secret-file` name another). Against a deployed mesh, give `--address AREA=HOST:PORT` per
area (gateway, bets, identity, live, oracle, quotes) and a client credential; tokens are
issued by identity's IssueToken for each service called.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message, message_factory

from launcher.certificates import grpc_channel
from service_runtime.client_tokens import audience_for_method

AREA_MODULES = {
    "gateway": "gateway",
    "bets": "services.bets",
    "identity": "services.identity",
    "live": "services.live",
    "oracle": "services.oracle",
    "quotes": "services.quotes",
}
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Command:
    group: str
    action: str
    service: str  # full name, e.g. betmesh.gateway.v1.ConsensusGatewayService
    method: str
    positionals: tuple[str, ...] = ()
    help: str = ""


GATEWAY = "betmesh.gateway.v1.ConsensusGatewayService"
FIXTURES = "betmesh.gateway.v1.FixtureService"
BETS = "betmesh.bets.v1.BetService"
DEAD_LETTERS = "betmesh.bets.v1.DeadLetterService"
ORACLE = "betmesh.oracle.v1.OracleService"
QUOTES = "betmesh.quotes.v1.QuoteService"
LIVE = "betmesh.live.v1.LiveOddsService"

COMMANDS: tuple[Command, ...] = (
    Command("fixtures", "list", FIXTURES, "ListFixtures", (), "fixtures in the store"),
    Command("fixtures", "get", FIXTURES, "GetFixture", ("fixture_id",), "one fixture"),
    Command("prices", "holds", GATEWAY, "ListPriceHolds", (), "markets the guard holds"),
    Command("prices", "release", GATEWAY, "ReleasePriceHold", ("hold_id",), "publish a hold"),
    Command("prices", "reject", GATEWAY, "RejectPriceHold", ("hold_id",), "discard a hold"),
    Command("prices", "pass", GATEWAY, "RunPreMatchPricing", (), "run a pre-match pricing pass"),
    Command("replicas", "list", GATEWAY, "ListReplicaSets", (), "replicas, health, dissent"),
    Command("replicas", "dissents", GATEWAY, "ListDissents", (), "recorded disagreements"),
    Command("replicas", "quarantine", GATEWAY, "QuarantineReplica", ("replica_id",), "take out"),
    Command("replicas", "readmit", GATEWAY, "ReadmitReplica", ("replica_id",), "put back"),
    Command("snapshots", "list", QUOTES, "ListModelSnapshots", (), "model snapshots"),
    Command("snapshots", "reviews", GATEWAY, "ListSnapshotReviews", (), "canary decisions"),
    Command("snapshots", "force", GATEWAY, "ForceSnapshot", ("sport", "snapshot_hash"), "override"),
    Command("bets", "void", BETS, "VoidBets", ("fixture_id",), "void a fixture's bets"),
    Command("bets", "rtp", BETS, "GetReturnToPlayerReport", (), "return to player"),
    Command("bets", "exposure", BETS, "GetExposureReport", ("fixture_id",), "worst cases"),
    Command(
        "bets",
        "statement",
        BETS,
        "GetQuarterlyStatement",
        ("year", "quarter"),
        "the regulator's quarterly statement (ANJ)",
    ),
    Command("results", "get", ORACLE, "GetResult", ("fixture_id",), "a fixture's result"),
    Command("results", "held", ORACLE, "ListHeldResults", (), "results held for review"),
    Command(
        "results",
        "resolve",
        ORACLE,
        "ResolveHeldResult",
        ("fixture_id",),
        "decide a held result (--set result.home_score=2 ...)",
    ),
    Command(
        "results",
        "correct",
        ORACLE,
        "CorrectResult",
        ("fixture_id",),
        "publish version 2 in the dispute window (--set result....)",
    ),
    Command("results", "retry", ORACLE, "RetryPublication", ("fixture_id",), "re-queue FAILED"),
    Command("results", "settle-holds", BETS, "ListResultHolds", (), "chain differs: held"),
    Command("markets", "suspend", LIVE, "SuspendFixture", ("fixture_id",), "operator bet stop"),
    Command("markets", "resume", LIVE, "ResumeFixture", ("fixture_id",), "lift it"),
    Command("dead-letters", "list", DEAD_LETTERS, "ListDeadLetters", (), "events given up on"),
    Command("dead-letters", "requeue", DEAD_LETTERS, "RequeueDeadLetter", ("dead_letter_id",), ""),
    Command("dead-letters", "discard", DEAD_LETTERS, "DiscardDeadLetter", ("dead_letter_id",), ""),
)


class AdminError(RuntimeError):
    """A mistake in the command line or its context: printed, exit code 2."""


def load_contracts() -> descriptor_pool.DescriptorPool:
    """Every generated betmesh module imported, so the default pool knows every service."""
    import betmesh

    for module in pkgutil.walk_packages(betmesh.__path__, "betmesh."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)
    return descriptor_pool.Default()


def available(commands: Sequence[Command] = COMMANDS) -> list[Command]:
    """The commands whose RPC the contracts in this checkout define."""
    pool = load_contracts()
    found = []
    for command in commands:
        try:
            service = pool.FindServiceByName(command.service)
        except KeyError:
            continue
        if service.methods_by_name.get(command.method) is not None:
            found.append(command)
    return found


def _assign(target: dict[str, Any], dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for part in path:
        target = target.setdefault(part, {})
    target[last] = value


def _value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def build_request(
    service: str, method: str, fields: dict[str, Any]
) -> tuple[type[message.Message], message.Message, type[message.Message]]:
    pool = load_contracts()
    try:
        descriptor = pool.FindServiceByName(service).methods_by_name[method]
    except KeyError as exc:
        raise AdminError(f"no RPC {service}/{method} in the contracts") from exc
    if descriptor.client_streaming or descriptor.server_streaming:
        raise AdminError(f"{method} is a stream: use a client built for it (docs/partners.md)")
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    response_class = message_factory.GetMessageClass(descriptor.output_type)
    try:
        request = json_format.ParseDict(fields, request_class())
    except json_format.ParseError as exc:
        raise AdminError(f"{descriptor.input_type.name}: {exc}") from exc
    return request_class, request, response_class


@dataclass
class Mesh:
    """Where each area is served, and the credential the calls carry."""

    addresses: dict[str, str]
    client_id: str
    secret: str
    # The CA to pin (a mesh under --tls, or --ca-file); None: plaintext.
    ca_file: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Mesh:
        addresses: dict[str, str] = {}
        client_id, secret = args.client_id or "", ""
        ca_file: str | None = args.ca_file
        record_path = args.state_dir / "mesh.json"
        if record_path.exists():
            record = json.loads(record_path.read_text())
            for entry in record.get("services", {}).values():
                for area, module in AREA_MODULES.items():
                    if entry.get("module") == module:
                        addresses.setdefault(area, entry["address"])
            ca_file = ca_file or record.get("tls_ca_file") or None
            if not client_id and record.get("auth") == "tokens":
                client_id = record.get("demo_client_id", "")
                secret_file = Path(record.get("demo_secret_file", ""))
                secret = secret_file.read_text().strip() if secret_file.is_file() else ""
        for item in args.address:
            area, sep, address = item.partition("=")
            if not sep or area not in AREA_MODULES:
                raise AdminError(f"--address wants AREA=HOST:PORT, AREA in {sorted(AREA_MODULES)}")
            addresses[area] = address
        if args.secret_file:
            secret = Path(args.secret_file).read_text().strip()
        return cls(addresses, client_id, secret, ca_file)

    def address_of(self, service: str) -> str:
        area = service.split(".")[1]
        address = self.addresses.get(area)
        if not address:
            raise AdminError(
                f"no address for {area}: start the mesh with `betmesh up` or pass --address"
                f" {area}=HOST:PORT"
            )
        return address

    def metadata(self, method: str) -> list[tuple[str, str]]:
        audience = audience_for_method(method)
        if not self.client_id or audience is None:
            return []
        from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

        with grpc_channel(self.address_of("betmesh.identity.v1"), self.ca_file) as channel:
            issued = identity_service_pb2_grpc.IdentityServiceStub(channel).IssueToken(
                identity_service_pb2.IssueTokenRequest(
                    client_id=self.client_id, client_secret=self.secret, audience=audience
                ),
                timeout=TIMEOUT_SECONDS,
            )
        return [("authorization", f"Bearer {issued.access_token.token}")]


def call(mesh: Mesh, service: str, method: str, fields: dict[str, Any]) -> message.Message:
    _, request, response_class = build_request(service, method, fields)
    full = f"/{service}/{method}"
    with grpc_channel(mesh.address_of(service), mesh.ca_file) as channel:
        rpc = channel.unary_unary(
            full,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        response: message.Message = rpc(
            request, timeout=TIMEOUT_SECONDS, metadata=mesh.metadata(full)
        )
        return response


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def render(response: message.Message) -> str:
    """The response's first list as a table, else its fields one per line."""
    data = json_format.MessageToDict(response, preserving_proto_field_name=True)
    rows = next(
        (v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None
    )
    lines = []
    if rows is not None:
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        rest = {k: v for k, v in data.items() if v is not rows}
        lines += [f"{k}: {_cell(v)}" for k, v in rest.items()]
        lines.append(f"({len(rows)} rows)")
    else:
        lines += [f"{k}: {_cell(v)}" for k, v in data.items()] or ["(empty response: done)"]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    from launcher.embedded import ROOT

    top = argparse.ArgumentParser(
        prog="betmesh admin",
        description="Operator commands over the public gRPC APIs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--state-dir", type=Path, default=ROOT / ".betmesh")
    top.add_argument("--address", action="append", default=[], metavar="AREA=HOST:PORT")
    top.add_argument("--client-id", help="client credential (default: the demo operator)")
    top.add_argument("--secret-file", help="file holding the client's secret")
    top.add_argument("--ca-file", help="the CA to pin for TLS (default: the mesh's, if any)")
    top.add_argument("--json", action="store_true", help="print the response as protobuf JSON")
    groups = top.add_subparsers(dest="group", required=True)
    by_group: dict[str, Any] = {}
    for command in available():
        if command.group not in by_group:
            by_group[command.group] = groups.add_parser(command.group).add_subparsers(
                dest="action", required=True
            )
        sub = by_group[command.group].add_parser(
            command.action, help=command.help or f"{command.method}"
        )
        for name in command.positionals:
            sub.add_argument(name)
        sub.add_argument("--note", help="the operator's note, where the RPC keeps one")
        sub.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
        sub.set_defaults(command=command)
    raw = groups.add_parser("call", help="any unary RPC: SERVICE METHOD [JSON]")
    raw.add_argument("service")
    raw.add_argument("method")
    raw.add_argument("body", nargs="?", default="{}")
    raw.set_defaults(command=None)
    return top


def fields_of(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    command: Command | None = args.command
    if command is None:
        try:
            body = json.loads(args.body)
        except json.JSONDecodeError as exc:
            raise AdminError(f"the request body is not JSON: {exc}") from exc
        return args.service, args.method, body
    fields: dict[str, Any] = {name: getattr(args, name) for name in command.positionals}
    if args.note:
        fields["note"] = args.note
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            raise AdminError(f"--set wants FIELD=VALUE: {item!r}")
        _assign(fields, key, _value(raw))
    return command.service, command.method, fields


# Snapshots are made by a job, not by a service: fitting and storing run here, on this machine,
# against the quotes store (the canary reviews a stored snapshot before any replica prices it).
LOCAL_JOBS = {
    ("snapshots", "fit"): ("services.quotes.fit", ()),
    ("snapshots", "publish"): ("services.quotes.snapshots", ("put",)),
}


def main(argv: Sequence[str]) -> int:
    job = LOCAL_JOBS.get(tuple(argv[:2]))  # type: ignore[arg-type]
    if job is not None:
        module, prefix = job
        run: Any = importlib.import_module(module).main
        return int(run([*prefix, *argv[2:]]))
    args = parser().parse_args(list(argv))
    try:
        service, method, fields = fields_of(args)
        mesh = Mesh.from_args(args)
        response = call(mesh, service, method, fields)
    except AdminError as exc:
        print(f"betmesh admin: {exc}", file=sys.stderr)
        return 2
    except grpc.RpcError as exc:
        print(f"betmesh admin: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    if args.json:
        print(json_format.MessageToJson(response, preserving_proto_field_name=True))
    else:
        print(render(response))
    return 0
