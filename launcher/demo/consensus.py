"""The summary's consensus line: the gateway's dissent records read as decisions.

ListDissents returns one record per VOTE, and a refused or partial decision is recorded with
every vote (the replicas that answered, and those that did not). Counting records therefore
counts replicas, not disagreements: one pre-match call that two of three football replicas
could not answer within the deadline on a loaded machine shows as three "dissents" although no
two replicas priced anything differently. Here the records are grouped by decision and each
decision is told apart: replicas that answered with different prices (a real disagreement, to
investigate), or a refusal in which every answer that arrived was the same and the others
gave none (timed out, unavailable: load or start-up, not a wrong price).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

_OUTVOTED = frozenset({pb.DISSENT_VERDICT_REPLICA_FAULTY, pb.DISSENT_VERDICT_MAJORITY_SUSPECT})
# Decisions that only happen when answers differ: a faulty vote recorded on an accepted set,
# markets withheld from a partial one, one engine's quorum contradicted by another engine.
_DIFFERED = frozenset({"ACCEPTED", "PARTIAL", "ENGINES_DISAGREE"})


@dataclass
class Decision:
    """One consensus decision as recorded (all its votes' records)."""

    decision_id: str
    fixture_id: str
    outcome: str  # ACCEPTED, PARTIAL, NO_QUORUM, ENGINES_DISAGREE, SINGLE_ENGINE
    records: list[pb.Dissent] = field(default_factory=list)

    @property
    def answered(self) -> list[pb.Dissent]:
        return [r for r in self.records if r.vote.digest]

    @property
    def unanswered(self) -> list[pb.Dissent]:
        return [r for r in self.records if not r.vote.digest]

    @property
    def disagreement(self) -> bool:
        """Did two replicas answer with different bytes (or one answer falsely)?"""
        return (
            self.outcome in _DIFFERED
            or any(r.verdict in _OUTVOTED or r.vote.first_difference for r in self.records)
            or len({r.vote.digest for r in self.answered}) > 1
        )


def decisions(records: Sequence[pb.Dissent]) -> list[Decision]:
    """The records grouped by decision, in the order first seen (records written before
    decisions had ids stand alone)."""
    grouped: dict[str, Decision] = {}
    for index, record in enumerate(records):
        key = record.decision_id or f"record-{index}"
        decision = grouped.get(key)
        if decision is None:
            decision = grouped[key] = Decision(key, record.fixture_id, record.decision)
        decision.records.append(record)
    return list(grouped.values())


def _outcome_name(record: pb.Dissent) -> str:
    return pb.VoteOutcome.Name(record.vote.outcome).removeprefix("VOTE_OUTCOME_")


def explain(decision: Decision) -> str:
    """One line an operator can act on."""
    fixture = decision.fixture_id[:60]
    if decision.disagreement:
        differing = [
            f"{r.vote.replica_id} ({r.vote.first_difference[:80]})"
            if r.vote.first_difference
            else r.vote.replica_id
            for r in decision.records
            if r.verdict in _OUTVOTED or r.vote.first_difference
        ]
        return (
            f"{fixture}: {decision.outcome or 'recorded'}, replicas priced it differently: "
            + (", ".join(differing) or "see ListDissents")
            + " -- investigate (ListDissents has every vote)"
        )
    silent = ", ".join(f"{r.vote.replica_id} {_outcome_name(r)}" for r in decision.unanswered)
    answered = len(decision.answered)
    heard = {0: "no replica answered", 1: "1 replica answered"}.get(
        answered, f"{answered} replicas answered, all alike"
    )
    return (
        f"{fixture}: {decision.outcome or 'refused'}, {heard}; no answer from "
        f"{silent or 'the others'}: too slow or unreachable (load, start-up), not a price "
        "disagreement; nothing was published from it and the fixture is priced again on the "
        "next call"
    )


@dataclass
class SportConsensus:
    """One sport's recorded decisions this run."""

    records: int = 0
    decisions: list[Decision] = field(default_factory=list)

    @property
    def disagreements(self) -> list[Decision]:
        return [d for d in self.decisions if d.disagreement]

    @property
    def unanswered(self) -> list[Decision]:
        return [d for d in self.decisions if not d.disagreement]

    def summary(self) -> dict[str, object]:
        return {
            "records": self.records,
            "decisions": len(self.decisions),
            "disagreements": len(self.disagreements),
            "refused_for_lack_of_answers": len(self.unanswered),
            "explained": [explain(d) for d in self.decisions],
        }


def summarise(records: Sequence[pb.Dissent]) -> SportConsensus:
    return SportConsensus(len(records), decisions(records))
