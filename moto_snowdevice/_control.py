"""Seeding and control of the simulated fleet: the Python functions and their HTTP twins on moto's API.

HTTP routes (in-process at http://motoapi.amazonaws.com, and at the server's own address):
POST /moto-api/snow-device-management/devices            {"accountId"?, "region"?, "device": {...}}
POST /moto-api/snow-device-management/fleet              [ the same entries ... ]
POST /moto-api/snow-device-management/advance-execution  {"taskId", "managedDeviceId", "state", ...}
POST /moto-api/snow-device-management/cancel-race        {"enabled", "managedDeviceId"?, ...}
POST /moto-api/snow-device-management/faults             {"operation", "error", "count"?, "probability"?,
                                                          "message"?, ...}
DELETE /moto-api/snow-device-management/faults           {"operation"?, "accountId"?, "region"?}
POST /moto-api/snow-device-management/connectivity       {"managedDeviceId", "online", ...}
POST /moto-api/snow-device-management/execution-timeout  {"seconds", "accountId"?, "region"?}
POST /moto-api/snow-device-management/execution-outcomes {"weights", "managedDeviceId"?, ...}
Any other path or method under the prefix answers a JSON 404 or 405 with a "message".

Where the helpers act: on the server `endpoint_url=` names; else, under moto's TEST_SERVER_MODE or
TEST_PROXY_MODE, on the server or proxy moto sends this process's clients to (TEST_SERVER_MODE_ENDPOINT,
TEST_PROXY_MODE_ENDPOINT), through the routes above; else in this process. The routes themselves always
act in the process that serves them. A helper sends its account as this process reads it
(MOTO_ACCOUNT_ID, else moto's default account); a route given none reads the server's own.

Every route and function refuses bad input with ValidationException (HTTP 400, {"message": ...} naming the
field) before it changes anything:
- accountId: twelve ASCII digits; region: one this service serves (any region botocore knows, or, under
  MOTO_ALLOW_NONEXISTENT_REGION, any name shaped like a region's). Nothing is created for a refused one.
- Bodies are strict JSON: NaN, Infinity, -Infinity and numbers too large for a float (1e999) are refused.
- Limits where the service model is silent: at most MAX_DEVICES_PER_REQUEST (1,000) devices per call of
  POST .../fleet or load_fleet, and MAX_DEVICES_PER_BACKEND (10,000) managed devices per account and
  region, whichever route adds them; a fault's count at most MAX_FAULT_COUNT (1,000,000); an execution
  timeout at most ten years (models.MAX_SECONDS); an outcome weight from 0 to 1,000,000; device timestamps
  from 1970 to 9999 (epoch seconds 0 to 253402300799); the model's integers within 32 bits, its longs within
  64 bits.
"""

import json
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from botocore.model import StringShape

from . import _moto, exceptions
from ._identity import is_account_id, is_served_region
from ._shapes import SERVICE_MODEL, SERVICE_NAME, _describe
from .exceptions import SnowDeviceManagementError, ValidationException
from .models import (
    EXECUTION_MODEL,
    Fault,
    ManagedDevice,
    SnowDeviceManagementBackend,
    check_device_document,
    check_execution_timeout,
    check_outcome_script,
    check_outcome_weights,
    snowdevicemanagement_backends,
)
from .responses import REQUEST_ID_HEADER, new_request_id

__all__ = [
    "ControlRequestError",
    "add_device",
    "advance_execution",
    "clear_faults",
    "inject_fault",
    "load_fleet",
    "seed",
    "set_device_online",
    "set_execution_outcomes",
    "set_execution_timeout",
    "simulate_cancel_race",
]

DEFAULT_REGION = "us-east-1"
API_PREFIX = f"/moto-api/{SERVICE_NAME}"
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
        packaged = resources.files(__package__).joinpath("fleets").joinpath(f"{fleet}.json")
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


# Where a helper acts: this process, or the server or proxy its clients go to


class ControlRequestError(RuntimeError):
    """A server or proxy could not be reached, or answered a control request with neither 200 nor 400."""


# Control requests go straight to the server: never through a proxy the environment names (HTTPS_PROXY)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Seconds a control request may take before it is reported as failed
CONTROL_TIMEOUT = 30


