"""The mock server: every moto service and snow-device-management at one address.

`moto-snowdevice-server` / `python -m moto_snowdevice` take moto_server's -H/--host and -p/--port,
plus --fleet FILE|NAME to seed devices at start and --state FILE to keep the state across restarts.
"""

import argparse
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from . import _schemas, _state
from ._control import load_fleet
from ._shapes import SERVICE_NAME
from .exceptions import SnowDeviceManagementError
from .responses import SnowDeviceManagementResponse

_SIGNED_FOR_SERVICE = f"/{SERVICE_NAME}/aws4_request"
_HOST_OF_SERVICE = f"{SERVICE_NAME}."


class SnowDeviceManagementApplication:
    """moto's WSGI application, with requests for this service answered by the service directly.

    Requests signed for snow-device-management (or sent to its host name) never reach moto's Flask
    routing, so every one of them, even on a path the service does not have, gets a JSON answer.
    """

    def __init__(self) -> None:
        self.moto_application = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if _SIGNED_FOR_SERVICE in environ.get("HTTP_AUTHORIZATION", "") or environ.get(
            "HTTP_HOST", ""
        ).startswith(_HOST_OF_SERVICE):
            request = Request(environ)
            status, headers, body = SnowDeviceManagementResponse.dispatch(
                request, request.url, request.headers
            )
            return Response(body, status=status, headers=headers)(environ, start_response)
        return self.moto_application(environ, start_response)


def make_mock_server(host: str = "127.0.0.1", port: int = 0) -> BaseWSGIServer:
    """A threaded server for the application, bound but not yet serving (port 0 picks a free port)."""
    return make_server(host, port, SnowDeviceManagementApplication(), threaded=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="moto-snowdevice-server",
        description="Serve every moto service and AWS Snow Device Management at one address.",
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="host to bind (default 127.0.0.1)")
    parser.add_argument(
        "-p",
        "--port",
        type=int,
        default=int(os.environ.get("MOTO_PORT", 5000)),
        help="port to listen on (default 5000; 0 picks a free one)",
    )
    parser.add_argument("--fleet", help="fleet file, or the name of a packaged fleet (sample), to seed at start")
    parser.add_argument(
        "--state",
        help="state file: loaded at start (a missing file starts empty), saved on SIGTERM/SIGINT and exit",
    )
    return parser.parse_args(argv)


def _stop(signum: int, frame: Any) -> None:
    sys.exit(0)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    schema_dir = os.environ.get("MOTO_SNOWDEVICE_SCHEMAS")
    if schema_dir:
        _schemas.validate_responses(schema_dir)
    restored = 0
    if args.state:
        try:
            restored = _state.load(args.state)
        except _state.StateFileError as error:
            print(f"moto-snowdevice-server: {error}", file=sys.stderr)
            return 2
        print(f"loaded state of {restored} account/region backends from {args.state}", flush=True)
    # A restored state already holds the fleet it was seeded with
    if args.fleet and not restored:
        try:
            devices = load_fleet(args.fleet)
        except SnowDeviceManagementError as error:
            print(f"moto-snowdevice-server: {error.message}", file=sys.stderr)
            return 2
        print(f"seeded {len(devices)} managed devices from {args.fleet}", flush=True)
    try:
        server = make_mock_server(args.host, args.port)
    except OSError as error:
        print(f"moto-snowdevice-server: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"moto-snowdevice-server listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
        if args.state:
            _state.save(args.state)
            print(f"saved state to {args.state}", flush=True)
    return 0
