"""A validated result that cannot become a report is refused on its own (quarantined), never
an exception that stops the publishing step."""

from __future__ import annotations

import pytest
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from services.oracle.domain.reports import ReportInvalid, report_for
from services.oracle.domain.results import ResultRecord

HASH = "sha256:" + "ab" * 32


def record(observed: int, home: int = 1, status: int = pb.RESULT_STATUS_COMPLETED) -> ResultRecord:
    result = pb.MatchResult(fixture_id="fx", status=status, home_score=home)  # type: ignore[arg-type]
    observation = pb.Observation(
        source_id="s", result=result, observed_at=Timestamp(seconds=observed)
    )
    return ResultRecord("fx", pb.VALIDATION_STATE_AGREED, (observation,), result, HASH)


def test_a_good_result_becomes_a_report() -> None:
    report = report_for(record(1_700_000_000), 2, 1)
    assert (report.version, report.observed_at, report.home_score) == (2, 1_700_000_000, 1)


@pytest.mark.parametrize(
    "bad",
    [
        record(-86_400),  # 1969
        record(2**40),  # past uint40
        record(0, status=0),
        ResultRecord("fx", pb.VALIDATION_STATE_AGREED, (), None, HASH),
    ],
)
def test_what_cannot_be_reported_is_refused(bad: ResultRecord) -> None:
    with pytest.raises(ReportInvalid):
        report_for(bad, 1, 1)
