"""OracleService over gRPC: translates requests to the service layer (services/oracle/
service_layer/) and back."""

# The generated base class fixes the RPC method names.

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc

from service_runtime.auth import current_principal
from service_runtime.errors import InvalidArgument
from service_runtime.telemetry import tracer
from services.oracle.domain.results import ResultRecord
from services.oracle.service_layer import commands
from services.oracle.service_layer.handlers import OracleHandlers

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class OracleServicer(oracle_service_pb2_grpc.OracleServiceServicer):
    def __init__(self, handlers: OracleHandlers) -> None:
        self.handlers = handlers
        # Set at start when results are published on chain.
        self.chain_ids: Callable[[], int] = lambda: 0
        self.contract_address = ""
        self._tracer = tracer(__name__)

    def _proto(self, record: ResultRecord) -> pb.ValidatedResult:
        return record.to_proto(self.chain_ids(), self.contract_address)

    async def SubmitObservation(
        self, request: pb.SubmitObservationRequest, context: Context
    ) -> pb.SubmitObservationResponse:
        if not request.HasField("observation"):
            raise InvalidArgument("OBSERVATION_REQUIRED", "observation is required")
        with self._tracer.start_as_current_span(
            "submit observation",
            attributes={
                "betmesh.fixture.id": request.observation.result.fixture_id,
                "betmesh.oracle.source.id": request.observation.source_id,
            },
        ) as span:
            submitted = await self.handlers.submit_observation(
                commands.SubmitObservation(request.observation)
            )
            span.set_attribute(
                "betmesh.oracle.state", pb.ValidationState.Name(submitted.record.state)
            )
        return pb.SubmitObservationResponse(
            result=self._proto(submitted.record), duplicate=submitted.duplicate
        )

    async def GetResult(
        self, request: pb.GetResultRequest, context: Context
    ) -> pb.GetResultResponse:
        record = await self.handlers.get_result(commands.GetResult(request.fixture_id))
        return pb.GetResultResponse(result=self._proto(record))

    async def ListHeldResults(
        self, request: pb.ListHeldResultsRequest, context: Context
    ) -> pb.ListHeldResultsResponse:
        page = await self.handlers.list_held(
            commands.ListHeldResults(request.page_size, request.page_token)
        )
        return pb.ListHeldResultsResponse(
            results=[self._proto(r) for r in page.records], next_page_token=page.next_page_token
        )

    async def ResolveHeldResult(
        self, request: pb.ResolveHeldResultRequest, context: Context
    ) -> pb.ResolveHeldResultResponse:
        with self._tracer.start_as_current_span(
            "resolve held result", attributes={"betmesh.fixture.id": request.fixture_id}
        ):
            record = await self.handlers.resolve_held_result(
                commands.ResolveHeldResult(
                    request.fixture_id,
                    request.result if request.HasField("result") else None,
                    request.note,
                    current_principal.get(),
                )
            )
        return pb.ResolveHeldResultResponse(result=self._proto(record))

    async def CorrectResult(
        self, request: pb.CorrectResultRequest, context: Context
    ) -> pb.CorrectResultResponse:
        with self._tracer.start_as_current_span(
            "correct result", attributes={"betmesh.fixture.id": request.fixture_id}
        ):
            record = await self.handlers.correct_result(
                commands.CorrectResult(
                    request.fixture_id,
                    request.result if request.HasField("result") else None,
                    request.note,
                    current_principal.get(),
                )
            )
        return pb.CorrectResultResponse(result=self._proto(record))

    async def RetryPublication(
        self, request: pb.RetryPublicationRequest, context: Context
    ) -> pb.RetryPublicationResponse:
        with self._tracer.start_as_current_span(
            "retry publication", attributes={"betmesh.fixture.id": request.fixture_id}
        ):
            record = await self.handlers.retry_publication(
                commands.RetryPublication(request.fixture_id, request.note, current_principal.get())
            )
        return pb.RetryPublicationResponse(result=self._proto(record))
