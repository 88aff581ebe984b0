"""The server's front end keeps its word under faults: JSON 500s, whole responses, no orphan servers, no waits.

Servers run in this process (waitress's loop on a thread) where a test must see what waitress is handed,
and in processes of their own where a test kills what started them.
"""

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from waitress import wasyncore
from waitress.server import BaseWSGIServer
from werkzeug.test import Client

from moto_snowdevice import _control, _state
from moto_snowdevice._server import SnowDeviceManagementApplication, _JsonErrorChannel, make_mock_server
from moto_snowdevice.responses import SnowDeviceManagementResponse

from test_state import kept

# Servers of its own, started and stopped by the tests: the same in every moto test mode
pytestmark = pytest.mark.own_server

SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0"
}
SIGNED_LINE = "".join(f"{name}: {value}\r\n" for name, value in SIGNED.items())
CONTROL_DEVICES = "/moto-api/snow-device-management/devices"
# How long a test waits for what must happen at once, or for a process that must end
DEADLINE = 15.0


@contextmanager
def in_process_server(store: _state.StateStore | None = None) -> Iterator[tuple[str, BaseWSGIServer]]:
    """The mock server's front end, its loop on a thread of this process, stopped at the end."""
    server = make_mock_server(store=store)
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, use_poll=True, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}", server
    finally:
        stopping.set()
        thread.join(DEADLINE)
        server.close()


def read_until_closed(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=DEADLINE) as sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):
            received += chunk
    return received


def assert_internal_server_error(status: int, headers: Any, body: bytes) -> None:
    assert status == 500
    assert headers["Content-Type"].startswith("application/json")
    assert headers["x-amzn-ErrorType"] == "InternalServerException"
    message = json.loads(body)["message"]
    assert isinstance(message, str) and "Traceback" not in message


def fail_in_the_service(monkeypatch: pytest.MonkeyPatch) -> Callable[[Client], Any]:
    def planted(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted\nfailure")

    monkeypatch.setattr(SnowDeviceManagementResponse, "dispatch", staticmethod(planted))
    return lambda client: client.get("/tasks", headers=SIGNED)


def fail_in_a_control_route(monkeypatch: pytest.MonkeyPatch) -> Callable[[Client], Any]:
    def planted(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted\nfailure")

    monkeypatch.setattr(_control, "_fleet_entry", planted)
    return lambda client: client.post(CONTROL_DEVICES, json={"device": {}})


@pytest.mark.parametrize("plant", [fail_in_the_service, fail_in_a_control_route], ids=["service", "control"])
def test_an_unexpected_error_while_answering_is_a_json_500_logged_on_one_line(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], plant: Any
) -> None:
    send = plant(monkeypatch)

    response = send(Client(SnowDeviceManagementApplication()))

    assert_internal_server_error(response.status_code, response.headers, response.data)
    logged = capsys.readouterr().err
    assert logged.count("\n") == 1 and "RuntimeError: planted failure" in logged


def test_waitress_own_500_for_an_escaping_exception_is_a_json_internal_server_exception(aws: None) -> None:
    def failing(environ: dict[str, Any], start_response: Any) -> Any:
        raise RuntimeError("planted")

    with in_process_server() as (url, server):
        server.application = failing
        response = requests.get(f"{url}/tasks", headers=SIGNED, timeout=DEADLINE)

    assert_internal_server_error(response.status_code, response.headers, response.content)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (f"GET /tasks HTTP/1.1\r\nHost: x\r\n{SIGNED_LINE}Connection: close\r\n\r\n".encode(), b" 200 "),
        (
            f"POST {CONTROL_DEVICES} HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\nConnection: close\r\n\r\n"
            '{"device": {}}'.encode(),
            b" 200 ",
        ),
        (f"POST /task HTTP/1.1\r\nHost: x\r\n{SIGNED_LINE}Transfer-Encoding: chunked\r\n\r\nzz\r\n".encode(), b" 400 "),
    ],
    ids=["service-200", "control-200", "waitress-refusal"],
)
def test_a_response_is_handed_to_the_channel_in_one_write_with_its_body(
    aws: None, monkeypatch: pytest.MonkeyPatch, request_bytes: bytes, status: bytes
) -> None:
    handed: list[bytes] = []
    write_soon = _JsonErrorChannel.write_soon

    def recording(channel: Any, data: bytes) -> int:
        handed.append(bytes(data))
        return write_soon(channel, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(_JsonErrorChannel, "write_soon", recording)

    with in_process_server() as (url, _):
        received = read_until_closed(url, request_bytes)

    assert status in received.split(b"\r\n", 1)[0]
    head, _, body = received.partition(b"\r\n\r\n")
    assert body and json.loads(body)
    # Status line, headers and body reached the output buffer together: a kill cannot split them
    assert handed == [received]


PARENT = textwrap.dedent(
    """
    import time
    from _moto_snowdevice_pytest import MockServerProcess

    server = MockServerProcess().__enter__()
    print(server._process.pid, flush=True)
    time.sleep(120)
    """
)


def is_running(pid: int) -> bool:
    """Whether the process runs (a zombie no one has reaped yet has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        # On Linux it has just ended; elsewhere there is no /proc to ask, and it runs
        return not Path("/proc/self").exists()
    return state != "Z"


def test_a_server_started_by_the_plugin_ends_when_the_process_that_started_it_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    parent.stdout.close()

    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=DEADLINE)

    try:
        deadline = time.monotonic() + DEADLINE
        while is_running(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not is_running(server_pid)
    finally:
        if is_running(server_pid):
            os.kill(server_pid, signal.SIGKILL)


@pytest.fixture
def store(tmp_path: Path, aws: None) -> Iterator[_state.StateStore]:
    """A state store in this process, written through by every change, as the server's is."""
    opened = _state.StateStore.open(tmp_path / "state.db")
    opened.install()
    yield opened
    opened.close()


def test_reads_and_motos_get_routes_do_not_wait_for_a_blocked_write(
    store: _state.StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    commit = _state._commit

    def blocked_commit(connection: sqlite3.Connection, statements: Any) -> None:
        entered.set()
        # Released by the test; the bound is far past the reader's, so only the test can end the wait in time
        release.wait(4 * DEADLINE)
        commit(connection, statements)

    monkeypatch.setattr(_state, "_commit", blocked_commit)
    application = SnowDeviceManagementApplication(store)
    writer = threading.Thread(target=lambda: Client(application).post(CONTROL_DEVICES, json={"device": {}}))
    answered: dict[str, int] = {}

    def read() -> None:
        client = Client(application)
        answered["ListTasks"] = client.get("/tasks", headers=SIGNED).status_code
        answered["data.json"] = client.get("/moto-api/data.json").status_code

    writer.start()
    try:
        assert entered.wait(DEADLINE)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(DEADLINE)
        # Answered while the write still waits for the disk
        assert answered == {"ListTasks": 200, "data.json": 200}
    finally:
        release.set()
        writer.join(DEADLINE)


def saved_rows(path: Path) -> int:
    """Rows of every backend, device and task in the state file (its database and change log)."""
    with contextlib.closing(kept(path)) as connection:
        tables = ("backends", "devices", "tasks")
        return sum(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables)


def test_moto_reset_empties_the_state_file_before_it_is_acknowledged(store: _state.StateStore) -> None:
    client = Client(SnowDeviceManagementApplication(store))
    assert client.post(CONTROL_DEVICES, json={"device": {}}).status_code == 200
    assert saved_rows(store.path) > 0

    response = client.post("/moto-api/reset")

    assert response.status_code == 200
    assert saved_rows(store.path) == 0
