"""The mock server: every moto service and snow-device-management at one address.

`moto-snowdevice-server` / `python -m moto_snowdevice` take moto_server's -H/--host and -p/--port,
plus --fleet FILE|NAME to seed devices at start and --state FILE to keep the state across restarts.
It runs on waitress: its asynchronous front end reads whole requests before a worker thread sees
them, so slow, idle and bursty clients hold no thread.
"""

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from . import _moto, _schemas, _state
from ._control import load_fleet
from ._cors import with_cors
from ._shapes import SERVICE_NAME, find_operation, raw_path
from .exceptions import SnowDeviceManagementError
from .responses import MAX_BODY_BYTES, SnowDeviceManagementResponse

_SIGNED_FOR_SERVICE = f"/{SERVICE_NAME}/aws4_request"
_HOST_OF_SERVICE = f"{SERVICE_NAME}."
_CONTROL_ROUTES = f"/moto-api/{SERVICE_NAME}/"
# The request line and headers together; more answers 431 before the request is handed on
MAX_HEADER_BYTES = 64 * 1024
# Connections waitress keeps open at once (slow or idle ones hold no thread, only a socket)
MAX_CONNECTIONS = 4096
_Response = tuple[int, list[tuple[str, str]], bytes]
# Operations that change state whatever they find (reads may move executions on, and say so)
_WRITE_OPERATIONS = frozenset({"CreateTask", "CancelTask", "TagResource", "UntagResource"})


class _ServiceRequest:
    """The little of a WSGI request the service reads, without building a full werkzeug Request."""

    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.headers = EnvironHeaders(environ)

    def get_data(self) -> bytes:
        # werkzeug's reading honours Content-Length and chunked bodies alike; one byte past the limit is enough
        return get_input_stream(self.environ, safe_fallback=False).read(MAX_BODY_BYTES + 1)


def _json_response(status: int, code: str | None, message: str) -> _Response:
    headers = [("Content-Type", "application/json")] + ([("x-amzn-ErrorType", code)] if code else [])
    return status, headers, json.dumps({"message": message}).encode()


def is_for_service(environ: dict[str, Any]) -> bool:
    """Whether a request is for this service: signed for it, or sent to its host name."""
    return _SIGNED_FOR_SERVICE in environ.get("HTTP_AUTHORIZATION", "") or environ.get(
        "HTTP_HOST", ""
    ).startswith(_HOST_OF_SERVICE)


def _is_write(environ: dict[str, Any]) -> bool:
    """Whether a request asks for a change: this service's writes, or any moto request but a GET."""
    method = environ["REQUEST_METHOD"]
    if is_for_service(environ):
        found = find_operation(method, raw_path(environ))
        return found is not None and found[0].name in _WRITE_OPERATIONS
    return method != "GET"


def _declared_too_large(environ: dict[str, Any]) -> bool:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES
    except ValueError:
        return False


