"""Which RPCs browsers may reach through the edge, and what kind each one is.

The kind (unary or server-streaming) comes from the generated descriptors, never from a table
kept by hand, so a contract change cannot leave the edge framing a call the wrong way. The
allow-list itself is a decision (services/edge/README.md says why each line is there): feeds and
internal writes stay on the native gRPC side even though the services would refuse a player.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from betmesh.bets.v1 import bet_service_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2, fixture_service_pb2
from betmesh.identity.v1 import identity_service_pb2
from betmesh.live.v1 import live_odds_service_pb2
from betmesh.oracle.v1 import oracle_service_pb2
from google.protobuf.descriptor import FileDescriptor

from service_runtime.method_rules import PUBLIC_ROLE, rule_of


@dataclass(frozen=True)
class ExposedMethod:
    path: str  # "/betmesh.bets.v1.BetService/PlaceBet"
    area: str  # "bets": which upstream owns it
    audience: str  # "betmesh.bets": what a token for it must be issued for
    server_streaming: bool
    # Callable without a token (its contract says allow_anonymous: identity's sign-up and token
    # RPCs): the edge checks nothing.
    open: bool = False
    # Public read (its contract admits the "public" role: the odds board): a call without a
    # token goes upstream with the edge's own public-role token instead of being refused.
    public: bool = False


_BETS = (
    bet_service_pb2.DESCRIPTOR,
    "BetService",
    (
        "Deposit",
        "Withdraw",
        "GetWallet",
        "ListLedgerEntries",
        "PlaceBet",
        "GetBet",
        "ListBets",
        "GetCashOutOffer",
        "CashOut",
        # Operators' reports: read-only, and the service's role policy refuses others.
        "GetReturnToPlayerReport",
        "GetExposureReport",
    ),
)
_LIVE = (
    live_odds_service_pb2.DESCRIPTOR,
    "LiveOddsService",
    ("StreamOdds", "GetGameState", "UpdateSubscription"),
)
_IDENTITY = (
    identity_service_pb2.DESCRIPTOR,
    "IdentityService",
    (
        "GetPlayer",
        "GetResponsibleGamblingLimits",
        "SetResponsibleGamblingLimits",
        "SelfExclude",
        "StartKycVerification",
    ),
)
# Identity's token-less RPCs a browser needs: sign-up, the operator console's client-credential
# sign-in (secrets are 256-bit random: guessing through the edge is hopeless) and the keys. Not
# the FranceConnect login start: only the HTTP route /auth/franceconnect/login binds a sign-in
# to the browser (its cookie), so that is the only way in.
_IDENTITY_OPEN = (
    identity_service_pb2.DESCRIPTOR,
    "IdentityService",
    ("RegisterPlayer", "IssueToken", "GetJwks"),
)
_FIXTURES = (fixture_service_pb2.DESCRIPTOR, "FixtureService", ("GetFixture", "ListFixtures"))
_CONSENSUS = (
    consensus_gateway_service_pb2.DESCRIPTOR,
    "ConsensusGatewayService",
    ("ListReplicaSets", "ListDissents", "GetAcceptedQuoteSet"),
)
_ORACLE = (oracle_service_pb2.DESCRIPTOR, "OracleService", ("GetResult", "ListHeldResults"))

EXPOSED = (_BETS, _LIVE, _IDENTITY, _IDENTITY_OPEN, _FIXTURES, _CONSENSUS, _ORACLE)


def _methods(
    groups: Iterable[tuple[FileDescriptor, str, tuple[str, ...]]],
) -> dict[str, ExposedMethod]:
    found: dict[str, ExposedMethod] = {}
    for file, service_name, names in groups:
        service = file.services_by_name[service_name]
        package = file.package  # "betmesh.bets.v1"
        audience = package.rsplit(".", 1)[0]
        area = audience.split(".", 1)[1]
        for name in names:
            method = service.methods_by_name[name]  # KeyError: the allow-list names a ghost
            if method.client_streaming:
                raise ValueError(f"{service.full_name}/{name}: gRPC-web has no client streams")
            path = f"/{service.full_name}/{name}"
            rule = rule_of(method)
            found[path] = ExposedMethod(
                path=path,
                area=area,
                audience=audience,
                server_streaming=method.server_streaming,
                open=rule.allow_anonymous,
                public=rule.admits(PUBLIC_ROLE),
            )
    return found


def exposed_methods() -> Mapping[str, ExposedMethod]:
    """Path -> method, for every RPC the edge forwards."""
    return _methods(EXPOSED)


AREAS = ("bets", "live", "identity", "gateway", "oracle")
