"""Managed devices, tasks and executions of AWS Snow Device Management, one backend per account and region."""

import base64
import bisect
import hashlib
import json
import math
import re
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from threading import RLock
from typing import Any, ClassVar, NoReturn, cast

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_models import BaseModel
from moto.utilities.tagging_service import TaggingService

from ._identity import served_regions
from ._moto import check_transitions_of, file_models_under, mock_random, partition_of, state_manager
from ._shapes import SERVICE_MODEL, SERVICE_NAME, InvalidInput, _describe, compile_check, refuse_unknown_members
from .exceptions import ResourceNotFoundException, SnowDeviceManagementError, ValidationException

# TaskState and ExecutionState of the service model
TASK_IN_PROGRESS, TASK_CANCELED, TASK_COMPLETED = "IN_PROGRESS", "CANCELED", "COMPLETED"
QUEUED, IN_PROGRESS, CANCELED = "QUEUED", "IN_PROGRESS", "CANCELED"
SUCCEEDED, FAILED, REJECTED, TIMED_OUT = "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"
FINAL_EXECUTION_STATES = frozenset({CANCELED, FAILED, SUCCEEDED, REJECTED, TIMED_OUT})
# How a device's work may end, the ends set_execution_outcomes weighs; CANCELED is the cloud's doing
OUTCOME_STATES = FINAL_EXECUTION_STATES - {CANCELED}
# Where an explicit command may move an execution; a device runs the work in IN_PROGRESS
EXECUTION_TRANSITIONS = {
    QUEUED: frozenset({IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, CANCELED}),
    IN_PROGRESS: frozenset({SUCCEEDED, FAILED, TIMED_OUT}),
}
RUNS_ON_DEVICE = frozenset({IN_PROGRESS, SUCCEEDED, FAILED})

EXECUTION_MODEL = "snow-device-management::execution"
# Executions stay QUEUED until something moves them: by default each DescribeExecution of a device's
# unfinished work moves that device's work one step
DEFAULT_EXECUTION_TRANSITION: dict[str, Any] = {"progression": "manual", "times": 1}
state_manager.register_default_transition(EXECUTION_MODEL, transition=dict(DEFAULT_EXECUTION_TRANSITION))

# Upper bounds where the service model is silent, so that every number stays finite and every timestamp
# one that boto3 and the JavaScript SDK can read: the latest timestamp is 9999-12-31T23:59:59Z
MAX_TIMESTAMP = 253402300799
# An execution timeout or a time progression's period: at most ten years
MAX_SECONDS = 10 * 365 * 24 * 3600
# A manual progression's polls per step, and an outcome's weight
MAX_TIMES = 10**6
MAX_OUTCOME_WEIGHT = 10**6
# A backend's managed devices: the fleet a test or a local run needs, not a memory sink
MAX_DEVICES_PER_BACKEND = 10_000
# The range of the model's integer and long shapes (Smithy's 32- and 64-bit integers)
_INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}

EC2_INSTANCE = "AWS::EC2::Instance"

# AWS's tagging conventions; the service model states no limits for its TagMap
MAX_TAGS = 50
MIN_TAG_KEY_LENGTH, MAX_TAG_KEY_LENGTH = 1, 128
MAX_TAG_VALUE_LENGTH = 256
RESERVED_TAG_PREFIX = "aws:"

# Persistence (`--state`): called, under the backend's lock, with a backend and what changed in it — a
# Task, a ManagedDevice, the backend itself, or None when the backend starts empty. None: nothing kept.
change_listener: "Callable[[SnowDeviceManagementBackend, Any], None] | None" = None


def _changed(backend: "SnowDeviceManagementBackend", resource: Any) -> None:
    listener = change_listener
    if listener is not None:
        listener(backend, resource)

_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<kind>task|managed-device)/(?P<id>[^/]+)"
)

_DEVICE_SHAPE = SERVICE_MODEL.shape_for("DescribeDeviceOutput")
_check_device = compile_check(_DEVICE_SHAPE, strict=True)
# A device document is DescribeDevice's output plus the device's EC2 instances
_DEVICE_DOCUMENT_MEMBERS = (*_DEVICE_SHAPE.members, "instances")
_INSTANCE_SHAPE = SERVICE_MODEL.shape_for("InstanceSummaryList").member.members["instance"]
_check_instances = compile_check(_INSTANCE_SHAPE, strict=True)


def _new_id(prefix: str) -> str:
    return prefix + mock_random.get_random_string(length=16, lower_case=True)


def _hex(length: int) -> str:
    return mock_random.get_random_hex(length)


