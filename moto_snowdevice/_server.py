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
from urllib.parse import quote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from cheroot import wsgi
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from . import _schemas, _state
from ._control import load_fleet
from ._cors import with_cors
from ._shapes import SERVICE_NAME
from .exceptions import SnowDeviceManagementError
from .responses import SnowDeviceManagementResponse

_SIGNED_FOR_SERVICE = f"/{SERVICE_NAME}/aws4_request"
_HOST_OF_SERVICE = f"{SERVICE_NAME}."


class _ServiceRequest:
    """The little of a WSGI request the service reads, without building a full werkzeug Request."""

    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.headers = EnvironHeaders(environ)

    def get_data(self) -> bytes:
        # werkzeug's reading honours Content-Length and chunked bodies alike
        return get_input_stream(self.environ, safe_fallback=False).read()


def is_for_service(environ: dict[str, Any]) -> bool:
    """Whether a request is for this service: signed for it, or sent to its host name."""
    return _SIGNED_FOR_SERVICE in environ.get("HTTP_AUTHORIZATION", "") or environ.get(
        "HTTP_HOST", ""
    ).startswith(_HOST_OF_SERVICE)


class SnowDeviceManagementApplication:
    """moto's WSGI application, with requests for this service answered by the service directly.

    Requests signed for snow-device-management (or sent to its host name) never reach moto's Flask
    routing, so every one of them, even on a path the service does not have, gets a JSON answer.
    """

    def __init__(self) -> None:
        self.moto_application = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if is_for_service(environ):
            request = _ServiceRequest(environ)
            query = environ.get("QUERY_STRING")
            url = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', 'localhost')}{quote(environ.get('PATH_INFO', ''))}"
            status, headers, body = SnowDeviceManagementResponse.dispatch(
                request, f"{url}?{query}" if query else url, request.headers
            )
            payload = body.encode()
            start_response(
                f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                [*headers.items(), ("Content-Length", str(len(payload)))],
            )
            return [payload]
        return self.moto_application(environ, start_response)


def make_mock_server(host: str = "127.0.0.1", port: int = 0) -> wsgi.Server:
    """A cheroot server for the application; `prepare()` binds it (port 0 picks a free port).

    cheroot, CherryPy's threaded HTTP/1.1 server, keeps connections alive and serves from a pool of
    threads: about twice the throughput of werkzeug's development server that moto_server uses.
    """
    application = with_cors(SnowDeviceManagementApplication(), is_for_service)
    return wsgi.Server((host, port), application, numthreads=16)


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
    # A second signal while shutting down must not interrupt saving the state
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
    server = make_mock_server(args.host, args.port)
    try:
        server.prepare()
    except OSError as error:
        print(f"moto-snowdevice-server: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    host, port = server.bind_addr[:2]
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"moto-snowdevice-server listening on http://{host}:{port}", flush=True)
    try:
        server.serve()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.stop()
        if args.state:
            _state.save(args.state)
            print(f"saved state to {args.state}", flush=True)
    return 0
