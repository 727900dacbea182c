"""A player's own token on identity's player RPCs (tokens enforced), limits changed
concurrently against real PostgreSQL, and a next signing key published before it signs."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from betmesh.common.v1 import money_pb2
from betmesh.identity.v1 import identity_service_pb2 as pb
from betmesh.identity.v1 import identity_service_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from joserfc import jwt
from joserfc.jwk import ECKey

from services.identity.app import build
from services.identity.domain.keys import SigningKey
from services.identity.settings import IdentitySettings
from tests.support.grpc_helpers import rpc_error

CLIENTS = [
    {
        "client_id": cid,
        "secret_sha256": hashlib.sha256(f"{cid}-secret".encode()).hexdigest(),
        "role": role,
        "audiences": ["betmesh.identity"],
    }
    for cid, role in (("ops", "operator"), ("partner", "partner"))
]
Stub = identity_service_pb2_grpc.IdentityServiceStub


@dataclass
class Identity:
    stub: Stub
    current: SigningKey
    next: SigningKey

    async def player(self) -> tuple[str, list[tuple[str, str]]]:
        registered = await self.stub.RegisterPlayer(pb.RegisterPlayerRequest(display_name="Ana"))
        token = registered.access_token.token
        return registered.player.player_id, [("authorization", f"Bearer {token}")]

    async def client(self, client_id: str) -> list[tuple[str, str]]:
        issued = await self.stub.IssueToken(
            pb.IssueTokenRequest(
                client_id=client_id,
                client_secret=f"{client_id}-secret",
                audience="betmesh.identity",
            )
        )
        return [("authorization", f"Bearer {issued.access_token.token}")]


@pytest.fixture(scope="module")
async def identity(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Identity]:
    folder = tmp_path_factory.mktemp("identity-keys")
    keys = {}
    for name in ("current", "next"):
        key = ECKey.generate_key("P-256")
        (folder / f"{name}.pem").write_bytes(key.as_pem(private=True))
        keys[name] = SigningKey.of(key)
    settings = IdentitySettings.from_env(
        {
            "BETMESH_PORT": "0",
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_DATABASE_URL": database_url,
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_IDENTITY_CLIENTS": json.dumps(CLIENTS),
            "BETMESH_IDENTITY_SIGNING_KEY_FILE": str(folder / "current.pem"),
            "BETMESH_IDENTITY_NEXT_SIGNING_KEY_FILE": str(folder / "next.pem"),
            "BETMESH_IDENTITY_SWEEP_INTERVAL_SECONDS": "0",
            # Every test signs up from 127.0.0.1; the limits have their own tests.
            "BETMESH_IDENTITY_REGISTRATIONS_PER_HOUR": "0",
        }
    )
    host = build(settings)
    port = await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Identity(Stub(channel), keys["current"], keys["next"])
    finally:
        await channel.close()
        await host.stop(0)


def _eur(amount: int) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount, currency="EUR")


async def test_a_player_reads_and_manages_their_own_account(identity: Identity) -> None:
    player_id, auth = await identity.player()
    got = await identity.stub.GetPlayer(pb.GetPlayerRequest(player_id=player_id), metadata=auth)
    assert got.player.player_id == player_id
    limits = await identity.stub.SetResponsibleGamblingLimits(
        pb.SetResponsibleGamblingLimitsRequest(player_id=player_id, stake_cap_7d=_eur(5_000)),
        metadata=auth,
    )
    assert limits.limits.stake_cap_7d.amount_minor == 5_000
    read = await identity.stub.GetResponsibleGamblingLimits(
        pb.GetResponsibleGamblingLimitsRequest(player_id=player_id), metadata=auth
    )
    assert read.limits.stake_cap_7d.amount_minor == 5_000
    # Past the role check and the ownership check: the service answers on its own terms.
    code, info, _ = await rpc_error(
        lambda: identity.stub.StartKycVerification(
            pb.StartKycVerificationRequest(player_id=player_id), metadata=auth
        )
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "KYC_NOT_CONFIGURED",
    )
    excluded = await identity.stub.SelfExclude(
        pb.SelfExcludeRequest(player_id=player_id, duration=Duration(seconds=2 * 86400)),
        metadata=auth,
    )
    assert pb.ACCOUNT_RESTRICTION_SELF_EXCLUDED in excluded.player.restrictions


async def test_a_player_cannot_touch_another_account(identity: Identity) -> None:
    victim, _ = await identity.player()
    _, auth = await identity.player()
    calls = [
        lambda: identity.stub.GetPlayer(pb.GetPlayerRequest(player_id=victim), metadata=auth),
        lambda: identity.stub.GetResponsibleGamblingLimits(
            pb.GetResponsibleGamblingLimitsRequest(player_id=victim), metadata=auth
        ),
        lambda: identity.stub.SetResponsibleGamblingLimits(
            pb.SetResponsibleGamblingLimitsRequest(player_id=victim, stake_cap_7d=_eur(1)),
            metadata=auth,
        ),
        lambda: identity.stub.SelfExclude(
            pb.SelfExcludeRequest(player_id=victim, duration=Duration(seconds=2 * 86400)),
            metadata=auth,
        ),
        lambda: identity.stub.StartKycVerification(
            pb.StartKycVerificationRequest(player_id=victim), metadata=auth
        ),
    ]
    for call in calls:
        code, info, _ = await rpc_error(call)
        assert (code, info and info.reason) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "NOT_YOUR_ACCOUNT",
        )
    # Operators reach any account.
    ops = await identity.client("ops")
    got = await identity.stub.GetPlayer(pb.GetPlayerRequest(player_id=victim), metadata=ops)
    assert got.player.player_id == victim


async def test_partners_and_anonymous_callers_are_refused(identity: Identity) -> None:
    player_id, _ = await identity.player()
    partner = await identity.client("partner")
    code, info, _ = await rpc_error(
        lambda: identity.stub.GetPlayer(pb.GetPlayerRequest(player_id=player_id), metadata=partner)
    )
    assert (code, info and info.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_ALLOWED")
    code, info, _ = await rpc_error(
        lambda: identity.stub.GetPlayer(pb.GetPlayerRequest(player_id=player_id))
    )
    assert (code, info and info.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")


async def _waiting_on_locks(engine: sa.Engine) -> int:
    def count() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE '%identity.%' AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )

    return await asyncio.to_thread(count)


async def _until_waiting(engine: sa.Engine, waiters: int) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while await _waiting_on_locks(engine) < waiters:
        assert asyncio.get_running_loop().time() < deadline, "calls never reached the lock"
        await asyncio.sleep(0.02)


async def test_a_cut_and_a_raise_at_once_both_count(identity: Identity, database_url: str) -> None:
    player_id, auth = await identity.player()

    def set_deposit(amount: int) -> Awaitable[pb.SetResponsibleGamblingLimitsResponse]:
        return identity.stub.SetResponsibleGamblingLimits(  # type: ignore[no-any-return]
            pb.SetResponsibleGamblingLimitsRequest(
                player_id=player_id, deposit_cap_7d=_eur(amount)
            ),
            metadata=auth,
        )

    await set_deposit(10_000)
    engine = sa.create_engine(database_url)
    holder = engine.connect()
    try:
        # Hold the player's rows so that both calls queue (FIFO) behind us: the cut first, then
        # the raise. Without the lock both would read 10 000 and the raise would undo the cut.
        transaction = holder.begin()
        for table in ("players", "limits"):
            holder.execute(
                sa.text(f"SELECT 1 FROM identity.{table} WHERE player_id = :id FOR UPDATE"),
                {"id": player_id},
            )
        cut = asyncio.ensure_future(set_deposit(3_000))
        await _until_waiting(engine, 1)
        raised = asyncio.ensure_future(set_deposit(50_000))
        await _until_waiting(engine, 2)
        transaction.commit()
        await asyncio.gather(cut, raised)
    finally:
        holder.close()
        engine.dispose()
    limits = (
        await identity.stub.GetResponsibleGamblingLimits(
            pb.GetResponsibleGamblingLimitsRequest(player_id=player_id), metadata=auth
        )
    ).limits
    assert limits.deposit_cap_7d.amount_minor == 3_000
    assert limits.pending_deposit_cap_7d.amount_minor == 50_000
    assert limits.HasField("pending_deposit_cap_effective_at")


async def test_the_next_key_is_published_before_it_signs(identity: Identity) -> None:
    jwks = await identity.stub.GetJwks(pb.GetJwksRequest())
    assert {k.kid for k in jwks.keys} == {identity.current.kid, identity.next.kid}
    _, auth = await identity.player()
    token = auth[0][1].removeprefix("Bearer ")
    assert jwt.decode(token, identity.current.key).header["kid"] == identity.current.kid


def test_the_next_key_must_be_a_file(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="NEXT_SIGNING_KEY_FILE"):
        IdentitySettings.from_env(
            {"BETMESH_IDENTITY_NEXT_SIGNING_KEY_FILE": str(tmp_path / "missing.pem")}
        )
