"""The mock server: every moto service and snow-device-management at one address.

`moto-snowdevice-server` / `python -m moto_snowdevice` take moto_server's -H/--host and -p/--port,
plus --fleet FILE|NAME to seed devices at start and --state FILE to keep the state across restarts.
It runs on waitress: its asynchronous front end reads whole requests before a worker thread sees
them, so slow, idle and bursty clients hold no thread.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask, Task, WSGITask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from . import _moto, _schemas, _state
from ._control import add_fleet_in_process, read_fleet
from ._cors import with_cors
from ._shapes import SERVICE_NAME, find_operation, raw_path
from .exceptions import SnowDeviceManagementError, json_error
from .responses import MAX_BODY_BYTES, SnowDeviceManagementResponse

_SIGNED_FOR_SERVICE = f"/{SERVICE_NAME}/aws4_request"
_HOST_OF_SERVICE = f"{SERVICE_NAME}."
_CONTROL_ROUTES = f"/moto-api/{SERVICE_NAME}/"
# The request line and headers together; more answers 431 before the request is handed on
MAX_HEADER_BYTES = 64 * 1024
# Connections waitress keeps open at once (slow or idle ones hold no thread, only a socket)
MAX_CONNECTIONS = 4096
_Response = tuple[int, list[tuple[str, str]], bytes]
_TOO_LARGE_MESSAGE = f"The request body is larger than {MAX_BODY_BYTES} bytes"
# Operations that change state whatever they find (reads may move executions on, and say so)
_WRITE_OPERATIONS = frozenset({"CreateTask", "CancelTask", "TagResource", "UntagResource"})
_INTERNAL_ERROR_MESSAGE = "The server encountered an unexpected internal error"
_MOTO_RESET = "/moto-api/reset"


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
    """The service's JSON error answer, in the WSGI form the server writes."""
    status, headers, body = json_error(status, message, code)
    return status, list(headers.items()), body.encode()


def is_for_service(environ: dict[str, Any]) -> bool:
    """Whether a request is for this service: signed for it, or sent to its host name."""
    authorization: str = environ.get("HTTP_AUTHORIZATION", "")
    host: str = environ.get("HTTP_HOST", "")
    return _SIGNED_FOR_SERVICE in authorization or host.startswith(_HOST_OF_SERVICE)


def _is_write(environ: dict[str, Any]) -> bool:
    """Whether a request asks for a change: this service's writes, or any moto request but a GET."""
    method: str = environ["REQUEST_METHOD"]
    if is_for_service(environ):
        found = find_operation(method, raw_path(environ))
        return found is not None and found[0].name in _WRITE_OPERATIONS
    return method != "GET"


def _is_moto_reset(environ: dict[str, Any], status: int) -> bool:
    return environ["REQUEST_METHOD"] == "POST" and environ.get("PATH_INFO") == _MOTO_RESET and status == 200


