"""Results seen by two sources, validated and published on chain by the oracle; bets settled
from the result read back from the chain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import grpc
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.oracle.v1 import oracle_service_pb2 as oracle_pb2
from betmesh.oracle.v1 import oracle_service_pb2_grpc as oracle_grpc

from launcher.demo.client import RPC_TIMEOUT, Clients, reason
from launcher.demo.players import Player
from launcher.demo.state import OPEN_STATUSES, DayState, Match
from launcher.demo.text import now

SOURCES = ("simulator", "stats-feed")
PUBLICATION_TIMEOUT = 120.0
CORRECTION_TIMEOUT = 60.0
SETTLEMENT_TIMEOUT = 90.0


def final_result(match: Match) -> oracle_pb2.MatchResult:
    """The final score as the feed left it (sets for tennis, half-time not tracked here)."""
    game = match.state
    result = oracle_pb2.MatchResult(
        fixture_id=match.fixture_id,
        sport=match.fixture.sport,
        status=oracle_pb2.RESULT_STATUS_COMPLETED,
    )
    which = game.WhichOneof("sport_state")
    if which == "football":
        result.home_score, result.away_score = game.football.home_goals, game.football.away_goals
    elif which == "basketball":
        result.home_score = game.basketball.home_points
        result.away_score = game.basketball.away_points
    elif which == "tennis":
        for played in game.tennis.sets:
            result.set_games.extend([played.home_games, played.away_games])
            if played.home_games > played.away_games:
                result.home_score += 1
            elif played.away_games > played.home_games:
                result.away_score += 1
    return result


def publish(
    clients: Clients,
    state: DayState,
    match: Match,
    say: Callable[[str], None],
    disputed: bool = False,
) -> None:
    """Two sources report the same result; the oracle validates it and puts it on chain.
    Disputed: both sources carry a goal the referee ruled out (a common-mode error no
    agreement of sources catches), and the operator corrects it with the official score."""
    stub = oracle_grpc.OracleServiceStub(clients.channel("oracle"))
    result = final_result(match)
    reported = oracle_pb2.MatchResult()
    reported.CopyFrom(result)
    if disputed:
        reported.home_score += 1
        # The oracle sends what is ready once the oldest ready result has waited its batch
        # window: with no other result waiting, the correction lands before the wrong one is
        # sent (not a race against another match's window).
        others_sent(state, match)
    validated: oracle_pb2.ValidatedResult | None = None
    for source in SOURCES:
        validated = stub.SubmitObservation(
            oracle_pb2.SubmitObservationRequest(
                observation=oracle_pb2.Observation(
                    source_id=source,
                    result=reported,
                    observed_at=now(),
                    source_reference=f"{source}:{match.fixture_id}",
                )
            ),
            timeout=RPC_TIMEOUT,
            metadata=clients.operator("betmesh.oracle"),
        ).result
    assert validated is not None
    verdict = oracle_pb2.ValidationState.Name(validated.state).removeprefix("VALIDATION_STATE_")
    with state.lock:
        match.result_text = match.score()
        match.status = "validated"
    if disputed:
        say(
            f"    OracleService: {match.name} {reported.home_score}-{reported.away_score}"
            f" observed by {' and '.join(SOURCES)} -> {verdict}: both counted a goal the"
            " referee ruled out; partners settle provisionally on it"
        )
        version = correct(stub, clients, result)
        say(
            f"    OracleService.CorrectResult: the operator sets the official {match.score()}"
            f" (version {version}); the stream rolls the provisional settlement back"
        )
    else:
        say(
            f"    OracleService: {match.name} {match.score()} observed by"
            f" {' and '.join(SOURCES)} -> {verdict}, sources hash {validated.sources_hash[:23]}..."
        )
    deadline = time.monotonic() + PUBLICATION_TIMEOUT
    while True:
        publication = stub.GetResult(
            oracle_pb2.GetResultRequest(fixture_id=match.fixture_id),
            timeout=RPC_TIMEOUT,
            metadata=clients.operator("betmesh.oracle"),
        ).result.publication
        status = oracle_pb2.PublicationStatus.Name(publication.status)
        with state.lock:
            match.publication = status.removeprefix("PUBLICATION_STATUS_")
            match.tx_hash = publication.transaction_hash
            match.block = publication.block_number
            match.chain_id = publication.chain_id
        if publication.status in (
            oracle_pb2.PUBLICATION_STATUS_FINAL,
            oracle_pb2.PUBLICATION_STATUS_NOT_PUBLISHED,
        ):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{match.name}: result not final on chain in {PUBLICATION_TIMEOUT:g} s"
            )
        time.sleep(0.3)
    with state.lock:
        match.status = "final"
    say(
        f"    on chain {match.chain_id}: {match.name} {match.publication}, "
        f"tx {match.tx_hash} in block {match.block}"
    )


def others_sent(state: DayState, match: Match) -> None:
    """Waits until no other match's result is validated and waiting to be sent."""
    deadline = time.monotonic() + PUBLICATION_TIMEOUT
    while time.monotonic() < deadline:
        with state.lock:
            waiting = [
                m
                for m in state.matches
                if m is not match and m.status == "validated" and m.publication in ("", "PENDING")
            ]
        if not waiting:
            return
        time.sleep(0.2)


