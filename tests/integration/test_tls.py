"""TLS on a real grpc.aio server of the runtime: pinned CA, a certificate renewed on disk served
to new connections without a restart, and mutual TLS whose certificate must be the token's own
caller."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc
from cryptography import x509

from launcher.certificates import Issued, LocalAuthority
from service_runtime.auth import Principal
from service_runtime.server import Registration, ServiceHost
from service_runtime.tls import TlsSettings, secure_channel
from tests.support.grpc_helpers import local_server_settings, rpc_error


class Replica(quote_service_pb2_grpc.QuoteServiceServicer):
    async def GetReplicaInfo(
        self, request: pb.GetReplicaInfoRequest, context: Any
    ) -> pb.GetReplicaInfoResponse:
        return pb.GetReplicaInfoResponse(replica_id="tls-replica")

    async def ListModelSnapshots(self, request: Any, context: Any) -> Any:
        raise NotImplementedError

    async def PriceFixture(self, request: Any, context: Any) -> Any:
        raise NotImplementedError

    async def PriceFixtures(self, request: Any, context: Any) -> Any:
        raise NotImplementedError

    async def GetModelSnapshot(self, request: Any, context: Any) -> Any:
        raise NotImplementedError


class ServiceCaller:
    """What identity's token check answers for a gateway token (the token path has its own
    tests; here the certificate is the subject)."""

    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None:
        return Principal(subject=metadata.get("x-subject", "svc-gateway"), role="service")


def settings_for(issued: Issued, mutual: bool = False) -> TlsSettings:
    return TlsSettings(
        cert_file=str(issued.cert_file),
        key_file=str(issued.key_file),
        ca_file=str(issued.ca_file),
        client_auth="require" if mutual else "none",
    )


async def serve(tls: TlsSettings, authenticator: Any = None) -> ServiceHost:
    host = ServiceHost(
        "betmesh.quotes",
        dataclasses.replace(local_server_settings(), tls=tls),
        [
            Registration(
                "betmesh.quotes.v1.QuoteService",
                lambda server: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(
                    Replica(), server
                ),
            )
        ],
        **({"authenticator": authenticator} if authenticator is not None else {}),
    )
    await host.start()
    return host


@pytest.fixture
def authority(tmp_path: Path) -> LocalAuthority:
    return LocalAuthority(tmp_path / "tls")


@pytest.fixture
async def replica(authority: LocalAuthority) -> AsyncIterator[tuple[ServiceHost, Issued]]:
    issued = authority.issue("svc-quotes")
    host = await serve(settings_for(issued))
    yield host, issued
    await host.stop(0)


async def info(channel: grpc.aio.Channel, **kwargs: Any) -> str:
    stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
    reply = await stub.GetReplicaInfo(pb.GetReplicaInfoRequest(), timeout=5, **kwargs)
    return str(reply.replica_id)


def client(ca_file: Path, issued: Issued | None = None) -> TlsSettings:
    return TlsSettings(
        cert_file=str(issued.cert_file) if issued else "",
        key_file=str(issued.key_file) if issued else "",
        ca_file=str(ca_file),
        client_auth="require" if issued else "none",
    )


async def test_a_pinned_ca_connects_and_anything_else_is_refused(
    replica: tuple[ServiceHost, Issued], tmp_path: Path
) -> None:
    host, issued = replica
    target = f"127.0.0.1:{host.port}"
    async with secure_channel(target, [], settings=client(issued.ca_file)) as channel:
        assert await info(channel) == "tls-replica"
    # Plaintext against a TLS port, and TLS trusting another CA: no call gets through.
    async with grpc.aio.insecure_channel(target) as channel:
        code, _, _ = await rpc_error(lambda: info(channel))
        assert code == grpc.StatusCode.UNAVAILABLE
    stranger = LocalAuthority(tmp_path / "other")
    async with secure_channel(target, [], settings=client(stranger.ca_file)) as channel:
        code, _, _ = await rpc_error(lambda: info(channel))
        assert code == grpc.StatusCode.UNAVAILABLE


def served_serial(port: int) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def test_a_renewed_certificate_is_served_to_new_connections_without_a_restart(
    replica: tuple[ServiceHost, Issued], authority: LocalAuthority
) -> None:
    host, issued = replica
    before = await asyncio.to_thread(served_serial, host.port)
    renewed = authority.issue("svc-quotes")  # same files, new key and serial
    assert renewed.cert_file == issued.cert_file
    after = await asyncio.to_thread(served_serial, host.port)
    assert after != before
    assert after == x509.load_pem_x509_certificate(renewed.cert_file.read_bytes()).serial_number
    async with secure_channel(f"127.0.0.1:{host.port}", [], settings=client(issued.ca_file)) as c:
        assert await info(c) == "tls-replica"


async def test_mutual_tls_takes_only_the_token_subjects_own_certificate(
    authority: LocalAuthority,
) -> None:
    host = await serve(settings_for(authority.issue("svc-quotes"), mutual=True), ServiceCaller())
    target = f"127.0.0.1:{host.port}"
    try:
        gateway = client(authority.ca_file, authority.issue("svc-gateway"))
        async with secure_channel(target, [], settings=gateway) as channel:
            assert await info(channel) == "tls-replica"
            # The same certificate carrying another service's token: refused.
            code, error, _ = await rpc_error(
                lambda: info(channel, metadata=(("x-subject", "svc-live"),))
            )
            assert code == grpc.StatusCode.PERMISSION_DENIED
            assert error is not None and error.reason == "CERTIFICATE_SUBJECT_MISMATCH"
        # No certificate at all: the handshake itself fails.
        async with secure_channel(target, [], settings=client(authority.ca_file)) as channel:
            code, _, _ = await rpc_error(lambda: info(channel))
            assert code == grpc.StatusCode.UNAVAILABLE
    finally:
        await host.stop(0)


async def test_probes_get_plaintext_health_on_their_own_port_and_nothing_else(
    authority: LocalAuthority,
) -> None:
    """Kubernetes' gRPC probes cannot speak TLS: health alone is served in plaintext."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    settings = dataclasses.replace(
        local_server_settings(), tls=settings_for(authority.issue("svc-quotes")), health_port=0
    )
    host = ServiceHost(
        "betmesh.quotes",
        settings,
        [
            Registration(
                "betmesh.quotes.v1.QuoteService",
                lambda server: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(
                    Replica(), server
                ),
            )
        ],
    )
    await host.start()
    try:
        assert host.health_port > 0
        async with grpc.aio.insecure_channel(f"127.0.0.1:{host.health_port}") as channel:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="betmesh.quotes.v1.QuoteService"), timeout=5
            )
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            code, _, _ = await rpc_error(lambda: info(channel))
            assert code == grpc.StatusCode.UNIMPLEMENTED
    finally:
        await host.stop(0)
