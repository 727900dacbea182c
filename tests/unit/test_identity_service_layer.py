"""Identity's service layer on in-memory fakes of its ports: what is refused when a part is not
configured (before any quota is spent), whom a quota counts a call against, a registration's
token and announcement, an account read through the caller's rights, and the sweep's lapses
(announced once; again only after a failed announcement). The same paths on
real PostgreSQL and Redis: tests/integration/test_identity_service.py and friends."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from service_runtime.auth import Principal, current_principal
from service_runtime.errors import (
    FailedPrecondition,
    PermissionDenied,
    ResourceExhausted,
)
from service_runtime.tokens import TokenVerifier
from services.identity.domain.clients import Client, ClientRegistry, ClientRole
from services.identity.domain.franceconnect import Callback
from services.identity.domain.keys import KeyRing, SigningKey
from services.identity.domain.players import KycMethod, KycStatus, Limits, Player
from services.identity.domain.throttle import Quota, Throttle
from services.identity.domain.tokens import TokenIssuer, TokenRequest
from services.identity.service_layer.accounts import Accounts
from services.identity.service_layer.commands import (
    CompleteFranceConnectLogin,
    GetPlayer,
    IssueToken,
    RegisterPlayer,
    SelfExclude,
    StartFranceConnectLogin,
    StartKycVerification,
)
from services.identity.service_layer.handlers import IdentityHandlers
from services.identity.service_layer.kyc import PaidKyc
from services.identity.service_layer.sweep import Sweeper

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
ISSUER = "https://identity.test"


@dataclass
class MemoryPlayers:
    """The player store in memory (the parts registration and accounts use)."""

    players: dict[str, Player] = field(default_factory=dict)

    async def create_provisional(self, display_name: str, now: datetime) -> Player:
        player = Player(
            f"p-{len(self.players) + 1}",
            KycStatus.PROVISIONAL,
            KycMethod.NONE,
            display_name,
            now,
        )
        self.players[player.player_id] = player
        return player

    async def get(self, player_id: str) -> Player | None:
        return self.players.get(player_id)

    async def set_self_excluded_until(self, player_id: str, until: datetime) -> Player:
        player = replace(self.players[player_id], self_excluded_until=until)
        self.players[player_id] = player
        return player


@dataclass
class Announced:
    statuses: list[tuple[str, KycStatus]] = field(default_factory=list)

    async def kyc_status_changed(self, player: Player, now: datetime) -> None:
        self.statuses.append((player.player_id, player.status_at(now)))

    async def limits_changed(self, player_id: str, limits: Limits, now: datetime) -> None:
        raise AssertionError("not expected here")


@dataclass
class Counter:
    """Counts in memory; records whom each count was for."""

    counts: dict[str, int] = field(default_factory=dict)

    async def count(self, key: str, window_seconds: int) -> tuple[int, float]:
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key], float(window_seconds)


class NoRegister:
    def is_excluded(self, identity: object) -> bool:
        return False


def issuer(keys: KeyRing) -> TokenIssuer:
    partner = Client(
        "partner-1",
        hashlib.sha256(b"s3cret").digest(),
        ClientRole.PARTNER,
        frozenset({"betmesh.bets"}),
    )
    return TokenIssuer(ClientRegistry([partner]), keys, ISSUER, 300)


@dataclass
class Rig:
    handlers: IdentityHandlers
    players: MemoryPlayers
    announced: Announced
    counter: Counter


def rig(*, configured: bool = True, registrations: int = 0) -> Rig:
    keys = KeyRing(SigningKey.generate())
    players, announced, counter = MemoryPlayers(), Announced(), Counter()
    clock = lambda: NOW  # noqa: E731
    handlers = IdentityHandlers(
        issuer(keys),
        keys,
        accounts=Accounts(players, announced, clock) if configured else None,  # type: ignore[arg-type]
        kyc=PaidKyc({}, "", players, NoRegister(), announced, clock) if configured else None,  # type: ignore[arg-type]
        player_audiences=("betmesh.bets",),
        throttle=Throttle(counter),
        signin_quota=Quota("signin", 5, 60),
        register_quota=Quota("register", registrations, 3600),
    )
    return Rig(handlers, players, announced, counter)


async def test_what_is_not_configured_is_refused_before_any_quota_is_spent() -> None:
    bare = rig(configured=False)
    refusals = {
        "FRANCECONNECT_NOT_CONFIGURED": bare.handlers.start_franceconnect_login(
            StartFranceConnectLogin("https://app.test/", None, "b" * 43, "peer:10.0.0.7")
        ),
        "KYC_NOT_CONFIGURED": bare.handlers.register_player(RegisterPlayer("Ada", "peer:1")),
        "PLAYERS_NOT_CONFIGURED": bare.handlers.start_kyc_verification(
            StartKycVerification("p-1", "")
        ),
    }
    for reason, call in refusals.items():
        with pytest.raises(FailedPrecondition) as refused:
            await call
        assert refused.value.reason == reason
    with pytest.raises(FailedPrecondition) as no_fc:
        await bare.handlers.complete_franceconnect_login(
            CompleteFranceConnectLogin(Callback("code", "state", "iss", "", ""), "b" * 43)
        )
    assert no_fc.value.reason == "FRANCECONNECT_NOT_CONFIGURED"
    assert bare.counter.counts == {}


async def test_a_registration_spends_its_clients_quota_and_gets_a_player_token() -> None:
    r = rig(registrations=1)
    done = await r.handlers.register_player(RegisterPlayer("  Ada  ", "peer:10.0.0.7"))
    assert done.player.display_name == "Ada" and done.now == NOW
    assert r.announced.statuses == [(done.player.player_id, KycStatus.PROVISIONAL)]
    verifier = TokenVerifier(
        r.handlers.jwks(),
        issuer=ISSUER,
        audience="betmesh.bets",
        clock=lambda: done.token.expires_at - 1,
    )
    principal = verifier.verify(done.token.token)
    assert (principal.subject, principal.role) == (done.player.player_id, "player")
    assert principal.claims["kyc_status"] == "PROVISIONAL"
    # The same client again is over its quota of one; another client is not.
    with pytest.raises(ResourceExhausted):
        await r.handlers.register_player(RegisterPlayer("Bob", "peer:10.0.0.7"))
    await r.handlers.register_player(RegisterPlayer("Cy", "peer:10.0.0.8"))
    assert len(r.players.players) == 2


async def test_an_operator_opens_accounts_beyond_an_addresss_quota_and_others_do_not() -> None:
    """The demo's crowd signs up from one address as the operator; a partner's or the edge's
    token is no licence to open accounts in bulk."""
    r = rig(registrations=1)
    for name in ("Ada", "Bob", "Cy"):
        await r.handlers.register_player(RegisterPlayer(name, "peer:10.0.0.7", "operator"))
    await r.handlers.register_player(RegisterPlayer("Di", "peer:10.0.0.7"))
    for role in (None, "partner", "public", "service", "player"):
        with pytest.raises(ResourceExhausted):
            await r.handlers.register_player(RegisterPlayer("Ed", "peer:10.0.0.7", role))
    assert len(r.players.players) == 4


async def test_a_player_reads_and_excludes_only_their_own_account() -> None:
    r = rig()
    ada = (await r.handlers.register_player(RegisterPlayer("Ada", "peer:1"))).player
    bob = (await r.handlers.register_player(RegisterPlayer("Bob", "peer:2"))).player
    # Set inside the test's own task: it does not outlive the test.
    current_principal.set(Principal(ada.player_id, "player"))
    seen = await r.handlers.get_player(GetPlayer(ada.player_id))
    assert seen.player == ada and seen.now == NOW
    with pytest.raises(PermissionDenied) as other:
        await r.handlers.get_player(GetPlayer(bob.player_id))
    assert other.value.reason == "NOT_YOUR_ACCOUNT"
    excluded = await r.handlers.self_exclude(SelfExclude(ada.player_id, timedelta(days=30)))
    assert excluded.player.self_excluded_until == NOW + timedelta(days=30)


def test_a_client_token_is_the_issuers() -> None:
    r = rig()
    issued = r.handlers.issue_token(
        IssueToken(TokenRequest("partner-1", "s3cret", "betmesh.bets", []))
    )
    assert issued.role == ClientRole.PARTNER
    verifier = TokenVerifier(
        r.handlers.jwks(),
        issuer=ISSUER,
        audience="betmesh.bets",
        clock=lambda: issued.expires_at - 1,
    )
    assert verifier.verify(issued.token).subject == "partner-1"


@dataclass
class SweepStore:
    """The sweep's store in memory: no verified players, provisional ones that may lapse."""

    candidates: list[Player]
    claimed: set[tuple[str, KycStatus]] = field(default_factory=set)

    async def verified_players(self, after: str | None, limit: int) -> list[object]:
        return []

    async def mark_register_excluded(self, player_id: str, now: datetime) -> Player | None:
        raise AssertionError("nobody is verified here")

    async def lapse_candidates(self, created_before: datetime) -> list[Player]:
        return [p for p in self.candidates if p.created_at < created_before]

    async def claim_lapse(self, player_id: str, status: KycStatus) -> bool:
        if (player_id, status) in self.claimed:
            return False
        self.claimed.add((player_id, status))
        return True

    async def release_lapse(self, player_id: str, status: KycStatus) -> None:
        self.claimed.discard((player_id, status))


@dataclass
class FlakyAnnouncer(Announced):
    down: bool = False

    async def kyc_status_changed(self, player: Player, now: datetime) -> None:
        if self.down:
            raise ConnectionError("bus down")
        await super().kyc_status_changed(player, now)


async def test_a_lapse_is_announced_once_and_again_only_if_its_announcement_failed() -> None:
    old = Player("p-old", KycStatus.PROVISIONAL, KycMethod.NONE, "Ada", NOW - timedelta(days=45))
    new = Player("p-new", KycStatus.PROVISIONAL, KycMethod.NONE, "Bob", NOW - timedelta(days=3))
    store, announcer = SweepStore([old, new]), FlakyAnnouncer(down=True)
    sweeper = Sweeper(store, NoRegister(), announcer, lambda: NOW)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await sweeper.sweep()
    assert store.claimed == set()  # released: the next sweep tries again
    announcer.down = False
    assert (await sweeper.sweep()).lapses_announced == 1
    assert (await sweeper.sweep()).lapses_announced == 0
    assert announcer.statuses == [("p-old", KycStatus.DEACTIVATED)]
