"""The seeding and control helpers: each acts in this process, or on the server `endpoint_url` or moto's test
mode names, through its HTTP twin."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _moto
from .._shapes import _describe
from ..exceptions import ValidationException
from ..models import EXECUTION_MODEL
from .local import (
    UNSET,
    _add_device_in_process,
    _advance_execution_in_process,
    _clear_faults_in_process,
    _inject_fault_in_process,
    _set_device_online_in_process,
    _set_execution_outcomes_in_process,
    _set_execution_timeout_in_process,
    _simulate_cancel_race_in_process,
    _Unset,
    add_fleet_in_process,
    read_fleet,
)
from .remote import _body_for, _endpoint_for, _route, call_control_route


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
