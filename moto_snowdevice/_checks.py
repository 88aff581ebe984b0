"""Checks of the values the package takes beside a request: device documents, tags and field settings.

Derived from the service model where it speaks (the shapes `_shapes` compiles), with the bounds written
here where it is silent, so that every number stays finite and every timestamp one SDKs can read.
"""

import math
from collections.abc import Mapping
from typing import Any, NoReturn

from botocore.model import ListShape, Shape, StructureShape

from ._shapes import _NUMBER_RANGE, SERVICE_MODEL, InvalidInput, _describe, compile_check, refuse_unknown_members
from ._states import OUTCOME_STATES
from .exceptions import ValidationException

# Upper bounds where the service model is silent, so that every number stays finite and every timestamp
# one that boto3 and the JavaScript SDK can read: the latest timestamp is 9999-12-31T23:59:59Z
MAX_TIMESTAMP = 253402300799

# An execution timeout or a time progression's period: at most ten years
MAX_SECONDS = 10 * 365 * 24 * 3600

# A manual progression's polls per step, and an outcome's weight
MAX_TIMES = 10**6

MAX_OUTCOME_WEIGHT = 10**6

# A device's scripted outcomes: more than any test scripts, few enough to read back at once
MAX_SCRIPT_LENGTH = 1000

# The range of the model's integer and long shapes, as the request checks hold them
_INTEGER_RANGES = _NUMBER_RANGE

# AWS's tagging conventions; the service model states no limits for its TagMap
MAX_TAGS = 50

MIN_TAG_KEY_LENGTH, MAX_TAG_KEY_LENGTH = 1, 128

MAX_TAG_VALUE_LENGTH = 256

RESERVED_TAG_PREFIX = "aws:"


def _structure(shape: Shape) -> StructureShape:
    """The shape as the structure the service model makes it."""
    if not isinstance(shape, StructureShape):
        raise TypeError(f"the service model's {shape.name} is a {shape.type_name}, not a structure")
    return shape


def _list(shape: Shape) -> ListShape:
    """The shape as the list the service model makes it."""
    if not isinstance(shape, ListShape):
        raise TypeError(f"the service model's {shape.name} is a {shape.type_name}, not a list")
    return shape


_DEVICE_SHAPE = _structure(SERVICE_MODEL.shape_for("DescribeDeviceOutput"))

_check_device = compile_check(_DEVICE_SHAPE, strict=True)

# A device document is DescribeDevice's output plus the device's EC2 instances
_DEVICE_DOCUMENT_MEMBERS = (*_DEVICE_SHAPE.members, "instances")

_INSTANCE_SHAPE = _structure(_list(SERVICE_MODEL.shape_for("InstanceSummaryList")).member).members["instance"]

_check_instances = compile_check(_INSTANCE_SHAPE, strict=True)


def check_tags(tags: dict[str, str], existing: dict[str, str] | None = None, field: str = "tags") -> None:
    """AWS's tagging conventions (the service model states none): raises ValidationException on a breach.

    At most 50 tags per resource once `tags` are added to `existing`, keys of 1 to 128 characters not
    starting with `aws:` in any case, values of up to 256 characters.
    """

    def refuse(constraint: str) -> NoReturn:
        raise ValidationException(
            f"1 validation error detected: Value '{_describe(tags)}' at '{field}' failed to satisfy "
            f"constraint: {constraint}"
        )

    if len(tags) > MAX_TAGS:
        refuse(f"Member must have length less than or equal to {MAX_TAGS}")
    for key, value in tags.items():
        if not MIN_TAG_KEY_LENGTH <= len(key) <= MAX_TAG_KEY_LENGTH:
            refuse(
                f"Map keys must satisfy constraint: [Member must have length less than or equal to "
                f"{MAX_TAG_KEY_LENGTH}, Member must have length greater than or equal to {MIN_TAG_KEY_LENGTH}]"
            )
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            refuse(
                f"Map keys must satisfy constraint: [Member must not start with the reserved prefix "
                f"'{RESERVED_TAG_PREFIX}' (in any case)] (key '{key}')"
            )
        if len(value) > MAX_TAG_VALUE_LENGTH:
            refuse(
                f"Map value must satisfy constraint: [Member must have length less than or equal to "
                f"{MAX_TAG_VALUE_LENGTH}, Member must have length greater than or equal to 0]"
            )
    if existing:
        total = len(existing.keys() | tags.keys())
        if total > MAX_TAGS:
            refuse(f"A resource may have at most {MAX_TAGS} tags; with its {len(existing)} tags it would have {total}")


