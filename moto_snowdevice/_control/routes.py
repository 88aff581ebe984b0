"""The control routes: the HTTP twins of the in-process functions, on moto's API."""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .. import _control
from ..exceptions import SnowDeviceManagementError, ValidationException, json_error, json_headers
from .local import (
    UNSET,
    _add_entries,
    _advance_execution_in_process,
    _clear_faults_in_process,
    _inject_fault_in_process,
    _set_device_online_in_process,
    _set_execution_outcomes_in_process,
    _set_execution_timeout_in_process,
    _simulate_cancel_race_in_process,
    add_fleet_in_process,
)
from .remote import API_PREFIX


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
    # Read through the package, the one name for it (and the place a failure can be planted)
    (device,) = _add_entries([_control._fleet_entry(_object(body), "")], lambda index: "")
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
        chosen = action if request.method == "POST" else on_delete if request.method == "DELETE" else None
        if chosen is None:
            allowed = "POST or DELETE" if on_delete else "POST"
            status, refused, body = json_error(405, f"use {allowed}, not {request.method}")
            return status, {**refused, "Allow": "POST, DELETE" if on_delete else "POST"}, body
        try:
            return 200, json_headers(), json.dumps(chosen(_json_body(request)))
        except SnowDeviceManagementError as error:
            return json_error(400, error.message)

    handle.__name__ = action.__name__.lstrip("_")
    return handle


# Endpoints under the prefix that other modules serve (the fleet clock), for the 404's list
OTHER_ENDPOINTS: list[str] = []


def _unknown_endpoint(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """Any other path under the prefix: a JSON 404 naming the endpoints there are, not moto's page."""
    known = ", ".join([*(route.split("/")[-1].rstrip("$") for route in ROUTES), *OTHER_ENDPOINTS])
    path = urlsplit(full_url).path
    message = f"No endpoint at {request.method} {path}; {API_PREFIX}/ has {known}"
    return json_error(404, message)


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
