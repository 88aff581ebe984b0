"""The control functions in this process: every input checked before any backend changes or is made."""

import json
from collections.abc import Callable
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

from botocore.model import StringShape

from .. import _moto, exceptions
from .._identity import is_account_id, is_served_region
from .._shapes import SERVICE_MODEL, _describe
from ..exceptions import ValidationException
from ..models import (
    Fault,
    ManagedDevice,
    SnowDeviceManagementBackend,
    check_device_document,
    check_execution_timeout,
    check_outcome_script,
    check_outcome_weights,
    snowdevicemanagement_backends,
)

DEFAULT_REGION = "us-east-1"
# The distribution's top package, which holds the packaged fleets
_PACKAGE = __name__.partition(".")[0]
# An injected error's message: long enough for any real AWS message, short enough to read
MAX_FAULT_MESSAGE = 1024
# Devices one call may add: a large test fleet, while one request cannot hold the others up for long
MAX_DEVICES_PER_REQUEST = 1000
# Calls a fault may fail: more than any test makes, and a number every client reads exactly
MAX_FAULT_COUNT = 10**6


def _enum_of(shape_name: str) -> tuple[str, ...]:
    """The values of one of the model's string enums."""
    shape = SERVICE_MODEL.shape_for(shape_name)
    if not isinstance(shape, StringShape):
        raise TypeError(f"the service model's {shape_name} is a {shape.type_name}, not a string enum")
    return tuple(shape.enum)


_EXECUTION_STATES = _enum_of("ExecutionState")
_DOCUMENTED_ERRORS = {
    name: tuple(shape.name for shape in SERVICE_MODEL.operation_model(name).error_shapes)
    for name in SERVICE_MODEL.operation_names
}


def _identity(account_id: Any, region_name: Any) -> tuple[str, str]:
    """The account and region a control call names (MOTO_ACCOUNT_ID or moto's default, us-east-1), checked."""
    account_id = _moto.default_account_id() if account_id is None else account_id
    region_name = DEFAULT_REGION if region_name is None else region_name
    if not is_account_id(account_id):
        raise ValidationException(f"accountId must be twelve ASCII digits, not {_describe(account_id)}")
    if not is_served_region(region_name):
        raise ValidationException(
            f"region must be a region this service serves (such as {DEFAULT_REGION}), not {_describe(region_name)}"
        )
    return account_id, region_name


def backend_for(account_id: Any, region_name: Any) -> SnowDeviceManagementBackend:
    """The backend of a checked account and region; one that is refused creates nothing."""
    account_id, region_name = _identity(account_id, region_name)
    try:
        backend: SnowDeviceManagementBackend = snowdevicemanagement_backends[account_id][region_name]
    except KeyError:
        raise ValidationException(
            f"region must be a region this service serves, not {_describe(region_name)}"
        ) from None
    return backend


def _add_device_in_process(
    device: dict[str, Any] | None = None,
    *,
    online: bool = True,
    account_id: str | None = None,
    region_name: str | None = None,
) -> str:
    """`add_device` in this process's own backends."""
    if not isinstance(online, bool):
        raise ValidationException(f"online must be true or false, not {_describe(online)}")
    backend = backend_for(account_id, region_name)
    document = check_device_document(device or {})
    with backend.lock:
        return backend.add_device(document, online).managed_device_id


# A fleet entry once checked: the account and region it names, its device document, and whether it is online
_Entry = tuple[tuple[str, str], dict[str, Any], bool]


def _fleet_entry(entry: Any, where: str) -> _Entry:
    """One entry of a fleet (or the body of POST .../devices), checked without touching any backend."""
    if not isinstance(entry, dict) or not isinstance(entry.get("device", {}), dict):
        raise ValidationException(f"{where}must be an object with a device object")
    unknown = set(entry) - {"accountId", "region", "device", "online"}
    if unknown:
        raise ValidationException(f"{where}has unknown keys: {', '.join(sorted(unknown))}")
    try:
        identity = _identity(entry.get("accountId"), entry.get("region"))
        document = check_device_document(entry.get("device", {}))
    except ValidationException as invalid:
        raise ValidationException(f"{where}{invalid.message}") from None
    if not isinstance(entry.get("online", True), bool):
        raise ValidationException(f"{where}online must be true or false")
    return identity, document, _online(entry)


