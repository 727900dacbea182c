"""The contracts' numeric bounds, read from the protos, for domain cores to check again.

The runtime refuses a request that breaks its contract's rules before any handler runs
(`validation.py`). Some values also reach a domain core by other ways (a game state built up
from many events, a message read back from storage or an event) and size its work: a football
score sizes the score grid, a tennis score the distributions. Domain cores check such values
here against the same bounds, so the numbers have one home (the `buf.validate` options in the
proto) and no model ever allocates in proportion to a number it was handed.

Only the rule kinds that bound work are read: `lte`/`lt` of integer fields and `max_items` of
repeated fields. Plans are made once per message type.
"""

from __future__ import annotations

from typing import Any

from buf.validate import validate_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from service_runtime.errors import InvalidArgument

_INTEGER_RULES = ("int32", "int64", "uint32", "uint64", "sint32", "sint64")
# Per message type: (field, upper bound of its value, max_items if repeated, nested or not).
_Step = tuple[FieldDescriptor, int | None, int | None, bool]
_plans: dict[Descriptor, tuple[_Step, ...]] = {}


def _bounds(field: FieldDescriptor) -> tuple[int | None, int | None]:
    options: Any = field.GetOptions()
    if not options.HasExtension(validate_pb2.field):
        return None, None
    rules = options.Extensions[validate_pb2.field]
    items = rules.repeated.max_items if rules.HasField("repeated") else None
    scalar = rules.repeated.items if rules.HasField("repeated") else rules
    upper = None
    for kind in _INTEGER_RULES:
        if scalar.HasField(kind):
            numeric = getattr(scalar, kind)
            if numeric.HasField("lte"):
                upper = numeric.lte
            elif numeric.HasField("lt"):
                upper = numeric.lt - 1
    return upper, items


def _plan(descriptor: Descriptor) -> tuple[_Step, ...]:
    plan = _plans.get(descriptor)
    if plan is None:
        steps: list[_Step] = []
        for field in descriptor.fields:
            upper, items = _bounds(field)
            nested = (
                field.message_type is not None and not field.message_type.GetOptions().map_entry
            )
            if upper is not None or items is not None or nested:
                steps.append((field, upper, items, nested))
        plan = _plans[descriptor] = tuple(steps)
    return plan


def upper_bound(message_type: type[Message], field_name: str) -> int:
    """The contract's upper bound of an integer field (raises if it declares none)."""
    descriptor: Any = message_type.DESCRIPTOR
    upper, _ = _bounds(descriptor.fields_by_name[field_name])
    if upper is None:
        raise LookupError(f"{descriptor.full_name}.{field_name} declares no upper bound")
    return upper


def _violation(message: Message, prefix: str) -> str | None:
    descriptor: Any = message.DESCRIPTOR
    for field, upper, items, nested in _plan(descriptor):
        if field.is_repeated:
            values = getattr(message, field.name)
            if items is not None and len(values) > items:
                return f"{prefix}{field.name} has more than {items} items"
            for index, value in enumerate(values):
                where = f"{prefix}{field.name}[{index}]"
                if nested:
                    found = _violation(value, where + ".")
                    if found:
                        return found
                elif upper is not None and value > upper:
                    return f"{where} is above {upper}"
        elif nested:
            if message.HasField(field.name):
                found = _violation(getattr(message, field.name), f"{prefix}{field.name}.")
                if found:
                    return found
        elif upper is not None and getattr(message, field.name) > upper:
            return f"{prefix}{field.name} is above {upper}"
    return None


def check_within_contract(message: Message, reason: str, what: str) -> None:
    """Raises InvalidArgument(reason) if a number in `message` is above its contract's bound."""
    found = _violation(message, f"{what}." if what else "")
    if found:
        raise InvalidArgument(reason, f"{found} (out of range for the sport)", {"field": found})
