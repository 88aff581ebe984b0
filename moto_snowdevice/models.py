"""Managed devices, tasks and executions of AWS Snow Device Management, one backend per account and region."""

import base64
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable
from threading import RLock
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.common_models import BaseModel
from moto.moto_api._internal import mock_random
from moto.utilities.tagging_service import TaggingService

from ._shapes import SERVICE_NAME
from .exceptions import ResourceNotFoundException, ValidationException

# Task states (TaskState) and execution states (ExecutionState) of the service model
TASK_IN_PROGRESS, TASK_CANCELED, TASK_COMPLETED = "IN_PROGRESS", "CANCELED", "COMPLETED"
QUEUED, IN_PROGRESS, CANCELED = "QUEUED", "IN_PROGRESS", "CANCELED"
FINAL_EXECUTION_STATES = frozenset({"CANCELED", "FAILED", "SUCCEEDED", "REJECTED", "TIMED_OUT"})

_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<kind>task|managed-device)/(?P<id>[^/]+)"
)


def _new_id(prefix: str) -> str:
    return prefix + mock_random.get_random_string(length=16, lower_case=True)


class ManagedDevice(BaseModel):
    """A Snow Family device under management; its document is shaped like DescribeDevice's output."""

    def __init__(self, backend: "SnowDeviceManagementBackend", document: dict[str, Any]):
        self.managed_device_id = document.get("managedDeviceId") or _new_id("smd-")
        self.arn = f"{backend.arn_prefix}managed-device/{self.managed_device_id}"
        self.document = {
            key: value
            for key, value in document.items()
            if key not in ("managedDeviceId", "managedDeviceArn", "tags")
        }


class Execution(BaseModel):
    """The work of one task on one of its target devices."""

    __slots__ = ("task", "managed_device_id", "execution_id", "state", "started_at", "last_updated_at")

    def __init__(self, task: "Task", managed_device_id: str, execution_id: str, now: float):
        self.task = task
        self.managed_device_id = managed_device_id
        self.execution_id = execution_id
        self.state = QUEUED
        self.started_at: float | None = None
        self.last_updated_at = now


class Task(BaseModel):
    """A command sent to one or more managed devices."""

    __slots__ = (
        "task_id", "arn", "targets", "command", "description", "created_at",
        "last_updated_at", "completed_at", "canceled", "executions",
    )

    def __init__(
        self,
        backend: "SnowDeviceManagementBackend",
        targets: list[str],
        command: dict[str, Any],
        description: str | None,
        now: float,
    ):
        self.task_id = _new_id("st-")
        self.arn = f"{backend.arn_prefix}task/{self.task_id}"
        self.targets = targets
        self.command = command
        self.description = description
        self.created_at = now
        self.last_updated_at = now
        self.completed_at: float | None = None
        self.canceled = False
        self.executions = {
            device_id: Execution(self, device_id, str(number), now)
            for number, device_id in enumerate(targets, start=1)
        }

    @property
    def state(self) -> str:
        if self.canceled:
            return TASK_CANCELED
        if self.completed_at is not None:
            return TASK_COMPLETED
        return TASK_IN_PROGRESS


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


def paginate(
    items: list[Any],
    keep: Callable[[Any], bool],
    max_results: int | None,
    next_token: str | None,
    *scope: Any,
) -> tuple[list[Any], str | None]:
    """One page of `items` (a list that only grows at its end) and the token for the next one."""
    position = _Pages.start(next_token, *scope)
    limit = max_results or 100
    page = []
    while position < len(items) and len(page) < limit:
        item = items[position]
        position += 1
        if keep(item):
            page.append(item)
    # Looks ahead only until the next kept item, so a page costs O(page), not O(listing)
    more = any(keep(items[index]) for index in range(position, len(items)))
    return page, _Pages.token(position, *scope) if more else None


