"""Who may ask a signer for a signature: the oracle's own client credential, nobody else.

The runtime has already checked the token (signature, issuer, audience betmesh.signer, role
service); a signer narrows it to the client ids it is configured for, because every internal
service holds the service role and none but the oracle may obtain signatures.
"""

from __future__ import annotations

from collections.abc import Collection

from service_runtime.auth import Principal
from service_runtime.errors import PermissionDenied

SERVICE_ROLE = "service"


def authorize(
    principal: Principal | None, allowed_clients: Collection[str], allow_anonymous: bool
) -> None:
    if principal is None:
        if allow_anonymous:  # development meshes started with --auth anonymous only
            return
        raise PermissionDenied("CALLER_NOT_ORACLE", "a signer answers the oracle's token only")
    if principal.role != SERVICE_ROLE or principal.subject not in allowed_clients:
        raise PermissionDenied(
            "CALLER_NOT_ORACLE",
            "a signer answers the oracle's client credential only",
            {"role": principal.role},
        )