def _online(entry: dict[str, Any]) -> bool:
    """Whether a fleet entry's device starts online (`"online": false` beside `"device"` says not)."""
    return entry.get("online", True) is not False


def _fleet_entries(fleet: Any) -> list[_Entry]:
    """Every entry of a fleet, checked before any device is added or any backend is made."""
    if not isinstance(fleet, list):
        raise ValidationException("a fleet is a JSON list of {accountId?, region?, device} entries")
    if len(fleet) > MAX_DEVICES_PER_REQUEST:
        raise ValidationException(
            f"a fleet has {len(fleet)} entries; at most {MAX_DEVICES_PER_REQUEST} devices are added per request"
        )
    entries = []
    seen: set[tuple[tuple[str, str], str]] = set()
    for index, entry in enumerate(fleet, start=1):
        identity, document, online = _fleet_entry(entry, f"fleet entry {index}: ")
        device_id = document.get("managedDeviceId")
        if device_id is not None:
            if (identity, device_id) in seen:
                raise ValidationException(f"fleet entry {index}: managed device {device_id} is listed twice")
            seen.add((identity, device_id))
        entries.append((identity, document, online))
    return entries


def _add_entries(entries: list[_Entry], label: Callable[[int], str]) -> list[ManagedDevice]:
    """Add checked entries all or nothing, under the lock of every backend they name (taken in one order)."""
    backends = {identity: backend_for(*identity) for identity in sorted({entry[0] for entry in entries})}
    with ExitStack() as locks:
        for backend in backends.values():
            locks.enter_context(backend.lock)
        for identity, backend in backends.items():
            backend.check_room_for_devices(sum(1 for entry in entries if entry[0] == identity))
        for index, (identity, document, _) in enumerate(entries, start=1):
            device_id = document.get("managedDeviceId")
            if device_id is not None and device_id in backends[identity].devices:
                raise ValidationException(f"{label(index)}managed device {device_id} already exists")
        return [backends[identity].add_device(document, online) for identity, document, online in entries]


def read_fleet(fleet: str | Path) -> Any:
    """The entries of a fleet file, or of a packaged fleet by name, as JSON (not yet checked)."""
    path = Path(fleet)
    if not path.exists() and path.suffix == "" and path.name == str(fleet):
        packaged = resources.files(_PACKAGE).joinpath("fleets").joinpath(f"{fleet}.json")
        if not packaged.is_file():
            raise ValidationException(f"no fleet file or packaged fleet named {fleet!r}")
        text = packaged.read_text(encoding="utf-8")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValidationException(f"cannot read fleet file {fleet}: {error}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValidationException(f"fleet file {fleet} is not valid JSON: {error}") from None


def add_fleet_in_process(fleet: Any) -> list[str]:
    """Add a fleet's entries to this process's own backends, all or nothing; their managedDeviceIds."""
    devices = _add_entries(_fleet_entries(fleet), lambda index: f"fleet entry {index}: ")
    return [device.managed_device_id for device in devices]


def _advance_execution_in_process(
    task_id: str,
    managed_device_id: str,
    state: str,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
) -> str:
    """`advance_execution` in this process's own backends."""
    if state not in _EXECUTION_STATES:
        raise ValidationException(f"state must be one of {', '.join(_EXECUTION_STATES)}, not {state!r}")
    backend = backend_for(account_id, region_name)
    with backend.lock:
        return backend.advance_execution(task_id, managed_device_id, state).state


def _simulate_cancel_race_in_process(
    enabled: bool = True,
    *,
    managed_device_id: str | None = None,
    account_id: str | None = None,
    region_name: str | None = None,
) -> None:
    """`simulate_cancel_race` in this process's own backends."""
    if not isinstance(enabled, bool):
        raise ValidationException("enabled must be true or false")
    if managed_device_id is not None and not isinstance(managed_device_id, str):
        raise ValidationException("managedDeviceId must be a string")
    backend = backend_for(account_id, region_name)
    with backend.lock:
        backend.set_cancel_race(enabled, managed_device_id)


def _inject_fault_in_process(
    operation: str,
    error: str,
    *,
    count: int | None = None,
    probability: float | None = None,
    message: str | None = None,
    account_id: str | None = None,
    region_name: str | None = None,
) -> None:
    """`inject_fault` in this process's own backends."""
    documented = _DOCUMENTED_ERRORS.get(operation) if isinstance(operation, str) else None
    if documented is None:
        raise ValidationException(f"operation must be one of {', '.join(_DOCUMENTED_ERRORS)}, not {operation!r}")
    if not isinstance(error, str) or error not in documented:
        raise ValidationException(f"{operation} documents only {', '.join(documented)}, not {error!r}")
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_FAULT_COUNT
    ):
        raise ValidationException(f"count must be a whole number from 1 to {MAX_FAULT_COUNT}, not {_describe(count)}")
    if probability is not None and (
        not isinstance(probability, (int, float)) or isinstance(probability, bool) or not 0 < probability <= 1
    ):
        raise ValidationException(f"probability must be a number above 0 and at most 1, not {_describe(probability)}")
    if message is not None and (not isinstance(message, str) or not 1 <= len(message) <= MAX_FAULT_MESSAGE):
        raise ValidationException(f"message must be a string of 1 to {MAX_FAULT_MESSAGE} characters")
    backend = backend_for(account_id, region_name)
    error_class = getattr(exceptions, error)
    message = message or exceptions.fault_message(error_class, operation, backend.account_id)
    with backend.lock:
        backend.inject_fault(Fault(operation, error_class, count, probability, message))


