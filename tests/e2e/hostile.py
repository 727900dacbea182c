# mypy: disable-error-code="misc,arg-type,assignment,union-attr"
"""Requests made from the contracts' descriptors, for fuzzing a running mesh.

Two sources, both driven by the message descriptors (nothing per RPC is written by hand):
- `hostile_variants`: for every field reachable from a request (nested messages and repeated
  fields included, to a bounded depth), the request with that one field set to each of the
  values that broke services before (NUL bytes, huge strings, INT64 extremes, 2^62 stakes,
  out-of-range Timestamps and Durations, undefined enums, bogus page tokens);
- `plausible`: a request with every field ordinary, as a base for the variants;
- `messages`: a hypothesis strategy of arbitrary requests of a message type.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

F = FieldDescriptor
HUGE = "x" * 300_000
STRINGS: tuple[str, ...] = ("k\0", "a\nb", HUGE, "²", "9223372036854775808")
BYTES: tuple[bytes, ...] = (b"\0" * 8, b"x" * 300_000)
INTEGERS: dict[int, tuple[int, ...]] = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1, -1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (2**32 - 1, 2**31),
    F.TYPE_FIXED32: (2**32 - 1,),
    F.TYPE_INT64: (-(2**63), 2**63 - 1, 2**62),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1, 2**62),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (2**64 - 1, 2**63),
    F.TYPE_FIXED64: (2**64 - 1,),
}
FLOATS = (float("nan"), float("inf"), -1e308)
ENUMS = (999, -1)
# (seconds, nanos) of Timestamps and Durations that are out of range or not valid at all.
TIMESTAMPS = ((2**62, 0), (-(2**62), 0), (10, -1), (10, 1_000_000_000))
DURATIONS = ((2**63 - 1, 0), (-(2**63), 0), (100, -5))
WELL_KNOWN = {"google.protobuf.Timestamp": TIMESTAMPS, "google.protobuf.Duration": DURATIONS}
REPEATED_ITEMS = 5_000
MAX_DEPTH = 3

Setter = Callable[[Message], None]


def _scalar_values(field: FieldDescriptor) -> tuple[Any, ...]:
    if field.type == F.TYPE_STRING:
        return STRINGS
    if field.type == F.TYPE_BYTES:
        return BYTES
    if field.type == F.TYPE_ENUM:
        return ENUMS
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return FLOATS
    if field.type == F.TYPE_BOOL:
        return (True,)
    return INTEGERS.get(field.type, ())


def _set(message: Message, field: FieldDescriptor, value: Any) -> None:
    if field.is_repeated:
        getattr(message, field.name).append(value)
    else:
        setattr(message, field.name, value)


def _setters(descriptor: Descriptor, depth: int) -> Iterator[tuple[str, Setter]]:
    """(field path, a function that makes a message hostile at that path)."""
    for field in descriptor.fields:
        target = field.message_type
        if target is not None and target.GetOptions().map_entry:
            yield (
                f"{field.name}{{}}",
                lambda m, f=field: (
                    getattr(m, f.name).__setitem__("\0", "\0")
                    if f.message_type.fields_by_name["value"].type == F.TYPE_STRING
                    else None
                ),
            )
            continue
        if target is not None and target.full_name in WELL_KNOWN:
            for seconds, nanos in WELL_KNOWN[target.full_name]:
                yield f"{field.name}={seconds}s{nanos:+d}ns", _time_setter(field, seconds, nanos)
            continue
        if target is not None:
            if depth >= MAX_DEPTH:
                continue
            for path, setter in _setters(target, depth + 1):
                yield f"{field.name}.{path}", _nested(field, setter)
            if field.is_repeated:
                yield f"{field.name}[x{REPEATED_ITEMS}]", _many_messages(field)
            continue
        for value in _scalar_values(field):
            label = repr(value) if not isinstance(value, str | bytes) or len(value) < 40 else "huge"
            yield f"{field.name}={label}", _scalar_setter(field, value)
        if field.is_repeated and field.type == F.TYPE_STRING:
            yield f"{field.name}[x{REPEATED_ITEMS}]", _many_strings(field)


def _time_setter(field: FieldDescriptor, seconds: int, nanos: int) -> Setter:
    def setter(message: Message) -> None:
        value = getattr(message, field.name).add() if field.is_repeated else None
        if value is None:
            value = getattr(message, field.name)
        value.seconds = seconds
        value.nanos = nanos

    return setter


def _scalar_setter(field: FieldDescriptor, value: Any) -> Setter:
    return lambda message: _set(message, field, value)


def _nested(field: FieldDescriptor, inner: Setter) -> Setter:
    def setter(message: Message) -> None:
        child = getattr(message, field.name).add() if field.is_repeated else None
        if child is None:
            child = getattr(message, field.name)
        inner(child)
        if not field.is_repeated:
            message.SetInParent()

    return setter


def _many_messages(field: FieldDescriptor) -> Setter:
    def setter(message: Message) -> None:
        items = getattr(message, field.name)
        for _ in range(REPEATED_ITEMS):
            items.add()

    return setter


def _many_strings(field: FieldDescriptor) -> Setter:
    return lambda message: getattr(message, field.name).extend(["s"] * REPEATED_ITEMS)


def plausible(message: Message, depth: int = 0) -> Message:
    """`message` with every field set to an ordinary value (the first member of each oneof, one
    item per repeated field, times a day ahead), so that a hostile value in one field reaches the
    checks that run once the others pass, not only the first "field required"."""
    chosen: set[str] = set()
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name in chosen:
                continue
            chosen.add(oneof.name)
        target = field.message_type
        if target is not None and target.GetOptions().map_entry:
            continue
        if target is not None and target.full_name in WELL_KNOWN:
            seconds = 3_600 if target.full_name.endswith("Duration") else int(time.time()) + 86_400
            _time_setter(field, seconds, 0)(message)
            continue
        if target is not None:
            if depth < MAX_DEPTH:
                _nested(field, lambda child: plausible(child, depth + 1))(message)
            continue
        value = _ordinary(field)
        if value is not None:
            _set(message, field, value)
    return message


def _ordinary(field: FieldDescriptor) -> Any:
    if field.type == F.TYPE_STRING:
        return "EUR" if "currency" in field.name else "fx-1" if "fixture" in field.name else "p-1"
    if field.type == F.TYPE_BYTES:
        return b"\x01" * 32
    if field.type == F.TYPE_ENUM:
        defined = [v.number for v in field.enum_type.values if v.number != 0]
        return defined[0] if defined else None
    if field.type == F.TYPE_BOOL:
        return False
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return 1.5
    return 1


def hostile_variants(base: Message) -> Iterator[tuple[str, Message]]:
    """`base` with one field at a time made hostile: (what was set, the request)."""
    for path, setter in _setters(base.DESCRIPTOR, 0):
        request = type(base)()
        request.CopyFrom(base)
        try:
            setter(request)
        except (ValueError, TypeError):
            continue  # not representable in this field (e.g. a closed enum)
        yield path, request


# hypothesis: arbitrary requests, hostile values mixed with ordinary ones.
_TEXT = st.one_of(st.sampled_from((*STRINGS[:3], "", "fx-1", "p1")), st.text(max_size=40))


def _scalar_strategy(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == F.TYPE_STRING:
        return _TEXT
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type == F.TYPE_ENUM:
        defined = [v.number for v in field.enum_type.values]
        return st.sampled_from([*defined, *ENUMS])
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    extremes = INTEGERS.get(field.type, (0,))
    low = min(0, *extremes)
    high = max(extremes)
    return st.one_of(st.sampled_from([0, 1, *extremes]), st.integers(low, min(high, 10**6)))


def messages(descriptor: Descriptor, message_type: type[Message]) -> st.SearchStrategy[Message]:
    return _message_strategy(descriptor, 0).map(lambda build: _built(message_type, build))


def _built(message_type: type[Message], build: Callable[[Message], None]) -> Message:
    message = message_type()
    build(message)
    return message


def _message_strategy(descriptor: Descriptor, depth: int) -> st.SearchStrategy[Any]:
    parts: list[st.SearchStrategy[Setter | None]] = []
    for field in descriptor.fields:
        target = field.message_type
        if target is not None and target.GetOptions().map_entry:
            continue
        if target is not None and target.full_name in WELL_KNOWN:
            pairs = st.sampled_from(WELL_KNOWN[target.full_name] + ((1_800_000_000, 0),))
            parts.append(st.none() | pairs.map(lambda p, f=field: _time_setter(f, *p)))
        elif target is not None:
            if depth >= MAX_DEPTH - 1:
                continue
            parts.append(
                st.none()
                | _message_strategy(target, depth + 1).map(lambda b, f=field: _nested(f, b))
            )
        else:
            values = st.lists(_scalar_strategy(field), max_size=3) if field.is_repeated else None
            if values is not None:
                parts.append(
                    st.none()
                    | values.map(
                        lambda vs, f=field: lambda m: getattr(m, f.name).extend(vs)  # type: ignore[misc]
                    )
                )
            else:
                parts.append(
                    st.none() | _scalar_strategy(field).map(lambda v, f=field: _scalar_setter(f, v))
                )
    return st.tuples(*parts).map(_apply_all) if parts else st.just(lambda message: None)


def _apply_all(setters: tuple[Setter | None, ...]) -> Setter:
    def build(message: Message) -> None:
        for setter in setters:
            if setter is not None:
                # A value this field cannot hold (e.g. an enum in a closed enum) is left out.
                with contextlib.suppress(ValueError, TypeError):
                    setter(message)

    return build
