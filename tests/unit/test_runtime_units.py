"""Settings parsing, JSON logs and error mapping: the runtime's pure parts."""

from __future__ import annotations

import json
import logging

import pytest
from google.rpc import code_pb2, error_details_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from gateway.settings import GatewaySettings
from service_runtime.errors import FailedPrecondition, error_info, to_rpc_status
from service_runtime.jsonlog import JsonFormatter
from service_runtime.settings import Env, ServerSettings, SettingsError
from services.quotes.settings import QuotesSettings


def test_env_reports_every_problem_at_once() -> None:
    env = Env({"BETMESH_PORT": "eighty", "BETMESH_REFLECTION": "maybe"})
    ServerSettings.read(env)
    env.str("REQUIRED_THING")
    with pytest.raises(SettingsError) as raised:
        env.check()
    message = str(raised.value)
    assert "BETMESH_PORT='eighty'" in message
    assert "BETMESH_REFLECTION='maybe'" in message
    assert "BETMESH_REQUIRED_THING is required" in message


def test_reflection_is_off_in_production_by_default() -> None:
    assert ServerSettings.read(Env({"BETMESH_ENVIRONMENT": "production"})).reflection is False
    assert ServerSettings.read(Env({})).reflection is True


def test_a_session_idle_in_a_transaction_is_ended_after_a_positive_bound() -> None:
    assert ServerSettings.read(Env({})).database_idle_in_transaction_seconds == 15.0
    configured = Env({"BETMESH_DATABASE_IDLE_IN_TRANSACTION_SECONDS": "4.5"})
    assert ServerSettings.read(configured).database_idle_in_transaction_seconds == 4.5
    env = Env({"BETMESH_DATABASE_IDLE_IN_TRANSACTION_SECONDS": "0"})
    ServerSettings.read(env)
    with pytest.raises(SettingsError, match="IDLE_IN_TRANSACTION_SECONDS must be positive"):
        env.check()


def test_quotes_settings_need_a_known_sport() -> None:
    with pytest.raises(SettingsError, match="BETMESH_QUOTES_SPORT is required"):
        QuotesSettings.from_env({})
    with pytest.raises(SettingsError, match="not football, tennis or basketball"):
        QuotesSettings.from_env({"BETMESH_QUOTES_SPORT": "curling"})
    assert QuotesSettings.from_env({"BETMESH_QUOTES_SPORT": "tennis"}).replica_id == "tennis-1"


def test_gateway_quorum_must_be_a_strict_majority() -> None:
    replicas = "football=a:1,b:2,c:3,d:4"
    with pytest.raises(SettingsError, match="strict majority"):
        GatewaySettings.from_env(
            {"BETMESH_GATEWAY_REPLICAS": replicas, "BETMESH_GATEWAY_QUORUM": "2"}
        )
    settings = GatewaySettings.from_env(
        {
            "BETMESH_GATEWAY_REPLICAS": replicas + ";tennis=e:5",
            "BETMESH_GATEWAY_QUORUM": "football=3,tennis=1",
        }
    )
    assert [(s.addresses, s.quorum) for s in settings.replica_sets] == [
        (("a:1", "b:2", "c:3", "d:4"), 3),
        (("e:5",), 1),
    ]


def test_the_pre_match_pass_is_bounded_per_sport_by_default() -> None:
    assert GatewaySettings.from_env({}).scheduler_concurrency == 4
    setting = {"BETMESH_GATEWAY_SCHEDULER_CONCURRENCY": "2"}
    assert GatewaySettings.from_env(setting).scheduler_concurrency == 2
    with pytest.raises(SettingsError, match="SCHEDULER_CONCURRENCY"):
        GatewaySettings.from_env({"BETMESH_GATEWAY_SCHEDULER_CONCURRENCY": "0"})


def test_json_log_lines_carry_trace_and_span_ids() -> None:
    provider = TracerProvider()
    formatter = JsonFormatter("betmesh.test")
    with provider.get_tracer("t").start_as_current_span("work") as span:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        record.fixture_id = "f1"
        line = json.loads(formatter.format(record))
        context = span.get_span_context()
    assert line["message"] == "hello world"
    assert line["service"] == "betmesh.test"
    assert line["fixture_id"] == "f1"
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert trace.get_current_span().get_span_context().is_valid is False


def test_domain_error_becomes_a_rich_status() -> None:
    status = to_rpc_status(
        FailedPrecondition("MARKET_SUSPENDED", "market is suspended", {"market_id": "m1"})
    )
    assert status.code == code_pb2.FAILED_PRECONDITION
    info = error_info(status)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "MARKET_SUSPENDED",
        "betmesh",
        {"market_id": "m1"},
    )