def _endpoint_for(endpoint_url: str | None) -> str | None:
    """The server a helper acts on: the one named, else where moto's test mode sends clients; None: here."""
    if endpoint_url is None:
        return _moto.mock_endpoint()
    if not isinstance(endpoint_url, str) or urlsplit(endpoint_url).scheme not in ("http", "https"):
        raise ValidationException(f"endpoint_url must be an http:// or https:// URL, not {_describe(endpoint_url)}")
    return endpoint_url.rstrip("/")


def _body_for(account_id: str | None, region_name: str | None, **fields: Any) -> dict[str, Any]:
    """A control route's body naming this process's default account (its MOTO_ACCOUNT_ID, not the server's)."""
    return {
        "accountId": _moto.default_account_id() if account_id is None else account_id,
        "region": DEFAULT_REGION if region_name is None else region_name,
        **fields,
    }


def call_control_route(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    """Send one control request (`path` under the server's root) and return its JSON answer.

    A 400 raises ValidationException with the server's message, as the helper in-process would.
    """
    try:
        # NaN and the infinities as Python writes them: the route refuses them naming the field, as in-process
        data = None if body is None else json.dumps(body).encode()
    except (TypeError, ValueError) as error:
        raise ValidationException(f"the request body cannot be sent as JSON: {error}") from None
    url = f"{endpoint}{path}"
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=CONTROL_TIMEOUT) as response:
            answer = response.read()
    except HTTPError as error:
        message = _message_of(error.read())
        if error.code == 400:
            raise ValidationException(message) from None
        raise ControlRequestError(f"{method} {url} answered {error.code}: {message}") from None
    except (URLError, OSError) as error:
        raise ControlRequestError(f"{method} {url} failed: {getattr(error, 'reason', error)}") from None
    return json.loads(answer) if answer.strip() else {}


def _message_of(payload: bytes) -> str:
    try:
        message = json.loads(payload).get("message")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) else payload.decode("utf-8", "replace")[:500]


def _route(endpoint: str, route: str, body: Any, method: str = "POST") -> Any:
    return call_control_route(endpoint, method, f"{API_PREFIX}/{route}", body)


# The helpers