class SnowDeviceManagementBackend(BaseBackend):
    """All managed devices, tasks and executions of one account in one region."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.lock = RLock()
        self.arn_prefix = f"arn:{self.partition}:{SERVICE_NAME}:{region_name}:{account_id}:"
        self.devices: dict[str, ManagedDevice] = {}
        self.tasks: dict[str, Task] = {}
        self._task_order: list[Task] = []
        self._client_tokens: dict[str, tuple[str, Task]] = {}
        self.tagger = TaggingService()
        self._last_time = 0.0

    def _now(self) -> float:
        # Strictly increasing, in milliseconds, so every change visibly moves lastUpdatedAt
        now = max(round(time.time(), 3), round(self._last_time + 0.001, 3))
        self._last_time = now
        return now

    # Devices

    def add_device(self, document: dict[str, Any]) -> ManagedDevice:
        device = ManagedDevice(self, document)
        if device.managed_device_id in self.devices:
            raise ValidationException(
                f"Managed device {device.managed_device_id} already exists"
            )
        self.devices[device.managed_device_id] = device
        if document.get("tags"):
            self.tagger.tag_resource(device.arn, _tag_list(document["tags"]))
        return device

    def get_device(self, managed_device_id: str) -> ManagedDevice:
        device = self.devices.get(managed_device_id)
        if device is None:
            raise ResourceNotFoundException(f"Managed device {managed_device_id} not found")
        return device

    # Tasks

    def create_task(
        self,
        targets: list[str],
        command: dict[str, Any],
        description: str | None,
        tags: dict[str, str] | None,
        client_token: str | None,
    ) -> Task:
        fingerprint = json.dumps([targets, command, description, tags], sort_keys=True)
        if client_token is not None and client_token in self._client_tokens:
            previous_fingerprint, task = self._client_tokens[client_token]
            if previous_fingerprint != fingerprint:
                raise ValidationException(
                    f"clientToken {client_token} was already used with different parameters"
                )
            return task
        for device_id in targets:
            self.get_device(device_id)
        task = Task(self, list(dict.fromkeys(targets)), command, description, self._now())
        self.tasks[task.task_id] = task
        self._task_order.append(task)
        if tags:
            self.tagger.tag_resource(task.arn, _tag_list(tags))
        if client_token is not None:
            self._client_tokens[client_token] = (fingerprint, task)
        return task

    def get_task(self, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None:
            raise ResourceNotFoundException(f"Task {task_id} not found")
        return task

    def cancel_task(self, task_id: str) -> Task:
        task = self.get_task(task_id)
        state = task.state
        if state != TASK_IN_PROGRESS:
            raise ValidationException(
                f"Task {task_id} cannot be canceled because it is {state}"
            )
        for execution in task.executions.values():
            if execution.state != QUEUED:
                raise ValidationException(
                    f"Task {task_id} cannot be canceled because its execution on "
                    f"{execution.managed_device_id} is {execution.state}"
                )
        now = self._now()
        for execution in task.executions.values():
            execution.state = CANCELED
            execution.last_updated_at = now
        task.canceled = True
        task.last_updated_at = now
        return task

    def list_tasks(
        self, state: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[Task], str | None]:
        return paginate(
            self._task_order,
            (lambda task: task.state == state) if state else (lambda task: True),
            max_results,
            next_token,
            "ListTasks",
            self.account_id,
            self.region_name,
            state,
        )

    # Tags

    def _resource_arn(self, resource_arn: str) -> str:
        match = _ARN.fullmatch(resource_arn)
        if match is None:
            raise ValidationException(f"Invalid resourceArn: {resource_arn}")
        kind, resource_id = match["kind"], match["id"]
        resources: dict[str, Any] = self.tasks if kind == "task" else self.devices
        resource = resources.get(resource_id)
        if resource is None or resource.arn != resource_arn:
            raise ResourceNotFoundException(f"Resource {resource_arn} not found")
        return resource_arn

    def tags_of(self, arn: str) -> dict[str, str]:
        return self.tagger.get_tag_dict_for_resource(arn)

    def tag_resource(self, resource_arn: str, tags: dict[str, str]) -> None:
        self.tagger.tag_resource(self._resource_arn(resource_arn), _tag_list(tags))

    def untag_resource(self, resource_arn: str, tag_keys: Iterable[str]) -> None:
        self.tagger.untag_resource_using_names(self._resource_arn(resource_arn), list(tag_keys))

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, str]:
        return self.tags_of(self._resource_arn(resource_arn))


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _regions() -> list[str]:
    # boto3 lists no regions for this service, so it is offered in every region botocore knows
    import botocore.session

    session = botocore.session.get_session()
    return sorted(
        {
            region
            for partition in session.get_available_partitions()
            for region in session.get_available_regions("ec2", partition_name=partition)
        }
    )


snowdevicemanagement_backends = BackendDict(
    SnowDeviceManagementBackend,
    SERVICE_NAME,
    use_boto3_regions=False,
    additional_regions=_regions(),
)
