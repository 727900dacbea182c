"""Ubble (France; now part of Checkout.com), v1 API shape: the paid KYC provider we implement.

- Sessions: POST {api}/identifications/ (JSON:API, HTTP Basic with our client id and secret)
  answers the identification id and the URL where the player captures document and selfie.
- Webhooks: header `Ubble-Signature: ts=<unix seconds>,v1=<hex>` where v1 is
  HMAC-SHA256(webhook secret, ts + "." + raw body). The body names the identification and its
  new status. Ubble's v1 webhooks carry no event id: a redelivery repeats identification and
  status, so that pair is the de-duplication key.
- Outcome: GET {api}/identifications/{id}/ -> status, score (1 = valid) and the document's
  identity, re-fetched before acting on any webhook.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import httpx

from service_runtime.errors import InvalidArgument, Unauthenticated, Unavailable
from services.identity.adapters.bounded_http import send_bounded
from services.identity.domain.kyc import Outcome, Verdict, VerificationSession, WebhookEvent
from services.identity.domain.players import VerifiedIdentity

SIGNATURE_HEADER = "ubble-signature"
TIMESTAMP_WINDOW_SECONDS = 300
FINAL_STATUSES = frozenset({"processed", "aborted", "expired"})
MAX_WEBHOOK_BYTES = 64 * 1024
# The provider's whole answer, where its client's timeout (10 s) bounds each read only.
TOTAL_SECONDS = 20.0
# An identification is a few kB; anything past this is not an answer we can use.
MAX_ANSWER_BYTES = 256 * 1024


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def sign(secret: bytes, timestamp: int, raw_body: bytes) -> str:
    """The Ubble-Signature header value for a body (what the provider sends; tests use it)."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + raw_body, hashlib.sha256)
    return f"ts={timestamp},v1={digest.hexdigest()}"


def _refuse(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(reason, message)


class UbbleProvider:
    name = "ubble"

    def __init__(
        self,
        api_base: str,
        client_id: str,
        client_secret: str,
        webhook_secret: bytes,
        redirect_url: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.webhook_secret = webhook_secret
        self.redirect_url = redirect_url
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(10.0),
            auth=httpx.BasicAuth(client_id, client_secret),
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def _call(self, method: str, path: str, body: Any | None = None) -> dict[str, Any]:
        try:
            # The whole exchange, not one read (httpx bounds each wait for bytes): an answer
            # trickled a byte at a time must not hold the player's call past its deadline.
            async with asyncio.timeout(TOTAL_SECONDS):
                response = await send_bounded(
                    self.client,
                    self.client.build_request(
                        method,
                        f"{self.api_base}{path}",
                        json=body,
                        headers={"accept": "application/vnd.api+json"},
                    ),
                    MAX_ANSWER_BYTES,
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise Unavailable("KYC_PROVIDER_UNREACHABLE", type(exc).__name__) from None
        if response is None:
            raise Unavailable("KYC_PROVIDER_RESPONSE_TOO_LARGE", "oversized ubble answer")
        if response.status_code not in (200, 201):
            raise Unavailable(
                "KYC_PROVIDER_UNAVAILABLE", f"ubble answered HTTP {response.status_code}"
            )
        try:
            answer = response.json()
        except ValueError:
            raise Unavailable("KYC_PROVIDER_UNAVAILABLE", "ubble did not answer JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise Unavailable("KYC_PROVIDER_UNAVAILABLE", "unexpected ubble answer")
        return answer

    async def create_session(self, player_id: str) -> VerificationSession:
        answer = await self._call(
            "POST",
            "/identifications/",
            {
                "data": {
                    "type": "identifications",
                    "attributes": {
                        "identification-form": {"external-user-id": player_id},
                        "redirect_url": self.redirect_url,
                    },
                }
            },
        )
        attributes = answer["data"].get("attributes", {})
        session_id, url = attributes.get("identification-id"), attributes.get("identification-url")
        if not isinstance(session_id, str) or not isinstance(url, str):
            raise Unavailable("KYC_PROVIDER_UNAVAILABLE", "ubble gave no identification")
        return VerificationSession(session_id, url)

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, now: datetime
    ) -> WebhookEvent:
        if len(raw_body) > MAX_WEBHOOK_BYTES:
            raise InvalidArgument("WEBHOOK_TOO_LARGE", "webhook body too large")
        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        timestamp, presented = parts.get("ts", ""), parts.get("v1", "")
        if not presented:
            raise _refuse("WEBHOOK_SIGNATURE_MISSING", f"no signature in {SIGNATURE_HEADER}")
        # ASCII digits of a plausible size and a hex digest, nothing else ("²".isdigit() is
        # true, and int() of 5,000 digits raises): a malformed header is the caller's mistake.
        if not _TIMESTAMP.fullmatch(timestamp) or not _HEX_DIGEST.fullmatch(presented):
            raise InvalidArgument(
                "WEBHOOK_SIGNATURE_MALFORMED", f"{SIGNATURE_HEADER} must be ts=<unix>,v1=<hex>"
            )
        expected = sign(self.webhook_secret, int(timestamp), raw_body).split("v1=", 1)[1]
        # Constant time: the comparison must not tell a forger how many characters were right.
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise _refuse("WEBHOOK_SIGNATURE_INVALID", "the signature does not match the body")
        # Checked after the signature, so that the timestamp itself is authenticated.
        if abs(now.timestamp() - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
            raise _refuse("WEBHOOK_TIMESTAMP_STALE", "the webhook is outside the time window")
        try:
            payload = json.loads(raw_body)
        except ValueError:
            raise InvalidArgument("WEBHOOK_MALFORMED", "the body is not JSON") from None
        identification, status = (
            (payload.get("identification_id"), payload.get("status"))
            if isinstance(payload, dict)
            else (None, None)
        )
        if not isinstance(identification, str) or not isinstance(status, str):
            raise InvalidArgument("WEBHOOK_MALFORMED", "identification_id and status required")
        return WebhookEvent(
            event_id=f"{identification}:{status}",
            session_id=identification,
            final=status in FINAL_STATUSES,
        )

    async def fetch_outcome(self, session_id: str) -> Outcome:
        answer = await self._call("GET", f"/identifications/{session_id}/")
        attributes = answer["data"].get("attributes", {})
        status, score = attributes.get("status"), attributes.get("score")
        if status in ("aborted", "expired"):
            return Outcome(Verdict.DECLINED)
        if status != "processed":
            return Outcome(Verdict.PENDING)
        if score != 1:
            return Outcome(Verdict.DECLINED)
        identity = _identity(session_id, answer.get("included", []))
        return Outcome(Verdict.APPROVED, identity) if identity else Outcome(Verdict.DECLINED)


def _identity(session_id: str, included: Any) -> VerifiedIdentity | None:
    """The identity read from the verified document."""
    for item in included if isinstance(included, list) else []:
        if not isinstance(item, dict) or item.get("type") != "documents":
            continue
        doc = item.get("attributes", {})
        try:
            birthdate = date.fromisoformat(str(doc.get("birth-date")))
        except ValueError:
            return None
        first, last = doc.get("first-name"), doc.get("last-name")
        if not isinstance(first, str) or not isinstance(last, str) or not first or not last:
            return None
        return VerifiedIdentity(
            subject=session_id,
            given_name=first,
            family_name=last,
            birthdate=birthdate,
            gender=str(doc.get("gender", "")),
            birthplace=str(doc.get("birth-place", "")),
            birthcountry=str(doc.get("nationality", "")),
        )
    return None
