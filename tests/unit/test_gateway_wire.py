"""The gateway answers with quote sets spliced into the response on the wire: the result must
be exactly the message a client would have got from building it field by field."""

from __future__ import annotations

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from gateway.domain.model import Accepted
from gateway.servicer import accepted_response
from service_runtime.digest import canonical_bytes, digest_bytes


def _accepted(selections: int) -> Accepted:
    quote_set = market_pb2.QuoteSet(
        fixture_id="f1", sport=sport_pb2.SPORT_FOOTBALL, phase=market_pb2.PRICING_PHASE_LIVE
    )
    market = quote_set.markets.add(market_id="1x2", type=market_pb2.MARKET_TYPE_MATCH_RESULT)
    for n in range(selections):
        market.selections.add(selection_id=f"s{n}", odds_e4=10_000 + n, probability_e9=n)
    data = canonical_bytes(quote_set)
    evidence = pb.QuorumEvidence(quorum=2, replica_count=3)
    return Accepted(data, digest_bytes(data), evidence, 1_700_000_000.5, "sha256:fixture")


def test_the_spliced_answer_is_the_message_built_field_by_field() -> None:
    # 0 selections: a short quote set; 2,000: lengths that need multi-byte varints.
    for selections in (0, 3, 2_000):
        accepted = _accepted(selections)
        for response_type in (pb.GetConsensusQuoteResponse, pb.GetAcceptedQuoteSetResponse):
            got = response_type.FromString(accepted_response(accepted)).accepted
            assert got.quote_set == accepted.quote_set
            assert got.canonical_quote_set == accepted.data
            assert got.digest == accepted.digest
            assert got.evidence == accepted.evidence
            assert got.accepted_at.ToNanoseconds() == 1_700_000_000_500_000_000
            assert got.quote_set_id == f"{accepted.digest}@1700000000500"
