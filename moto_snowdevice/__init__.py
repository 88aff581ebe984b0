"""AWS Snow Device Management (snow-device-management) for moto.

Importing the package registers the service with moto. The public surface is listed in `__all__`.
"""

from typing import Any

from ._registration import register
from .models import snowdevicemanagement_backends

__all__ = ["add_device", "register"]

DEFAULT_REGION = "us-east-1"


def _backend(account_id: str | None, region_name: str | None) -> Any:
    from moto.core import DEFAULT_ACCOUNT_ID

    return snowdevicemanagement_backends[account_id or DEFAULT_ACCOUNT_ID][region_name or DEFAULT_REGION]


def add_device(
    device: dict[str, Any] | None = None,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
) -> str:
    """Register a managed device and return its managedDeviceId.

    `device` is shaped like DescribeDevice's output (camelCase keys, all optional). The account
    defaults to moto's default account, the region to us-east-1.
    """
    backend = _backend(account_id, region_name)
    with backend.lock:
        return backend.add_device(device or {}).managed_device_id


register()
