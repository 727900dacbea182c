"""Replica sets per sport and their health: quarantine after repeated wrong answers,
readmission after repeated agreement, and a rest (not awaited) after repeated timeouts.
Thresholds come from configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from gateway.domain.consensus import Decision, Outcome, Verdict

# An answer that is wrong: outvoted (a DISSENTED vote counts only as REPLICA_FAULTY), a false
# digest, a false engine, bytes that are no answer. Only these count towards quarantine.
FAULTS = {Outcome.DISSENTED, Outcome.BAD_DIGEST, Outcome.ENGINE_MISMATCH, Outcome.MALFORMED}
# No answer: the replica is unavailable (overloaded, starting, down), not wrong. Counted
# (timed_out_total), never towards quarantine, and never clearing the count of wrong answers
# either: a first pass that overloads every replica quarantined healthy ones when it counted.
UNANSWERED = {Outcome.TIMED_OUT, Outcome.UNAVAILABLE}
# Calls in a row that found no gRPC server at the replica's address (no connection, a socket
# that accepts and says nothing, bytes that are not gRPC) before the operator is shown it as
# unreachable. Shown only: it is still asked, and counts again with its next answer. A replica
# answering after the deadline is reached, only slow (timed_out_total). Without it a replica
# dead for hours showed HEALTHY with every total at zero, the set one failure away from no
# prices and nobody told.
UNREACHABLE_AFTER = 3


class State(Enum):
    HEALTHY = "HEALTHY"
    QUARANTINED = "QUARANTINED"


@dataclass
class ReplicaHealth:
    replica_id: str
    address: str
    state: State = State.HEALTHY
    consecutive_faults: int = 0
    consecutive_agreements: int = 0
    agreed_total: int = 0
    dissented_total: int = 0
    timed_out_total: int = 0
    unavailable_total: int = 0
    # Calls in a row that found no gRPC server there; any other outcome ends the run.
    consecutive_unavailable: int = 0
    last_outcome: Outcome | None = None
    engine: str = ""
    majority_suspect_total: int = 0
    last_verdict: Verdict | None = None
    # Quarantined by an operator: kept out until an operator readmits it (agreements alone do
    # not readmit it: the operator knows something the votes do not).
    held_by_operator: bool = False
    # Timeouts in a row (any answer ends the run), and until when (the caller's clock) the
    # replica rests: not asked, so that no call waits out its deadline (see `stepping_aside`).
    consecutive_timeouts: int = 0
    resting_until: float = 0.0

    def resting(self, policy: HealthPolicy) -> bool:
        """Timed out too often in a row: asked only once its cool-down is over."""
        return 0 < policy.rest_after <= self.consecutive_timeouts

    @property
    def unreachable(self) -> bool:
        return self.consecutive_unavailable >= UNREACHABLE_AFTER


@dataclass
class HealthPolicy:
    quarantine_after: int = 3
    readmit_after: int = 2
    # A replica that timed out this many times in a row is unavailable, not wrong: it is not
    # asked (so not awaited) for `rest_seconds`, then one call asks it again; an answer ends
    # the rest, another timeout starts a new one. Without it, a replica that never answers (a
    # frozen process, a partition) was awaited on every call: each call the others could not
    # decide without it paid the whole deadline. 0: never rest.
    rest_after: int = 3
    rest_seconds: float = 10.0


@dataclass
class ReplicaSetHealth:
    sport: int
    quorum: int
    replicas: dict[str, ReplicaHealth] = field(default_factory=dict)
    policy: HealthPolicy = field(default_factory=HealthPolicy)

    def set_by_operator(self, replica_id: str, quarantined: bool) -> bool:
        """An operator's quarantine or readmission; False when the replica is not in this set.
        Readmission starts from a clean slate, as a replica the votes readmitted would."""
        health = self.replicas.get(replica_id)
        if health is None:
            return False
        health.held_by_operator = quarantined
        health.state = State.QUARANTINED if quarantined else State.HEALTHY
        health.consecutive_faults = 0
        health.consecutive_agreements = 0
        return True

    def counting(self) -> list[str]:
        return [r.replica_id for r in self.replicas.values() if r.state == State.HEALTHY]

    def stepping_aside(self, now: float) -> set[str]:
        """Replicas this call must not ask: those resting after repeated timeouts. The rule is
        unchanged without them (k agreeing replicas of enough engines, or no price): a call
        that needs them is refused at once instead of after their deadline. A replica whose
        cool-down is over is asked by this call alone (its probe), and the cool-down restarts
        for the calls that come while the probe is out: one deadline per cool-down at most."""
        aside = set()
        for health in self.replicas.values():
            if not health.resting(self.policy):
                continue
            if now < health.resting_until:
                aside.add(health.replica_id)
            else:
                health.resting_until = now + self.policy.rest_seconds
        return aside

    def unreachable(self) -> set[str]:
        """Replicas shown unreachable: no gRPC server at their address for their last calls
        (still asked), or timing out in a row (resting: asked once per cool-down), until they
        answer again."""
        return {
            r.replica_id for r in self.replicas.values() if r.unreachable or r.resting(self.policy)
        }

    def engines(self) -> list[str]:
        return sorted({r.engine for r in self.replicas.values() if r.engine})

    def record(self, decision: Decision, now: float = 0.0) -> list[tuple[str, State]]:
        """Updates every replica from a completed decision (`now`: when, on the clock
        `stepping_aside` is given); returns state changes."""
        changes = []
        for vote in decision.votes:
            health = self.replicas.get(vote.replica_id)
            if health is None or vote.outcome in (Outcome.NOT_AWAITED, Outcome.RESTING):
                continue
            # Any answer, a refusal of the request or a late one included, says it is there.
            if vote.outcome == Outcome.UNAVAILABLE:
                health.consecutive_unavailable += 1
            else:
                health.consecutive_unavailable = 0
            if vote.outcome == Outcome.TIMED_OUT:
                health.consecutive_timeouts += 1
                if health.resting(self.policy):
                    health.resting_until = now + self.policy.rest_seconds
            elif vote.outcome not in (Outcome.UNAVAILABLE, Outcome.QUARANTINED):
                # It answered (an UNAVAILABLE costs no wait, and says nothing of its speed).
                health.consecutive_timeouts = 0
                health.resting_until = 0.0
            if vote.outcome == Outcome.FAILED:
                # A replica refusing a bad request is behaving; it is neither fault nor proof.
                continue
            health.last_outcome = vote.outcome
            if vote.engine and not health.engine:
                health.engine = vote.engine
            if vote.verdict != Verdict.NO_ANSWER or vote.outcome in FAULTS | UNANSWERED:
                health.last_verdict = vote.verdict
            if vote.outcome in UNANSWERED:
                health.timed_out_total += vote.outcome == Outcome.TIMED_OUT
                health.unavailable_total += vote.outcome == Outcome.UNAVAILABLE
                continue
            if vote.verdict == Verdict.MAJORITY_SUSPECT:
                # Outvoted by one engine only: the majority is suspect, not this replica.
                health.majority_suspect_total += 1
                continue
            if vote.outcome == Outcome.DISSENTED and vote.verdict != Verdict.REPLICA_FAULTY:
                # Withheld markets or no majority: nobody can tell who is wrong.
                continue
            if vote.outcome == Outcome.AGREED and decision.accepted:
                health.agreed_total += 1
                health.consecutive_faults = 0
                health.consecutive_agreements += 1
                if (
                    health.state == State.QUARANTINED
                    and not health.held_by_operator
                    and health.consecutive_agreements >= self.policy.readmit_after
                ):
                    health.state = State.HEALTHY
                    changes.append((vote.replica_id, State.HEALTHY))
            elif vote.outcome in FAULTS and (
                decision.accepted or vote.outcome != Outcome.DISSENTED
            ):
                # Without a quorum nobody can tell who dissents, so disagreement alone is no fault.
                health.dissented_total += 1
                health.consecutive_agreements = 0
                health.consecutive_faults += 1
                if (
                    health.state == State.HEALTHY
                    and health.consecutive_faults >= self.policy.quarantine_after
                ):
                    health.state = State.QUARANTINED
                    changes.append((vote.replica_id, State.QUARANTINED))
        return changes