def add_device(
    device: dict[str, Any] | None = None,
    *,
    online: bool = True,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> str:
    """Register a managed device and return its managedDeviceId.

    `device` is shaped like DescribeDevice's output plus an optional `instances` list (camelCase keys,
    all optional; missing ones get realistic defaults). The account defaults to moto's default
    account (MOTO_ACCOUNT_ID whenever it is set), the region to us-east-1; `online=False` adds it off
    the network (see set_device_online). A document that breaks the model raises ValidationException.
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        return _add_device_in_process(device, online=online, account_id=account_id, region_name=region_name)
    body = _body_for(account_id, region_name, device={} if device is None else device, online=online)
    return str(_route(endpoint, "devices", body)["managedDeviceId"])


def load_fleet(fleet: str | Path | list[Any], *, endpoint_url: str | None = None) -> list[str]:
    """Add every device of a fleet, all or nothing: a list of entries as POST .../fleet takes, a fleet
    file's path, or the name of a packaged fleet ("sample").

    An entry without `accountId` goes to MOTO_ACCOUNT_ID (else moto's default account), without
    `region` to us-east-1; `"online": false` beside `"device"` starts it offline. Returns the
    managedDeviceIds in order.
    """
    entries = fleet if isinstance(fleet, list) else read_fleet(fleet)
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        return add_fleet_in_process(entries)
    account = _moto.default_account_id()
    # This process's default account, not the server's, for the entries that name none
    sent = [{"accountId": account, **entry} if isinstance(entry, dict) else entry for entry in entries]
    return [str(device_id) for device_id in _route(endpoint, "fleet", sent)["managedDeviceIds"]]


def seed(value: int, *, endpoint_url: str | None = None) -> None:
    """Seed moto's random source, as POST /moto-api/seed?a=VALUE does: the IDs of devices and tasks
    added next, and the outcomes and faults drawn by chance, repeat for the same seed."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationException(f"seed must be a whole number, not {_describe(value)}")
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _moto.seed_random(value)
        return
    call_control_route(endpoint, "POST", f"/moto-api/seed?a={value}")


def advance_execution(
    task_id: str,
    managed_device_id: str,
    state: str,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> str:
    """Move the execution of a task on a device to `state`, as the device would report it.

    QUEUED may move to IN_PROGRESS, SUCCEEDED, FAILED (these need the device to be free),
    REJECTED, TIMED_OUT or CANCELED; IN_PROGRESS to SUCCEEDED, FAILED or TIMED_OUT. Anything else,
    or an unknown task or device, raises an error and changes nothing. Returns the new state.
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        return _advance_execution_in_process(
            task_id, managed_device_id, state, account_id=account_id, region_name=region_name
        )
    body = _body_for(account_id, region_name, taskId=task_id, managedDeviceId=managed_device_id, state=state)
    return str(_route(endpoint, "advance-execution", body)["state"])


def simulate_cancel_race(
    enabled: bool = True,
    *,
    managed_device_id: str | None = None,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Make devices take queued work before a CancelTask lands (one device, or all of the backend).

    CancelTask then still answers 200, but the execution runs on and the task does not end CANCELED.
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _simulate_cancel_race_in_process(
            enabled, managed_device_id=managed_device_id, account_id=account_id, region_name=region_name
        )
        return
    _route(
        endpoint, "cancel-race", _body_for(account_id, region_name, enabled=enabled, managedDeviceId=managed_device_id)
    )


def inject_fault(
    operation: str,
    error: str,
    *,
    count: int | None = None,
    probability: float | None = None,
    message: str | None = None,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Make `operation` answer one of its documented errors, e.g. ThrottlingException (429).

    Without `probability` the next `count` calls fail (1 by default). With it, each call fails with
    that chance, drawn from moto's seedable random source (`/moto-api/seed`), until `count` calls
    have failed or, without a count, until the faults are cleared. A failed call changes nothing.
    The error carries `message` as given, or AWS's usual wording for that error ("Rate exceeded").
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _inject_fault_in_process(
            operation,
            error,
            count=count,
            probability=probability,
            message=message,
            account_id=account_id,
            region_name=region_name,
        )
        return
    given = {"count": count, "probability": probability, "message": message}
    body = _body_for(
        account_id, region_name, operation=operation, error=error, **{k: v for k, v in given.items() if v is not None}
    )
    _route(endpoint, "faults", body)


def clear_faults(
    operation: str | None = None,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Remove the injected faults of one operation, or all of them, in an account and region."""
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _clear_faults_in_process(operation, account_id=account_id, region_name=region_name)
        return
    _route(endpoint, "faults", _body_for(account_id, region_name, operation=operation), method="DELETE")


def set_device_online(
    managed_device_id: str,
    online: bool = True,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Take a managed device off the network (`online=False`) or bring it back.

    An offline device takes no work: its executions stay QUEUED (or IN_PROGRESS) whatever the
    progression, advance_execution for it is refused, and its lastReachedOutAt stays put; CancelTask
    and the execution timeout still apply. Coming back online is a reach-out (lastReachedOutAt = now).
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _set_device_online_in_process(managed_device_id, online, account_id=account_id, region_name=region_name)
        return
    _route(
        endpoint, "connectivity", _body_for(account_id, region_name, managedDeviceId=managed_device_id, online=online)
    )


def set_execution_timeout(
    seconds: float | None,
    *,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Time out every execution not finished `seconds` after its task was created (None: never).

    Such an execution reads TIMED_OUT from its deadline on, with the deadline as its lastUpdatedAt;
    time is read through the clock the package uses (time.time), so tools that freeze it drive this.
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _set_execution_timeout_in_process(seconds, account_id=account_id, region_name=region_name)
        return
    _route(endpoint, "execution-timeout", _body_for(account_id, region_name, seconds=seconds))


def set_execution_outcomes(
    weights: Mapping[str, float] | None | _Unset = UNSET,
    *,
    script: list[str] | None = None,
    managed_device_id: str | None = None,
    account_id: str | None = None,
    region_name: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """Make the progression end executions by weight, e.g. {"SUCCEEDED": 9, "FAILED": 1}, or by a script.

    `weights` maps some of SUCCEEDED, FAILED, REJECTED, TIMED_OUT to non-negative numbers; each end is
    drawn with moto's seed (`/moto-api/seed`) for that execution, whoever reads it first. REJECTED work
    never starts; FAILED and TIMED_OUT end after IN_PROGRESS with the command's failure effects. For one
    device with `managed_device_id` (it wins over the account and region's setting); None removes the
    setting. `script=["FAILED", "SUCCEEDED"]` with `managed_device_id` says exactly how that device's next
    executions end, in order; once it is used up the weights (or SUCCEEDED) apply again; [] removes it.
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _set_execution_outcomes_in_process(
            weights, script=script, managed_device_id=managed_device_id, account_id=account_id, region_name=region_name
        )
        return
    sent: dict[str, Any] = {}
    if not isinstance(weights, _Unset):
        sent["weights"] = None if weights is None else dict(weights)
    if script is not None:
        sent["script"] = list(script)
    _route(
        endpoint, "execution-outcomes", _body_for(account_id, region_name, managedDeviceId=managed_device_id, **sent)
    )


def forget_progression(*, endpoint_url: str | None = None) -> None:
    """Remove a progression set for this service's executions with moto's state manager (the default
    applies again), in this process or on a server; what the fixtures do after each test."""
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        _moto.state_manager.unset_transition(EXECUTION_MODEL)
        return
    call_control_route(endpoint, "POST", "/moto-api/state-manager/unset-transition", {"model_name": EXECUTION_MODEL})


# HTTP twins


class _NotFinite(str):
    """The text of a number JSON cannot carry (NaN, Infinity, -Infinity, 1e999), kept to name it."""


def _float_or_not_finite(text: str) -> "float | _NotFinite":
    number = float(text)
    return number if number not in (float("inf"), float("-inf")) else _NotFinite(text)


def _refuse_not_finite(body: Any) -> None:
    """Refuse the first number the model cannot carry, naming its field (list entries count from 1)."""
    pending: list[tuple[Any, str]] = [(body, "")]
    while pending:
        value, field = pending.pop()
        if isinstance(value, _NotFinite):
            raise ValidationException(
                f"{field or 'the request body'} is {value}: the request body must be strict JSON, "
                "whose numbers are finite"
            )
        if isinstance(value, dict):
            pending.extend((item, f"{field}.{key}" if field else str(key)) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, f"{field}.{index}" if field else str(index)) for index, item in enumerate(value, 1))


def _json_body(request: Any) -> Any:
    raw = request.get_data() if hasattr(request, "get_data") else request.body
    try:
        body = json.loads(raw or b"{}", parse_constant=_NotFinite, parse_float=_float_or_not_finite)
    except RecursionError:
        raise ValidationException("the request body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationException(f"the request body is not valid JSON: {error}") from None
    _refuse_not_finite(body)
    return body


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationException("the request body must be a JSON object")
    return body


def _post_devices(body: Any) -> dict[str, Any]:
    (device,) = _add_entries([_fleet_entry(_object(body), "")], lambda index: "")
    return {"managedDeviceId": device.managed_device_id, "managedDeviceArn": device.managed_device_arn}


def _post_fleet(body: Any) -> dict[str, Any]:
    return {"managedDeviceIds": add_fleet_in_process(body)}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise ValidationException(f"{key} is required and must be a string")
    return value


def _post_advance_execution(body: Any) -> dict[str, Any]:
    body = _object(body)
    task_id, device_id = _text(body, "taskId"), _text(body, "managedDeviceId")
    state = _advance_execution_in_process(
        task_id,
        device_id,
        _text(body, "state"),
        account_id=body.get("accountId"),
        region_name=body.get("region"),
    )
    return {"taskId": task_id, "managedDeviceId": device_id, "state": state}


def _post_cancel_race(body: Any) -> dict[str, Any]:
    body = _object(body)
    enabled = body.get("enabled", True)
    _simulate_cancel_race_in_process(
        enabled,
        managed_device_id=body.get("managedDeviceId"),
        account_id=body.get("accountId"),
        region_name=body.get("region"),
    )
    return {"enabled": enabled}


def _post_faults(body: Any) -> dict[str, Any]:
    body = _object(body)
    _inject_fault_in_process(
        _text(body, "operation"),
        _text(body, "error"),
        count=body.get("count"),
        probability=body.get("probability"),
        message=body.get("message"),
        account_id=body.get("accountId"),
        region_name=body.get("region"),
    )
    return {"operation": body["operation"], "error": body["error"]}


def _delete_faults(body: Any) -> dict[str, Any]:
    body = _object(body)
    _clear_faults_in_process(body.get("operation"), account_id=body.get("accountId"), region_name=body.get("region"))
    return {}


def _post_connectivity(body: Any) -> dict[str, Any]:
    body = _object(body)
    device_id = _text(body, "managedDeviceId")
    if "online" not in body:
        raise ValidationException("online is required and must be true or false")
    _set_device_online_in_process(
        device_id, body["online"], account_id=body.get("accountId"), region_name=body.get("region")
    )
    return {"managedDeviceId": device_id, "online": body["online"]}


def _post_execution_timeout(body: Any) -> dict[str, Any]:
    body = _object(body)
    if "seconds" not in body:
        raise ValidationException("seconds is required: a positive number, or null for never")
    _set_execution_timeout_in_process(body["seconds"], account_id=body.get("accountId"), region_name=body.get("region"))
    return {"seconds": body["seconds"]}


def _post_execution_outcomes(body: Any) -> dict[str, Any]:
    body = _object(body)
    if "weights" not in body and "script" not in body:
        raise ValidationException(
            "weights or script is required: an object of states and numbers (null removes it), "
            "or a list of ends for one managedDeviceId"
        )
    _set_execution_outcomes_in_process(
        body.get("weights", UNSET),
        script=body.get("script"),
        managed_device_id=body.get("managedDeviceId"),
        account_id=body.get("accountId"),
        region_name=body.get("region"),
    )
    answer = {key: body[key] for key in ("weights", "script") if key in body}
    if body.get("managedDeviceId") is not None:
        answer["managedDeviceId"] = body["managedDeviceId"]
    return answer


def _endpoint(
    action: Callable[[Any], dict[str, Any]], on_delete: Callable[[Any], dict[str, Any]] | None = None
) -> Callable[..., tuple[int, dict[str, str], str]]:
    def handle(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        json_type = {"Content-Type": "application/json", REQUEST_ID_HEADER: new_request_id()}
        chosen = action if request.method == "POST" else on_delete if request.method == "DELETE" else None
        if chosen is None:
            allowed = "POST or DELETE" if on_delete else "POST"
            allow = {**json_type, "Allow": "POST, DELETE" if on_delete else "POST"}
            return 405, allow, json.dumps({"message": f"use {allowed}, not {request.method}"})
        try:
            return 200, json_type, json.dumps(chosen(_json_body(request)))
        except SnowDeviceManagementError as error:
            return 400, json_type, json.dumps({"message": error.message})

    handle.__name__ = action.__name__.lstrip("_")
    return handle


# Endpoints under the prefix that other modules serve (the fleet clock), for the 404's list
OTHER_ENDPOINTS: list[str] = []


def _unknown_endpoint(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """Any other path under the prefix: a JSON 404 naming the endpoints there are, not moto's page."""
    known = ", ".join([*(route.split("/")[-1].rstrip("$") for route in ROUTES), *OTHER_ENDPOINTS])
    path = urlsplit(full_url).path
    message = f"No endpoint at {request.method} {path}; {API_PREFIX}/ has {known}"
    return (
        404,
        {"Content-Type": "application/json", REQUEST_ID_HEADER: new_request_id()},
        json.dumps({"message": message}),
    )


ROUTES = {
    f"{{0}}{API_PREFIX}/devices$": _endpoint(_post_devices),
    f"{{0}}{API_PREFIX}/fleet$": _endpoint(_post_fleet),
    f"{{0}}{API_PREFIX}/advance-execution$": _endpoint(_post_advance_execution),
    f"{{0}}{API_PREFIX}/cancel-race$": _endpoint(_post_cancel_race),
    f"{{0}}{API_PREFIX}/faults$": _endpoint(_post_faults, _delete_faults),
    f"{{0}}{API_PREFIX}/connectivity$": _endpoint(_post_connectivity),
    f"{{0}}{API_PREFIX}/execution-timeout$": _endpoint(_post_execution_timeout),
    f"{{0}}{API_PREFIX}/execution-outcomes$": _endpoint(_post_execution_outcomes),
}
# Registered after the routes above, so that they match first in-process; the server's router
# prefers routes without a pattern anyway
CATCH_ALL_ROUTES = {
    f"{{0}}{API_PREFIX}/?$": _unknown_endpoint,
    f"{{0}}{API_PREFIX}/(?P<unknown>.+)$": _unknown_endpoint,
}
