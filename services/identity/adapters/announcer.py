"""KYC and limit changes on the internal event path (Redis Streams)."""

from __future__ import annotations

from datetime import datetime

from betmesh.common.v1 import money_pb2
from betmesh.events.v1 import events_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from service_runtime.events import EventPublisher, Topic
from services.identity.domain.players import Cap, Limits, Player


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _money(cap: Cap | None, pending: bool = False) -> money_pb2.Money | None:
    if cap is None:
        return None
    amount = cap.pending_minor if pending else cap.amount_minor
    if amount is None:
        return None
    return money_pb2.Money(amount_minor=amount, currency=cap.currency)


class EventAnnouncer:
    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher

    async def kyc_status_changed(self, player: Player, now: datetime) -> None:
        status = player.status_at(now)
        await self.publisher.publish(
            Topic.KYC_STATUS_CHANGED,
            events_pb2.EventEnvelope(
                occurred_at=_timestamp(now),
                kyc_status_changed=events_pb2.KycStatusChanged(
                    player_id=player.player_id,
                    kyc_status=f"KYC_STATUS_{status.value}",
                    # Only admitted identities become players (ANJ checks run first).
                    of_age=True,
                    excluded=player.excluded_at(now),
                ),
            ),
        )

    async def limits_changed(self, player_id: str, limits: Limits, now: datetime) -> None:
        # What is in force now, then each raise still waiting out its 48 h as an event of its
        # own with a later effective_at: consumers apply it when that time comes.
        changed = events_pb2.ResponsibleGamblingLimitsChanged(
            player_id=player_id, effective_at=_timestamp(now)
        )
        deposit, stake = _money(limits.deposit), _money(limits.stake)
        if deposit is not None:
            changed.deposit_cap_7d.CopyFrom(deposit)
        if stake is not None:
            changed.stake_cap_7d.CopyFrom(stake)
        await self.publisher.publish(
            Topic.LIMITS_CHANGED,
            events_pb2.EventEnvelope(
                occurred_at=_timestamp(now), responsible_gambling_limits_changed=changed
            ),
        )
        for cap_kind, cap in (("deposit", limits.deposit), ("stake", limits.stake)):
            if cap is not None and cap.pending_minor is not None and cap.pending_effective_at:
                later = events_pb2.ResponsibleGamblingLimitsChanged(
                    player_id=player_id, effective_at=_timestamp(cap.pending_effective_at)
                )
                target = later.deposit_cap_7d if cap_kind == "deposit" else later.stake_cap_7d
                target.amount_minor, target.currency = cap.pending_minor, cap.currency
                await self.publisher.publish(
                    Topic.LIMITS_CHANGED,
                    events_pb2.EventEnvelope(
                        occurred_at=_timestamp(now), responsible_gambling_limits_changed=later
                    ),
                )
