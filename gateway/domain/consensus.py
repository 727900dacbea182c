"""Quorum on exact outputs, across engines (the rule; gateway/service_layer/fanout.py asks the
replicas and hands their answers to `Tally`).

The gateway sends one identical request to every replica of a sport and accepts a quote set
when at least k replicas returned byte-identical canonical bytes AND those replicas run at
least `min_engines` distinct pricing engines (the fast path: digests only). It hashes the bytes
itself: a replica's claimed digest is checked, never trusted (`vote_for`). It answers as soon
as such a group is in. When the digests differ, the answers are compared market by market
(`agreement.agree`): markets the rule cannot publish are withheld, the rest published. Every
vote then gets a verdict that says who was outvoted by whom (`_verdicts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from betmesh.common.v1 import market_pb2

from gateway.domain.agreement import (
    NO_QUORUM,
    SINGLE_ENGINE,
    Agreement,
    Answer,
    agree,
    markets_agree,
)
from service_runtime.digest import canonical_bytes, digest_bytes

if TYPE_CHECKING:  # ports.py names Reply: imported for annotations only, not in a cycle
    from gateway.domain.ports import ReplicaClient


class Outcome(Enum):
    AGREED = "AGREED"
    DISSENTED = "DISSENTED"
    TIMED_OUT = "TIMED_OUT"
    UNAVAILABLE = "UNAVAILABLE"
    FAILED = "FAILED"
    BAD_DIGEST = "BAD_DIGEST"
    QUARANTINED = "QUARANTINED"
    NOT_AWAITED = "NOT_AWAITED"
    ENGINE_MISMATCH = "ENGINE_MISMATCH"
    # Answered, but fewer than k answered and none otherwise: a refusal for lack of answers,
    # not a disagreement (a lone answer beside replicas that timed out).
    TOO_FEW_ANSWERS = "TOO_FEW_ANSWERS"
    # Its answer did not decode as an answer: wrong, as a false digest is.
    MALFORMED = "MALFORMED"
    # Answered as k or more replicas did, byte for byte, but all of them run fewer engines
    # than the rule needs: they agreed, and nothing was published (one engine's shared mistake
    # would be certified). Not a disagreement, and never counted against the replica.
    TOO_FEW_ENGINES = "TOO_FEW_ENGINES"
    # Not asked: resting after timeouts in a row (gateway/domain/replicas.py, HealthPolicy).
    RESTING = "RESTING"


# A quote set came back: the outcomes `_finalise` compares and labels.
_ANSWERED = (
    Outcome.AGREED,
    Outcome.DISSENTED,
    Outcome.TOO_FEW_ANSWERS,
    Outcome.TOO_FEW_ENGINES,
)


class Verdict(Enum):
    """Who was outvoted by whom (see the DissentVerdict contract)."""

    AGREED = "AGREED"
    REPLICA_FAULTY = "REPLICA_FAULTY"
    MAJORITY_SUSPECT = "MAJORITY_SUSPECT"
    UNCONFIRMED = "UNCONFIRMED"
    NO_MAJORITY = "NO_MAJORITY"
    NO_ANSWER = "NO_ANSWER"


@dataclass(frozen=True)
class Reply:
    """What one replica said. Exactly one of `data` and `error_code` is set."""

    data: bytes | None = None
    claimed_digest: str = ""
    error_code: str = ""  # google.rpc code name, or TIMED_OUT / UNAVAILABLE / MALFORMED
    error_reason: str = ""
    error_message: str = ""
    engine: str = ""  # as the replica declared it


@dataclass
class Vote:
    replica_id: str
    address: str
    outcome: Outcome
    digest: str = ""
    latency_micros: int = 0
    first_difference: str = ""
    error: str = ""
    data: bytes | None = field(default=None, repr=False)
    engine: str = ""
    verdict: Verdict = Verdict.NO_ANSWER
    outvoted_by: list[str] = field(default_factory=list)


@dataclass
class Decision:
    quorum: int
    replica_count: int
    votes: list[Vote]
    digest: str = ""  # set when accepted
    data: bytes | None = None
    # Set when a quorum of replicas refused the request alike (the caller's mistake, or a
    # feature not built): relay it rather than calling it a lack of consensus.
    common_error: Reply | None = None
    min_engines: int = 1
    # Why nothing was published: NO_QUORUM, ENGINES_DISAGREE or SINGLE_ENGINE.
    refusal: str = ""
    # Markets withheld from an accepted set: (market_id, reason), sorted.
    withheld: list[tuple[str, str]] = field(default_factory=list)
    # Distinct engines behind what was published.
    engines: list[str] = field(default_factory=list)
    # The market-by-market comparison, when the digests differed.
    agreement: Agreement | None = field(default=None, repr=False)

    @property
    def accepted(self) -> bool:
        return bool(self.digest)


@dataclass
class HedgeBudget:
    """How many calls may bring in the spare replicas because the first ones were slow: on
    average `ratio` of the calls, in bursts of at most `burst` (a token bucket, as in gRPC's
    retry throttling and Finagle's retry budgets). Without it, a loaded gateway whose replicas
    answer slower than the hedge delay asks every replica on every call, adding pricing work
    exactly when none can be spared. A dissent or an error always brings them in: that is
    needed for a price at all, not for speed."""

    ratio: float = 0.1
    burst: float = 10.0
    tokens: float = 10.0

    def deposit(self) -> None:
        self.tokens = min(self.burst, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# Errors that mean "this request is wrong", identical on healthy replicas: relayed to the caller.
CALLER_ERRORS = frozenset({"INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "UNIMPLEMENTED"})


def first_difference(majority: bytes, other: bytes) -> str:
    """The first market/selection where `other` differs from `majority`, for the dissent log."""
    try:
        a, b = market_pb2.QuoteSet.FromString(majority), market_pb2.QuoteSet.FromString(other)
    except Exception:  # undecodable bytes are a dissent in themselves
        return "undecodable quote set"
    for name in ("fixture_id", "sport", "phase", "snapshot_hash", "event_sequence"):
        if getattr(a, name) != getattr(b, name):
            return f"{name} {getattr(b, name)!r} != {getattr(a, name)!r}"
    markets_a = {m.market_id: m for m in a.markets}
    markets_b = {m.market_id: m for m in b.markets}
    for market_id in sorted(markets_a.keys() | markets_b.keys()):
        ma, mb = markets_a.get(market_id), markets_b.get(market_id)
        if ma is None or mb is None:
            return f"{market_id} {'missing' if mb is None else 'unexpected'}"
        for name in ("type", "line_e2", "side", "status", "payout_e4"):
            if getattr(ma, name) != getattr(mb, name):
                return f"{market_id} {name} {getattr(mb, name)} != {getattr(ma, name)}"
        sel_a = {s.selection_id: s for s in ma.selections}
        sel_b = {s.selection_id: s for s in mb.selections}
        for selection_id in sorted(sel_a.keys() | sel_b.keys()):
            sa, sb = sel_a.get(selection_id), sel_b.get(selection_id)
            if sa is None or sb is None:
                return f"{market_id}/{selection_id} {'missing' if sb is None else 'unexpected'}"
            for name in ("odds_e4", "probability_e9", "status", "name"):
                if getattr(sa, name) != getattr(sb, name):
                    theirs, ours = getattr(sb, name), getattr(sa, name)
                    return f"{market_id}/{selection_id} {name} {theirs} != {ours}"
    return "bytes differ (same content, non-canonical encoding)"


def vote_for(client: ReplicaClient, reply: Reply, latency_micros: int) -> Vote:
    """One replica's answer as a vote: its bytes hashed here, its claims checked."""
    configured = getattr(client, "engine", "")
    vote = Vote(
        client.replica_id,
        client.address,
        Outcome.FAILED,
        latency_micros=latency_micros,
        engine=configured or reply.engine,
    )
    if reply.data is not None and configured and reply.engine != configured:
        # A replica running another engine than configured would count as a second opinion
        # it is not: its answer is a fault, never a vote.
        vote.outcome = Outcome.ENGINE_MISMATCH
        vote.error = f"declared engine {reply.engine[:40]!r}, configured {configured!r}"
        return vote
    if reply.data is None:
        vote.outcome = {
            "TIMED_OUT": Outcome.TIMED_OUT,
            "UNAVAILABLE": Outcome.UNAVAILABLE,
            "MALFORMED": Outcome.MALFORMED,
        }.get(reply.error_code, Outcome.FAILED)
        vote.error = f"{reply.error_code} {reply.error_reason}".strip()
        return vote
    vote.digest = digest_bytes(reply.data)
    vote.data = reply.data
    vote.outcome = Outcome.BAD_DIGEST if reply.claimed_digest != vote.digest else Outcome.AGREED
    return vote


class Tally:
    """The quorum rule applied to answers as they come in (gateway/service_layer/fanout.py asks
    the replicas and hands each vote here): decided at the first k identical outputs of at least
    `min_engines` engines, or at k alike refusals of the caller's request; otherwise, once every
    asked replica answered, compared market by market (`close`)."""

    def __init__(self, clients: Sequence[ReplicaClient], quorum: int, min_engines: int) -> None:
        self.quorum = quorum
        self.min_engines = min_engines
        self.votes: dict[str, Vote] = {
            c.replica_id: Vote(c.replica_id, c.address, Outcome.NOT_AWAITED, engine=c.engine)
            for c in clients
        }
        self.decision = Decision(
            quorum=quorum,
            replica_count=len(clients),
            votes=list(self.votes.values()),
            min_engines=min_engines,
        )
        self.decided = False
        self._groups: dict[str, list[Vote]] = {}
        self._errors: dict[tuple[str, str], list[Reply]] = {}

    def take(self, vote: Vote) -> bool:
        """Counts one answer. True when the replicas asked first can no longer agree by
        themselves (a dissent, an error, a second digest, a quorum of one engine): a hedged
        call asks the others now. Check `decided` first: a decided tally needs nobody else."""
        self.votes[vote.replica_id] = vote
        single_engine_quorum = False
        if vote.outcome == Outcome.AGREED:
            group = self._groups.setdefault(vote.digest, [])
            group.append(vote)
            if len(group) >= self.quorum:
                engines = sorted({v.engine for v in group})
                if len(engines) >= self.min_engines:
                    self.decision.digest, self.decision.data = vote.digest, vote.data
                    self.decision.engines = engines
                    self.decided = True
                    return False
                single_engine_quorum = True
        elif vote.outcome == Outcome.FAILED:
            code, _, reason = vote.error.partition(" ")
            alike = self._errors.setdefault((code, reason), [])
            alike.append(Reply(error_code=code, error_reason=reason))
            if code in CALLER_ERRORS and len(alike) >= self.quorum:
                self.decision.common_error = alike[0]
                self.decided = True
                return False
        return vote.outcome != Outcome.AGREED or len(self._groups) > 1 or single_engine_quorum

    def close(self) -> None:
        """Every asked replica answered (or the quorum was met): the decision as it stands."""
        if not self.decided:
            _by_market(self.decision, self.votes)
        _finalise(self.decision, self.votes)

    def taken(self) -> set[str]:
        """Replicas whose answer was counted."""
        return {v.replica_id for v in self.votes.values() if v.outcome != Outcome.NOT_AWAITED}

    def take_late(self, votes: Sequence[Vote]) -> Decision:
        """The answers that came after the decision: recorded with every vote's verdict."""
        for vote in votes:
            self.votes[vote.replica_id] = vote
        _finalise(self.decision, self.votes)
        return self.decision

    def answer(self) -> Decision:
        """A copy for the caller: the late answers still change this tally's decision."""
        decision = self.decision
        return Decision(
            decision.quorum,
            decision.replica_count,
            [_copy(v) for v in decision.votes],
            decision.digest,
            decision.data,
            decision.common_error,
            decision.min_engines,
            decision.refusal,
            list(decision.withheld),
            list(decision.engines),
            decision.agreement,
        )


def _copy(vote: Vote) -> Vote:
    return Vote(
        vote.replica_id,
        vote.address,
        vote.outcome,
        vote.digest,
        vote.latency_micros,
        vote.first_difference,
        vote.error,
        vote.data,
        vote.engine,
        vote.verdict,
        list(vote.outvoted_by),
    )


def decode_quote_set(data: bytes | None) -> market_pb2.QuoteSet | None:
    if data is None:
        return None
    try:
        return market_pb2.QuoteSet.FromString(data)
    except Exception:  # undecodable bytes support nothing
        return None


def _by_market(decision: Decision, votes: dict[str, Vote]) -> None:
    """No identical group across engines: compare market by market, publish what agrees."""
    if decision.common_error is not None:
        return
    answered = [v for v in votes.values() if v.outcome == Outcome.AGREED and v.data is not None]
    if len(answered) < decision.quorum:
        decision.refusal = NO_QUORUM
        return
    if len({v.engine for v in answered}) < decision.min_engines:
        # k answered, but however they agree the rule cannot be met: say so.
        decision.refusal = SINGLE_ENGINE
        return
    decoded: dict[str, market_pb2.QuoteSet | None] = {}
    answers = []
    for vote in sorted(answered, key=lambda v: v.replica_id):
        if vote.digest not in decoded:
            decoded[vote.digest] = decode_quote_set(vote.data)
        answers.append(Answer(vote.replica_id, vote.engine, decoded[vote.digest]))
    agreement = agree(answers, decision.quorum, decision.min_engines)
    decision.agreement = agreement
    if agreement.quote_set is None:
        decision.refusal = agreement.reason or NO_QUORUM
        return
    data = canonical_bytes(agreement.quote_set)
    decision.digest, decision.data = digest_bytes(data), data
    decision.withheld = [(m.market_id, m.reason) for m in agreement.withheld]
    supporters = set(agreement.header_supporters)
    for market in agreement.markets:
        if market.published is not None:
            supporters &= set(market.supporters)
    decision.engines = sorted({v.engine for v in answered if v.replica_id in supporters}) or sorted(
        {v.engine for v in answered if v.replica_id in agreement.header_supporters}
    )


def _finalise(decision: Decision, votes: dict[str, Vote]) -> None:
    """Labels agreement against the accepted digest and explains each dissent."""
    answered = [v for v in votes.values() if v.digest and v.outcome in _ANSWERED]
    majority_digest, majority = decision.digest, decision.data
    # Refused with every answer alike: fewer than k answered (k alike would have decided), so
    # nobody dissented from anybody.
    unanswered_for = (
        not decision.accepted
        and decision.common_error is None
        and len({v.digest for v in answered}) == 1
        and len(answered) < decision.quorum
    )
    # Refused although k or more answered alike: those replicas agreed, only on too few
    # engines to be believed (the other engine down, slow, or answering otherwise).
    one_engine_quorums: set[str] = set()
    if not decision.accepted and decision.common_error is None:
        alike: dict[str, list[Vote]] = {}
        for vote in answered:
            alike.setdefault(vote.digest, []).append(vote)
        one_engine_quorums = {
            digest
            for digest, group in alike.items()
            if len(group) >= decision.quorum
            and len({v.engine for v in group}) < decision.min_engines
        }
    if majority is None and answered:
        # No quorum: compare everyone with the largest group, and nobody counts as agreeing.
        sizes: dict[str, int] = {}
        for vote in answered:
            sizes[vote.digest] = sizes.get(vote.digest, 0) + 1
        majority_digest = max(sorted(sizes), key=lambda d: sizes[d])
        majority = next(v.data for v in answered if v.digest == majority_digest)
    published = None
    for vote in answered:
        if decision.accepted and vote.digest == majority_digest:
            vote.outcome = Outcome.AGREED
            continue
        if decision.accepted and decision.agreement is None and vote.data is not None:
            # A straggler of another digest after the fast path: agreeing market by market
            # within the rounding tolerance is agreeing.
            if published is None:
                published = decode_quote_set(decision.data)
            if tolerably_same(published, decode_quote_set(vote.data)):
                vote.outcome = Outcome.AGREED
                continue
        if (
            decision.accepted
            and decision.agreement is not None
            and _supported_all(decision.agreement, vote.replica_id)
        ):
            vote.outcome = Outcome.AGREED
            continue
        if unanswered_for:
            vote.outcome = Outcome.TOO_FEW_ANSWERS
            continue
        if vote.digest in one_engine_quorums:
            vote.outcome = Outcome.TOO_FEW_ENGINES
            continue
        vote.outcome = Outcome.DISSENTED
        if vote.digest != majority_digest and majority is not None and vote.data is not None:
            vote.first_difference = first_difference(majority, vote.data)
    decision.votes = sorted(votes.values(), key=lambda v: v.replica_id)
    _verdicts(decision)


def tolerably_same(a: market_pb2.QuoteSet | None, b: market_pb2.QuoteSet | None) -> bool:
    if a is None or b is None:
        return False
    if any(getattr(a, n) != getattr(b, n) for n in ("fixture_id", "sport", "phase")):
        return False
    if (a.snapshot_hash, a.event_sequence) != (b.snapshot_hash, b.event_sequence):
        return False
    theirs = {m.market_id: m for m in b.markets}
    return len(theirs) == len(a.markets) and all(
        m.market_id in theirs and markets_agree(m, theirs[m.market_id]) for m in a.markets
    )


def _supported_all(agreement: Agreement, replica_id: str) -> bool:
    return replica_id in agreement.header_supporters and all(
        replica_id in m.supporters for m in agreement.markets if m.published is not None
    )


def _verdicts(decision: Decision) -> None:
    """Who was outvoted by whom. Outvoted on a published market (whose supporters always span
    `min_engines` engines): REPLICA_FAULTY. Outvoted only by a quorum of ONE engine (so the
    market was withheld): MAJORITY_SUSPECT, which never counts against the replica: a majority
    of one engine may share one mistake, and the honest minority must not be quarantined by it.
    """
    agreeing = sorted(v.replica_id for v in decision.votes if v.outcome == Outcome.AGREED)
    agreement = decision.agreement
    for vote in decision.votes:
        vote.outvoted_by = []
        if vote.outcome in (Outcome.BAD_DIGEST, Outcome.ENGINE_MISMATCH, Outcome.MALFORMED):
            vote.verdict = Verdict.REPLICA_FAULTY
            continue
        if vote.outcome not in _ANSWERED:
            vote.verdict = Verdict.NO_ANSWER
            continue
        if agreement is None:
            if decision.accepted:
                # The fast path: one identical group across engines.
                if vote.outcome == Outcome.AGREED:
                    vote.verdict = Verdict.AGREED
                else:
                    vote.verdict = Verdict.REPLICA_FAULTY
                    vote.outvoted_by = agreeing
                continue
            # Refused before any comparison (too few answers, or one engine only).
            groups: dict[str, list[Vote]] = {}
            for other in decision.votes:
                if other.digest and other.outcome in _ANSWERED:
                    groups.setdefault(other.digest, []).append(other)
            mine = groups.get(vote.digest, [])
            big = [
                g
                for g in groups.values()
                if len(g) >= decision.quorum and len({v.engine for v in g}) < decision.min_engines
            ]
            if any(vote in g for g in big):
                vote.verdict = Verdict.UNCONFIRMED
            elif big:
                vote.verdict = Verdict.MAJORITY_SUSPECT
                vote.outvoted_by = sorted(v.replica_id for v in big[0])
            else:
                vote.verdict = (
                    Verdict.NO_MAJORITY if len(mine) < decision.quorum else Verdict.AGREED
                )
            continue
        outvoted: set[str] = set()
        if vote.replica_id not in agreement.header_supporters and agreement.header_supporters:
            outvoted |= set(agreement.header_supporters)
        suspect: set[str] = set()
        unconfirmed = no_majority = False
        for market in agreement.markets:
            if market.published is not None:
                if vote.replica_id not in market.supporters:
                    outvoted |= set(market.supporters)
                continue
            group = market.single_engine_group
            if group and vote.replica_id not in group:
                suspect |= set(group)
            elif group:
                unconfirmed = True
            else:
                no_majority = True
        if decision.accepted and outvoted:
            vote.verdict, vote.outvoted_by = Verdict.REPLICA_FAULTY, sorted(outvoted)
        elif suspect:
            vote.verdict, vote.outvoted_by = Verdict.MAJORITY_SUSPECT, sorted(suspect)
        elif unconfirmed:
            vote.verdict = Verdict.UNCONFIRMED
        elif no_majority or not decision.accepted:
            vote.verdict = Verdict.NO_MAJORITY
        else:
            vote.verdict = Verdict.AGREED