def _default_device(now: float) -> dict[str, Any]:
    """A device document like the AWS documentation's examples: a locked Snowcone with one RJ45 port."""
    mac = ":".join(_hex(2) for _ in range(6))
    return {
        "associatedWithJob": f"JID{mock_random.uuid4()}",
        "deviceCapacities": [
            {"name": "HDD Storage", "unit": "Byte", "total": 157242114048, "used": 0, "available": 157242114048},
            {"name": "SSD Storage", "unit": "Byte", "total": 0, "used": 0, "available": 0},
            {"name": "vCPU", "unit": "Number", "total": 4, "used": 0, "available": 4},
            {"name": "Memory", "unit": "Byte", "total": 8589934592, "used": 0, "available": 8589934592},
            {"name": "GPU", "unit": "Number", "total": 0, "used": 0, "available": 0},
        ],
        "deviceState": "LOCKED",
        "deviceType": "SNC1_HDD",
        "lastReachedOutAt": now,
        "lastUpdatedAt": now,
        "physicalNetworkInterfaces": [
            {
                "physicalNetworkInterfaceId": f"s.ni-{_hex(17)}",
                "physicalConnectorType": "RJ45",
                "ipAddressAssignment": "DHCP",
                "ipAddress": "192.168.1.231",
                "netmask": "255.255.255.0",
                "defaultGateway": "192.168.1.1",
                "macAddress": mac,
            }
        ],
        "software": {"installedVersion": "122", "installingVersion": "NA", "installState": "NA"},
    }


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
            refuse(
                f"A resource may have at most {MAX_TAGS} tags; with its {len(existing)} tags it would have {total}"
            )


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


# A transition for executions is checked where it is set (Python or HTTP), not first where it is read
check_transitions_of(EXECUTION_MODEL, check_execution_transition, ValidationException)