def _finite_number(value: Any) -> float | None:
    """The value as a float if it is a finite JSON-style number (not a bool, NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _whole_number(value: Any, low: int, high: int) -> int | None:
    """The value if it is an integer (not a bool) from `low` to `high`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def check_execution_timeout(seconds: Any, field: str = "seconds") -> float | None:
    """An execution timeout: a positive number of seconds up to MAX_SECONDS (ten years), or None for never."""
    if seconds is None:
        return None
    number = _finite_number(seconds)
    if number is None or not 0 < number <= MAX_SECONDS:
        raise ValidationException(
            f"{field} must be a positive number of seconds up to {MAX_SECONDS}, not {_describe(seconds)}"
        )
    return number


def check_outcome_weights(weights: Any, field: str = "weights") -> dict[str, float] | None:
    """Outcome weights: some of OUTCOME_STATES mapped to numbers from 0 to MAX_OUTCOME_WEIGHT, not all zero; or None."""
    if weights is None:
        return None
    if not isinstance(weights, Mapping) or not weights:
        raise ValidationException(
            f"{field} must map some of {', '.join(sorted(OUTCOME_STATES))} to numbers, not {_describe(weights)}"
        )
    checked = {}
    for state, weight in weights.items():
        if state not in OUTCOME_STATES:
            raise ValidationException(
                f"{field} may name only {', '.join(sorted(OUTCOME_STATES))}, not {_describe(state)}"
            )
        number = _finite_number(weight)
        if number is None or not 0 <= number <= MAX_OUTCOME_WEIGHT:
            raise ValidationException(
                f"{field}.{state} must be a number from 0 to {MAX_OUTCOME_WEIGHT}, not {_describe(weight)}"
            )
        checked[state] = number
    if sum(checked.values()) <= 0:
        raise ValidationException(f"{field} must not all be zero")
    return checked


def check_outcome_script(script: Any, field: str = "script") -> list[str] | None:
    """A device's scripted outcomes: a list of up to MAX_SCRIPT_LENGTH of OUTCOME_STATES, or None (or []) for none."""
    if script is None:
        return None
    ends = ", ".join(sorted(OUTCOME_STATES))
    if not isinstance(script, (list, tuple)) or len(script) > MAX_SCRIPT_LENGTH:
        raise ValidationException(
            f"{field} must be a list of up to {MAX_SCRIPT_LENGTH} of {ends}, not {_describe(script)}"
        )
    for index, entry in enumerate(script, start=1):
        if not isinstance(entry, str) or entry not in OUTCOME_STATES:
            raise ValidationException(f"{field}.{index} must be one of {ends}, not {_describe(entry)}")
    return list(script) or None


def check_advance_seconds(seconds: Any, now: float, field: str = "advanceSeconds") -> float:
    """Seconds to move the fleet clock forward: a number from 0, keeping the fleet's time at most MAX_TIMESTAMP."""
    number = _finite_number(seconds)
    if number is None or number < 0 or now + number > MAX_TIMESTAMP:
        raise ValidationException(
            f"{field} is required and must be a number of seconds from 0 to {max(0, int(MAX_TIMESTAMP - now))} "
            f"(the fleet's time stays at most {MAX_TIMESTAMP}), not {_describe(seconds)}"
        )
    return number


