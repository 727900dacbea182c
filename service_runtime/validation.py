"""Requests checked against their contract's field rules before any handler runs.

The rules live in the protos (`buf.validate` options, protovalidate); this module enforces them
for every hosted method, once per request, in the runtime's method wrapper
(`service_runtime/handlers.py`), so a servicer only ever sees a request its contract allows.
A violation is INVALID_ARGUMENT with the `ErrorInfo` reason INVALID_REQUEST_FIELDS and a
`google.rpc.BadRequest` naming each field and the rule it broke. Nothing of the field's value
is echoed: only its path (map keys bounded and sanitised), the rule's id and the rule's message.

protovalidate compares Timestamps and Durations by value but takes one whose nanos are out of
range (a Timestamp with nanos -5) as it comes, and such a value makes `ToDatetime` raise: the
well-known types' own validity is checked here too, along a per-message-type plan of where they
can occur (made once per type).

One `protovalidate.Validator` per process: it compiles each message type's rules on first use
and caches them, and `prepare` compiles a method's request type when the method is registered,
so a broken rule stops the service at start rather than failing its first call.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import protovalidate
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from service_runtime.errors import InvalidArgument

log = logging.getLogger(__name__)

REASON = "INVALID_REQUEST_FIELDS"
# At most this many violations are reported (a message of a thousand bad fields answers with
# the first ones); the status stays small whatever the request held.
MAX_REPORTED = 16
_MAX_KEY = 32
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")

_validator = protovalidate.Validator()

_TIMESTAMP = "google.protobuf.Timestamp"
_DURATION = "google.protobuf.Duration"
# google.protobuf.Timestamp's and Duration's documented ranges.
_TIMESTAMP_SECONDS = (-62_135_596_800, 253_402_300_799)
_DURATION_SECONDS = 315_576_000_000
_NANOS = 1_000_000_000
# Per message type: (field, what it holds) for each field that is or leads to a Timestamp or a
# Duration. Empty for most types, so most requests pay one dictionary look-up.
_Plan = tuple[tuple[FieldDescriptor, str], ...]
_plans: dict[Descriptor, _Plan] = {}


def _plan(descriptor: Descriptor, visiting: frozenset[Descriptor] = frozenset()) -> _Plan:
    known = _plans.get(descriptor)
    if known is not None:
        return known
    steps: list[tuple[FieldDescriptor, str]] = []
    for field in descriptor.fields:
        target = field.message_type
        if target is None or target in visiting or target.GetOptions().map_entry:
            continue
        if target.full_name == _TIMESTAMP:
            steps.append((field, "timestamp"))
        elif target.full_name == _DURATION:
            steps.append((field, "duration"))
        elif _plan(target, visiting | {descriptor}):
            steps.append((field, "message"))
    plan = tuple(steps)
    if not visiting:  # a plan made inside a cycle may be partial: only top levels are kept
        _plans[descriptor] = plan
    return plan


def _well_known_problem(kind: str, value: Any) -> str | None:
    seconds, nanos = value.seconds, value.nanos
    if kind == "timestamp":
        if not 0 <= nanos < _NANOS or not _TIMESTAMP_SECONDS[0] <= seconds <= _TIMESTAMP_SECONDS[1]:
            return "not a valid timestamp (nanos in [0, 1e9), years 1 to 9999)"
        return None
    if (
        not -_NANOS < nanos < _NANOS
        or abs(seconds) > _DURATION_SECONDS
        or (seconds > 0 > nanos)
        or (seconds < 0 < nanos)
    ):
        return "not a valid duration (nanos within a second, same sign as seconds)"
    return None


def _well_known_violations(
    message: Message, prefix: str, found: list[error_details_pb2.BadRequest.FieldViolation]
) -> None:
    descriptor: Any = message.DESCRIPTOR
    for field, kind in _plan(descriptor):
        values: list[tuple[int | None, Any]]
        if field.is_repeated:
            values = list(enumerate(getattr(message, field.name)))
        elif message.HasField(field.name):
            values = [(None, getattr(message, field.name))]
        else:
            continue
        for index, value in values:
            path = f"{prefix}{field.name}" + ("" if index is None else f"[{index}]")
            if kind == "message":
                _well_known_violations(value, path + ".", found)
                continue
            problem = _well_known_problem(kind, value)
            if problem is not None:
                found.append(
                    error_details_pb2.BadRequest.FieldViolation(
                        field=path, description=problem, reason=f"{kind.upper()}_INVALID"
                    )
                )


def request_type(method: str) -> type[Message] | None:
    """The request message class of `/package.Service/Method`, if the method is known."""
    service, _, name = method.lstrip("/").partition("/")
    try:
        found = descriptor_pool.Default().FindMethodByName(f"{service}.{name}")
    except KeyError:
        return None
    return message_factory.GetMessageClass(found.input_type)


def prepare(message_type: type[Message]) -> None:
    """Compiles `message_type`'s rules now (raises `protovalidate.CompilationError` if broken).

    An empty message may well break its rules (required fields): only compilation matters."""
    _validator.collect_violations(message_type())


def _key(value: object) -> str:
    text = _UNPRINTABLE.sub("?", str(value))
    return text if len(text) <= _MAX_KEY else text[:_MAX_KEY] + "..."


def field_path(path: Any) -> str:
    """`legs[0].fixture_id` from a `buf.validate.FieldPath` (protovalidate's own message)."""
    parts: list[str] = []
    for element in path.elements:
        if element.field_name:
            parts.append(("." if parts else "") + element.field_name)
        subscript = element.subscript
        if subscript is None:
            continue
        if subscript.field == "index":
            parts.append(f"[{subscript.value}]")
        else:
            parts.append(f'["{_key(subscript.value)}"]')
    return "".join(parts) or "(message)"


def _reason(rule_id: str) -> str:
    # "string.max_len" -> "STRING_MAX_LEN"; custom rules' ids are ours, already short.
    reason = re.sub(r"[^A-Za-z0-9]+", "_", rule_id).strip("_").upper()
    return reason[:63] or "INVALID"


def violations_error(
    violations: list[Any], extra: list[error_details_pb2.BadRequest.FieldViolation] | None = None
) -> InvalidArgument:
    fields: list[error_details_pb2.BadRequest.FieldViolation] = list(extra or ())[:MAX_REPORTED]
    total = len(violations) + len(fields)
    for violation in violations[: MAX_REPORTED - len(fields)]:
        proto = violation.proto
        fields.append(
            error_details_pb2.BadRequest.FieldViolation(
                field=field_path(proto.field),
                description=proto.message[:200],
                reason=_reason(proto.rule_id),
            )
        )
    names = sorted({f.field for f in fields})
    summary = "; ".join(f"{f.field}: {f.description}" for f in fields[:4])
    if total > 4:
        summary += f"; and {total - 4} more"
    return InvalidArgument(
        REASON,
        f"invalid request: {summary}",
        metadata={"fields": ",".join(names)[:512], "violations": str(total)},
        details=[error_details_pb2.BadRequest(field_violations=fields)],
    )


def check(request: Message) -> None:
    """Raises InvalidArgument (INVALID_REQUEST_FIELDS, with a BadRequest) if `request` breaks
    its contract's rules."""
    try:
        violations = _validator.collect_violations(request)
    except protovalidate.EvaluationError:
        # A rule that cannot be evaluated on this input (our rule's gap, but the input is what
        # triggered it): refused, never passed on unchecked.
        log.warning("a validation rule could not be evaluated on a %s", type(request).__name__)
        raise InvalidArgument(
            REASON, "invalid request: a field rule could not be evaluated on it"
        ) from None
    well_known: list[error_details_pb2.BadRequest.FieldViolation] = []
    _well_known_violations(request, "", well_known)
    if violations or well_known:
        raise violations_error(violations, well_known)
