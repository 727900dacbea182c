"""The FranceConnect sign-in and sign-out flows over the provider (OidcTransport), the login
store, the player store and the bus. Every check of each step is the domain's
(services/identity/domain/franceconnect.py, oidc.py, players.py); this runs them in order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from service_runtime.errors import Unavailable
from services.identity.domain import oidc
from services.identity.domain.franceconnect import (
    ATTEMPT_LIFETIME,
    Callback,
    CompletedLogin,
    FranceConnectConfig,
    ProviderRefused,
    authorization_url,
    check_callback,
    check_callback_state,
    check_discovery,
    check_login_request,
    check_logout_state,
    check_session,
    check_userinfo_type,
    code_rejected,
    expected_claims,
    issued_tokens,
    login_attempt,
    logout_state,
    logout_unknown,
    logout_url,
    new_session,
    token_request,
)
from services.identity.domain.players import (
    KycMethod,
    admit,
    identity_from_claims,
)
from services.identity.domain.ports import (
    Announcer,
    ExclusionRegister,
    LoginStore,
    OidcTransport,
    PlayerStore,
)


class FranceConnect:
    def __init__(
        self,
        config: FranceConnectConfig,
        transport: OidcTransport,
        logins: LoginStore,
        players: PlayerStore,
        register: ExclusionRegister,
        announcer: Announcer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.transport = transport
        self.logins = logins
        self.players = players
        self.register = register
        self.announcer = announcer
        self.clock = clock
        self._metadata: Mapping[str, Any] | None = None
        self._metadata_lock = asyncio.Lock()
        # Failed discovery fetches so far, and the last one's refusal.
        self._metadata_failures = 0
        self._metadata_failure: Unavailable | None = None
        self.keys = oidc.JwksCache(
            self._fetch_jwks,
            min_refresh_seconds=config.jwks_min_refresh_seconds,
            max_age_seconds=config.jwks_max_age_seconds,
        )

    async def metadata(self) -> Mapping[str, Any]:
        """The provider's discovery document, fetched once. Callers that queued behind a fetch
        the provider did not answer are refused with it: each fetching again in turn made the
        n-th caller wait out n bounds on the provider (DEADLINE_EXCEEDED, not UNAVAILABLE)."""
        failures = self._metadata_failures
        async with self._metadata_lock:
            if self._metadata is None:
                failure = self._metadata_failure
                if failure is not None and self._metadata_failures != failures:
                    raise Unavailable(failure.reason, failure.message, failure.metadata)
                url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    found = await self.transport.get_json(url)
                except Unavailable as exc:
                    self._metadata_failure = exc
                    self._metadata_failures += 1
                    raise
                self._metadata = check_discovery(found, self.config.issuer)
            return self._metadata

    async def _fetch_jwks(self) -> Mapping[str, Any]:
        return await self.transport.get_json(str((await self.metadata())["jwks_uri"]))

    # ---- login ---------------------------------------------------------------------------

    async def start_login(
        self, return_to: str, acr: str | None, browser_binding: str
    ) -> tuple[str, str]:
        """(authorization URL, attempt id), the attempt bound to the browser holding
        `browser_binding` (see domain/franceconnect.py)."""
        binding, level = check_login_request(self.config, return_to, acr, browser_binding)
        metadata = await self.metadata()
        attempt = login_attempt(level, return_to, binding, self.clock())
        await self.logins.save_attempt(attempt)
        url = authorization_url(
            str(metadata["authorization_endpoint"]), self.config, attempt, binding
        )
        return url, attempt.attempt_id

    async def complete_login(self, callback: Callback, browser_binding: str) -> CompletedLogin:
        check_callback_state(callback)
        now = self.clock()
        # Taken first: whatever fails below, this state and its nonce are spent.
        attempt = check_callback(
            callback,
            await self.logins.take_attempt(callback.state, now),
            browser_binding,
            self.config.issuer,
        )
        metadata = await self.metadata()
        try:
            tokens = await self.transport.post_form(
                str(metadata["token_endpoint"]),
                token_request(self.config, callback, attempt, browser_binding),
            )
        except ProviderRefused as refused:
            raise code_rejected(refused) from None
        id_token, access_token = issued_tokens(tokens)
        expected = expected_claims(self.config, attempt)
        id_token = oidc.decrypt(id_token, self.config.decryption_key)
        id_claims = await oidc.verify_signature(id_token, self.keys, self.config.algorithms)
        oidc.check_id_token(id_claims, expected, now.timestamp())
        content_type, body = await self.transport.get_with_bearer(
            str(metadata["userinfo_endpoint"]), access_token
        )
        check_userinfo_type(content_type)
        signed_info = oidc.decrypt(body.strip(), self.config.decryption_key)
        info = await oidc.verify_signature(signed_info, self.keys, self.config.algorithms)
        oidc.check_userinfo(info, expected, str(id_claims["sub"]), self.clock().timestamp())
        identity = identity_from_claims(info)
        admit(identity, self.register, now)
        player, changed = await self.players.upsert_verified(
            identity, KycMethod.FRANCECONNECT.value, now
        )
        if changed:
            await self.announcer.kyc_status_changed(player, now)
        session = new_session(player, id_token)
        await self.logins.save_session(session)
        return CompletedLogin(player, attempt.return_to, session.session_id)

    # ---- logout --------------------------------------------------------------------------

    async def start_logout(self, session_id: str) -> str:
        session = check_session(await self.logins.get_session(session_id) if session_id else None)
        metadata = await self.metadata()
        state = logout_state()
        await self.logins.save_logout(state, session_id, self.clock() + ATTEMPT_LIFETIME)
        return logout_url(str(metadata["end_session_endpoint"]), self.config, session, state)

    async def complete_logout(self, state: str) -> None:
        check_logout_state(state)
        if await self.logins.take_logout(state, self.clock()) is None:
            raise logout_unknown()
