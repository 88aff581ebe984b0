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

from .helpers import (
    add_device,
    advance_execution,
    clear_faults,
    inject_fault,
    load_fleet,
    seed,
    set_device_online,
    set_execution_outcomes,
    set_execution_timeout,
    simulate_cancel_race,
)
from .helpers import forget_progression as forget_progression

# The package's names for what other modules use; the routes read _fleet_entry through here
from .local import _fleet_entry as _fleet_entry
from .local import add_fleet_in_process as add_fleet_in_process
from .local import read_fleet as read_fleet
from .remote import API_PREFIX as API_PREFIX
from .remote import ControlRequestError
from .remote import _endpoint_for as _endpoint_for
from .remote import call_control_route as call_control_route
from .routes import CATCH_ALL_ROUTES as CATCH_ALL_ROUTES
from .routes import OTHER_ENDPOINTS as OTHER_ENDPOINTS
from .routes import ROUTES as ROUTES
from .routes import _json_body as _json_body

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
