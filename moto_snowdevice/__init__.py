"""AWS Snow Device Management (snow-device-management) for moto.

Importing the package registers the service with moto: inside `mock_aws` every boto3 call of the
service reaches this package's backend. The public surface is what `__all__` lists.
"""

# The one place the version is written: setup.cfg reads it from here for the sdist and the wheel
__version__ = "0.2.0.dev0"

# First: stops the import, naming the installed moto and the supported range, if moto lacks an internal
from . import _moto  # noqa: F401
from ._clock import advance_clock, fleet_time
from ._control import (
    ControlRequestError,
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
from ._registration import register
from ._schemas import ResponseMismatch, check_responses

__all__ = [
    "ControlRequestError",
    "ResponseMismatch",
    "add_device",
    "advance_clock",
    "advance_execution",
    "check_responses",
    "clear_faults",
    "fleet_time",
    "inject_fault",
    "load_fleet",
    "register",
    "seed",
    "set_device_online",
    "set_execution_outcomes",
    "set_execution_timeout",
    "simulate_cancel_race",
]

register()