def execution_transition() -> dict[str, Any]:
    """The progression moto's state manager holds for executions; one that is not valid reads as the default.

    moto's set-transition stores whatever it is given, and one bad setting must not fail every request.
    """
    try:
        return check_execution_transition(state_manager.get_transition(EXECUTION_MODEL))
    except ValidationException:
        return dict(DEFAULT_EXECUTION_TRANSITION)


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
        checked = _check_device(fields, "device")
        if not isinstance(instances, list):
            raise InvalidInput("device.instances must be a list of Instance structures")
        checked_instances = [
            _check_instances(instance, f"device.instances.{index}")
            for index, instance in enumerate(instances, start=1)
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


def _pick(weights: dict[str, float]) -> str | None:
    """A key chosen by weight from moto's seedable random source; no draw when only one can win."""
    candidates = [(state, weight) for state, weight in weights.items() if weight > 0]
    if len(candidates) <= 1:
        return candidates[0][0] if candidates else None
    point = mock_random.random() * sum(weight for _, weight in candidates)
    for state, weight in candidates:
        point -= weight
        if point < 0:
            return state
    return candidates[-1][0]


class ManagedDevice(BaseModel):
    """A Snow Family device under management; its document is shaped like DescribeDevice's output."""

    def __init__(
        self, backend: "SnowDeviceManagementBackend", document: dict[str, Any], now: float, online: bool = True
    ):
        managed_device_id = document.get("managedDeviceId") or _new_id("smd-")
        fields = _default_device(now)
        fields.update(document)
        self._set_up(backend, managed_device_id, fields)
        self.online = online
        self.paced_from = now

    @classmethod
    def restore(cls, backend: "SnowDeviceManagementBackend", saved: dict[str, Any]) -> "ManagedDevice":
        """The device as `saved()` gave it (its document already checked), drawing no ID or default."""
        device = cast("ManagedDevice", cls.__new__(cls))
        device._set_up(backend, saved["device"]["managedDeviceId"], saved["device"])
        device.takes_work_before_cancel = saved.get("takesWorkBeforeCancel", False)
        device.online = saved.get("online", True)
        device.outcome_weights = saved.get("outcomeWeights")
        device.polls = saved.get("polls", 0)
        device.paced_from = saved.get("pacedFrom", device.document.get("lastUpdatedAt", 0.0))
        return device

    def saved(self) -> dict[str, Any]:
        """What `restore` needs: the device document with its tags and instances."""
        return {
            "device": {
                **self.document,
                "managedDeviceId": self.managed_device_id,
                "tags": self.backend.tags_of(self.arn),
                "instances": self.instances,
            },
            "takesWorkBeforeCancel": self.takes_work_before_cancel,
            "online": self.online,
            "outcomeWeights": self.outcome_weights,
            "polls": self.polls,
            "pacedFrom": self.paced_from,
        }

    def _set_up(self, backend: "SnowDeviceManagementBackend", managed_device_id: str, document: dict[str, Any]) -> None:
        self.backend = backend
        self.managed_device_id: str = managed_device_id
        self.managed_device_arn = f"{backend.arn_prefix}managed-device/{managed_device_id}"
        self.arn = self.managed_device_arn
        self.document = {
            key: value
            for key, value in document.items()
            if key not in ("managedDeviceId", "managedDeviceArn", "tags", "instances")
        }
        self.instances: list[dict[str, Any]] = document.get("instances", [])
        self.instance_arn_prefix = f"arn:{backend.partition}:ec2:{backend.region_name}:{backend.account_id}:instance/"
        # Executions in the order they were queued; finished ones are dropped when they reach the front
        self.queue: deque[Execution] = deque()
        self.running: Execution | None = None
        self.takes_work_before_cancel = False
        # An offline device takes no work: its queue waits until it reaches out again
        self.online = True
        # DescribeExecutions of its unfinished work counted toward the next step (manual progression)
        self.polls = 0
        # When the wait for the next step began (time progression)
        self.paced_from = 0.0
        # How its work ends, by weight; None: the account and region's setting
        self.outcome_weights: dict[str, float] | None = None

    @property
    def associated_with_job(self) -> str | None:
        return self.document.get("associatedWithJob")

    def resource_summary(self, instance: dict[str, Any]) -> dict[str, str]:
        """An instance as ListDeviceResources reports it, with an EC2-style ARN."""
        instance_id = instance["instanceId"]
        return {"resourceType": EC2_INSTANCE, "id": instance_id, "arn": self.instance_arn_prefix + instance_id}

    def head(self) -> "Execution | None":
        """The oldest execution still waiting for this device."""
        queue = self.queue
        while queue and queue[0].state != QUEUED:
            queue.popleft()
        return queue[0] if queue else None

    def has_work(self) -> bool:
        return self.running is not None or self.head() is not None

    def enqueue(self, execution: "Execution", now: float) -> None:
        if not self.has_work():
            # An idle device starts its pace when work arrives
            self.paced_from = now
            self.polls = 0
        self.queue.append(execution)

    def work(self, polls: int = 0) -> None:
        """The one place where time or polls move this device's work on, oldest first, one task at a time.

        Called whenever the device's work is observed, under the progression moto's state manager holds
        for executions; `polls` counts DescribeExecutions of its unfinished work. Offline, only the
        execution timeout ends work: that is the cloud's doing.
        """
        backend = self.backend
        pace = (self.polls, self.paced_from)
        if self.online and self.has_work():
            config = execution_transition()
            progression = config["progression"]
            if progression == "time":
                self._catch_up(config["seconds"], backend._now())
            elif progression == "immediate":
                while self.step(None):
                    pass
            elif polls:
                self.polls += polls
                steps, self.polls = divmod(self.polls, config["times"])
                while steps and self.step(None):
                    steps -= 1
        if backend.execution_timeout is not None:
            self.expire(backend._now())
        if (self.polls, self.paced_from) != pace:
            _changed(backend, self)

    def _catch_up(self, period: float, now: float) -> None:
        # A device works whether or not anyone looks: one step for every period that has passed
        while self.has_work() and self.paced_from + period <= now:
            self.paced_from += period
            self.step(self.paced_from)

    def step(self, at: float | None) -> bool:
        """Finish the running work, or take the oldest queued work; False when there is none.

        `at` is when the step happens (a fresh timestamp when None); work past its deadline ends first.
        """
        backend = self.backend
        now = backend._now() if at is None else at
        self.expire(now)
        weights = backend.outcome_weights_for(self)
        running = self.running
        if running is not None:
            ends = {state: weights.get(state, 0) for state in (SUCCEEDED, FAILED, TIMED_OUT)}
            running.move_to(_pick(ends) or SUCCEEDED, now)
            return True
        head = self.head()
        if head is None:
            return False
        rejected = weights.get(REJECTED, 0)
        # Drawn here and at the end: each end's chance is its share of all the weights
        start = _pick({IN_PROGRESS: sum(weights.values()) - rejected, REJECTED: rejected})
        head.move_to(start or IN_PROGRESS, now)
        return True

    def expire(self, until: float) -> None:
        """End, at its deadline, the work whose task was created longer ago than the execution timeout."""
        limit = self.backend.execution_timeout
        if limit is None:
            return
        running = self.running
        if running is not None and running.task.created_at + limit <= until:
            running.time_out(limit)
        # Tasks are queued in creation order, so the expired work is the front of the queue
        head = self.head()
        while head is not None and head.task.created_at + limit <= until:
            head.time_out(limit)
            head = self.head()

    def restart_pace(self, now: float) -> None:
        """Count the next step from `now`: after a reported change or a reach-out."""
        self.polls = 0
        self.paced_from = now
        _changed(self.backend, self)

    def touch(self, now: float, **changes: Any) -> None:
        self.document.update(changes)
        # A catch-up step or a deadline may lie before the latest change; lastUpdatedAt never goes back
        self.document["lastUpdatedAt"] = max(now, self.document.get("lastUpdatedAt") or now)
        _changed(self.backend, self)


class Execution(BaseModel):
    """The work of one task on one of its target devices; its device's `work` moves it on."""

    def __init__(self, task: "Task", device: ManagedDevice, execution_id: str, now: float):
        self.task = task
        self.device = device
        self.managed_device_id = device.managed_device_id
        self.execution_id = execution_id
        self.state = QUEUED
        self.started_at: float | None = None
        self.last_updated_at = now

    def resume(self, saved: dict[str, Any]) -> None:
        """Take up the state `saved()` gave, as a freshly restored execution (see Task.restore)."""
        self.state = saved["state"]
        self.started_at = saved.get("startedAt")
        self.last_updated_at = saved["lastUpdatedAt"]
        if self.state == IN_PROGRESS:
            if self.device.running is not None:
                raise ValidationException(f"managed device {self.managed_device_id} runs two executions at once")
            self.device.running = self

    def saved(self) -> dict[str, Any]:
        return {
            "managedDeviceId": self.managed_device_id,
            "state": self.state,
            "startedAt": self.started_at,
            "lastUpdatedAt": self.last_updated_at,
        }

    @property
    def finished(self) -> bool:
        return self.state in FINAL_EXECUTION_STATES

    def time_out(self, limit: float) -> None:
        # At its deadline, unless it changed later than that (the timeout was set after the change)
        self.move_to(TIMED_OUT, max(self.task.created_at + limit, self.last_updated_at))

    def move_to(self, state: str, now: float) -> None:
        """Enter `state`, with its effects on the task and the device."""
        before = self.state
        device = self.device
        if before == QUEUED and state in RUNS_ON_DEVICE:
            self.started_at = now
            if self.task.command_name == "unlock":
                device.touch(now, deviceState="UNLOCKING")
        self.state = state
        self.last_updated_at = now
        if state == IN_PROGRESS:
            device.running = self
            device.touch(now)
        else:
            if device.running is self:
                device.running = None
            # Work that never started (canceled, rejected, timed out in the queue) leaves the device alone
            if state in RUNS_ON_DEVICE or before == IN_PROGRESS:
                self._finish_on_device(state, now)
            self.task.execution_ended(now)
        self.task.last_updated_at = max(now, self.task.last_updated_at)
        _changed(self.task.backend, self.task)

    def _finish_on_device(self, state: str, now: float) -> None:
        command = self.task.command_name
        device = self.device
        if command == "unlock":
            device.touch(now, deviceState="UNLOCKED" if state == SUCCEEDED else "LOCKED")
        elif command == "reboot" and state == SUCCEEDED:
            device.touch(now, lastReachedOutAt=now)
        else:
            device.touch(now)


class Task(BaseModel):
    """A command sent to one or more managed devices."""

    def __init__(
        self,
        backend: "SnowDeviceManagementBackend",
        devices: list[ManagedDevice],
        command: dict[str, Any],
        description: str | None,
        now: float,
    ):
        self._set_up(backend, _new_id("st-"), devices, command, description, now)
        for execution in self.executions:
            execution.device.enqueue(execution, now)

    @classmethod
    def restore(cls, backend: "SnowDeviceManagementBackend", saved: dict[str, Any]) -> "Task":
        """The task as `saved()` gave it, queued again on its devices, drawing no ID."""
        task = cast("Task", cls.__new__(cls))
        devices = [backend.get_device(execution["managedDeviceId"]) for execution in saved["executions"]]
        task._set_up(backend, saved["taskId"], devices, saved["command"], saved.get("description"), saved["createdAt"])
        task.last_updated_at = saved["lastUpdatedAt"]
        task.completed_at = saved.get("completedAt")
        task.canceled = saved["canceled"]
        if saved.get("clientToken"):
            task.client_token = (saved["clientToken"], saved["fingerprint"])
        for execution, saved_execution in zip(task.executions, saved["executions"]):
            # Back in its queue as it was: the device keeps the pace it was saved with
            execution.device.queue.append(execution)
            execution.resume(saved_execution)
        return task

    def saved(self) -> dict[str, Any]:
        """What `restore` needs: the task, its tags, its client token and its executions."""
        token, fingerprint = self.client_token or (None, None)
        return {
            "taskId": self.task_id,
            "command": self.command,
            "description": self.description,
            "tags": self.backend.tags_of(self.arn),
            "createdAt": self.created_at,
            "lastUpdatedAt": self.last_updated_at,
            "completedAt": self.completed_at,
            "canceled": self.canceled,
            "clientToken": token,
            "fingerprint": fingerprint,
            "executions": [execution.saved() for execution in self.executions],
        }

    def _set_up(
        self,
        backend: "SnowDeviceManagementBackend",
        task_id: str,
        devices: list[ManagedDevice],
        command: dict[str, Any],
        description: str | None,
        now: float,
    ) -> None:
        self.backend = backend
        self.task_id = task_id
        # The command's one member: a Command union holds nothing but its choice
        self.command_name = sys.intern(next(iter(command)))
        self.description = description
        self.created_at = now
        self.last_updated_at = now
        self.completed_at: float | None = None
        self.canceled = False
        # Where the task stands in its backend's order of tasks, set when it is registered
        self.position = -1
        # (token, fingerprint of the parameters) when CreateTask was given a clientToken
        self.client_token: tuple[str, str] | None = None
        self.executions = tuple(
            Execution(self, device, str(number), now) for number, device in enumerate(devices, start=1)
        )

    @property
    def task_arn(self) -> str:
        return f"{self.backend.arn_prefix}task/{self.task_id}"

    arn = task_arn

    @property
    def targets(self) -> list[str]:
        return [execution.managed_device_id for execution in self.executions]

    @property
    def command(self) -> dict[str, Any]:
        return {self.command_name: {}}

    def execution_on(self, managed_device_id: str) -> "Execution | None":
        return next(
            (execution for execution in self.executions if execution.managed_device_id == managed_device_id),
            None,
        )

    @property
    def finished(self) -> bool:
        return self.canceled or self.completed_at is not None

    @property
    def state(self) -> str:
        if self.canceled:
            return TASK_CANCELED
        return TASK_COMPLETED if self.completed_at is not None else TASK_IN_PROGRESS

    def execution_ended(self, now: float) -> None:
        if not self.canceled and all(execution.finished for execution in self.executions):
            ends_now = self.completed_at is None
            # Ends may be stamped in the past (a deadline, a catch-up step): the task ends with the last
            self.completed_at = max(now, *(execution.last_updated_at for execution in self.executions))
            if ends_now:
                self.backend.task_ended(self)


class Fault:
    """A documented error an operation answers on demand: for the next `count` calls, or by chance."""

    def __init__(
        self,
        operation: str,
        error: type[SnowDeviceManagementError],
        count: int | None,
        probability: float | None,
        message: str,
    ):
        self.operation = operation
        self.error = error
        self.message = message
        self.probability = probability
        # Without a probability a fault strikes `count` times (1 by default); with one, until cleared
        self.remaining = count if count is not None else (None if probability is not None else 1)

    def strikes(self) -> bool:
        if self.probability is not None and mock_random.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


class _Pages:
    """Opaque page tokens: a position in a stable order, bound to the listing that issued it."""

    @staticmethod
    def _scope(*parts: Any) -> int:
        return zlib.crc32("|".join(str(part) for part in parts).encode())

    @classmethod
    def start(cls, token: str | None, *scope: Any) -> int:
        if token is None:
            return 0
        try:
            position, checksum = base64.b64decode(token, validate=True).decode().split(":")
            if int(checksum) != cls._scope(*scope) or int(position) < 0:
                raise ValueError
            return int(position)
        except ValueError:
            raise ValidationException(f"Invalid nextToken: {token}") from None

    @classmethod
    def token(cls, position: int, *scope: Any) -> str:
        return base64.b64encode(f"{position}:{cls._scope(*scope)}".encode()).decode()


def paginate_positions(
    items: Sequence[Any],
    positions: Sequence[int],
    max_results: int | None,
    next_token: str | None,
    *scope: Any,
) -> tuple[list[Any], str | None]:
    """One page of the `items` at `positions` (ascending), with the same tokens `paginate` gives for a filter."""
    start = _Pages.start(next_token, *scope)
    limit = max_results or 100
    first = bisect.bisect_left(positions, start)
    chosen = positions[first : first + limit]
    more = first + limit < len(positions)
    return [items[position] for position in chosen], _Pages.token(chosen[-1] + 1, *scope) if more else None


def paginate(
    items: Sequence[Any],
    keep: Callable[[Any], bool] | None,
    max_results: int | None,
    next_token: str | None,
    *scope: Any,
) -> tuple[list[Any], str | None]:
    """One page of `items` (a sequence that only grows at its end) and the token for the next one.

    The token holds the position to go on from, so a page costs O(page), never a rescan.
    """
    position = _Pages.start(next_token, *scope)
    limit = max_results or 100
    page: list[Any]
    if keep is None:
        page = list(items[position : position + limit])
        position += len(page)
        more = position < len(items)
    else:
        page = []
        while position < len(items) and len(page) < limit:
            item = items[position]
            position += 1
            if keep(item):
                page.append(item)
        # Looks ahead only until the next kept item
        more = any(keep(items[index]) for index in range(position, len(items)))
    return page, _Pages.token(position, *scope) if more else None


def arn_prefix(account_id: str, region_name: str) -> str:
    """The start of every ARN of the service in an account and region, known before any backend exists."""
    return f"arn:{partition_of(region_name)}:{SERVICE_NAME}:{region_name}:{account_id}:"


class SnowDeviceManagementBackend(BaseBackend):
    """All managed devices, tasks and executions of one account in one region."""

    _urls: ClassVar[dict[str, Any] | None] = None

    @property
    def urls(self) -> dict[str, Any]:  # type: ignore[override]
        # moto's request router reads this on every call; the routes never change, so build them once
        cls = type(self)
        if cls._urls is None:
            cls._urls = super().urls
        return cls._urls

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.lock = RLock()
        self.arn_prefix = arn_prefix(account_id, region_name)
        self.devices: dict[str, ManagedDevice] = {}
        self._device_order: list[ManagedDevice] = []
        self.tasks: dict[str, Task] = {}
        self._task_order: list[Task] = []
        # Positions in _task_order of the tasks in each TaskState, ascending: a filtered ListTasks is O(page)
        self._task_positions: dict[str, list[int]] = {TASK_IN_PROGRESS: [], TASK_CANCELED: [], TASK_COMPLETED: []}
        self._client_tokens: dict[str, tuple[str, Task]] = {}
        self.tagger = TaggingService()
        self.takes_work_before_cancel = False
        self.faults: dict[str, list[Fault]] = {}
        self._last_time = 0.0
        # Field conditions: how long work may wait before it times out, and how work ends by weight
        self.execution_timeout: float | None = None
        self.outcome_weights: dict[str, float] | None = None
        _changed(self, None)

    def _now(self) -> float:
        # Strictly increasing, in milliseconds, so every change visibly moves lastUpdatedAt
        now = max(round(time.time(), 3), round(self._last_time + 0.001, 3))
        self._last_time = now
        return now

    # Devices

    def check_room_for_devices(self, count: int) -> None:
        """Refuse `count` more managed devices if they would take the backend past MAX_DEVICES_PER_BACKEND."""
        if len(self.devices) + count > MAX_DEVICES_PER_BACKEND:
            raise ValidationException(
                f"account {self.account_id} in {self.region_name} has {len(self.devices)} managed devices; "
                f"{count} more would pass the limit of {MAX_DEVICES_PER_BACKEND} managed devices per account and region"
            )

    def add_device(self, document: dict[str, Any], online: bool = True) -> ManagedDevice:
        """Register a device from an already checked document (see check_device_document)."""
        device_id = document.get("managedDeviceId")
        if device_id is not None and device_id in self.devices:
            raise ValidationException(f"Managed device {device_id} already exists")
        self.check_room_for_devices(1)
        return self._register_device(ManagedDevice(self, document, self._now(), online), document.get("tags"))

    def _register_device(self, device: ManagedDevice, tags: dict[str, str] | None) -> ManagedDevice:
        self.devices[device.managed_device_id] = device
        self._device_order.append(device)
        if tags:
            self.tagger.tag_resource(device.arn, _tag_list(tags))
        _changed(self, device)
        return device

    def restore_device(self, saved: dict[str, Any]) -> ManagedDevice:
        """Add a device saved by `ManagedDevice.saved()`; its document must already be checked."""
        if saved["device"]["managedDeviceId"] in self.devices:
            raise ValidationException(f"managed device {saved['device']['managedDeviceId']} is saved twice")
        device = ManagedDevice.restore(self, saved)
        self._last_time = max(self._last_time, device.document.get("lastUpdatedAt", 0.0))
        return self._register_device(device, saved["device"].get("tags"))

    def restore_task(self, saved: dict[str, Any]) -> Task:
        """Add a task saved by `Task.saved()`, behind the tasks restored before it on its devices."""
        if saved["taskId"] in self.tasks:
            raise ValidationException(f"task {saved['taskId']} is saved twice")
        task = Task.restore(self, saved)
        self._last_time = max(self._last_time, task.last_updated_at)
        return self._register_task(task, saved.get("tags"))

    def _register_task(self, task: Task, tags: dict[str, str] | None) -> Task:
        self.tasks[task.task_id] = task
        task.position = len(self._task_order)
        self._task_order.append(task)
        self._task_positions[task.state].append(task.position)
        if tags:
            self.tagger.tag_resource(task.arn, _tag_list(tags))
        if task.client_token is not None:
            self._client_tokens[task.client_token[0]] = (task.client_token[1], task)
        _changed(self, task)
        return task

    def get_device(self, managed_device_id: str) -> ManagedDevice:
        device = self.devices.get(managed_device_id)
        if device is None:
            raise ResourceNotFoundException(f"Managed device {managed_device_id} not found")
        return device

    def describe_device(self, managed_device_id: str) -> ManagedDevice:
        device = self.get_device(managed_device_id)
        # The device's document shows what its work did: let it work first
        device.work()
        return device

    def list_devices(
        self, job_id: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[ManagedDevice], str | None]:
        return paginate(
            self._device_order,
            (lambda device: device.associated_with_job == job_id) if job_id else None,
            max_results,
            next_token,
            "ListDevices",
            self.account_id,
            self.region_name,
            job_id,
        )

    def list_device_resources(
        self,
        managed_device_id: str,
        resource_type: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        device = self.get_device(managed_device_id)
        # EC2 instances are the only resource type a device reports
        instances = device.instances if resource_type in (None, EC2_INSTANCE) else []
        page, next_token = paginate(
            instances,
            None,
            max_results,
            next_token,
            "ListDeviceResources",
            self.account_id,
            self.region_name,
            managed_device_id,
            resource_type,
        )
        return [device.resource_summary(instance) for instance in page], next_token

    def describe_device_ec2_instances(
        self, managed_device_id: str, instance_ids: list[str]
    ) -> tuple[ManagedDevice, list[dict[str, Any]]]:
        device = self.get_device(managed_device_id)
        by_id = {instance["instanceId"]: instance for instance in device.instances}
        return device, [by_id[instance_id] for instance_id in instance_ids if instance_id in by_id]

    # Tasks

    def create_task(
        self,
        targets: list[str],
        command: dict[str, Any],
        description: str | None,
        tags: dict[str, str] | None,
        client_token: str | None,
    ) -> Task:
        fingerprint = _fingerprint(targets, command, description, tags)
        if client_token is not None and client_token in self._client_tokens:
            previous_fingerprint, task = self._client_tokens[client_token]
            if previous_fingerprint != fingerprint:
                raise ValidationException(
                    f"clientToken {client_token} was already used with different parameters"
                )
            return task
        if tags:
            check_tags(tags)
        devices = [self.get_device(device_id) for device_id in dict.fromkeys(targets)]
        for device in devices:
            # Work the device finished before now must not be counted after the new task
            device.work()
        task = Task(self, devices, command, description, self._now())
        if client_token is not None:
            task.client_token = (client_token, fingerprint)
        return self._register_task(task, tags)

    def task_ended(self, task: Task) -> None:
        """Move an ending task (CANCELED or COMPLETED, for good) out of the IN_PROGRESS positions."""
        in_progress = self._task_positions[TASK_IN_PROGRESS]
        index = bisect.bisect_left(in_progress, task.position)
        if index < len(in_progress) and in_progress[index] == task.position:
            del in_progress[index]
        bisect.insort(self._task_positions[task.state], task.position)

    def get_task(self, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None:
            raise ResourceNotFoundException(f"Task {task_id} not found")
        return task

    def observe(self, task: Task) -> Task:
        """Let every target device of an unfinished task work as the progression allows."""
        if not task.finished:
            for execution in task.executions:
                execution.device.work()
        return task

    def describe_task(self, task_id: str) -> Task:
        return self.observe(self.get_task(task_id))

    def cancel_task(self, task_id: str) -> Task:
        """Cancel a task whose executions are all still queued; running work cannot be canceled."""
        task = self.observe(self.get_task(task_id))
        state = task.state
        if state != TASK_IN_PROGRESS:
            raise ValidationException(f"Task {task_id} cannot be canceled because it is {state}")
        for execution in task.executions:
            if execution.state != QUEUED:
                raise ValidationException(
                    f"Task {task_id} cannot be canceled because its execution on "
                    f"{execution.managed_device_id} is {execution.state}"
                )
        now = self._now()
        # The documented race: a device may take the work from its queue before the cancel lands
        taken = [
            execution
            for execution in task.executions
            if (execution.device.takes_work_before_cancel or self.takes_work_before_cancel)
            and execution.device.online
            and execution.device.running is None
            and execution.device.head() is execution
        ]
        task.canceled = not taken
        for execution in task.executions:
            execution.move_to(IN_PROGRESS if execution in taken else CANCELED, now)
        task.last_updated_at = now
        if task.canceled:
            self.task_ended(task)
        return task

    def list_tasks(
        self, state: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[Task], str | None]:
        scope = ("ListTasks", self.account_id, self.region_name, state)
        if state:
            # Every task's state as of now: each device with work catches up once, then the index answers
            self._work_until_now(self._device_order)
            return paginate_positions(self._task_order, self._task_positions[state], max_results, next_token, *scope)
        tasks, next_token = paginate(self._task_order, None, max_results, next_token, *scope)
        for task in tasks:
            self.observe(task)
        return tasks, next_token

    # Executions

    def get_execution(self, task_id: str, managed_device_id: str) -> Execution:
        execution = self.get_task(task_id).execution_on(managed_device_id)
        if execution is None:
            raise ResourceNotFoundException(
                f"Task {task_id} has no execution on managed device {managed_device_id}"
            )
        return execution

    def describe_execution(self, task_id: str, managed_device_id: str) -> Execution:
        execution = self.get_execution(task_id, managed_device_id)
        # Polling unfinished work is what moves its device on under the state manager's "manual" progression
        execution.device.work(polls=0 if execution.finished else 1)
        return execution

    def list_executions(
        self, task_id: str, state: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[Execution], str | None]:
        task = self.observe(self.get_task(task_id))
        return paginate(
            task.executions,
            (lambda execution: execution.state == state) if state else None,
            max_results,
            next_token,
            "ListExecutions",
            self.account_id,
            self.region_name,
            task_id,
            state,
        )

    def advance_execution(self, task_id: str, managed_device_id: str, state: str) -> Execution:
        """Move an execution to `state` on command, as a device would report it."""
        execution = self.get_execution(task_id, managed_device_id)
        device = execution.device
        if not device.online:
            raise ValidationException(
                f"Managed device {managed_device_id} is offline; it reports no work until it is back online"
            )
        device.work()
        current = execution.state
        allowed = EXECUTION_TRANSITIONS.get(current, frozenset())
        if state not in allowed:
            raise ValidationException(
                f"Execution of task {task_id} on {managed_device_id} cannot move from {current} to {state}"
                + (f"; allowed: {', '.join(sorted(allowed))}" if allowed else "")
            )
        if current == QUEUED and state in RUNS_ON_DEVICE:
            running = execution.device.running
            if running is not None:
                raise ValidationException(
                    f"Managed device {managed_device_id} is busy with task {running.task.task_id}; "
                    "only one task runs on a device at a time"
                )
        now = self._now()
        execution.move_to(state, now)
        device.restart_pace(now)
        return execution

    # Field conditions

    def known_device(self, managed_device_id: str) -> ManagedDevice:
        """The device a control call names; an unknown one is bad input to that call."""
        device = self.devices.get(managed_device_id)
        if device is None:
            raise ValidationException(
                f"managedDeviceId {managed_device_id} is not a managed device of account "
                f"{self.account_id} in {self.region_name}"
            )
        return device

    def set_device_online(self, managed_device_id: str, online: bool) -> ManagedDevice:
        """Take a device off the network or bring it back; coming back is a reach-out."""
        device = self.known_device(managed_device_id)
        if device.online != online:
            # What it did (or what timed out) before the change happened before the change
            device.work()
            device.online = online
            now = self._now()
            if online:
                device.touch(now, lastReachedOutAt=now)
                device.restart_pace(now)
            _changed(self, device)
        return device

    def _work_until_now(self, devices: Iterable[ManagedDevice]) -> None:
        # A new setting applies from now on: work done before it was done under the old one
        for device in devices:
            device.work()

    def set_execution_timeout(self, seconds: float | None) -> None:
        self._work_until_now(self._device_order)
        self.execution_timeout = seconds
        _changed(self, self)

    def set_outcome_weights(self, weights: dict[str, float] | None, managed_device_id: str | None) -> None:
        if managed_device_id is None:
            self._work_until_now(self._device_order)
            self.outcome_weights = weights
            _changed(self, self)
        else:
            device = self.known_device(managed_device_id)
            self._work_until_now([device])
            device.outcome_weights = weights
            _changed(self, device)

    def outcome_weights_for(self, device: ManagedDevice) -> dict[str, float]:
        """The weights that decide how the device's work ends; the device's own win."""
        weights = device.outcome_weights if device.outcome_weights is not None else self.outcome_weights
        return weights or {}

    def saved_settings(self) -> dict[str, Any]:
        """The backend's own settings as `--state` keeps them (injected faults are never kept)."""
        return {
            "takesWorkBeforeCancel": self.takes_work_before_cancel,
            "executionTimeout": self.execution_timeout,
            "outcomeWeights": self.outcome_weights,
        }

    def set_cancel_race(self, enabled: bool, managed_device_id: str | None = None) -> None:
        if managed_device_id is None:
            self.takes_work_before_cancel = enabled
            _changed(self, self)
        else:
            device = self.get_device(managed_device_id)
            device.takes_work_before_cancel = enabled
            _changed(self, device)

    # Faults

    def inject_fault(self, fault: "Fault") -> None:
        self.faults.setdefault(fault.operation, []).append(fault)

    def clear_faults(self, operation: str | None = None) -> None:
        if operation is None:
            self.faults.clear()
        else:
            self.faults.pop(operation, None)

    def raise_injected_fault(self, operation: str) -> None:
        """Fail this call of `operation` if an injected fault says so, before anything changes."""
        faults = self.faults.get(operation)
        if not faults:
            return
        for fault in list(faults):
            if fault.strikes():
                if fault.remaining == 0:
                    faults.remove(fault)
                raise fault.error(fault.message)

    # Tags

    def _resource(self, resource_arn: str) -> "Task | ManagedDevice":
        match = _ARN.fullmatch(resource_arn)
        if match is None:
            raise ValidationException(f"Invalid resourceArn: {resource_arn}")
        kind, resource_id = match["kind"], match["id"]
        resources: dict[str, Any] = self.tasks if kind == "task" else self.devices
        resource = resources.get(resource_id)
        if resource is None or resource.arn != resource_arn:
            raise ResourceNotFoundException(f"Resource {resource_arn} not found")
        return resource

    def _resource_arn(self, resource_arn: str) -> str:
        return self._resource(resource_arn).arn

    def tags_of(self, arn: str) -> dict[str, str]:
        return self.tagger.get_tag_dict_for_resource(arn)

    def tag_resource(self, resource_arn: str, tags: dict[str, str]) -> None:
        resource = self._resource(resource_arn)
        check_tags(tags, self.tags_of(resource.arn))
        self.tagger.tag_resource(resource.arn, _tag_list(tags))
        _changed(self, resource)

    def untag_resource(self, resource_arn: str, tag_keys: Iterable[str]) -> None:
        resource = self._resource(resource_arn)
        self.tagger.untag_resource_using_names(resource.arn, list(tag_keys))
        _changed(self, resource)

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, str]:
        return self.tags_of(self._resource_arn(resource_arn))


def _fingerprint(*parameters: Any) -> str:
    """A short digest of a request's parameters, to tell a repeated clientToken's request apart."""
    text = json.dumps(parameters, sort_keys=True).encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


# moto files models under the module's second name part ("models"); the dashboard should say the service
file_models_under(SERVICE_NAME, "models")

snowdevicemanagement_backends = BackendDict(
    SnowDeviceManagementBackend,
    SERVICE_NAME,
    use_boto3_regions=False,
    additional_regions=list(served_regions()),
)