def _application_error(environ: dict[str, Any], error: Exception) -> _Response:
    """The JSON 500 for an unexpected error while answering, logged on one line (no traceback)."""
    where = f"{environ.get('REQUEST_METHOD')} {raw_path(environ)}"
    described = f"{type(error).__name__}: {error}".replace("\n", " ")[:500]
    print(f"moto-snowdevice-server: internal error answering {where}: {described}", file=sys.stderr, flush=True)
    return _json_response(500, "InternalServerException", _INTERNAL_ERROR_MESSAGE)


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
        if self.store is None and not self._is_answered_here(environ):
            answered: Iterable[bytes] = self.moto_application(environ, start_response)
            return answered
        try:
            status, headers, payload = self._answer(environ)
        except Exception as error:  # whatever went wrong, the client gets the JSON 500
            status, headers, payload = _application_error(environ, error)
        start_response(
            f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
            [*headers, ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _is_answered_here(environ: dict[str, Any]) -> bool:
        return is_for_service(environ) or environ.get("PATH_INFO", "").startswith(_CONTROL_ROUTES)

    def _answer(self, environ: dict[str, Any]) -> _Response:
        if is_for_service(environ):
            response = self._serve(environ)
        elif environ.get("PATH_INFO", "").startswith(_CONTROL_ROUTES) and _declared_too_large(environ):
            response = _json_response(413, "RequestEntityTooLargeException", _TOO_LARGE_MESSAGE)
        else:
            # moto's own routes (reset, the dashboard) may change or move on this service's state too
            response = self._moto(environ)
        if self.store is not None:
            response = self._persisted(response, _is_write(environ), _is_moto_reset(environ, response[0]))
        return response

    def _serve(self, environ: dict[str, Any]) -> _Response:
        if _declared_too_large(environ):
            return _json_response(413, "RequestEntityTooLargeException", _TOO_LARGE_MESSAGE)
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

    def _persisted(self, response: _Response, write_request: bool, reset: bool = False) -> _Response:
        store = self.store
        assert store is not None
        try:
            if reset:
                # moto emptied its memory; the store empties with it, before the reset is acknowledged
                store.reset()
            store.flush(write_request)
        except _state.StateWriteError as error:
            print(f"moto-snowdevice-server: {error}", file=sys.stderr, flush=True)
            return _json_response(500, "InternalServerException", f"The change could not be saved: {error}")
        return response


class _HeldWrites:
    """A task's channel, keeping what the task hands it so that all of it can be handed on at once."""

    def __init__(self, channel: HTTPChannel):
        self.channel = channel
        self.parts: list[bytes] = []

    def write_soon(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.channel, name)


class _OneWriteTask(Task):
    """A task whose status line and headers reach the channel in one write with the body they came with.

    waitress 3.0 (verified on 3.0.2) writes the headers and then the body, each flushed to the socket at
    once (send_bytes is 1): a process killed between the two would leave a client a 200 with no body.
    """

    def write(self, data: bytes) -> None:
        if self.wrote_header:
            super().write(data)
            return
        channel, held = self.channel, _HeldWrites(self.channel)
        self.channel = held  # type: ignore[assignment]  # it stands in for the channel, forwarding the rest
        try:
            super().write(data)
        finally:
            self.channel = channel
        channel.write_soon(b"".join(held.parts))


class _ServiceTask(_OneWriteTask, WSGITask):
    """waitress's WSGI task, each response (headers and a one-part body) handed to the channel in one write."""


class _JsonErrorTask(_OneWriteTask, ErrorTask):
    """waitress's own refusals (413, 431, malformed HTTP) and its 500s in the service's JSON error form."""

    _CODES = {
        413: "RequestEntityTooLargeException",
        431: "RequestHeaderFieldsTooLargeException",
        # waitress answers 500 itself when an exception escapes the application
        500: "InternalServerException",
    }

    def execute(self) -> None:
        # types-waitress types the request as an Error; it is waitress's parser, holding the error
        error = self.request.error  # type: ignore[attr-defined]
        status, code = error.code, self._CODES.get(error.code, "BadRequestException")
        if status == 413:
            message = _TOO_LARGE_MESSAGE
        elif status == 500:
            message = _INTERNAL_ERROR_MESSAGE
        else:
            message = f"{error.reason}: {error.body}"
        _, headers, payload = _json_response(status, code, message)
        self.status = f"{status} {error.reason}"
        self.response_headers = [*self.response_headers, *headers]
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

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if self.error is not None:
            # waitress 3.0.2 would send 100 Continue before the refusal, inviting a body it will not read
            self.expect_continue = False
        return consumed

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        # waitress 3.0 reads adj.max_request_body_size after the headers, against Content-Length and chunked bodies
        environ = {
            "HTTP_AUTHORIZATION": self.headers.get("AUTHORIZATION", ""),
            "HTTP_HOST": self.headers.get("HOST", ""),
        }
        # parse_header has set path (types-waitress does not declare it); adj stands in for waitress's settings
        if is_for_service(environ) or self.path.startswith(_CONTROL_ROUTES):  # type: ignore[attr-defined]
            self.adj = _ServiceAdjustments(self.adj)  # type: ignore[assignment]


class _JsonErrorChannel(HTTPChannel):
    # waitress 3.0 (verified on 3.0.2) builds requests with parser_class, responses with task_class and its
    # refusals with error_task_class; were that to change, refusals would be waitress's plain-text ones,
    # bodies limited only by waitress and headers written apart from the body
    parser_class = _ServiceLimitsParser
    task_class = _ServiceTask
    error_task_class = _JsonErrorTask


def make_mock_server(host: str = "127.0.0.1", port: int = 0, store: _state.StateStore | None = None) -> BaseWSGIServer:
    """A waitress server for the application, bound at once (port 0 picks a free port); `run()` serves.

    waitress reads each request whole in its asynchronous front end before a worker thread sees it,
    so slowloris and idle keep-alive connections hold no thread; the backlog takes bursts of connects.
    """
    server = create_server(
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
    # One host and one port: one listening socket, never waitress's MultiSocketServer
    assert isinstance(server, BaseWSGIServer)
    server.channel_class = _JsonErrorChannel
    # Requests waiting for a thread are normal under load; waitress would print a warning for each one
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return server


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
        help="port to listen on (default MOTO_PORT or 5000; with --proxy, MOTO_PROXY_PORT or 5005; 0 picks a free one)",
    )
    parser.add_argument(
        "--proxy",
        action="store_true",
        help="run moto's proxy (as moto_proxy does) with this service: clients set HTTPS_PROXY to it and "
        "AWS_CA_BUNDLE to moto's CA; not with --state",
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
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="stop when standard input ends: given a pipe, the server ends with the process that started it",
    )
    return parser.parse_args(argv)


def _stop(signum: int, frame: Any) -> None:
    # A second signal while shutting down must not interrupt it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


def _stop_at_end_of_stdin() -> None:
    """Stop as SIGTERM does once standard input ends (its writer ended, however it ended)."""

    def watch() -> None:
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except (OSError, ValueError, AttributeError):
            pass  # no readable standard input: treated as its end
        # The main thread's handler (_stop) ends the server, within waitress's loop timeout
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


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
    # In this process, whatever test mode its environment names; entries without an account go to MOTO_ACCOUNT_ID
    devices = add_fleet_in_process(read_fleet(fleet))
    if store is not None:
        store.flush()
    print(f"seeded {len(devices)} managed devices from {fleet}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.proxy:
        return _proxy(args)
    if args.port is None:
        args.port = int(os.environ.get("MOTO_PORT", 5000))
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


def _proxy(args: argparse.Namespace) -> int:
    """moto's proxy with this service: every moto service and this one, for clients using HTTPS_PROXY."""
    if args.state:
        print("moto-snowdevice-server: --state is not offered with --proxy", file=sys.stderr)
        return 2
    port = int(os.environ.get("MOTO_PROXY_PORT", 5005)) if args.port is None else args.port
    if args.fleet:
        try:
            _seed(args.fleet, None)
        except SnowDeviceManagementError as error:
            print(f"moto-snowdevice-server: {error.message}", file=sys.stderr)
            return 2
    if args.stop_on_stdin_eof:
        _stop_at_end_of_stdin()
    print(f"moto-snowdevice-server: moto's proxy; its CA for AWS_CA_BUNDLE: {_moto.moto_proxy_ca_bundle()}", flush=True)
    try:
        # moto's proxy prints "Serving HTTP Proxy on HOST:PORT ..." once it listens, and stops on SIGTERM
        _moto.run_moto_proxy(args.host, port)
    except OSError as error:
        print(f"moto-snowdevice-server: cannot listen on {args.host}:{port}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def _serve(server: BaseWSGIServer, args: argparse.Namespace) -> int:
    host, port = server.effective_host, server.effective_port  # type: ignore[attr-defined]
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if args.stop_on_stdin_eof:
        _stop_at_end_of_stdin()
    print(f"moto-snowdevice-server listening on http://{host}:{port}", flush=True)
    try:
        # waitress stops its loop and its worker threads on SystemExit (the signal handlers above)
        server.run()
    finally:
        server.close()
    return 0
