"""Starts tests/oidc/provider.mjs as a real process and plays the browser against it."""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).with_name("provider.mjs")
CLIENT_ID = "betmesh-test-client"
REDIRECT_URI = "http://127.0.0.1:9/franceconnect/callback"
PLUS_CLIENT_ID = "betmesh-test-client-plus"
POST_LOGOUT_REDIRECT_URI = "http://127.0.0.1:9/franceconnect/logged-out"
START_TIMEOUT_SECONDS = 30.0


def years_ago(years: int, today: date | None = None) -> date:
    """A birthdate that makes someone exactly `years` old today (minus a day of margin)."""
    today = today or date.today()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return date.fromordinal(birthday.toordinal() - 1)


def fc_sub(login: str) -> str:
    # FranceConnect's subject shape: 64 hex characters and "v1".
    return hashlib.sha256(login.encode()).hexdigest() + "v1"


@dataclass(frozen=True)
class Identity:
    login: str
    given_name: str
    family_name: str
    birthdate: date
    gender: str = "female"
    birthplace: str = "75107"
    birthcountry: str = "99100"
    max_acr: str = "eidas1"
    password: str = field(default="123")

    def as_provider_entry(self) -> dict[str, str]:
        return {
            "login": self.login,
            "password": self.password,
            "sub": fc_sub(self.login),
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birthdate": self.birthdate.isoformat(),
            "gender": self.gender,
            "birthplace": self.birthplace,
            "birthcountry": self.birthcountry,
            "email": f"{self.login}@example.test",
            "preferred_username": "",
            "max_acr": self.max_acr,
        }


@dataclass
class RunningProvider:
    port: int
    client_secret: str
    process: subprocess.Popen[str]

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v2"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rotate_key(self) -> str:
        response = httpx.post(f"{self.base}/test/rotate-key", timeout=10)
        response.raise_for_status()
        return str(response.json()["kid"])

    def jwks_silent(self, on: bool) -> None:
        """While on, the provider's JWKS endpoint accepts requests and never answers them."""
        response = httpx.post(f"{self.base}/test/jwks-silent?on={int(on)}", timeout=10)
        response.raise_for_status()

    def replace_key(self) -> str:
        """A new signing key under the current kid (the old key leaves the JWKS)."""
        response = httpx.post(f"{self.base}/test/replace-key", timeout=10)
        response.raise_for_status()
        return str(response.json()["kid"])


@contextlib.contextmanager
def run_provider(
    identities: list[Identity],
    client_secret: str,
    extra_clients: Sequence[Mapping[str, object]] = (),
) -> Iterator[RunningProvider]:
    node = "node"
    with tempfile.TemporaryDirectory(prefix="betmesh-oidc-") as tmp:
        config = Path(tmp) / "provider.json"
        config.write_text(
            json.dumps(
                {
                    "port": 0,
                    "test_switches": True,
                    "clients": [
                        {
                            "client_id": CLIENT_ID,
                            "client_secret": client_secret,
                            "redirect_uris": [REDIRECT_URI],
                            "post_logout_redirect_uris": [POST_LOGOUT_REDIRECT_URI],
                        },
                        *extra_clients,
                    ],
                    "identities": [i.as_provider_entry() for i in identities],
                }
            )
        )
        process = subprocess.Popen(
            [node, str(PROGRAM), str(config)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            port = _wait_ready(process)
            yield RunningProvider(port, client_secret, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[str]) -> int:
    found: list[int] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("READY "):
                found.append(int(line.split()[1]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    if not found:
        process.kill()
        raise RuntimeError("the OpenID provider did not start")
    return found[0]


class Browser:
    """Follows redirects like a browser, fills in the scripted login form, and stops at our
    redirect URIs (nothing listens there: what matters is what the provider sends)."""

    def __init__(self) -> None:
        self.client = httpx.AsyncClient(follow_redirects=False, timeout=10)

    async def close(self) -> None:
        await self.client.aclose()

    async def _follow(self, response: httpx.Response, stop_at: str) -> httpx.Response | str:
        for _ in range(20):
            location = response.headers.get("location")
            if response.status_code == 200 and "document.forms[0].submit()" in response.text:
                # A self-submitting form (the provider ends the previous account's session
                # when another one logs in): what a browser's JavaScript would do.
                response = await self._submit_form(response)
                continue
            if response.status_code not in (302, 303) or location is None:
                return response
            target: str = urljoin(str(response.url), location)
            if target.startswith(stop_at):
                return target
            response = await self.client.get(target)
        raise AssertionError("redirect loop")  # pragma: no cover

    async def _submit_form(self, page: httpx.Response) -> httpx.Response:
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None, page.text[:500]
        inputs = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        return await self.client.post(
            urljoin(str(page.url), html.unescape(action.group(1))), data=inputs
        )

    async def login(
        self, authorization_url: str, login: str, password: str = "123"
    ) -> dict[str, str]:
        """The parameters the provider redirected back with (code, state, iss or error)."""
        page = await self._follow(await self.client.get(authorization_url), REDIRECT_URI)
        if isinstance(page, str):
            return dict(parse_qsl(urlsplit(page).query))
        action = re.search(r'action="([^"]+)"', page.text)
        assert action is not None, page.text[:500]
        submitted = await self.client.post(
            urljoin(str(page.url), action.group(1)), data={"login": login, "password": password}
        )
        landed = await self._follow(submitted, REDIRECT_URI)
        assert isinstance(landed, str), (
            f"no redirect to us: {landed.status_code} {landed.text[:300]}"
        )
        return dict(parse_qsl(urlsplit(landed).query))

    async def logout(self, logout_url: str) -> dict[str, str]:
        page = await self._follow(await self.client.get(logout_url), POST_LOGOUT_REDIRECT_URI)
        if isinstance(page, str):
            return dict(parse_qsl(urlsplit(page).query))
        # The provider's confirmation form (POST xsrf + logout=yes).
        action = re.search(r'action="([^"]+)"', page.text)
        xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
        assert action is not None and xsrf is not None, page.text[:500]
        submitted = await self.client.post(
            urljoin(str(page.url), action.group(1)), data={"xsrf": xsrf.group(1), "logout": "yes"}
        )
        landed = await self._follow(submitted, POST_LOGOUT_REDIRECT_URI)
        assert isinstance(landed, str), f"no redirect to us: {landed.status_code}"
        return dict(parse_qsl(urlsplit(landed).query))