def correct(
    stub: oracle_grpc.OracleServiceStub, clients: Clients, result: oracle_pb2.MatchResult
) -> int:
    """The operator's correction, as soon as the wrong result is validated: before it reaches
    the chain or in the contract's dispute window. Returns the version it is published at."""
    deadline = time.monotonic() + CORRECTION_TIMEOUT
    while True:
        try:
            corrected = stub.CorrectResult(
                oracle_pb2.CorrectResultRequest(
                    fixture_id=result.fixture_id,
                    result=result,
                    note="the stats feeds counted a goal the referee ruled out (VAR)",
                ),
                timeout=RPC_TIMEOUT,
                metadata=clients.operator("betmesh.oracle"),
            ).result
            return max(1, int(corrected.publication.version))
        except grpc.RpcError as exc:
            # The wrong version is being sent: it can be corrected once on chain.
            if reason(exc) != "PUBLICATION_IN_FLIGHT" or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def void_live_bets(
    clients: Clients, match: Match, placed_after: float, say: Callable[[str], None]
) -> int:
    """The operator voids the in-play bets of one match taken since `placed_after` (epoch
    seconds): the scoreboard feed lagged, so they were taken on stale prices."""
    stub = bet_service_pb2_grpc.BetServiceStub(clients.channel("bets"))
    request = bet_service_pb2.VoidBetsRequest(
        idempotency_key=f"demo-void-{match.fixture_id}",
        fixture_id=match.fixture_id,
        reason="the scoreboard feed lagged: in-play bets on stale prices",
    )
    request.placed_after.FromNanoseconds(int(placed_after * 1e9))
    answer = stub.VoidBets(request, timeout=RPC_TIMEOUT, metadata=clients.operator("betmesh.bets"))
    say(
        f"    BetService.VoidBets: {match.name}'s in-play bets since kick-off are void"
        f" ({answer.voided_bet_count} bets, stakes returned): the scoreboard feed lagged"
    )
    return int(answer.voided_bet_count)


def refresh_bets(clients: Clients, state: DayState, players: Iterable[Player]) -> None:
    """Every taken bet's current status and payout, as the bets service has it."""
    credentials = {p.player_id: p.credential for p in players}
    stub = bet_service_pb2_grpc.BetServiceStub(clients.channel("bets"))
    with state.lock:
        taken = [b for b in state.bets if b.bet_id and b.status != "REJECTED"]
    for placed in taken:
        try:
            bet = stub.GetBet(
                bet_service_pb2.GetBetRequest(bet_id=placed.bet_id),
                timeout=RPC_TIMEOUT,
                metadata=clients.player(credentials.get(placed.player_id)),
            ).bet
        except grpc.RpcError:
            continue
        with state.lock:
            placed.status = bet_service_pb2.BetStatus.Name(bet.status).removeprefix("BET_STATUS_")
            placed.payout_minor = bet.payout.amount_minor
            if bet.status == bet_service_pb2.BET_STATUS_REJECTED:
                placed.reason = bet_service_pb2.RejectionReason.Name(
                    bet.rejection_reason
                ).removeprefix("REJECTION_REASON_")
                placed.message = bet.rejection_message


def await_settlement(
    clients: Clients, state: DayState, players: Iterable[Player], finished: set[str]
) -> list[str]:
    """Waits until every bet whose fixtures all finished is settled; returns those that were
    not (bet ids), after SETTLEMENT_TIMEOUT."""
    players = list(players)
    deadline = time.monotonic() + SETTLEMENT_TIMEOUT
    while True:
        refresh_bets(clients, state, players)
        with state.lock:
            waiting = [
                b.bet_id
                for b in state.bets
                if b.status in OPEN_STATUSES and set(b.fixture_ids) <= finished
            ]
        if not waiting or time.monotonic() > deadline:
            return waiting
        time.sleep(0.5)


def oracle_gas(chain_rpc_url: str | None, matches: Iterable[Match]) -> tuple[int, int, int] | None:
    """(transactions, results, gas) of the oracle's report transactions this run, from their
    receipts; None without a chain to ask. Finality is the contract's view by default, so
    there is no finalisation transaction to add."""
    hashes = [m.tx_hash for m in matches if m.tx_hash]
    if not chain_rpc_url or not hashes:
        return None
    from hexbytes import HexBytes
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(chain_rpc_url, request_kwargs={"timeout": RPC_TIMEOUT}))
    distinct = set(hashes)
    gas = sum(int(w3.eth.get_transaction_receipt(HexBytes(h))["gasUsed"]) for h in distinct)
    return len(distinct), len(hashes), gas
