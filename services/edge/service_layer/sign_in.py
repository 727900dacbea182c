"""FranceConnect's browser round trip, relayed to identity: its login and logout RPCs are open
(their callers have no betmesh token yet); the edge binds each sign-in to the browser that
starts it (domain/signin.py) and turns identity's answers into where the browser goes next.

Identity refusing, or unreachable, sends the browser back to the app with the reason in the
fragment; too many sign-ins from one address get 429 and a delay.
"""

from __future__ import annotations

import logging

from google.rpc import code_pb2

from service_runtime.auth import LOGIN_BINDING_HEADER, VISITOR_HEADER
from service_runtime.errors import DomainError
from services.edge.domain.forwarding import Metadata, UpstreamFailed
from services.edge.domain.signin import (
    IDENTITY_TIMEOUT_SECONDS,
    app_path,
    new_binding,
    own_path,
    repeated,
    retry_after,
)
from services.edge.service_layer.commands import (
    BackToApp,
    CompleteSignIn,
    CompleteSignOut,
    SignInAnswer,
    SlowDown,
    StartSignIn,
    StartSignOut,
    ToProvider,
)
from services.edge.service_layer.ports import EdgeTokens, IdentityRelay

log = logging.getLogger(__name__)
REPEATED = "QUERY_PARAMETER_REPEATED"


class SignIn:
    def __init__(
        self, identity: IdentityRelay, public_url: str, *, edge_tokens: EdgeTokens | None = None
    ) -> None:
        self.identity = identity
        # The origin browsers use; set again once the edge knows its bound port.
        self.public_url = public_url
        # The edge's own credential: with it, identity believes the visitor's address we pass
        # (its per-address rate limits count visitors, not the edge).
        self.edge_tokens = edge_tokens

    @property
    def secure(self) -> bool:
        return self.public_url.startswith("https://")

    async def login(self, command: StartSignIn) -> SignInAnswer:
        if repeated(command.query_keys):
            return BackToApp((("login_error", REPEATED),))
        path = app_path(command.return_to)
        if path is None:
            return BackToApp((("login_error", "RETURN_TO_NOT_ALLOWED"),))
        binding = new_binding()
        metadata = (*await self._vouching(command.visitor), (LOGIN_BINDING_HEADER, binding))
        try:
            url = await self.identity.start_login(self.public_url + path, metadata)
        except (UpstreamFailed, DomainError) as exc:
            return _refused(exc, "login_error")
        return ToProvider(url, binding)

    async def callback(self, command: CompleteSignIn) -> SignInAnswer:
        if repeated(command.query_keys):
            return BackToApp((("login_error", REPEATED),), clear_signin=True)
        if not command.binding:
            # Not the browser that started this sign-in (or its cookie expired): no token.
            # Identity is not asked, so the sign-in stays completable where it started.
            return BackToApp((("login_error", "LOGIN_COOKIE_MISSING"),))
        try:
            done = await self.identity.complete_login(command.query, command.binding)
        except (UpstreamFailed, DomainError) as exc:
            return _refused(exc, "login_error", clear_signin=True)
        return BackToApp(
            (
                ("access_token", done.access_token),
                ("expires_at", str(done.expires_at)),
                ("player_id", done.player_id),
                ("session_id", done.session_id),
            ),
            own_path(done.return_to, self.public_url),
            clear_signin=True,
        )

    async def logout(self, command: StartSignOut) -> SignInAnswer:
        if repeated(command.query_keys):
            return BackToApp((("logout_error", REPEATED),))
        try:
            return ToProvider(await self.identity.start_logout(command.session_id))
        except (UpstreamFailed, DomainError) as exc:
            return _refused(exc, "logout_error")

    async def logout_callback(self, command: CompleteSignOut) -> SignInAnswer:
        if repeated(command.query_keys):
            return BackToApp((("logout_error", REPEATED),))
        try:
            await self.identity.complete_logout(command.state)
        except (UpstreamFailed, DomainError) as exc:
            return _refused(exc, "logout_error")
        return BackToApp((("logged_out", "1"),))

    async def _vouching(self, visitor: str) -> Metadata:
        """The edge's token and the visitor's address, for identity's per-address limits."""
        if self.edge_tokens is None:
            return ()
        try:
            token = await self.edge_tokens.token("betmesh.identity", IDENTITY_TIMEOUT_SECONDS)
        except DomainError as exc:
            # Identity then counts the call against the edge's own address: stricter, not open.
            log.warning("no edge token for identity", extra={"reason": exc.reason})
            return ()
        return (("authorization", f"Bearer {token}"), (VISITOR_HEADER, visitor))


def _refused(
    exc: UpstreamFailed | DomainError, key: str, *, clear_signin: bool = False
) -> SignInAnswer:
    if isinstance(exc, DomainError):
        return BackToApp(((key, exc.reason),), clear_signin=clear_signin)
    log.warning("identity refused a sign-in step", extra={"reason": exc.reason()})
    if exc.code == code_pb2.RESOURCE_EXHAUSTED:
        return SlowDown(retry_after(exc.info()))
    return BackToApp(((key, exc.reason()),), clear_signin=clear_signin)
