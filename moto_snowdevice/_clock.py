"""The fleet clock: one for the whole service in the process (every account and region), any client can move it.

The fleet's time is the clock's reading (`time.time()`, which freezegun and time-machine move) plus what
was advanced here; every timestamp the service writes, every execution timeout and every step of the
time progression follow it. moto's reset sets it back to the plain clock; `--state` keeps what was
advanced.

    advance_clock(seconds)  /  POST /moto-api/snow-device-management/clock {"advanceSeconds": N} -> {"now": t}
    fleet_time()            /  GET  /moto-api/snow-device-management/clock                       -> {"now": t}

`advanceSeconds` is a number of seconds from 0 (not a boolean, NaN or infinity), keeping the fleet's time
at most 9999-12-31T23:59:59Z; anything else is a ValidationException (HTTP 400 {"message"} naming the
field) and moves nothing.
"""

import json
from typing import Any

from ._checks import check_advance_seconds
from ._control import API_PREFIX, OTHER_ENDPOINTS, _endpoint_for, _json_body, call_control_route
from .exceptions import SnowDeviceManagementError, ValidationException, json_error, json_headers
from .models import snowdevicemanagement_backends

__all__ = ["advance_clock", "fleet_time"]

CLOCK_ROUTE = f"{API_PREFIX}/clock"


def _advance_in_process(seconds: Any) -> float:
    clock = snowdevicemanagement_backends.clock
    checked = check_advance_seconds(seconds, clock.now())
    # The advance is forgotten at moto's next reset, whether or not a backend exists by then
    snowdevicemanagement_backends.watch_reset()
    return clock.advance(checked)


def advance_clock(seconds: float, *, endpoint_url: str | None = None) -> float:
    """Move the fleet's time `seconds` forward, in this process or on a server; the fleet's time now (epoch seconds).

    Timeouts and the time progression then happen as if that time had passed: a test says "three days later"
    with `advance_clock(3 * 24 * 3600)`. It composes with freezegun: the fleet's time is the frozen
    clock's reading plus every advance since moto's last reset.
    """
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        return _advance_in_process(seconds)
    return float(call_control_route(endpoint, "POST", CLOCK_ROUTE, {"advanceSeconds": seconds})["now"])


def fleet_time(*, endpoint_url: str | None = None) -> float:
    """The fleet's time now (epoch seconds), in this process or on a server."""
    endpoint = _endpoint_for(endpoint_url)
    if endpoint is None:
        return snowdevicemanagement_backends.clock.now()
    return float(call_control_route(endpoint, "GET", CLOCK_ROUTE)["now"])


def _answer(request: Any) -> dict[str, Any]:
    if request.method == "GET":
        return {"now": snowdevicemanagement_backends.clock.now()}
    body = _json_body(request)
    if not isinstance(body, dict):
        raise ValidationException("the request body must be a JSON object with advanceSeconds")
    return {"now": _advance_in_process(body.get("advanceSeconds"))}


def clock_route(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    """GET reads the fleet's time, POST {"advanceSeconds": N} moves it; both answer {"now": t}."""
    if request.method not in ("GET", "POST"):
        status, refused, body = json_error(405, f"use GET or POST, not {request.method}")
        return status, {**refused, "Allow": "GET, POST"}, body
    try:
        return 200, json_headers(), json.dumps(_answer(request))
    except SnowDeviceManagementError as error:
        return json_error(400, error.message)


ROUTES = {f"{{0}}{CLOCK_ROUTE}$": clock_route}
OTHER_ENDPOINTS.append("clock")
