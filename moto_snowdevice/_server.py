"""The mock server: every moto service and snow-device-management at one address (the command is in `_command`).

It runs on waitress: its asynchronous front end reads whole requests before a worker thread sees
them, so slow, idle and bursty clients hold no thread.
"""

import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask, Task, WSGITask
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from . import _moto, _state
from ._cors import with_cors
from ._shapes import SERVICE_NAME, find_operation, raw_path
from .exceptions import json_error
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
    With a state store, every change a request made is kept (in the change log) before its response is sent.
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
            response = self._persisted(response, lambda: _is_write(environ), _is_moto_reset(environ, response[0]))
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

    def _persisted(self, response: _Response, write_request: Callable[[], bool], reset: bool = False) -> _Response:
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
