"""State that survives a restart of the mock server: devices, tasks, executions and tags (never faults).

The file is JSON, written atomically (a temporary file beside it, then a rename). Loading builds every
backend completely before any of them replaces the running state, so a bad file changes nothing.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ._shapes import SERVICE_MODEL
from .exceptions import ValidationException
from .models import (
    IN_PROGRESS,
    SnowDeviceManagementBackend,
    Task,
    check_device_document,
    snowdevicemanagement_backends,
)

FORMAT_VERSION = 1
EXECUTION_STATES = frozenset(SERVICE_MODEL.shape_for("ExecutionState").enum)


class StateFileError(Exception):
    """A state file that cannot be read; the message is one line."""


def _dump_backend(backend: SnowDeviceManagementBackend) -> dict[str, Any]:
    return {
        "accountId": backend.account_id,
        "region": backend.region_name,
        "takesWorkBeforeCancel": backend.takes_work_before_cancel,
        "lastTime": backend._last_time,
        "devices": [
            {
                "device": {
                    **device.document,
                    "managedDeviceId": device.managed_device_id,
                    "tags": backend.tags_of(device.arn),
                    "instances": device.instances,
                },
                "takesWorkBeforeCancel": device.takes_work_before_cancel,
            }
            for device in backend._device_order
        ],
        "tasks": [
            {
                "taskId": task.task_id,
                "targets": task.targets,
                "command": task.command,
                "description": task.description,
                "tags": backend.tags_of(task.arn),
                "createdAt": task.created_at,
                "lastUpdatedAt": task.last_updated_at,
                "completedAt": task.completed_at,
                "canceled": task.canceled,
                "executions": [
                    {
                        "managedDeviceId": execution.managed_device_id,
                        "state": execution.stored_state,
                        "startedAt": execution.started_at,
                        "lastUpdatedAt": execution.last_updated_at,
                        "tick": execution.counted_reads,
                    }
                    for execution in task.executions
                ],
            }
            for task in backend._task_order
        ],
        "clientTokens": {
            token: [fingerprint, task.task_id]
            for token, (fingerprint, task) in backend._client_tokens.items()
        },
    }


def dump() -> dict[str, Any]:
    """Every backend's state, as plain JSON data."""
    backends = []
    for _, _, backend in snowdevicemanagement_backends.iter_backends():
        with backend.lock:  # type: ignore[attr-defined]
            backends.append(_dump_backend(backend))  # type: ignore[arg-type]
    return {"version": FORMAT_VERSION, "backends": backends}


def save(path: str | Path) -> None:
    """Write the state to `path` atomically."""
    path = Path(path)
    text = json.dumps(dump(), separators=(",", ":"))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _build_backend(data: dict[str, Any]) -> SnowDeviceManagementBackend:
    backend = SnowDeviceManagementBackend(data["region"], data["accountId"])
    backend.takes_work_before_cancel = bool(data.get("takesWorkBeforeCancel", False))
    for entry in data["devices"]:
        device = backend.add_device(check_device_document(entry["device"]))
        device.takes_work_before_cancel = bool(entry.get("takesWorkBeforeCancel", False))
    tasks: dict[str, Task] = {}
    for saved in data["tasks"]:
        devices = [backend.get_device(device_id) for device_id in saved["targets"]]
        task = Task(backend, devices, saved["command"], saved.get("description"), float(saved["createdAt"]))
        task.task_id = saved["taskId"]
        task.last_updated_at = float(saved["lastUpdatedAt"])
        task.completed_at = saved.get("completedAt")
        task.canceled = bool(saved["canceled"])
        for execution_data in saved["executions"]:
            execution = task.execution_on(execution_data["managedDeviceId"])
            if execution is None:
                raise ValueError(f"task {task.task_id} has no target {execution_data['managedDeviceId']}")
            if execution_data["state"] not in EXECUTION_STATES:
                raise ValueError(f"unknown execution state {execution_data['state']!r}")
            execution.stored_state = execution_data["state"]
            execution.started_at = execution_data.get("startedAt")
            execution.last_updated_at = float(execution_data["lastUpdatedAt"])
            execution.counted_reads = int(execution_data.get("tick", 0))
            if execution.stored_state == IN_PROGRESS:
                execution.device.running = execution
        backend.tasks[task.task_id] = task
        backend._task_order.append(task)
        tasks[task.task_id] = task
        if saved.get("tags"):
            backend.tag_resource(task.arn, saved["tags"])
    backend._client_tokens = {
        token: (fingerprint, tasks[task_id]) for token, (fingerprint, task_id) in data["clientTokens"].items()
    }
    backend._last_time = float(data.get("lastTime", 0.0))
    return backend


def load(path: str | Path) -> int:
    """Replace the state with the one saved in `path` (a missing file means an empty state).

    Returns how many backends were loaded; raises StateFileError and changes nothing on a bad file.
    """
    path = Path(path)
    if not path.exists():
        return 0
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a version {FORMAT_VERSION} moto-snowdevice state")
        built = [_build_backend(entry) for entry in data["backends"]]
    except ValidationException as invalid:
        raise StateFileError(f"{path}: {invalid.message}") from None
    except KeyError as missing:
        raise StateFileError(f"{path}: cannot load state: missing {missing}") from None
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StateFileError(f"{path}: cannot load state: {reason}") from None
    for backend in built:
        snowdevicemanagement_backends[backend.account_id][backend.region_name] = backend
    return len(built)
