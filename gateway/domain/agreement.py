"""The agreement rule across engines: which markets of a fixture may be published.

A market is published only when at least k replicas AND replicas of at least `min_engines`
distinct engines agree on it. Replicas of one engine produce byte-identical quote sets, and
so do different engines almost always (they share the canonical encoder: one rounding rule to
probability_e9, the margin and the ladder), so the gateway first compares whole quote sets by
digest (`consensus.decide`'s fast path). Only when the digests differ does it compare market by
market here. Two answers agree on a market when its bytes are identical, or when they differ
only as two correct engines can (float rounding straddling a boundary):

- the same market (type, name, line, side, status) with the same selections (ids, names,
  statuses);
- every selection's probability_e9 within TOLERANCE_E9 (1e-6) of the other's;
- if every probability_e9 is identical, the prices and payout must be identical too (they are
  a function of the probabilities through the shared encoder: a price that differs with the
  same probabilities is a wrong price, e.g. the `skew-odds` fault);
- otherwise each price at most one ladder tick from the other's (the probabilities' rounding
  put them on two sides of a tick).

Of the forms of a market that reach k replicas of `min_engines` engines, the one with the
LOWEST payout is published (then the most supporters, then the bytes): a rounding difference
never makes a price more generous than one of the engines that agreed on it. A market without
such a form is withheld: published SUSPENDED with no prices, and listed in the evidence with
its reason (SINGLE_ENGINE when only one engine answered at all, ENGINES_DISAGREE when k
replicas of one engine agreed and another engine answered otherwise, NO_QUORUM otherwise).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2

from service_runtime.digest import canonical_bytes

TOLERANCE_E9 = 1_000
NO_QUORUM = "NO_QUORUM"
ENGINES_DISAGREE = "ENGINES_DISAGREE"
SINGLE_ENGINE = "SINGLE_ENGINE"
HEADER = ("fixture_id", "sport", "phase", "snapshot_hash", "event_sequence")
# The odds ladder's ticks, to tell "one tick apart" (duplicated from the quotes service's
# ladder on purpose: the gateway trusts no replica code). Ten-thousandths.
_BANDS = (
    (10_100, 20_000, 100),
    (20_000, 30_000, 200),
    (30_000, 40_000, 500),
    (40_000, 60_000, 1_000),
    (60_000, 100_000, 2_000),
    (100_000, 200_000, 5_000),
    (200_000, 300_000, 10_000),
    (300_000, 500_000, 20_000),
    (500_000, 1_000_000, 50_000),
    (1_000_000, 10_000_000, 100_000),
)
LADDER = [t for start, end, step in _BANDS for t in range(start, end, step)] + [10_000_000]


@dataclass(frozen=True)
class Answer:
    """One replica's quote set, decoded."""

    replica_id: str
    engine: str
    quote_set: market_pb2.QuoteSet | None  # None: undecodable


@dataclass
class MarketVerdict:
    market_id: str
    published: market_pb2.Market | None  # None: withheld
    supporters: list[str] = field(default_factory=list)  # replica ids behind the published form
    reason: str = ""  # why withheld
    # For a withheld market: the largest group of replicas of one engine that reached k.
    single_engine_group: list[str] = field(default_factory=list)
    # Replica ids per distinct form (for the records).
    groups: list[list[str]] = field(default_factory=list)


@dataclass
class Agreement:
    quote_set: market_pb2.QuoteSet | None  # the set to publish; None: nothing publishable
    markets: list[MarketVerdict]
    reason: str = ""  # set when nothing is publishable
    header_supporters: list[str] = field(default_factory=list)

    @property
    def withheld(self) -> list[MarketVerdict]:
        return [m for m in self.markets if m.published is None]


def _tick(odds_e4: int) -> int:
    return bisect.bisect_left(LADDER, odds_e4)


def markets_agree(a: market_pb2.Market, b: market_pb2.Market) -> bool:
    """The per-market rule above (bytes already known to differ, or not: both work)."""
    if (a.market_id, a.type, a.name, a.line_e2, a.side, a.status) != (
        b.market_id,
        b.type,
        b.name,
        b.line_e2,
        b.side,
        b.status,
    ) or len(a.selections) != len(b.selections):
        return False
    same_probabilities = True
    for x, y in zip(a.selections, b.selections, strict=True):
        if (x.selection_id, x.name, x.status) != (y.selection_id, y.name, y.status):
            return False
        if abs(x.probability_e9 - y.probability_e9) > TOLERANCE_E9:
            return False
        same_probabilities = same_probabilities and x.probability_e9 == y.probability_e9
    if same_probabilities:
        return a.payout_e4 == b.payout_e4 and all(
            x.odds_e4 == y.odds_e4 for x, y in zip(a.selections, b.selections, strict=True)
        )
    for x, y in zip(a.selections, b.selections, strict=True):
        if (x.odds_e4 == 0) != (y.odds_e4 == 0):
            return False
        if x.odds_e4 and abs(_tick(x.odds_e4) - _tick(y.odds_e4)) > 1:
            return False
    return True


