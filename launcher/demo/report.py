"""The closing report: a summary table per sport, checked against what the services report."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc

from launcher.demo.client import RPC_TIMEOUT, Clients, reason
from launcher.demo.consensus import SportConsensus, explain, summarise
from launcher.demo.players import Player
from launcher.demo.state import OPEN_STATUSES, DayState, PlacedBet, sport_name
from launcher.demo.text import at, money, percent_e4

GROUPS = ("football", "tennis", "basketball", "multi-sport")
# Consensus decisions explained one line each in the summary, per sport (the JSON has all).
EXPLAINED_PER_SPORT = 5
SETTLED_NOT_VOID = frozenset({"WON", "LOST", "HALF_WON", "HALF_LOST", "CASHED_OUT"})


@dataclass
class Row:
    taken: int = 0
    refused: int = 0
    live: int = 0
    open: int = 0
    settled: int = 0
    stakes: int = 0
    settled_stakes: int = 0
    payouts: int = 0

    def add(self, bet: PlacedBet) -> None:
        if bet.status == "REJECTED":
            self.refused += 1
            return
        self.taken += 1
        self.live += bet.live
        self.stakes += bet.stake_minor
        if bet.status in OPEN_STATUSES:
            self.open += 1
        elif bet.status in SETTLED_NOT_VOID:
            self.settled += 1
            self.settled_stakes += bet.stake_minor
            self.payouts += bet.payout_minor

    def rtp(self) -> str:
        if not self.settled_stakes:
            return "-"
        return percent_e4(self.payouts * 10_000 // self.settled_stakes)


@dataclass
class Report:
    rows: dict[str, Row] = field(default_factory=dict)
    rtp_report: bet_service_pb2.GetReturnToPlayerReportResponse | None = None
    # Per sport: this run's dissent records, grouped by consensus decision (demo/consensus.py).
    dissents: dict[str, SportConsensus] = field(default_factory=dict)
    ledger_problems: list[str] = field(default_factory=list)
    wallets_checked: int = 0
    problems: list[str] = field(default_factory=list)
    period: tuple[float, float] = (0.0, 0.0)


def build(
    clients: Clients, state: DayState, players: Sequence[Player], period_end: float
) -> Report:
    report = Report({group: Row() for group in (*GROUPS, "total")})
    report.period = (state.started_at, period_end)
    with state.lock:
        bets = list(state.bets)
    for bet in bets:
        report.rows[bet.group].add(bet)
        report.rows["total"].add(bet)
    bets_stub = bet_service_pb2_grpc.BetServiceStub(clients.channel("bets"))
    try:
        report.rtp_report = bets_stub.GetReturnToPlayerReport(
            bet_service_pb2.GetReturnToPlayerReportRequest(
                period_start=at(state.started_at), period_end=at(period_end)
            ),
            timeout=RPC_TIMEOUT,
            metadata=clients.operator("betmesh.bets"),
        )
    except grpc.RpcError as exc:
        report.problems.append(f"GetReturnToPlayerReport: {reason(exc)}")
    gateway = gateway_grpc.ConsensusGatewayServiceStub(clients.channel("gateway"))
    for sport in (sport_pb2.SPORT_FOOTBALL, sport_pb2.SPORT_TENNIS, sport_pb2.SPORT_BASKETBALL):
        try:
            listed = gateway.ListDissents(
                gateway_pb2.ListDissentsRequest(sport=sport, page_size=500),
                timeout=RPC_TIMEOUT,
                metadata=clients.operator("betmesh.gateway"),
            )
        except grpc.RpcError as exc:
            report.problems.append(f"ListDissents: {reason(exc)}")
            break
        report.dissents[sport_name(sport)] = summarise(
            [d for d in listed.dissents if d.recorded_at.ToSeconds() >= int(state.started_at)]
        )
    _reconcile(clients, bets_stub, bets, players, report)
    return report


def _reconcile(
    clients: Clients,
    stub: Any,
    bets: Sequence[PlacedBet],
    players: Sequence[Player],
    report: Report,
) -> None:
    """Each wallet against its own story: balance + held = deposits - settled stakes + payouts,
    and held = the stakes of open bets (the ledger's double entry seen from the player)."""
    for player in players:
        mine = [b for b in bets if b.player_id == player.player_id and b.status != "REJECTED"]
        settled = [b for b in mine if b.status in SETTLED_NOT_VOID]
        expected_total = (
            player.deposit_minor
            - sum(b.stake_minor for b in settled)
            + sum(b.payout_minor for b in settled)
        )
        expected_held = sum(b.stake_minor for b in mine if b.status in OPEN_STATUSES)
        wallet = stub.GetWallet(
            bet_service_pb2.GetWalletRequest(player_id=player.player_id),
            timeout=RPC_TIMEOUT,
            metadata=clients.player(player.credential),
        ).wallet
        total = wallet.balance.amount_minor + wallet.held.amount_minor
        report.wallets_checked += 1
        if total != expected_total or wallet.held.amount_minor != expected_held:
            report.ledger_problems.append(
                f"{player.name}: balance+held {money(total)} (expected {money(expected_total)}),"
                f" held {money(wallet.held.amount_minor)} (expected {money(expected_held)})"
            )


def render(state: DayState, report: Report, say: Callable[[str], None]) -> None:
    header = (
        f"{'':<12}{'bets':>6}{'refused':>9}{'live':>6}{'open':>6}{'settled':>9}"
        f"{'stakes':>16}{'settled stakes':>18}{'payouts':>16}{'RTP':>9}"
    )
    say(header)
    say("-" * len(header))
    for group, row in report.rows.items():
        if group != "total" and not (row.taken or row.refused):
            continue
        if group == "total":
            say("-" * len(header))
        say(
            f"{group:<12}{row.taken:>6}{row.refused:>9}{row.live:>6}{row.open:>6}"
            f"{row.settled:>9}{money(row.stakes):>16}{money(row.settled_stakes):>18}"
            f"{money(row.payouts):>16}{row.rtp():>9}"
        )
    say("")
    rtp = report.rtp_report
    if rtp is not None:
        say(
            f"BetService.GetReturnToPlayerReport (this run's window): {rtp.settled_bet_count} "
            f"settled bets, stakes {money(rtp.stakes.amount_minor)}, payouts "
            f"{money(rtp.payouts.amount_minor)}, realised return to player "
            f"{percent_e4(rtp.return_to_player_e4)}"
        )
    refusals = state.rejections()
    if refusals:
        say(
            "refusals by reason: "
            + ", ".join(f"{name} x{count}" for name, count in refusals.most_common())
        )
    if report.dissents:
        # A record is one replica's vote; a refused decision records every vote, answered or
        # not. Told by decision, so a call the replicas were too slow for does not read as
        # replicas disagreeing on a price.
        say(
            "consensus decisions recorded this run (ConsensusGatewayService.ListDissents): "
            + ", ".join(
                f"{sport} {len(c.disagreements)} with replicas disagreeing, "
                f"{len(c.unanswered)} refused for lack of answers ({c.records} vote records)"
                for sport, c in report.dissents.items()
            )
        )
        for sport, consensus in report.dissents.items():
            # Disagreements first: they are the ones to investigate.
            shown = consensus.disagreements + consensus.unanswered
            for decision in shown[:EXPLAINED_PER_SPORT]:
                say(f"  {sport:<11}{explain(decision)}")
            if len(shown) > EXPLAINED_PER_SPORT:
                say(f"  {sport:<11}... and {len(shown) - EXPLAINED_PER_SPORT} more (ListDissents)")
    say("oracle transactions (result validated by 2 sources, published, final on chain):")
    for match in state.matches:
        say(
            f"  {match.sport:<11}{match.name:<38}{match.result_text or match.score():<16}"
            f"{match.publication or '-':<10} {match.tx_hash or '-'} (block {match.block})"
        )
    say(
        "odds stream: "
        + ", ".join(
            f"{m.short} {m.suspensions} suspensions/{m.repricings} live repricings"
            for m in state.matches
        )
    )
    verdict = "balanced" if not report.ledger_problems else "NOT balanced"
    say(
        f"ledger: {report.wallets_checked} wallets reconcile with their bets "
        f"(balance + held = deposits - settled stakes + payouts): {verdict}"
    )
    for problem in report.ledger_problems + report.problems:
        say(f"  problem: {problem}")


def write_json(
    path: Path, state: DayState, report: Report, players: Sequence[Player], extra: dict[str, Any]
) -> None:
    rtp = report.rtp_report
    document = {
        "run_id": state.run_id,
        "speed": state.speed,
        "period": {"start": report.period[0], "end": report.period[1]},
        "players": [{"player_id": p.player_id, "deposit_minor": p.deposit_minor} for p in players],
        "deposits_minor": state.deposits_minor,
        "rows": {group: row.__dict__ for group, row in report.rows.items()},
        "rtp_report": None
        if rtp is None
        else {
            "stakes_minor": rtp.stakes.amount_minor,
            "payouts_minor": rtp.payouts.amount_minor,
            "return_to_player_e4": rtp.return_to_player_e4,
            "settled_bet_count": rtp.settled_bet_count,
        },
        "rejections": dict(state.rejections()),
        "dissents": {sport: c.summary() for sport, c in report.dissents.items()},
        "oracle": [
            {
                "fixture_id": m.fixture_id,
                "sport": m.sport,
                "result": m.result_text,
                "publication": m.publication,
                "tx_hash": m.tx_hash,
                "block": m.block,
                "suspensions": m.suspensions,
                "repricings": m.repricings,
            }
            for m in state.matches
        ],
        "bets": [b.__dict__ for b in state.bets],
        "ledger": {"wallets": report.wallets_checked, "problems": report.ledger_problems},
        **extra,
    }
    path.write_text(json.dumps(document, indent=2, default=list) + "\n")
