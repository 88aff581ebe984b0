"""Tasks and their executions, one per target device, and the task and execution operations."""

from __future__ import annotations

import bisect
import hashlib
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from moto.core.common_models import BaseModel

from .._checks import check_tags
from .._states import (
    CANCELED,
    EXECUTION_TRANSITIONS,
    IN_PROGRESS,
    QUEUED,
    RUNS_ON_DEVICE,
    TASK_CANCELED,
    TASK_COMPLETED,
    TASK_IN_PROGRESS,
)
from ..exceptions import ResourceNotFoundException, ValidationException
from .changes import Kept
from .core import BackendCore, _new_id
from .devices import ManagedDevice
from .executions import Execution
from .pagination import paginate, paginate_positions


class Task(Kept, BaseModel):
    """A command sent to one or more managed devices."""

    def _report(self) -> None:
        # A task reports once it is whole: its executions, made last in _set_up, are set
        fields = self.__dict__
        if "executions" in fields:
            fields["backend"].report_change(self)

    def __init__(
        self,
        backend: BackendCore,
        devices: list[ManagedDevice],
        command: dict[str, Any],
        description: str | None,
        now: float,
    ):
        self._set_up(backend, _new_id("st-", backend.tasks), devices, command, description, now)
        for execution in self.executions:
            execution.device.enqueue(execution, now)

    @classmethod
    def restore(cls, backend: BackendCore, saved: dict[str, Any]) -> Task:
        """The task as `saved()` gave it, queued again on its devices, drawing no ID."""
        task = cast("Task", cls.__new__(cls))
        devices = [backend.get_device(execution["managedDeviceId"]) for execution in saved["executions"]]
        task._set_up(backend, saved["taskId"], devices, saved["command"], saved.get("description"), saved["createdAt"])
        task.last_updated_at = saved["lastUpdatedAt"]
        task.completed_at = saved.get("completedAt")
        task.canceled = saved["canceled"]
        if saved.get("clientToken"):
            task.client_token = (saved["clientToken"], saved["fingerprint"])
        for execution, saved_execution in zip(task.executions, saved["executions"], strict=True):
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
        backend: BackendCore,
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
        # Last: a task reports its changes from here on (see _report)
        self.executions = tuple(
            Execution(self, device, str(number), now) for number, device in enumerate(devices, start=1)
        )

    # Where it lives, for moto's dashboard (/moto-api/data.json lists a model's public fields)
    @property
    def account_id(self) -> str:
        return self.backend.account_id

    @property
    def region_name(self) -> str:
        return self.backend.region_name

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

    def execution_on(self, managed_device_id: str) -> Execution | None:
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


# json.dumps(parameters, sort_keys=True), with the encoder built once: a saved fingerprint stays valid
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True)


def _fingerprint(*parameters: Any) -> str:
    """A short digest of a request's parameters, to tell a repeated clientToken's request apart."""
    text = _FINGERPRINT_JSON.encode(parameters).encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


