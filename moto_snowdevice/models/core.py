"""What every part of a backend shares: its lock, its resources by ID, the fleet's clock and its ARNs.

One clock: moto's. Every timestamp the service writes is `time.time()` (the clock freezegun and
time-machine move, as moto's own services read it) plus what the fleet clock was advanced
(`advance_clock`), read once per call: under a frozen clock two changes at one instant share it, and a
clock moved backwards is followed (changes made after are stamped earlier). Work the fleet does by
itself (a time progression's step, an execution timeout's deadline) is stamped when it fell due, never
before the last change of the execution it ends; a task's lastUpdatedAt and completedAt are its latest
execution change's, so they never go back.
"""

from __future__ import annotations

import time
from collections.abc import Container
from threading import Lock, RLock
from typing import TYPE_CHECKING, Any, ClassVar

from moto.core.base_backend import BaseBackend
from moto.utilities.tagging_service import TaggingService

from .._moto import ResetAwareBackendDict, mock_random, partition_of, random_lower_string
from .._shapes import SERVICE_NAME
from .._states import TASK_CANCELED, TASK_COMPLETED, TASK_IN_PROGRESS
from ..exceptions import ResourceNotFoundException, ValidationException
from .changes import ChangeFeed

if TYPE_CHECKING:
    from . import SnowDeviceManagementBackend  # noqa: F401 (the BackendDict's type parameter, a string)
    from .devices import ManagedDevice
    from .faults import Fault
    from .tasks import Task


def _new_id(prefix: str, taken: Container[str] = ()) -> str:
    """A new ID drawn from moto's seeded source, never one in `taken`: re-seeding mid-test repeats the draws."""
    while True:
        drawn = random_lower_string(16)
        if prefix + drawn not in taken:
            return prefix + drawn


def _hex(length: int) -> str:
    drawn: str = mock_random.get_random_hex(length)
    return drawn


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def arn_prefix(account_id: str, region_name: str) -> str:
    """The start of every ARN of the service in an account and region, known before any backend exists."""
    return f"arn:{partition_of(region_name)}:{SERVICE_NAME}:{region_name}:{account_id}:"


class FleetClock:
    """The fleet's time: the clock's reading plus what a test advanced it; one for the whole service."""

    def __init__(self) -> None:
        self._lock = Lock()
        self.advanced = 0.0

    def now(self) -> float:
        return time.time() + self.advanced

    def advance(self, seconds: float) -> float:
        """Move the fleet's time `seconds` (already checked) forward; the fleet's time now."""
        with self._lock:
            self.advanced += seconds
            return self.now()

    def reset(self) -> None:
        """Back to the plain clock: moto's reset."""
        with self._lock:
            self.advanced = 0.0


class FleetBackends(ResetAwareBackendDict["SnowDeviceManagementBackend"]):
    """moto's BackendDict of the service, with what all its backends share: the fleet clock and the change feed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = FleetClock()
        self.changes = ChangeFeed()

    def on_reset(self) -> None:
        # moto's reset (mock_aws starting or ending, POST /moto-api/reset): the fleet's time goes back to the
        # plain clock, whether or not any backend was ever made
        self.clock.reset()


# A backend's settings `--state` keeps (saved_settings); assigning one reports the backend
KEPT_SETTINGS = frozenset({"takes_work_before_cancel", "execution_timeout", "outcome_weights"})


class BackendCore(BaseBackend):
    """The state all of a backend's parts read, and the one lookup per resource."""

    # The BackendDict the backend class is served from (set where it is made, in models/__init__)
    fleet: ClassVar[FleetBackends]

    if TYPE_CHECKING:
        # The other parts' steps a device or a task calls on its backend, which the composed backend has
        def outcome_weights_for(self, device: ManagedDevice) -> dict[str, float]: ...
        def task_ended(self, task: Task) -> None: ...

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
        # Field conditions: how long work may wait before it times out, and how work ends by weight
        self.execution_timeout: float | None = None
        self.outcome_weights: dict[str, float] | None = None
        self._built = True
        self.report_change(None)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        # A fresh backend's settings are what a restart builds again: only later settings are changes
        if name in KEPT_SETTINGS and self.__dict__.get("_built"):
            self.report_change(self)

    def report_change(self, resource: Any) -> None:
        """Report to `--state` that `resource` (a task, a device, this backend; None: emptied) changed."""
        # Only the composed SnowDeviceManagementBackend is ever built, never one of its parts alone
        self.fleet.changes.report(self, resource)  # type: ignore[arg-type]

    def _now(self) -> float:
        """The fleet's time: read once per call, so every change the call makes shares it."""
        return self.fleet.clock.now()

    def tag(self, resource: Task | ManagedDevice, tags: dict[str, str]) -> None:
        self.tagger.tag_resource(resource.arn, _tag_list(tags))
        self.report_change(resource)

    def untag(self, resource: Task | ManagedDevice, tag_keys: list[str]) -> None:
        self.tagger.untag_resource_using_names(resource.arn, tag_keys)
        self.report_change(resource)

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
