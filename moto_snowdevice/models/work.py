"""The simulator: a device's queue of work and how it moves on, under moto's state manager and the field conditions.

A device works through its queued executions oldest first, one task at a time. Two named steps move it:
- `catch_up(now)`: the work that fell due by `now` — a time progression's steps (one per period since
  the pace began), all of it under the immediate progression, the execution timeout's deadlines. It
  does, at one `now`, exactly what any other call at that `now` would do, so reads that catch up change
  nothing a later read returns: under the time and immediate progressions the state at clock t is a
  function of the schedule, the seed and the state-changing calls alone.
- `poll(now)`: moto's manual progression, the one documented exception — a call that reports the
  device's unfinished work (DescribeExecution, ListExecutions, DescribeTask, ListTasks) counts once per
  device per call, and every `times`-th count is one step. No other call (CreateTask, CancelTask,
  DescribeDevice, tagging) moves work.
How an execution ends never depends on who looked first: each execution's chances are fixed by who it
is (task ID, drawn from moto's seeded source, and device), and the end is chosen, when it happens, from
the device's script, else the weights in force then.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from .._checks import check_execution_transition
from .._moto import check_transitions_of, state_manager
from .._states import FAILED, IN_PROGRESS, QUEUED, REJECTED, SUCCEEDED, TIMED_OUT
from ..exceptions import ValidationException
from .core import BackendCore

if TYPE_CHECKING:
    from collections import deque

    from .devices import ManagedDevice
    from .executions import Execution

EXECUTION_MODEL = "snow-device-management::execution"

# Executions stay QUEUED until something moves them: by default each call reporting a device's
# unfinished work moves that device's work one step
DEFAULT_EXECUTION_TRANSITION: dict[str, Any] = {"progression": "manual", "times": 1}
state_manager.register_default_transition(EXECUTION_MODEL, transition=dict(DEFAULT_EXECUTION_TRANSITION))

# A transition for executions is checked where it is set (Python or HTTP), not first where it is read
check_transitions_of(EXECUTION_MODEL, check_execution_transition, ValidationException)

ENDS = (SUCCEEDED, FAILED, TIMED_OUT)


# The transition last read: (moto's object, a copy of it as read, the progression it reads as)
_last_read: tuple[Any, Any, dict[str, Any]] | None = None


def execution_transition() -> dict[str, Any]:
    """The progression moto's state manager holds for executions; one that is not valid reads as the default.

    moto's set-transition stores whatever it is given, and one bad setting must not fail every request.
    Every call that moves work reads it: while moto holds the same object, unchanged, it is checked
    once. The answer is only read, never changed.
    """
    global _last_read
    transition = state_manager.get_transition(EXECUTION_MODEL)
    last = _last_read
    if last is not None and last[0] is transition and last[1] == transition:
        return last[2]
    try:
        progression = check_execution_transition(transition)
    except ValidationException:
        progression = dict(DEFAULT_EXECUTION_TRANSITION)
    if type(transition) is dict:
        # A copy to compare with: a dict changed in place reads anew
        _last_read = (transition, copy.deepcopy(transition), progression)
    return progression


def chance(execution: Execution, draw: str) -> float:
    """A number in [0, 1) fixed by the execution's identity: the same whoever looks, in whatever order."""
    task = execution.task
    key = f"{task.backend.account_id}|{task.backend.region_name}|{task.task_id}|{execution.managed_device_id}|{draw}"
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64


def pick(weights: dict[str, float], point: float) -> str | None:
    """The key whose share of the weights holds `point` (in [0, 1)); None when no weight is positive."""
    candidates = [(state, weight) for state, weight in weights.items() if weight > 0]
    if not candidates:
        return None
    left = point * sum(weight for _, weight in candidates)
    for state, weight in candidates:
        left -= weight
        if left < 0:
            return state
    return candidates[-1][0]