class TaskBackend(BackendCore):
    """A backend's tasks and executions and their operations."""

    if TYPE_CHECKING:
        # FleetConditions' reads of work, which the composed backend has
        def catch_up(self, devices: Iterable[ManagedDevice], now: float) -> None: ...
        def observe(self, executions: Iterable[Execution], now: float) -> None: ...

    def restore_task(self, saved: dict[str, Any]) -> Task:
        """Add a task saved by `Task.saved()`, behind the tasks restored before it on its devices."""
        if saved["taskId"] in self.tasks:
            raise ValidationException(f"task {saved['taskId']} is saved twice")
        return self._register_task(Task.restore(self, saved), saved.get("tags"))

    def _register_task(self, task: Task, tags: dict[str, str] | None) -> Task:
        self.tasks[task.task_id] = task
        task.position = len(self._task_order)
        self._task_order.append(task)
        self._task_positions[task.state].append(task.position)
        if tags:
            self.tag(task, tags)
        if task.client_token is not None:
            self._client_tokens[task.client_token[0]] = (task.client_token[1], task)
        return task

    def create_task(
        self,
        targets: list[str],
        command: dict[str, Any],
        description: str | None,
        tags: dict[str, str] | None,
        client_token: str | None,
    ) -> Task:
        # Only a request with a clientToken is told apart from others: by a digest of its parameters
        token = None if client_token is None else (client_token, _fingerprint(targets, command, description, tags))
        if token is not None and client_token in self._client_tokens:
            previous_fingerprint, task = self._client_tokens[token[0]]
            if previous_fingerprint != token[1]:
                raise ValidationException(f"clientToken {client_token} was already used with different parameters")
            return task
        if tags:
            check_tags(tags)
        devices = [self.get_device(device_id) for device_id in dict.fromkeys(targets)]
        now = self._now()
        # Work the devices finished before now must not be counted after the new task
        self.catch_up(devices, now)
        task = Task(self, devices, command, description, now)
        if token is not None:
            task.client_token = token
        return self._register_task(task, tags)

    def task_ended(self, task: Task) -> None:
        """Move an ending task (CANCELED or COMPLETED, for good) out of the IN_PROGRESS positions."""
        in_progress = self._task_positions[TASK_IN_PROGRESS]
        index = bisect.bisect_left(in_progress, task.position)
        if index < len(in_progress) and in_progress[index] == task.position:
            del in_progress[index]
        bisect.insort(self._task_positions[task.state], task.position)

    def _observe_tasks(self, tasks: Iterable[Task], now: float) -> None:
        """A call reports these tasks' work (see FleetConditions.observe); finished tasks have none."""
        self.observe([execution for task in tasks if not task.finished for execution in task.executions], now)

    def describe_task(self, task_id: str) -> Task:
        task = self.get_task(task_id)
        self._observe_tasks([task], self._now())
        return task

    def cancel_task(self, task_id: str) -> Task:
        """Cancel a task whose executions are all still queued; running work cannot be canceled."""
        task = self.get_task(task_id)
        now = self._now()
        # The task as of now; a CancelTask never moves work on by itself
        self.catch_up([execution.device for execution in task.executions], now)
        state = task.state
        if state != TASK_IN_PROGRESS:
            raise ValidationException(f"Task {task_id} cannot be canceled because it is {state}")
        for execution in task.executions:
            if execution.state != QUEUED:
                raise ValidationException(
                    f"Task {task_id} cannot be canceled because its execution on "
                    f"{execution.managed_device_id} is {execution.state}"
                )
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
        """A page of tasks, chosen by the state they are in as the call arrives; then their work is reported,
        and those still in `state` answered (a page may be short; its token goes on where it stopped)."""
        scope = ("ListTasks", self.account_id, self.region_name, state)
        now = self._now()
        if state:
            # Every task's state as of now: each device catches up (which changes nothing a later read
            # would not do), then the per-state index answers
            self.catch_up(self._device_order, now)
            tasks, next_token = paginate_positions(
                self._task_order, self._task_positions[state], max_results, next_token, *scope
            )
        else:
            tasks, next_token = paginate(self._task_order, None, max_results, next_token, *scope)
        self._observe_tasks(tasks, now)
        if state:
            # The answer keeps to its filter: a task the step just moved out of `state` is left out
            tasks = [task for task in tasks if task.state == state]
        return tasks, next_token

    def get_execution(self, task_id: str, managed_device_id: str) -> Execution:
        execution = self.get_task(task_id).execution_on(managed_device_id)
        if execution is None:
            raise ResourceNotFoundException(f"Task {task_id} has no execution on managed device {managed_device_id}")
        return execution

    def describe_execution(self, task_id: str, managed_device_id: str) -> Execution:
        execution = self.get_execution(task_id, managed_device_id)
        self.observe([execution], self._now())
        return execution

    def list_executions(
        self, task_id: str, state: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[Execution], str | None]:
        """A page of a task's executions, chosen by the state they are in as the call arrives; then their work is
        reported, and those still in `state` answered."""
        task = self.get_task(task_id)
        now = self._now()
        self.catch_up([execution.device for execution in task.executions], now)
        page, token = paginate(
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
        self.observe(page, now)
        if state:
            # The answer keeps to its filter: an execution the step just moved out of `state` is left out
            page = [execution for execution in page if execution.state == state]
        return page, token

    def advance_execution(self, task_id: str, managed_device_id: str, state: str) -> Execution:
        """Move an execution to `state` on command, as a device would report it."""
        execution = self.get_execution(task_id, managed_device_id)
        device = execution.device
        if not device.online:
            raise ValidationException(
                f"Managed device {managed_device_id} is offline; it reports no work until it is back online"
            )
        now = self._now()
        device.catch_up(now)
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
        execution.move_to(state, now)
        device.restart_pace(now)
        return execution
