"""Who may act as the book: settle, void, roll back, read reports and held results."""

from __future__ import annotations

from service_runtime.errors import PermissionDenied
from services.bets.domain.wallet import PRIVILEGED_ROLES, Caller


def require_operator(caller: Caller | None) -> None:
    if caller is None:
        # Anonymous callers are admitted only while no authenticator is wired; never as operators.
        raise PermissionDenied("OPERATOR_REQUIRED", "this call needs an operator or a service")
    if caller.role not in PRIVILEGED_ROLES:
        raise PermissionDenied(
            "OPERATOR_REQUIRED", f"role {caller.role!r} may not settle, void or roll back"
        )