class DeviceWork:
    """A managed device's queue of work and its pace through it (the part of ManagedDevice that works)."""

    backend: BackendCore
    queue: deque[Execution]
    running: Execution | None
    online: bool
    polls: int
    paced_from: float
    outcome_weights: dict[str, float] | None
    outcome_script: tuple[str, ...] | None

    def head(self) -> Execution | None:
        """The oldest execution still waiting for this device (a read: the queue is left as it is)."""
        for execution in self.queue:
            if execution.state == QUEUED:
                return execution
        return None

    def has_work(self) -> bool:
        return self.running is not None or self.head() is not None

    def enqueue(self, execution: Execution, now: float) -> None:
        if not self.has_work():
            # An idle device starts its pace when work arrives
            self.paced_from = now
            self.polls = 0
        self.queue.append(execution)

    def catch_up(self, now: float) -> None:
        """Do the work that fell due by `now` (time and immediate progressions, deadlines); idempotent at one `now`.

        Offline, only the execution timeout ends work: that is the cloud's doing.
        """
        if self.online and self.has_work():
            config = execution_transition()
            if config["progression"] == "time":
                period = config["seconds"]
                # A device works whether or not anyone looks: one step for every period that has passed
                while self.has_work() and self.paced_from + period <= now:
                    self.paced_from += period
                    self.step(self.paced_from)
            elif config["progression"] == "immediate":
                while self.step(self._as_soon_as_possible(now)):
                    pass
        self.expire(now)

    def _as_soon_as_possible(self, now: float) -> float:
        """When the next step happens under the immediate progression: as soon as the work is there.

        That is when the work entered its current state, or when the device's pace last began (it came
        back online, or a change was reported), never later than `now`: whenever a read catches up, the
        step is stamped alike.
        """
        work = self.running or self.head()
        if work is None:
            return now
        return min(now, max(self.paced_from, work.last_updated_at))

    def poll(self, now: float) -> None:
        """A call reported this device's unfinished work: under the manual progression, count it toward a step."""
        if not (self.online and self.has_work()):
            return
        config = execution_transition()
        if config["progression"] != "manual":
            return
        polls = self.polls + 1
        if polls >= config["times"]:
            self.polls = 0
            self.step(now)
        else:
            self.polls = polls

    def step(self, at: float) -> bool:
        """Finish the running work, or take the oldest queued work, at `at`; False when there is none."""
        self.expire(at)
        running = self.running
        if running is not None:
            running.move_to(self._end_of(running), at)
            self._drop_finished()
            return True
        head = self.head()
        if head is None:
            return False
        head.move_to(self._start_of(head), at)
        self._drop_finished()
        return True

    def _next_scripted(self, allowed: Iterable[str]) -> str | None:
        """Take the script's next entry if it is one of `allowed`."""
        script = self.outcome_script
        if not script or script[0] not in allowed:
            return None
        self.outcome_script = script[1:] or None
        return script[0]

    def _start_of(self, execution: Execution) -> str:
        # REJECTED work never starts: a scripted REJECTED, else REJECTED's share of the weights
        scripted = self._next_scripted((REJECTED,))
        if scripted is not None:
            return scripted
        weights = self.backend.outcome_weights_for(cast("ManagedDevice", self))
        rejected = weights.get(REJECTED, 0)
        if rejected <= 0:
            return IN_PROGRESS
        return REJECTED if chance(execution, "start") * sum(weights.values()) < rejected else IN_PROGRESS

    def _end_of(self, execution: Execution) -> str:
        scripted = self._next_scripted(ENDS)
        if scripted is not None:
            return scripted
        weights = self.backend.outcome_weights_for(cast("ManagedDevice", self))
        ends = {state: weights.get(state, 0) for state in ENDS}
        return pick(ends, chance(execution, "end")) or SUCCEEDED

    def _drop_finished(self) -> None:
        # Work that ended leaves the front of the queue, so head() stays O(1) for a busy device
        queue = self.queue
        while queue and queue[0].finished:
            queue.popleft()

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
        self._drop_finished()

    def restart_pace(self, now: float) -> None:
        """Count the next step from `now`: after a reported change or a reach-out."""
        self.polls = 0
        self.paced_from = now


class FleetConditions(BackendCore):
    """A backend's field conditions (execution timeout, outcome weights and scripts, the cancel race).

    And its reads of work: `catch_up` and `observe`, the two named steps every call takes before it answers.
    """

    def catch_up(self, devices: Iterable[ManagedDevice], now: float) -> None:
        """The devices do the work that fell due by `now`: what every call does before it reads or changes work."""
        for device in devices:
            device.catch_up(now)

    def observe(self, executions: Iterable[Execution], now: float) -> None:
        """A call reports these executions: their devices catch up, and each device with unfinished work
        among them takes one poll (moto's manual progression), however many of its executions the answer holds."""
        devices = {id(execution.device): execution.device for execution in executions}
        self.catch_up(devices.values(), now)
        polled = {id(execution.device): execution.device for execution in executions if not execution.finished}
        for device in polled.values():
            device.poll(now)

    def _catch_up_all(self) -> float:
        # A new setting applies from now on: work done before it was done under the old one
        now = self._now()
        self.catch_up(self._device_order, now)
        return now

    def set_execution_timeout(self, seconds: float | None) -> None:
        self._catch_up_all()
        self.execution_timeout = seconds

    def set_outcome_weights(self, weights: dict[str, float] | None, managed_device_id: str | None) -> None:
        if managed_device_id is None:
            self._catch_up_all()
            self.outcome_weights = weights
        else:
            device = self.known_device(managed_device_id)
            device.catch_up(self._now())
            device.outcome_weights = weights

    def set_outcome_script(self, script: list[str] | None, managed_device_id: str) -> None:
        """How the device's next executions end, in order (see check_outcome_script); None or [] clears it.

        A step that starts work takes a REJECTED entry; a step that ends work takes a SUCCEEDED, FAILED or
        TIMED_OUT entry. Once the script is used up, the weights (or SUCCEEDED) apply again.
        """
        device = self.known_device(managed_device_id)
        device.catch_up(self._now())
        device.outcome_script = tuple(script) if script else None

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
        else:
            self.get_device(managed_device_id).takes_work_before_cancel = enabled
