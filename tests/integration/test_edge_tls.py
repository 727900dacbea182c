"""The edge's HTTPS on a real socket: a certificate renewed on disk is served to new connections
without a restart (as on every gRPC port, tests/integration/test_tls.py), with or without a
server name in the ClientHello, and a renewal caught half written keeps the certificate the
edge has."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509

from launcher.certificates import Issued, LocalAuthority
from services.edge.app import Edge, build
from services.edge.settings import EdgeSettings


@pytest.fixture
def authority(tmp_path: Path) -> LocalAuthority:
    return LocalAuthority(tmp_path / "tls")


@pytest.fixture
async def edge(authority: LocalAuthority) -> AsyncIterator[tuple[Edge, Issued]]:
    issued = authority.issue("svc-edge")
    edge = build(
        EdgeSettings.from_env(
            {"BETMESH_EDGE_PORT": "0", "BETMESH_AUTH_MODE": "anonymous", **issued.env()}
        )
    )
    await edge.start()
    try:
        yield edge, issued
    finally:
        await edge.stop()


def served_serial(port: int, server_name: str | None) -> int:
    """The serial of the certificate the edge presents to a new connection."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def serial_of(issued: Issued) -> int:
    return x509.load_pem_x509_certificate(issued.cert_file.read_bytes()).serial_number


async def health_over_verified_https(edge: Edge, ca_file: Path) -> int:
    """GET /healthz trusting only the local CA, verifying the name (localhost)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    connector = aiohttp.TCPConnector(ssl=context)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"https://localhost:{edge.port}/healthz") as response,
    ):
        return response.status


@pytest.mark.parametrize("server_name", [None, "localhost"])
async def test_a_renewed_certificate_is_served_without_a_restart(
    edge: tuple[Edge, Issued], authority: LocalAuthority, server_name: str | None
) -> None:
    running, issued = edge
    assert running.url.startswith("https://")
    before = await asyncio.to_thread(served_serial, running.port, server_name)
    assert before == serial_of(issued)
    assert await health_over_verified_https(running, issued.ca_file) == 200

    renewed = authority.issue("svc-edge")  # the same files, a new key and serial
    assert renewed.cert_file == issued.cert_file
    after = await asyncio.to_thread(served_serial, running.port, server_name)
    assert after == serial_of(renewed) != before
    # The renewed certificate is a working one: a verifying client is served with it.
    assert await health_over_verified_https(running, issued.ca_file) == 200


async def test_a_half_written_renewal_keeps_the_current_certificate(
    edge: tuple[Edge, Issued], authority: LocalAuthority
) -> None:
    running, issued = edge
    serial = serial_of(issued)
    issued.cert_file.write_text("-----BEGIN CERTIFICATE-----\ntruncated")
    assert await asyncio.to_thread(served_serial, running.port, None) == serial
    assert await health_over_verified_https(running, issued.ca_file) == 200
    # Once the renewal is complete, it is served.
    renewed = authority.issue("svc-edge")
    assert await asyncio.to_thread(served_serial, running.port, None) == serial_of(renewed)