def _clear_faults_in_process(
    operation: str | None = None,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
) -> None:
    """`clear_faults` in this process's own backends."""
    if operation is not None and (not isinstance(operation, str) or operation not in _DOCUMENTED_ERRORS):
        raise ValidationException(f"operation must be one of {', '.join(_DOCUMENTED_ERRORS)}, not {operation!r}")
    backend = backend_for(account_id, region_name)
    with backend.lock:
        backend.clear_faults(operation)


def _set_device_online_in_process(
    managed_device_id: str,
    online: bool = True,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
) -> None:
    """`set_device_online` in this process's own backends."""
    if not isinstance(managed_device_id, str):
        raise ValidationException("managedDeviceId is required and must be a string")
    if not isinstance(online, bool):
        raise ValidationException(f"online must be true or false, not {online!r}")
    backend = backend_for(account_id, region_name)
    with backend.lock:
        backend.set_device_online(managed_device_id, online)


def _set_execution_timeout_in_process(
    seconds: float | None,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
) -> None:
    """`set_execution_timeout` in this process's own backends."""
    limit = check_execution_timeout(seconds)
    backend = backend_for(account_id, region_name)
    with backend.lock:
        backend.set_execution_timeout(limit)


class _Unset:
    """The type of UNSET: `set_execution_outcomes` given no weights (None means "remove them")."""


UNSET = _Unset()


def _set_execution_outcomes_in_process(
    weights: Any = UNSET,
    *,
    script: Any = None,
    managed_device_id: str | None = None,
    account_id: str | None = None,
    region_name: str | None = None,
) -> None:
    """`set_execution_outcomes` in this process's own backends: both values checked before either applies."""
    if weights is UNSET and script is None:
        raise ValidationException("weights or script is required")
    if managed_device_id is not None and not isinstance(managed_device_id, str):
        raise ValidationException("managedDeviceId must be a string")
    checked_weights = None if weights is UNSET else check_outcome_weights(weights)
    checked_script = check_outcome_script(script)
    if script is not None and managed_device_id is None:
        raise ValidationException("managedDeviceId is required with a script: a script is one device's")
    backend = backend_for(account_id, region_name)
    with backend.lock:
        if managed_device_id is not None:
            # A script or weights for an unknown device refuse before either changes anything
            backend.known_device(managed_device_id)
        if weights is not UNSET:
            backend.set_outcome_weights(checked_weights, managed_device_id)
        if script is not None and managed_device_id is not None:
            backend.set_outcome_script(checked_script, managed_device_id)
