"""SignerService over gRPC: requests to commands for the service layer, its answers back."""

# The generated base class fixes the RPC method names.

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from betmesh.signer.v1 import signer_service_pb2 as pb
from betmesh.signer.v1 import signer_service_pb2_grpc

from service_runtime.auth import current_principal
from services.signer.domain.reports import MAX_BATCH, DigestKind, ReportFields
from services.signer.service_layer.commands import GetSigner, SignReports
from services.signer.service_layer.handlers import SignerHandlers

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
KINDS = {pb.DIGEST_KIND_REPORT: DigestKind.REPORT, pb.DIGEST_KIND_BATCH: DigestKind.BATCH}


def _fields(report: pb.SignableReport) -> ReportFields:
    return ReportFields(
        fixture_id=report.fixture_id,
        status=report.status,
        home_score=report.home_score,
        away_score=report.away_score,
        sources_hash=report.sources_hash,
        version=report.version,
        observed_at=report.observed_at,
        config_version=report.config_version,
    )


class SignerServicer(signer_service_pb2_grpc.SignerServiceServicer):
    def __init__(self, handlers: SignerHandlers) -> None:
        self.handlers = handlers

    async def SignReports(
        self, request: pb.SignReportsRequest, context: Context
    ) -> pb.SignReportsResponse:
        signed = await self.handlers.sign_reports(
            SignReports(
                current_principal.get(),
                KINDS.get(request.kind),
                # One more than allowed: the domain refuses an oversized request without a
                # full copy.
                tuple(_fields(r) for r in request.reports[: MAX_BATCH + 1]),
            )
        )
        return pb.SignReportsResponse(
            signer_address=signed.address, signature=signed.signature, digest=signed.digest
        )

    async def GetSigner(
        self, request: pb.GetSignerRequest, context: Context
    ) -> pb.GetSignerResponse:
        signer = await self.handlers.get_signer(GetSigner(current_principal.get()))
        return pb.GetSignerResponse(
            signer_address=signer.address,
            chain_id=signer.domain.chain_id,
            contract_address=signer.domain.contract,
            key_source=signer.key_source,
        )