def _header(quote_set: market_pb2.QuoteSet) -> tuple[object, ...]:
    return tuple(getattr(quote_set, name) for name in HEADER)


def _withheld_market(template: market_pb2.Market) -> market_pb2.Market:
    """A withheld market as published: SUSPENDED, every price and probability cleared."""
    market = market_pb2.Market(
        market_id=template.market_id,
        type=template.type,
        name=template.name,
        line_e2=template.line_e2,
        side=template.side,
        status=market_pb2.MARKET_STATUS_SUSPENDED,
    )
    for selection in template.selections:
        market.selections.add(
            selection_id=selection.selection_id,
            name=selection.name,
            status=market_pb2.SELECTION_STATUS_WITHDRAWN,
        )
    return market


def _refusal(groups: Sequence[list[Answer]], answers: Sequence[Answer], quorum: int) -> str:
    """Why no form qualified: one engine only, engines disagreeing, or no quorum at all."""
    engines = {a.engine for a in answers}
    if any(len(g) >= quorum for g in groups):
        return SINGLE_ENGINE if len(engines) < 2 else ENGINES_DISAGREE
    return NO_QUORUM


def agree(answers: Sequence[Answer], quorum: int, min_engines: int) -> Agreement:
    """Market by market agreement among the answers (replicas with a quote set)."""
    usable = [a for a in answers if a.quote_set is not None]
    # The header (fixture, phase, snapshot, event sequence) must itself agree exactly.
    by_header: dict[tuple[object, ...], list[Answer]] = {}
    for answer in usable:
        assert answer.quote_set is not None
        by_header.setdefault(_header(answer.quote_set), []).append(answer)
    header_groups = sorted(by_header.values(), key=len, reverse=True)
    qualified = [
        g for g in header_groups if len(g) >= quorum and len({a.engine for a in g}) >= min_engines
    ]
    if not qualified:
        return Agreement(None, [], _refusal(header_groups, usable, quorum))
    heads = qualified[0]
    header_ids = {a.replica_id for a in heads}
    first = heads[0].quote_set
    assert first is not None
    # Only replicas that agree on the header can support a market.
    usable = [a for a in usable if a.replica_id in header_ids]
    forms: dict[str, dict[str, market_pb2.Market]] = {}
    for answer in usable:
        assert answer.quote_set is not None
        for market in answer.quote_set.markets:
            forms.setdefault(market.market_id, {})[answer.replica_id] = market
    engine_of = {a.replica_id: a.engine for a in usable}
    verdicts: list[MarketVerdict] = []
    published = market_pb2.QuoteSet()
    for name in HEADER:
        setattr(published, name, getattr(first, name))
    for market_id in sorted(forms):
        by_replica = forms[market_id]
        distinct: dict[bytes, list[str]] = {}
        for replica_id, market in sorted(by_replica.items()):
            distinct.setdefault(canonical_bytes(market), []).append(replica_id)
        candidates = []
        for data, holders in distinct.items():
            form = by_replica[holders[0]]
            supporters = [
                r
                for other, others in distinct.items()
                for r in others
                if other == data or markets_agree(form, by_replica[others[0]])
            ]
            if len(supporters) >= quorum and len({engine_of[r] for r in supporters}) >= min_engines:
                candidates.append(
                    (form.payout_e4, -len(supporters), data, form, sorted(supporters))
                )
        groups = sorted((sorted(h) for h in distinct.values()), key=lambda g: (-len(g), g))
        if candidates:
            _, _, _, form, supporters = min(candidates, key=lambda c: c[:3])
            verdicts.append(MarketVerdict(market_id, form, supporters, groups=groups))
            published.markets.append(form)
            continue
        single = [g for g in groups if len(g) >= quorum and len({engine_of[r] for r in g}) < 2]
        reason = _refusal(
            [[a for a in usable if a.replica_id in g] for g in groups], usable, quorum
        )
        verdicts.append(
            MarketVerdict(
                market_id,
                None,
                reason=reason,
                single_engine_group=single[0] if single else [],
                groups=groups,
            )
        )
        template = by_replica[sorted(by_replica)[0]]
        published.markets.append(_withheld_market(template))
    if verdicts and all(v.published is None for v in verdicts):
        reasons = {v.reason for v in verdicts}
        for reason in (ENGINES_DISAGREE, SINGLE_ENGINE, NO_QUORUM):
            if reason in reasons:
                return Agreement(None, verdicts, reason, sorted(header_ids))
        return Agreement(None, verdicts, NO_QUORUM, sorted(header_ids))
    return Agreement(published, verdicts, "", sorted(header_ids))
