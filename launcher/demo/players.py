"""Simulated players: sign-up without a browser, ANJ caps before any money moves, deposits."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import grpc
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.identity.v1 import identity_service_pb2, identity_service_pb2_grpc

from launcher.demo.client import RPC_TIMEOUT, Clients, PlayerCredential, reason, status_code
from launcher.demo.state import DayState
from launcher.demo.text import eur, money

# A few players have a part in the story; the rest bet as a crowd.
NO_CAP, LOW_CAP, SHORT_FUNDS = 1, 2, 3
LOW_CAP_MINOR = 2_000
SHORT_DEPOSIT_MINOR = 2_000
DEPOSIT_CAP_MINOR = 100_000
WORKERS = 6
CAP_KNOWN_WAIT_SECONDS = 20.0


@dataclass
class Player:
    index: int
    credential: PlayerCredential
    name: str
    deposit_minor: int
    stake_cap_minor: int | None
    balance_minor: int = 0
    lock: threading.Lock | None = None

    @property
    def player_id(self) -> str:
        return self.credential.player_id

    def reserve(self, stake_minor: int) -> bool:
        """Whether the player can still afford `stake_minor` (the crowd bets what it has)."""
        assert self.lock is not None
        with self.lock:
            if stake_minor > self.balance_minor:
                return False
            self.balance_minor -= stake_minor
            return True

    def release(self, stake_minor: int) -> None:
        assert self.lock is not None
        with self.lock:
            self.balance_minor += stake_minor


def _register(clients: Clients, run_id: str, index: int) -> tuple[PlayerCredential, str]:
    name = f"Player {index + 1:02d}"
    if not clients.has_identity:
        return PlayerCredential(f"md-{run_id}-p{index}", "", 0.0), name
    stub = identity_service_pb2_grpc.IdentityServiceStub(clients.channel("identity"))
    try:
        registered = stub.RegisterPlayer(
            identity_service_pb2.RegisterPlayerRequest(display_name=f"{name} ({run_id})"),
            # As the operator: anonymous sign-ups are limited per address, and the whole crowd
            # signs up from this one.
            metadata=clients.operator("betmesh.identity"),
            timeout=RPC_TIMEOUT,
        )
    except grpc.RpcError as exc:
        if status_code(exc) != grpc.StatusCode.FAILED_PRECONDITION:
            raise
        # No player accounts in this mesh (no database for identity): the operator acts.
        return PlayerCredential(f"md-{run_id}-p{index}", "", 0.0), name
    token = registered.access_token
    credential = PlayerCredential(
        registered.player.player_id, token.token, float(token.expires_at.ToSeconds()) - 60.0
    )
    return credential, name


def _set_limits(clients: Clients, player: PlayerCredential, stake_cap_minor: int | None) -> None:
    """The ANJ caps, set by the player on their own account (the operator's desk if this mesh
    does not let players do it). No stake cap: the player's bets will be refused."""
    stub = identity_service_pb2_grpc.IdentityServiceStub(clients.channel("identity"))
    request = identity_service_pb2.SetResponsibleGamblingLimitsRequest(
        player_id=player.player_id, deposit_cap_7d=eur(DEPOSIT_CAP_MINOR)
    )
    if stake_cap_minor is not None:
        request.stake_cap_7d.CopyFrom(eur(stake_cap_minor))
    try:
        stub.SetResponsibleGamblingLimits(
            request, timeout=RPC_TIMEOUT, metadata=clients.player(player)
        )
    except grpc.RpcError as exc:
        if status_code(exc) not in (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAUTHENTICATED,
        ):
            raise
        stub.SetResponsibleGamblingLimits(
            request, timeout=RPC_TIMEOUT, metadata=clients.operator("betmesh.identity")
        )


def sign_up(
    clients: Clients,
    state: DayState,
    count: int,
    rng: random.Random,
    say: Callable[[str], None],
) -> list[Player]:
    """Registers `count` players; every one but NO_CAP sets caps, then each deposits."""
    plans = []
    for index in range(count):
        cap = None if index == NO_CAP else rng.randrange(150, 401) * 100
        if index == LOW_CAP:
            cap = LOW_CAP_MINOR
        deposit = SHORT_DEPOSIT_MINOR if index == SHORT_FUNDS else rng.randrange(60, 301) * 100
        plans.append((index, cap, deposit))
    bets = bet_service_pb2_grpc.BetServiceStub(clients.channel("bets"))

    def one(plan: tuple[int, int | None, int]) -> Player:
        index, cap, deposit = plan
        credential, name = _register(clients, state.run_id, index)
        if clients.has_identity:
            _set_limits(clients, credential, cap)
        request = bet_service_pb2.DepositRequest(
            idempotency_key=f"md-{state.run_id}-deposit-{index}",
            player_id=credential.player_id,
            amount=eur(deposit),
            payment_method_id="sandbox-card",
        )
        # Bets learns of the deposit cap from identity's event: the deposit may come first.
        deadline = time.monotonic() + CAP_KNOWN_WAIT_SECONDS
        while True:
            try:
                bets.Deposit(request, timeout=RPC_TIMEOUT, metadata=clients.player(credential))
            except grpc.RpcError as exc:
                if reason(exc) != "DEPOSIT_CAP_NOT_SET" or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
                continue
            break
        with state.lock:
            state.players += 1
            state.deposits_minor += deposit
        return Player(index, credential, name, deposit, cap, deposit, threading.Lock())

    with ThreadPoolExecutor(WORKERS) as pool:
        players = list(pool.map(one, plans))
    first = players[0]
    signed_in = sum(1 for p in players if p.credential.token)
    say(
        f"    IdentityService.RegisterPlayer x{len(players)}: provisional accounts, "
        f"{signed_in} signed in with a player token (e.g. {first.player_id})"
    )
    capped = [p.stake_cap_minor for p in players if p.stake_cap_minor is not None]
    if capped and clients.has_identity:
        say(
            f"    IdentityService.SetResponsibleGamblingLimits x{len(players)} before any money "
            f"moves (ANJ): 7-day deposit cap {money(DEPOSIT_CAP_MINOR)}, stake caps "
            f"{money(min(capped))}..{money(max(capped))}; {players[NO_CAP].name} set no stake cap"
        )
    total = sum(p.deposit_minor for p in players)
    say(f"    BetService.Deposit x{len(players)} (sandbox card): {money(total)} in wallets")
    return players