def check_execution_transition(transition: Any) -> dict[str, Any]:
    """A state-manager transition for EXECUTION_MODEL, as the package reads it; ValidationException if not one.

    `{"progression": "manual", "times": N}` (N from 1 to MAX_TIMES, 1 when left out),
    `{"progression": "time", "seconds": S}` (S from 0 to MAX_SECONDS) or `{"progression": "immediate"}`.
    """
    if not isinstance(transition, dict):
        raise ValidationException(
            f"transition must be an object with a progression of immediate, manual or time, not {_describe(transition)}"
        )
    progression = transition.get("progression")
    members = {"manual": ("progression", "times"), "time": ("progression", "seconds"), "immediate": ("progression",)}
    if not isinstance(progression, str) or progression not in members:
        raise ValidationException(
            f"transition.progression must be one of immediate, manual, time, not {_describe(progression)}"
        )
    unknown = sorted(str(key) for key in transition if key not in members[progression])
    if unknown:
        raise ValidationException(
            f"transition has members a {progression} progression does not take: {', '.join(unknown)}"
        )
    if progression == "manual":
        times = _whole_number(transition.get("times", 1), 1, MAX_TIMES)
        if times is None:
            given = _describe(transition.get("times"))
            raise ValidationException(f"transition.times must be a whole number from 1 to {MAX_TIMES}, not {given}")
        return {"progression": progression, "times": times}
    if progression == "time":
        seconds = _finite_number(transition.get("seconds"))
        if seconds is None or not 0 <= seconds <= MAX_SECONDS:
            raise ValidationException(
                f"transition.seconds must be a number of seconds from 0 to {MAX_SECONDS}, "
                f"not {_describe(transition.get('seconds'))}"
            )
        return {"progression": progression, "seconds": seconds}
    return {"progression": progression}


def _refuse_number(value: Any, field: str, constraint: str) -> NoReturn:
    raise ValidationException(
        f"1 validation error detected: Value '{_describe(value)}' at '{field}' failed to satisfy "
        f"constraint: Member must {constraint}"
    )


def _refuse_unrepresentable_numbers(document: Any, field: str) -> None:
    """Refuse NaN, infinities and integers beyond 64 bits anywhere in a document, naming the field.

    Walked without recursion: a document may be nested as deep as JSON allows.
    """
    low, high = _INTEGER_RANGES["long"]
    pending = [(document, field)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, dict):
            pending.extend((item, f"{where}.{key}") for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, f"{where}.{index}") for index, item in enumerate(value, start=1))
        elif isinstance(value, float) and not math.isfinite(value):
            _refuse_number(value, where, "be a finite number")
        elif isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            _refuse_number(value, where, f"be a number from {low} to {high}")


def _refuse_out_of_range(shape: Any, value: Any, field: str) -> None:
    """Refuse a checked value's timestamps outside 1970 to 9999 and integers outside their shape's range."""
    kind = shape.type_name
    if kind == "timestamp" and not 0 <= value <= MAX_TIMESTAMP:
        _refuse_number(value, field, f"be a timestamp from 0 to {MAX_TIMESTAMP} epoch seconds")
    elif kind in _INTEGER_RANGES and not _INTEGER_RANGES[kind][0] <= value <= _INTEGER_RANGES[kind][1]:
        low, high = _INTEGER_RANGES[kind]
        _refuse_number(value, field, f"have value from {low} to {high}")
    elif kind == "structure":
        for name, member in value.items():
            if name in shape.members:
                _refuse_out_of_range(shape.members[name], member, f"{field}.{name}")
    elif kind == "list":
        for index, item in enumerate(value, start=1):
            _refuse_out_of_range(shape.member, item, f"{field}.{index}")
    elif kind == "map":
        for name, item in value.items():
            _refuse_out_of_range(shape.value, item, f"{field}.{name}")


def check_device_document(document: Any) -> dict[str, Any]:
    """The device document, checked against DescribeDevice's output shape plus `instances`."""
    if not isinstance(document, dict):
        raise ValidationException("device must be a JSON object shaped like DescribeDevice's output")
    _refuse_unrepresentable_numbers(document, "device")
    fields = dict(document)
    instances = fields.pop("instances", [])
    try:
        refuse_unknown_members(document, "device", _DEVICE_DOCUMENT_MEMBERS)
        checked: dict[str, Any] = _check_device(fields, "device")
        if not isinstance(instances, list):
            raise InvalidInput("device.instances must be a list of Instance structures")
        checked_instances = [
            _check_instances(instance, f"device.instances.{index}") for index, instance in enumerate(instances, start=1)
        ]
    except InvalidInput as invalid:
        raise ValidationException(str(invalid)) from None
    _refuse_out_of_range(_DEVICE_SHAPE, checked, "device")
    for index, instance in enumerate(checked_instances, start=1):
        _refuse_out_of_range(_INSTANCE_SHAPE, instance, f"device.instances.{index}")
    for index, instance in enumerate(checked_instances, start=1):
        if not instance.get("instanceId"):
            raise ValidationException(f"device.instances.{index}.instanceId is required")
    if checked.get("tags"):
        check_tags(checked["tags"], field="device.tags")
    checked["instances"] = checked_instances
    return checked
