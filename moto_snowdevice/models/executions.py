"""An execution: the work of one task on one of its target devices, and its effects on the task and the device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.core.common_models import BaseModel

from .._states import FINAL_EXECUTION_STATES, IN_PROGRESS, QUEUED, RUNS_ON_DEVICE, SUCCEEDED, TIMED_OUT
from ..exceptions import ValidationException
from .changes import Kept
from .devices import ManagedDevice

if TYPE_CHECKING:
    from .tasks import Task


class Execution(Kept, BaseModel):
    """The work of one task on one of its target devices; its device's catch-up and polls move it on."""

    def __init__(self, task: Task, device: ManagedDevice, execution_id: str, now: float):
        self.task = task
        self.device = device
        self.managed_device_id = device.managed_device_id
        self.execution_id = execution_id
        self.state = QUEUED
        self.started_at: float | None = None
        self.last_updated_at = now

    def _report(self) -> None:
        # An execution is saved in its task's row
        task = self.__dict__.get("task")
        if task is not None:
            task._report()

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

    # What it belongs to, for moto's dashboard (/moto-api/data.json lists a model's public fields)
    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def account_id(self) -> str:
        return self.task.account_id

    @property
    def region_name(self) -> str:
        return self.task.region_name

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

    def _finish_on_device(self, state: str, now: float) -> None:
        command = self.task.command_name
        device = self.device
        if command == "unlock":
            device.touch(now, deviceState="UNLOCKED" if state == SUCCEEDED else "LOCKED")
        elif command == "reboot" and state == SUCCEEDED:
            device.touch(now, lastReachedOutAt=now)
        else:
            device.touch(now)
