"""The simulator: a device's queue of work and how it moves on, under moto's state manager and the field conditions.

A device works through its queued executions oldest first, one task at a time; `DeviceWork.work` is the
one place where time or polls move it on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._checks import check_execution_transition
from .._moto import check_transitions_of, mock_random, state_manager
from ..exceptions import ValidationException
from .changes import _changed
from .core import BackendCore
from .states import FAILED, IN_PROGRESS, QUEUED, REJECTED, SUCCEEDED, TIMED_OUT

if TYPE_CHECKING:
    from collections import deque

    from . import SnowDeviceManagementBackend
    from .devices import ManagedDevice
    from .tasks import Execution

EXECUTION_MODEL = "snow-device-management::execution"

# Executions stay QUEUED until something moves them: by default each DescribeExecution of a device's
# unfinished work moves that device's work one step
DEFAULT_EXECUTION_TRANSITION: dict[str, Any] = {"progression": "manual", "times": 1}
state_manager.register_default_transition(EXECUTION_MODEL, transition=dict(DEFAULT_EXECUTION_TRANSITION))

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


class DeviceWork:
    """A managed device's queue of work and its pace through it (the part of ManagedDevice that works)."""

    backend: "SnowDeviceManagementBackend"
    queue: "deque[Execution]"
    running: "Execution | None"
    online: bool
    polls: int
    paced_from: float
    outcome_weights: dict[str, float] | None

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


class FleetConditions(BackendCore):
    """A backend's field conditions: execution timeout, outcome weights and the cancel race."""

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
