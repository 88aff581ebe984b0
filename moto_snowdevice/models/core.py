"""What every part of a backend shares: its lock, its resources by ID, its clock and its ARNs."""

from __future__ import annotations

import time
from threading import RLock
from typing import TYPE_CHECKING

from moto.core.base_backend import BaseBackend
from moto.utilities.tagging_service import TaggingService

from .._moto import mock_random, partition_of
from .._shapes import SERVICE_NAME
from ..exceptions import ResourceNotFoundException, ValidationException
from .changes import _changed
from .states import TASK_CANCELED, TASK_COMPLETED, TASK_IN_PROGRESS

if TYPE_CHECKING:
    from .devices import ManagedDevice
    from .faults import Fault
    from .tasks import Task

def _new_id(prefix: str) -> str:
    return prefix + mock_random.get_random_string(length=16, lower_case=True)

def _hex(length: int) -> str:
    return mock_random.get_random_hex(length)

def arn_prefix(account_id: str, region_name: str) -> str:
    """The start of every ARN of the service in an account and region, known before any backend exists."""
    return f"arn:{partition_of(region_name)}:{SERVICE_NAME}:{region_name}:{account_id}:"


class BackendCore(BaseBackend):
    """The state all of a backend's parts read, and the one lookup per resource."""

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

    def get_device(self, managed_device_id: str) -> ManagedDevice:
        device = self.devices.get(managed_device_id)
        if device is None:
            raise ResourceNotFoundException(f"Managed device {managed_device_id} not found")
        return device

    def get_task(self, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None:
            raise ResourceNotFoundException(f"Task {task_id} not found")
        return task

    def known_device(self, managed_device_id: str) -> ManagedDevice:
        """The device a control call names; an unknown one is bad input to that call."""
        device = self.devices.get(managed_device_id)
        if device is None:
            raise ValidationException(
                f"managedDeviceId {managed_device_id} is not a managed device of account "
                f"{self.account_id} in {self.region_name}"
            )
        return device

    def tags_of(self, arn: str) -> dict[str, str]:
        return self.tagger.get_tag_dict_for_resource(arn)
