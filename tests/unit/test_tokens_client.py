"""The token source behind every service's outgoing calls: cache, refresh ahead of expiry,
single-flight fetches, and a clear UNAVAILABLE instead of a hang when identity fails."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from service_runtime.channels import token_source_from_env
from service_runtime.client_tokens import (
    IssuedToken,
    TokenSource,
    TokenUnavailable,
    audience_for_method,
    read_secret_file,
)
from service_runtime.settings import SettingsError

TTL = 300.0


@dataclass
class Clock:
    now: float = 1_000_000.0
    mono: float = 50.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono


@dataclass
class Identity:
    """Hands out numbered tokens; can be told to block or to fail."""

    clock: Clock
    issued: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None
    failure: BaseException | None = None

    async def fetch(self, audience: str) -> IssuedToken:
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        token = f"{audience}#{len(self.issued) + 1}"
        self.issued.append(token)
        return IssuedToken(token, self.clock.now + TTL)


def source(
    identity: Identity, fetch_timeout: float = 5.0, retry_after_failure: float = 1.0
) -> TokenSource:
    return TokenSource(
        identity.fetch,
        clock=identity.clock.time,
        monotonic=identity.clock.monotonic,
        fetch_timeout=fetch_timeout,
        retry_after_failure=retry_after_failure,
    )


@pytest.mark.parametrize(
    ("method", "audience"),
    [
        ("/betmesh.quotes.v1.QuoteService/PriceFixture", "betmesh.quotes"),
        (b"/betmesh.gateway.v1.FixtureService/ListFixtures", "betmesh.gateway"),
        ("/betmesh.identity.v1.IdentityService/GetPlayer", "betmesh.identity"),
        ("/grpc.health.v1.Health/Check", None),
        ("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", None),
        ("/betmesh/Nothing", None),
    ],
)
def test_the_audience_is_the_services_package_without_its_version(
    method: str | bytes, audience: str | None
) -> None:
    assert audience_for_method(method) == audience


async def test_a_token_is_fetched_once_and_reused_per_audience() -> None:
    identity = Identity(Clock())
    tokens = source(identity)
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"
    assert await tokens.token("betmesh.gateway") == "betmesh.gateway#2"
    assert tokens.fetches == 2


async def test_concurrent_callers_share_one_fetch() -> None:
    identity = Identity(Clock(), gate=asyncio.Event())
    tokens = source(identity)
    waiting = [asyncio.create_task(tokens.token("betmesh.quotes")) for _ in range(20)]
    await asyncio.sleep(0)
    assert identity.gate is not None
    identity.gate.set()
    assert set(await asyncio.gather(*waiting)) == {"betmesh.quotes#1"}
    assert tokens.fetches == 1


async def test_late_in_its_life_a_token_is_refreshed_in_the_background() -> None:
    clock = Clock()
    identity = Identity(clock)
    tokens = source(identity)
    await tokens.token("betmesh.quotes")
    clock.now += TTL * 0.85  # past the refresh point, still usable
    identity.gate = asyncio.Event()
    # The caller is not held up: it gets the cached token while the new one is fetched.
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"
    assert tokens.fetches == 2  # one background fetch, however many calls saw the old token
    identity.gate.set()
    for _ in range(100):
        if await tokens.token("betmesh.quotes") == "betmesh.quotes#2":
            break
        await asyncio.sleep(0)
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#2"
    assert tokens.fetches == 2


async def test_a_token_about_to_expire_is_never_sent() -> None:
    clock = Clock()
    identity = Identity(clock)
    tokens = source(identity)
    await tokens.token("betmesh.quotes")
    clock.now += TTL * 0.97
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#2"


async def test_a_failing_identity_is_unavailable_with_a_reason_and_not_asked_again_at_once() -> (
    None
):
    clock = Clock()
    identity = Identity(clock, failure=ConnectionError("refused"))
    tokens = source(identity, retry_after_failure=1.0)
    with pytest.raises(TokenUnavailable) as first:
        await tokens.token("betmesh.quotes")
    assert first.value.code == "UNAVAILABLE"
    assert first.value.reason == "IDENTITY_UNAVAILABLE"
    assert first.value.metadata == {"audience": "betmesh.quotes"}
    with pytest.raises(TokenUnavailable):
        await tokens.token("betmesh.quotes")
    assert tokens.fetches == 1  # failed fast, identity not hammered
    clock.mono += 1.5
    identity.failure = None
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"
    assert tokens.fetches == 2


async def test_a_background_refresh_that_fails_keeps_the_valid_token() -> None:
    clock = Clock()
    identity = Identity(clock)
    tokens = source(identity)
    await tokens.token("betmesh.quotes")
    clock.now += TTL * 0.85
    identity.failure = ConnectionError("identity down")
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await tokens.token("betmesh.quotes") == "betmesh.quotes#1"


async def test_a_hanging_identity_ends_at_the_fetch_timeout_or_the_calls_deadline() -> None:
    identity = Identity(Clock(), gate=asyncio.Event())  # never set: identity never answers
    tokens = source(identity, fetch_timeout=0.05)
    with pytest.raises(TokenUnavailable) as hung:
        await tokens.token("betmesh.quotes")
    assert hung.value.reason == "IDENTITY_UNAVAILABLE"
    patient = source(identity, fetch_timeout=30.0)
    with pytest.raises(TokenUnavailable) as deadline:
        await patient.token("betmesh.quotes", timeout=0.05)
    assert deadline.value.reason == "SERVICE_TOKEN_TIMEOUT"
    await patient.close()


def _secret(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "client.secret"
    path.write_text("s3cret-for-tests\n")
    os.chmod(path, mode)
    return path


def test_the_secret_file_must_be_private(tmp_path: Path) -> None:
    assert read_secret_file(str(_secret(tmp_path, 0o600))) == "s3cret-for-tests"
    with pytest.raises(SettingsError, match="0600"):
        read_secret_file(str(_secret(tmp_path, 0o644)))
    with pytest.raises(SettingsError, match="BETMESH_CLIENT_SECRET_FILE"):
        read_secret_file(str(tmp_path / "missing"))


def test_a_kubernetes_secret_volume_readable_by_the_process_group_is_accepted(
    tmp_path: Path,
) -> None:
    def secret(mode: int, name: str) -> str:
        path = tmp_path / name
        path.write_text("s3cret-for-tests\n")
        os.chmod(path, mode)
        return str(path)

    # The kubelet adds group read for the pod's fsGroup, the process's own group.
    readable = secret(0o440, "group-read")
    assert Path(readable).stat().st_gid == os.getegid()
    assert read_secret_file(readable) == "s3cret-for-tests"
    for mode in (0o460, 0o470, 0o404):  # group write or execute, or anyone else: refused
        with pytest.raises(SettingsError, match="0600"):
            read_secret_file(secret(mode, f"mode-{mode:o}"))
    other_group = next((g for g in os.getgroups() if g != os.getegid()), None)
    if other_group is not None:  # another group may read it: refused
        path = secret(0o640, "other-group")
        os.chown(path, -1, other_group)
        with pytest.raises(SettingsError, match="0600"):
            read_secret_file(path)


def test_tokens_only_in_tokens_mode_with_credentials(tmp_path: Path) -> None:
    secret = str(_secret(tmp_path, 0o600))
    assert token_source_from_env({}) is None
    assert (
        token_source_from_env({"BETMESH_AUTH_MODE": "anonymous", "BETMESH_CLIENT_ID": "svc-x"})
        is None
    )  # anonymous mode, asked for
    assert token_source_from_env({"BETMESH_AUTH_MODE": "tokens"}) is None  # no credentials
    with pytest.raises(SettingsError, match="BETMESH_IDENTITY_ADDRESS"):
        token_source_from_env(
            {
                "BETMESH_AUTH_MODE": "tokens",
                "BETMESH_CLIENT_ID": "svc-x",
                "BETMESH_CLIENT_SECRET_FILE": secret,
            }
        )
    found = token_source_from_env(
        {
            "BETMESH_AUTH_MODE": "tokens",
            "BETMESH_CLIENT_ID": "svc-x",
            "BETMESH_CLIENT_SECRET_FILE": secret,
            "BETMESH_IDENTITY_ADDRESS": "127.0.0.1:9",
        }
    )
    assert isinstance(found, TokenSource)


def test_client_tokens_does_not_import_channels() -> None:
    # channels imports client_tokens; the way back (to open identity's channel) would be a cycle.
    import ast
    from pathlib import Path

    import service_runtime.client_tokens as module

    tree = ast.parse(Path(module.__file__ or "").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "service_runtime.channels" not in imported
