"""Managed devices, tasks and executions of AWS Snow Device Management, one backend per account and region.

Split by concern, as moto's ec2/models/ is: devices, tasks and executions, the simulator (a device's
work and progression), faults, tags and pagination, each with its part of the backend; the backend is
composed here, where moto finds it (and, from this module's name, the service's `urls`).
"""

from typing import Any, ClassVar

from .._checks import (
    MAX_SECONDS,
    check_device_document,
    check_execution_timeout,
    check_execution_transition,
    check_outcome_script,
    check_outcome_weights,
)
from .._identity import served_regions
from .._moto import file_models_under
from .._shapes import SERVICE_NAME
from .._states import (
    EXECUTION_TRANSITIONS,
    FINAL_EXECUTION_STATES,
    IN_PROGRESS,
    QUEUED,
    TASK_CANCELED,
    TASK_COMPLETED,
    TASK_IN_PROGRESS,
)
from .core import FleetBackends, arn_prefix
from .devices import EC2_INSTANCE, DeviceBackend, ManagedDevice
from .executions import Execution
from .faults import Fault, FaultBackend
from .tags import TagBackend
from .tasks import Task, TaskBackend
from .work import EXECUTION_MODEL, FleetConditions

# What the rest of the package (and its tests) reads from the models, besides the backend
__all__ = [
    "EC2_INSTANCE",
    "EXECUTION_MODEL",
    "EXECUTION_TRANSITIONS",
    "FINAL_EXECUTION_STATES",
    "IN_PROGRESS",
    "MAX_SECONDS",
    "QUEUED",
    "TASK_CANCELED",
    "TASK_COMPLETED",
    "TASK_IN_PROGRESS",
    "Execution",
    "Fault",
    "ManagedDevice",
    "SnowDeviceManagementBackend",
    "Task",
    "FleetBackends",
    "arn_prefix",
    "check_device_document",
    "check_execution_timeout",
    "check_execution_transition",
    "check_outcome_script",
    "check_outcome_weights",
    "snowdevicemanagement_backends",
]


class SnowDeviceManagementBackend(DeviceBackend, TaskBackend, FleetConditions, FaultBackend, TagBackend):
    """All managed devices, tasks and executions of one account in one region."""

    _urls: ClassVar[dict[str, Any] | None] = None

    @property
    def urls(self) -> dict[str, Any]:
        # moto's request router reads this on every call; the routes never change, so build them once
        cls = type(self)
        if cls._urls is None:
            cls._urls = super().urls
        return cls._urls


# moto files models under the module's second name part ("models"); the dashboard should say the service
file_models_under(SERVICE_NAME, "models")

snowdevicemanagement_backends = FleetBackends(
    SnowDeviceManagementBackend,
    SERVICE_NAME,
    use_boto3_regions=False,
    additional_regions=list(served_regions()),
)
# Every backend, however it is built (by moto, or from a state file), shares this dict's clock and change feed
SnowDeviceManagementBackend.fleet = snowdevicemanagement_backends
