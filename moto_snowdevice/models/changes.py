"""Where a change of a model is reported, for `--state` to keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import SnowDeviceManagementBackend

# Persistence (`--state`): called, under the backend's lock, with a backend and what changed in it — a
# Task, a ManagedDevice, the backend itself, or None when the backend starts empty. None: nothing kept.
change_listener: "Callable[[SnowDeviceManagementBackend, Any], None] | None" = None

def _changed(backend: "SnowDeviceManagementBackend", resource: Any) -> None:
    listener = change_listener
    if listener is not None:
        listener(backend, resource)
