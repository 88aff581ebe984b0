"""CORS for this service in server mode, answered as moto_server's flask-cors answers moto's services.

A browser's preflight carries no signature and usually goes to 127.0.0.1, so a preflight belongs to
this service when it arrives on the service's host name or on a path of one of its routes. Every
other preflight, and every response of moto's own services, is left to moto (flask-cors).
"""

import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from ._shapes import path_exists, raw_path

__all__ = ["with_cors"]

WSGIApplication = Callable[[dict[str, Any], Any], Iterable[bytes]]

# moto_server's list: every method is allowed, so a wrong one meets the service's own JSON 405
ALLOWED_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
# What AWS SDKs sign or send, allowed even when a preflight does not name it
ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "x-amz-content-sha256",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-target",
    "x-amz-user-agent",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
)
# What an SDK reads from a response: the error code, the request ID, the clock (for skew correction)
EXPOSED_HEADERS = "x-amzn-ErrorType, x-amzn-RequestId, Date"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def with_cors(application: WSGIApplication, is_for_service: Callable[[dict[str, Any]], bool]) -> WSGIApplication:
    """The application, with preflights for this service answered and CORS headers on its responses.

    `is_for_service(environ)` tells the requests the service answers. moto's setting
    `MOTO_DISABLE_GLOBAL_CORS` switches this off, as it does flask-cors for moto's services.
    """
    if os.environ.get("MOTO_DISABLE_GLOBAL_CORS"):
        return application

    def application_with_cors(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        for_service = is_for_service(environ)
        if is_preflight(environ) and (for_service or path_exists(raw_path(environ))):
            start_response("200 OK", [*preflight_headers(environ), ("Content-Length", "0")])
            return [b""]
        if not for_service:
            return application(environ, start_response)

        def start_with_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *response_headers(environ)], exc_info)

        return application(environ, start_with_cors)

    return application_with_cors


def is_preflight(environ: dict[str, Any]) -> bool:
    return environ["REQUEST_METHOD"] == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ


def response_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The origin echoed (any origin may call, as with moto_server), and the headers an SDK reads."""
    origin = environ.get("HTTP_ORIGIN")
    if origin:
        allowed = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    else:
        allowed = [("Access-Control-Allow-Origin", "*")]
    return [*allowed, ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]


def preflight_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Every method, and the SDK's headers plus whatever the browser asks for (the JS SDK sends its own)."""
    asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
    requested = (name.strip().lower() for name in asked.split(","))
    headers = dict.fromkeys(ALLOWED_HEADERS)
    headers.update(dict.fromkeys(name for name in requested if _HEADER_NAME.fullmatch(name)))
    return [
        *response_headers(environ),
        ("Access-Control-Allow-Methods", ALLOWED_METHODS),
        ("Access-Control-Allow-Headers", ", ".join(headers)),
    ]
