"""Managed devices: their documents, defaults and the device operations."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, cast

from moto.core.common_models import BaseModel

from .._moto import mock_random
from ..exceptions import ValidationException
from .changes import Kept
from .core import BackendCore, _hex, _new_id
from .pagination import paginate
from .work import DeviceWork

if TYPE_CHECKING:
    from .executions import Execution

EC2_INSTANCE = "AWS::EC2::Instance"

# A backend's managed devices: the fleet a test or a local run needs, not a memory sink
MAX_DEVICES_PER_BACKEND = 10_000


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


class ManagedDevice(Kept, DeviceWork, BaseModel):
    """A Snow Family device under management; its document is shaped like DescribeDevice's output."""

    # Rebuilt on restore from the saved tasks' executions
    _UNKEPT = frozenset({"queue", "running"})

    def __init__(self, backend: BackendCore, document: dict[str, Any], now: float, online: bool = True):
        managed_device_id = document.get("managedDeviceId") or _new_id("smd-", backend.devices)
        fields = _default_device(now)
        fields.update(document)
        self._set_up(backend, managed_device_id, fields)
        self.online = online
        self.paced_from = now

    @classmethod
    def restore(cls, backend: BackendCore, saved: dict[str, Any]) -> ManagedDevice:
        """The device as `saved()` gave it (its document already checked), drawing no ID or default."""
        device = cast("ManagedDevice", cls.__new__(cls))
        device._set_up(backend, saved["device"]["managedDeviceId"], saved["device"])
        device.takes_work_before_cancel = saved.get("takesWorkBeforeCancel", False)
        device.online = saved.get("online", True)
        device.outcome_weights = saved.get("outcomeWeights")
        script = saved.get("outcomeScript")
        device.outcome_script = tuple(script) if script else None
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
            "outcomeScript": None if self.outcome_script is None else list(self.outcome_script),
            "polls": self.polls,
            "pacedFrom": self.paced_from,
        }

    def _set_up(self, backend: BackendCore, managed_device_id: str, document: dict[str, Any]) -> None:
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
        # How its next executions end, in order, before the weights apply again; None: nothing scripted
        self.outcome_script: tuple[str, ...] | None = None

    def _report(self) -> None:
        fields = self.__dict__
        # From the moment it has a backend and an ID it is something the store can write
        if "backend" in fields and "managed_device_id" in fields:
            fields["backend"].report_change(self)

    # Where it lives, for moto's dashboard (/moto-api/data.json lists a model's public fields)
    @property
    def account_id(self) -> str:
        return self.backend.account_id

    @property
    def region_name(self) -> str:
        return self.backend.region_name

    @property
    def associated_with_job(self) -> str | None:
        return self.document.get("associatedWithJob")

    def resource_summary(self, instance: dict[str, Any]) -> dict[str, str]:
        """An instance as ListDeviceResources reports it, with an EC2-style ARN."""
        instance_id = instance["instanceId"]
        return {"resourceType": EC2_INSTANCE, "id": instance_id, "arn": self.instance_arn_prefix + instance_id}

    def touch(self, now: float, **changes: Any) -> None:
        # A new document, not one changed in place: the assignment is what reports the change
        self.document = {**self.document, **changes, "lastUpdatedAt": now}


class DeviceBackend(BackendCore):
    """A backend's managed devices and the device operations."""

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
            self.tag(device, tags)
        return device

    def restore_device(self, saved: dict[str, Any]) -> ManagedDevice:
        """Add a device saved by `ManagedDevice.saved()`; its document must already be checked."""
        if saved["device"]["managedDeviceId"] in self.devices:
            raise ValidationException(f"managed device {saved['device']['managedDeviceId']} is saved twice")
        device = ManagedDevice.restore(self, saved)
        return self._register_device(device, saved["device"].get("tags"))

    def describe_device(self, managed_device_id: str) -> ManagedDevice:
        device = self.get_device(managed_device_id)
        # The document shows what its work did by now; a DescribeDevice never moves work on
        device.catch_up(self._now())
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

    def set_device_online(self, managed_device_id: str, online: bool) -> ManagedDevice:
        """Take a device off the network or bring it back; coming back is a reach-out."""
        device = self.known_device(managed_device_id)
        if device.online != online:
            now = self._now()
            # What it did (or what timed out) before the change happened before the change
            device.catch_up(now)
            device.online = online
            if online:
                device.touch(now, lastReachedOutAt=now)
                device.restart_pace(now)
        return device
