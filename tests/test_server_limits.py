"""The server's front end: limits enforced before a request is read, and clients that cannot stall it.

Every request here is written byte by byte on a raw socket, as a hostile or broken client would.
"""

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest

from moto_snowdevice._server import MAX_HEADER_BYTES
from moto_snowdevice.responses import MAX_BODY_BYTES

SIGNED = (
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0\r\n"
)
CONTROL_FLEET = "/moto-api/snow-device-management/fleet"


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response, read whole: status, headers (lower-case names) and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(
        (name.strip().lower(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])
    )
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection inside the body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(address(url), timeout=60) as sock:
        sock.sendall(request)
        return read_response(sock)


def assert_json_error(response: tuple[int, dict[str, str], bytes], status: int, code: str | None) -> None:
    got, headers, body = response
    assert got == status, (got, body[:300])
    assert headers["content-type"].startswith("application/json"), headers
    assert isinstance(json.loads(body)["message"], str)
    if code is not None:
        assert headers["x-amzn-errortype"] == code


def assert_still_serving(url: str) -> None:
    status, _, body = exchange(
        url, b"GET /tasks HTTP/1.1\r\nHost: x\r\n" + SIGNED.encode() + b"Connection: close\r\n\r\n"
    )
    assert status == 200 and "tasks" in json.loads(body)


@pytest.mark.parametrize(
    ("path", "code"),
    [("/task", "RequestEntityTooLargeException"), (CONTROL_FLEET, None)],
    ids=["service-route", "control-route"],
)
def test_a_declared_body_over_the_limit_is_refused_with_413_before_it_is_sent(
    sdm_server_url: str, path: str, code: str | None
) -> None:
    headers = f"POST {path} HTTP/1.1\r\nHost: x\r\n{SIGNED if code else ''}Content-Type: application/json\r\n"
    with socket.create_connection(address(sdm_server_url), timeout=60) as sock:
        # Only the headers: the answer must come without the body ever being sent
        sock.sendall(f"{headers}Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode())
        assert_json_error(read_response(sock), 413, code)
    assert_still_serving(sdm_server_url)


@pytest.mark.parametrize("path", ["/task", CONTROL_FLEET], ids=["service-route", "control-route"])
def test_expect_100_continue_over_the_limit_is_answered_413_at_once_without_100_continue(
    sdm_server_url: str, path: str
) -> None:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n{SIGNED}Content-Type: application/json\r\nExpect: 100-continue\r\n"
    with socket.create_connection(address(sdm_server_url), timeout=60) as sock:
        # The client waits for 100 Continue before sending the body: the refusal must come instead
        sock.sendall(f"{head}Content-Length: {2 * MAX_BODY_BYTES}\r\n\r\n".encode())
        assert_json_error(read_response(sock), 413, "RequestEntityTooLargeException")
    assert_still_serving(sdm_server_url)


def test_expect_100_continue_within_the_limit_is_invited_and_then_answered(sdm_server_url: str) -> None:
    body = json.dumps({"targets": ["smd-nothere00000000"], "command": {"reboot": {}}}).encode()
    head = f"POST /task HTTP/1.1\r\nHost: x\r\n{SIGNED}Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(address(sdm_server_url), timeout=60) as sock:
        sock.sendall(head.encode())
        invited = read_response(sock)
        sock.sendall(body)
        answered = read_response(sock)

    assert invited[0] == 100
    assert_json_error(answered, 404, "ResourceNotFoundException")


@pytest.mark.parametrize(
    ("path", "code"),
    [("/task", "RequestEntityTooLargeException"), (CONTROL_FLEET, None)],
    ids=["service-route", "control-route"],
)
def test_a_chunked_body_over_the_limit_is_refused_with_413(sdm_server_url: str, path: str, code: str | None) -> None:
    chunk = b"[" + b" " * (MAX_BODY_BYTES // 2) + b"]"
    body = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(3)) + b"0\r\n\r\n"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n{SIGNED if code else ''}Transfer-Encoding: chunked\r\n\r\n"
    assert_json_error(exchange(sdm_server_url, head.encode() + body), 413, code)
    assert_still_serving(sdm_server_url)


def test_headers_over_the_limit_are_refused_with_431(sdm_server_url: str) -> None:
    padding = "".join(f"X-Padding-{index}: {'a' * 1000}\r\n" for index in range(MAX_HEADER_BYTES // 1000 + 1))
    request = f"GET /tasks HTTP/1.1\r\nHost: x\r\n{SIGNED}{padding}\r\n".encode()
    assert_json_error(exchange(sdm_server_url, request), 431, "RequestHeaderFieldsTooLargeException")
    assert_still_serving(sdm_server_url)


@pytest.mark.parametrize(
    "body",
    [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-1\r\n{}\r\n0\r\n\r\n"],
    ids=["bad-chunk-size", "no-chunk-end", "negative-size"],
)
def test_malformed_chunked_encoding_is_refused_with_400_json(sdm_server_url: str, body: bytes) -> None:
    head = f"POST /task HTTP/1.1\r\nHost: x\r\n{SIGNED}Transfer-Encoding: chunked\r\n\r\n".encode()
    assert_json_error(exchange(sdm_server_url, head + body), 400, "BadRequestException")
    assert_still_serving(sdm_server_url)


def test_a_body_just_under_the_limit_reaches_the_service(sdm_server_url: str) -> None:
    body = json.dumps({"targets": ["smd-nothere00000000"], "command": {"reboot": {}}, "padding": "a" * 1000}).encode()
    body += b" " * (MAX_BODY_BYTES - len(body))
    head = f"POST /task HTTP/1.1\r\nHost: x\r\n{SIGNED}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    # The service read it: the unknown target is its answer, not a size refusal
    assert_json_error(exchange(sdm_server_url, head.encode() + body), 404, "ResourceNotFoundException")


@pytest.fixture
def held_connections(sdm_server_url: str) -> Iterator[int]:
    """150 slowloris connections (headers that never end) and 100 idle keep-alive ones, held open."""
    with ExitStack() as stack:
        for _ in range(150):
            sock = stack.enter_context(socket.create_connection(address(sdm_server_url), timeout=60))
            sock.sendall(f"GET /tasks HTTP/1.1\r\nHost: x\r\n{SIGNED}X-Slow: 1\r\n".encode())
        for _ in range(100):
            sock = stack.enter_context(socket.create_connection(address(sdm_server_url), timeout=60))
            sock.sendall(f"GET /tasks HTTP/1.1\r\nHost: x\r\n{SIGNED}\r\n".encode())
            assert read_response(sock)[0] == 200
        yield 250


def test_slow_and_idle_connections_do_not_stop_other_clients_from_being_served(
    sdm_server_url: str, held_connections: int
) -> None:
    for _ in range(20):
        assert_still_serving(sdm_server_url)
