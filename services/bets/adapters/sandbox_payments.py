"""A payment provider for the demo and tests: approves every payment method but one."""

from __future__ import annotations

import threading
import uuid

from service_runtime.errors import FailedPrecondition
from services.bets.domain.ports import Charge

DECLINED_PAYMENT_METHOD = "pm_card_declined"


class SandboxPaymentProvider:
    """Behaves like a real provider where the ledger depends on it: idempotent by key."""

    name = "sandbox"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charges: dict[str, tuple[tuple[str, int, str, str], Charge]] = {}

    def charge(
        self,
        idempotency_key: str,
        player_id: str,
        amount_minor: int,
        currency: str,
        payment_method_id: str,
    ) -> Charge:
        if payment_method_id == DECLINED_PAYMENT_METHOD:
            raise FailedPrecondition(
                "PAYMENT_DECLINED",
                "the payment provider declined the payment method",
                {"payment_method_id": payment_method_id, "provider": self.name},
            )
        request = (player_id, amount_minor, currency, payment_method_id)
        with self._lock:
            known = self._charges.get(idempotency_key)
            if known is not None:
                if known[0] != request:
                    raise FailedPrecondition(
                        "IDEMPOTENCY_KEY_REUSED",
                        "the payment provider saw this idempotency_key with another payment",
                    )
                return known[1]
            charge = Charge(charge_id=f"ch_sandbox_{uuid.uuid4().hex}", provider=self.name)
            self._charges[idempotency_key] = (request, charge)
            return charge

    def payout(
        self,
        idempotency_key: str,
        player_id: str,
        amount_minor: int,
        currency: str,
        payment_method_id: str,
    ) -> Charge:
        return self.charge(
            f"payout:{idempotency_key}", player_id, amount_minor, currency, payment_method_id
        )