class SnowDeviceManagementApplication:
    """moto's WSGI application, with requests for this service answered by the service directly.

    Requests signed for snow-device-management (or sent to its host name) never reach moto's Flask
    routing, so every one of them, even on a path the service does not have, gets a JSON answer.
    With a state store, every change a request made is committed before its response is sent.
    """

    def __init__(self, store: _state.StateStore | None = None) -> None:
        self.moto_application = _moto.moto_wsgi_application()
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if is_for_service(environ):
            response = self._serve(environ)
        elif environ.get("PATH_INFO", "").startswith(_CONTROL_ROUTES):
            if _declared_too_large(environ):
                response = _json_response(413, None, f"The request body is larger than {MAX_BODY_BYTES} bytes")
            else:
                response = self._moto(environ)
        elif self.store is None:
            return self.moto_application(environ, start_response)
        else:
            # moto's own routes (reset, the dashboard) may change or move on this service's state too
            response = self._moto(environ)
        if self.store is not None:
            response = self._persisted(response, _is_write(environ))
        status, headers, payload = response
        start_response(
            f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
            [*headers, ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _serve(self, environ: dict[str, Any]) -> _Response:
        if _declared_too_large(environ):
            message = f"The request body is larger than {MAX_BODY_BYTES} bytes"
            return _json_response(413, "RequestEntityTooLargeException", message)
        # moto's recorder logs this service's requests as it does its own services'
        _moto.record_server_request(environ)
        request = _ServiceRequest(environ)
        query = environ.get("QUERY_STRING")
        url = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST', 'localhost')}{raw_path(environ)}"
        status, headers, body = SnowDeviceManagementResponse.dispatch(
            request, f"{url}?{query}" if query else url, request.headers
        )
        return status, list(headers.items()), body.encode()

    def _moto(self, environ: dict[str, Any]) -> _Response:
        """moto's answer, held until the changes it made are written."""
        answered: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered[:] = [int(status.split()[0]), [(k, v) for k, v in headers if k.lower() != "content-length"]]
            return lambda data: None

        parts = self.moto_application(environ, start_response)
        try:
            payload = b"".join(parts)
        finally:
            if hasattr(parts, "close"):
                parts.close()
        return answered[0], answered[1], payload

    def _persisted(self, response: _Response, write_request: bool) -> _Response:
        store = self.store
        assert store is not None
        try:
            store.flush(write_request)
        except _state.StateWriteError as error:
            print(f"moto-snowdevice-server: {error}", file=sys.stderr, flush=True)
            return _json_response(500, "InternalServerException", f"The change could not be saved: {error}")
        return response


class _JsonErrorTask(ErrorTask):
    """waitress's own refusals (413, 431, malformed HTTP) in the service's JSON error form."""

    _CODES = {413: "RequestEntityTooLargeException", 431: "RequestHeaderFieldsTooLargeException"}

    def execute(self) -> None:
        error = self.request.error
        status, code = error.code, self._CODES.get(error.code, "BadRequestException")
        message = f"The request body is larger than {MAX_BODY_BYTES} bytes" if status == 413 else f"{error.reason}: {error.body}"
        _, headers, payload = _json_response(status, code, message)
        self.status = f"{status} {error.reason}"
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(payload)
        self.write(payload)


class _ServiceAdjustments:
    """The server's waitress settings, with this service's body limit (waitress refuses at >=)."""

    max_request_body_size = MAX_BODY_BYTES + 1

    def __init__(self, adjustments: Any):
        self._adjustments = adjustments

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adjustments, name)


class _ServiceLimitsParser(HTTPRequestParser):
    """waitress's request parser, holding this service's routes to its body limit before reading it.

    Other moto services (S3 uploads) keep waitress's own limit.
    """

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        # waitress 3.0 reads adj.max_request_body_size after the headers, against Content-Length and chunked bodies
        environ = {"HTTP_AUTHORIZATION": self.headers.get("AUTHORIZATION", ""), "HTTP_HOST": self.headers.get("HOST", "")}
        if is_for_service(environ) or self.path.startswith(_CONTROL_ROUTES):
            self.adj = _ServiceAdjustments(self.adj)  # type: ignore[has-type]


class _JsonErrorChannel(HTTPChannel):
    # waitress 3.0 (verified on 3.0.2) builds requests with parser_class and its refusals with error_task_class;
    # were that to change, refusals would be waitress's plain-text ones and bodies limited only by waitress
    parser_class = _ServiceLimitsParser
    error_task_class = _JsonErrorTask


def make_mock_server(
    host: str = "127.0.0.1", port: int = 0, store: _state.StateStore | None = None
) -> BaseWSGIServer:
    """A waitress server for the application, bound at once (port 0 picks a free port); `run()` serves.

    waitress reads each request whole in its asynchronous front end before a worker thread sees it,
    so slowloris and idle keep-alive connections hold no thread; the backlog takes bursts of connects.
    """
    server = waitress.create_server(
        with_cors(SnowDeviceManagementApplication(store), is_for_service),
        host=host,
        port=port,
        # Requests are CPU work under one GIL: 4 threads served 8 busy clients faster, with a lower p99,
        # than 8 (fewer idle threads woken per request); a blocking write (--state) still leaves 3
        threads=4,
        backlog=1024,
        connection_limit=MAX_CONNECTIONS,
        # select() cannot watch more than 1024 sockets; poll() can
        asyncore_use_poll=True,
        max_request_header_size=MAX_HEADER_BYTES,
        # An idle connection is closed after this many seconds
        channel_timeout=60,
        # No proxy is trusted, so X-Forwarded-* reach the application as sent, as with moto_server
        clear_untrusted_proxy_headers=False,
        ident="moto-snowdevice-server",
    )
    server.channel_class = _JsonErrorChannel  # type: ignore[attr-defined]
    # Requests waiting for a thread are normal under load; waitress would print a warning for each one
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return server  # type: ignore[no-any-return]


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
    parser.add_argument("--fleet", help="fleet file, or the name of a packaged fleet (sample), to seed a fresh state")
    parser.add_argument(
        "--state",
        help="state file (SQLite): loaded at start, every acknowledged change written before it is answered",
    )
    parser.add_argument(
        "--state-sync",
        choices=_state.SYNC_MODES,
        default="normal",
        help="normal: survives the process dying; full: also a power loss (an fsync per change)",
    )
    return parser.parse_args(argv)


def _stop(signum: int, frame: Any) -> None:
    # A second signal while shutting down must not interrupt it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


def _open_state(args: argparse.Namespace) -> _state.StateStore:
    store = _state.StateStore.open(args.state, args.state_sync)
    loaded = store.loaded
    if loaded is None:
        print(f"started fresh state in {args.state} (no saved state there)", flush=True)
    else:
        print(
            f"loaded state from {args.state}: {loaded.tasks} tasks and {loaded.devices} managed devices "
            f"in {len(loaded.backends)} account/region backends",
            flush=True,
        )
    store.install()
    return store


def _seed(fleet: str, store: _state.StateStore | None) -> None:
    devices = load_fleet(fleet)
    if store is not None:
        store.flush()
    print(f"seeded {len(devices)} managed devices from {fleet}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    store = None
    try:
        if args.state:
            store = _open_state(args)
        # A restored state already holds the fleet it was seeded with
        if args.fleet and (store is None or store.loaded is None or not store.loaded.backends):
            _seed(args.fleet, store)
        server = make_mock_server(args.host, args.port, store)
    except (_state.StateFileError, _state.StateWriteError) as error:
        print(f"moto-snowdevice-server: {error}", file=sys.stderr)
        return 2
    except SnowDeviceManagementError as error:
        print(f"moto-snowdevice-server: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"moto-snowdevice-server: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        if _schemas.checking_responses():
            print("checking every response against its operation's JSON Schema", flush=True)
        return _serve(server, args)
    finally:
        if store is not None:
            store.close()


def _serve(server: BaseWSGIServer, args: argparse.Namespace) -> int:
    host, port = server.effective_host, server.effective_port  # type: ignore[attr-defined]
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"moto-snowdevice-server listening on http://{host}:{port}", flush=True)
    try:
        # waitress stops its loop and its worker threads on SystemExit (the signal handlers above)
        server.run()
    finally:
        server.close()
    return 0
