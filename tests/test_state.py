"""State that survives the server process: `--state FILE` (SQLite, written through before every answer)."""

import contextlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from moto import mock_aws
from moto.moto_api._internal import mock_random

import moto_snowdevice
from moto_snowdevice import _state
from moto_snowdevice._state.changelog import log_path, read_log
from moto_snowdevice._state.database import _commit as commit_statements
from moto_snowdevice.pytest_plugin import MockServerProcess

from helpers import device_arn, refused

# Servers of its own, started and stopped by the tests: the same in every moto test mode
pytestmark = pytest.mark.own_server

SAMPLE_DEVICE = "smd-fictbgr3rbcjeqa5"
OTHER_SAMPLE_DEVICE = "smd-fictq7k2m9x4wp3n"
SERVER = [sys.executable, "-m", "moto_snowdevice", "-p", "0"]


@contextmanager
def server(*arguments: str, stop: int = signal.SIGTERM) -> Iterator[str]:
    """A server process with the given arguments; stopped with `stop`, which must end it cleanly."""
    with MockServerProcess(*arguments) as process:
        yield process.url
        assert process.stop(stop) == 0


def client(url: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "snow-device-management",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


def refused_start(*arguments: str) -> subprocess.CompletedProcess[str]:
    """A server start that must fail: its exit status and output."""
    return subprocess.run([*SERVER, *arguments], capture_output=True, text=True, timeout=120)


def assert_one_line_refusal(finished: subprocess.CompletedProcess[str], *words: str) -> None:
    assert finished.returncode == 2
    assert "Traceback" not in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1, finished.stderr
    for word in words:
        assert word in finished.stderr


@contextmanager
def started(
    *arguments: str, server: list[str] = SERVER, **popen: Any
) -> Iterator[tuple[str, list[str], subprocess.Popen[str]]]:
    """A server process, its URL and the lines it printed up to `listening on`; killed at the end."""
    process = subprocess.Popen(
        [*server, *arguments], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **popen
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.strip())
        if "listening on" in line:
            break
    else:
        raise AssertionError(f"the server did not start: {lines}")
    try:
        yield lines[-1].split("listening on ")[1], lines, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        process.stdout.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_devices_tasks_executions_and_tags_survive_a_restart(tmp_path: Path, stop: int) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        url = process.url
        sdm = client(url)
        sdm.tag_resource(
            resourceArn=f"arn:aws:snow-device-management:us-east-1:123456789012:managed-device/{SAMPLE_DEVICE}",
            tags={"rack": "7"},
        )
        running = sdm.create_task(targets=[SAMPLE_DEVICE], command={"unlock": {}}, tags={"a": "b"})["taskId"]
        waiting = sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}}, clientToken="token-1")["taskId"]
        requests.post(
            f"{url}/moto-api/snow-device-management/advance-execution",
            json={"taskId": running, "managedDeviceId": SAMPLE_DEVICE, "state": "IN_PROGRESS"},
            timeout=10,
        ).raise_for_status()
        # Tasks are read after the restart only: under the default progression a read of work moves it
        device_before = sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)
        assert process.stop(stop) == (0 if stop != signal.SIGKILL else -signal.SIGKILL)

    with server("--fleet", "sample", "--state", str(state_file)) as url:
        sdm = client(url)
        assert sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)["deviceState"] == "UNLOCKING"
        execution = sdm.describe_execution(taskId=running, managedDeviceId=SAMPLE_DEVICE)
        assert execution["state"] == "SUCCEEDED"  # the default progression moves it on when polled
        after = sdm.describe_task(taskId=running)
        assert (after["state"], after["tags"], after["targets"]) == ("COMPLETED", {"a": "b"}, [SAMPLE_DEVICE])
        assert after["taskArn"].endswith(f"task/{running}")
        device = sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)
        assert device["tags"] == {**device_before["tags"], "rack": "7"}
        assert device["deviceState"] == "UNLOCKED"
        assert [d["managedDeviceId"] for d in client(url, "us-west-2").list_devices()["devices"]] == [
            "smd-fictz5c8h1r6tv2d"
        ]
        # The queued task is still queued, still cancelable, and its client token still answers
        again = sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}}, clientToken="token-1")
        assert again["taskId"] == waiting
        sdm.cancel_task(taskId=waiting)
        assert sdm.describe_task(taskId=waiting)["state"] == "CANCELED"


class TaskStream:
    """Threads creating tasks on one server, canceling every other one, until the server is killed."""

    def __init__(self, sdm: Any) -> None:
        self.sdm = sdm
        self.created: list[str] = []
        self.canceled: list[str] = []
        self.errors: list[Exception] = []
        self.stop, self.killing = threading.Event(), threading.Event()

    def run(self) -> None:
        # Acknowledged calls are recorded only once their answer arrived
        while not self.stop.is_set():
            try:
                task_id = self.sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}}).get("taskId")
                if task_id is None:
                    return  # an answer cut off by the kill acknowledges nothing
                self.created.append(task_id)
                if len(self.created) % 2:
                    self.sdm.cancel_task(taskId=task_id)
                    self.canceled.append(task_id)
            except (ClientError, BotoCoreError) as error:
                if not self.killing.is_set():  # only the kill may end a call with an error
                    self.errors.append(error)
                return

    def kill_after(self, process: MockServerProcess, acknowledged: int, threads: int = 3) -> None:
        """Stream from `threads` threads until `acknowledged` tasks were created, then SIGKILL the server."""
        streams = [threading.Thread(target=self.run) for _ in range(threads)]
        for thread in streams:
            thread.start()
        deadline = time.monotonic() + 120
        while len(self.created) < acknowledged:
            assert not self.errors and time.monotonic() < deadline and any(t.is_alive() for t in streams)
            threading.Event().wait(0.05)
        self.killing.set()
        process.stop(signal.SIGKILL)
        self.stop.set()
        for thread in streams:
            thread.join(timeout=60)


def test_every_acknowledged_create_and_cancel_survives_kill_9_in_the_middle_of_a_stream(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    for _ in range(2):
        with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
            stream = TaskStream(client(process.url))
            stream.kill_after(process, acknowledged=60)
            assert stream.errors == []

        with server("--state", str(state_file)) as url:
            sdm = client(url)
            states = {
                task["taskId"]: task["state"]
                for page in sdm.get_paginator("list_tasks").paginate()
                for task in page["tasks"]
            }
            assert set(stream.created) <= set(states)
            assert all(states[task_id] == "CANCELED" for task_id in stream.canceled)


@pytest.mark.parametrize("sync", ["normal", "full"])
def test_a_read_that_moves_an_execution_on_survives_kill_9(tmp_path: Path, sync: str) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file), "--state-sync", sync) as process:
        sdm = client(process.url)
        task_id = sdm.create_task(targets=[SAMPLE_DEVICE], command={"unlock": {}})["taskId"]
        assert sdm.describe_execution(taskId=task_id, managedDeviceId=SAMPLE_DEVICE)["state"] == "IN_PROGRESS"
        process.stop(signal.SIGKILL)
    with server("--state", str(state_file)) as url:
        sdm = client(url)
        assert sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)["deviceState"] == "UNLOCKING"
        # The listing reports the work, which takes its next step from IN_PROGRESS, not from QUEUED again
        assert sdm.list_executions(taskId=task_id)["executions"][0]["state"] == "SUCCEEDED"


def test_the_cancel_race_setting_survives_kill_9(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        requests.post(
            f"{process.url}/moto-api/snow-device-management/cancel-race", json={"enabled": True}, timeout=10
        ).raise_for_status()
        process.stop(signal.SIGKILL)
    with server("--state", str(state_file)) as url:
        sdm = client(url)
        task_id = sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
        sdm.cancel_task(taskId=task_id)
        # The device took the work before the cancel landed, as the restored setting says: it ran on (this
        # read's step ended it) instead of being canceled
        assert sdm.describe_task(taskId=task_id)["state"] == "COMPLETED"


def test_a_moto_reset_is_kept_too(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        client(process.url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})
        requests.post(f"{process.url}/moto-api/reset", timeout=10).raise_for_status()
        process.stop(signal.SIGKILL)
    with server("--state", str(state_file)) as url:
        assert client(url).list_tasks()["tasks"] == []


def test_the_start_line_says_whether_state_was_loaded_or_started_fresh(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with started("--fleet", "sample", "--state", str(state_file)) as (url, lines, _):
        client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})
    assert lines[0] == f"started fresh state in {state_file} (no saved state there)"
    with started("--fleet", "sample", "--state", str(state_file)) as (_, lines, _):
        pass
    assert lines[0] == f"loaded state from {state_file}: 1 tasks and 3 managed devices in 2 account/region backends"
    # A loaded state is not seeded again
    assert not any(line.startswith("seeded") for line in lines)


def test_faults_are_not_saved(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with server("--state", str(state_file)) as url:
        requests.post(
            f"{url}/moto-api/snow-device-management/faults",
            json={"operation": "ListTasks", "error": "InternalServerException", "count": 5},
            timeout=10,
        ).raise_for_status()
    with server("--state", str(state_file)) as url:
        assert client(url).list_tasks()["tasks"] == []


def test_a_second_server_on_the_same_state_file_refuses_to_start_and_the_first_is_unaffected(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with server("--fleet", "sample", "--state", str(state_file)) as url:
        task_id = client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
        # Through another name of the same file, too
        (tmp_path / "link.db").symlink_to(state_file)
        for name in (state_file, tmp_path / "link.db"):
            assert_one_line_refusal(refused_start("--state", str(name)), "another moto-snowdevice-server")
        client(url).cancel_task(taskId=task_id)
    with server("--state", str(state_file)) as url:
        assert client(url).describe_task(taskId=task_id)["state"] == "CANCELED"


def test_a_symlinked_state_file_keeps_its_link(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "state.db"
    link = tmp_path / "state.db"
    link.symlink_to(target)
    with server("--fleet", "sample", "--state", str(link)) as url:
        task_id = client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes().startswith(b"SQLite format 3\x00")
    with server("--state", str(link)) as url:
        assert client(url).describe_task(taskId=task_id)["state"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    "where",
    ["under-a-regular-file", "a-directory", "dev-null", "dev-zero", "missing-directory"],
)
def test_an_unusable_location_stops_the_start_with_one_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("x")
    path = {
        "under-a-regular-file": tmp_path / "file" / "state.db",
        "a-directory": tmp_path,
        "dev-null": Path("/dev/null"),
        "dev-zero": Path("/dev/zero"),
        "missing-directory": tmp_path / "missing" / "state.db",
    }[where]
    assert_one_line_refusal(refused_start("--state", str(path)), str(path))
    assert (tmp_path / "file").read_text() == "x"


@contextmanager
def read_only_directory(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write: a read-only bind mount as root, permission bits otherwise."""
    source, mounted = tmp_path / "source", tmp_path / "read-only"
    source.mkdir()
    mounted.mkdir()
    if os.geteuid() != 0:
        mounted.chmod(0o555)
        yield mounted
        mounted.chmod(0o755)
        return
    if subprocess.run(["mount", "--bind", "-o", "ro", str(source), str(mounted)], capture_output=True).returncode:
        reason = "root cannot mount a read-only bind here and ignores permission bits"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mounted
    finally:
        subprocess.run(["umount", str(mounted)], check=True)


def test_a_read_only_directory_stops_the_start_with_one_line(tmp_path: Path) -> None:
    with read_only_directory(tmp_path) as directory:
        assert_one_line_refusal(refused_start("--state", str(directory / "state.db")), "cannot write")


def saved_state(tmp_path: Path) -> Path:
    """A state file with the sample fleet and one task, written by a server."""
    state_file = tmp_path / "state.db"
    with server("--fleet", "sample", "--state", str(state_file)) as url:
        client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}}, tags={"k": "v"})
    return state_file


def kept(state_file: Path) -> sqlite3.Connection:
    """What the state file keeps, as a restart reads it: a copy of the database, with the records of its
    change log that the database has not folded yet."""
    copy = sqlite3.connect(":memory:", isolation_level=None)
    with contextlib.closing(sqlite3.connect(f"file:{state_file}?mode=ro", uri=True)) as database:
        database.backup(copy)
    _, records = read_log(log_path(state_file))
    (folded,) = copy.execute("SELECT coalesce(max(value), 0) FROM meta WHERE key = 'folded'").fetchone()
    unfolded = [statement for sequence, batch in records if sequence > int(folded) for statement in batch]
    if unfolded:
        commit_statements(copy, unfolded)  # the module's own, whatever a test planted in _state
    return copy


def rewrite(state_file: Path, sql: str, *parameters: Any) -> None:
    with sqlite3.connect(state_file) as connection:
        connection.execute(sql, parameters)
    connection.close()


def _damage(state_file: Path, how: str) -> None:
    if how == "truncated":
        data = state_file.read_bytes()
        state_file.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        state_file.write_bytes(b"\x00garbage" * 100)
    elif how == "task-naming-a-missing-device":
        rewrite(state_file, "DELETE FROM devices WHERE managed_device_id = ?", SAMPLE_DEVICE)
    elif how in ("nan", "infinity"):
        # Python's json module reads NaN and 1e999 (infinity) unless told not to
        number = "NaN" if how == "nan" else "1e999"
        rewrite(
            state_file,
            "UPDATE tasks SET saved = replace(saved, '\"canceled\":', ?)",
            f'"createdAt":{number},"canceled":',
        )
    elif how == "unknown-account":
        rewrite(state_file, "UPDATE devices SET account_id = 'nobody'")
    elif how == "unknown-region":
        rewrite(state_file, "UPDATE tasks SET region = 'mars-north-1'")
    elif how == "unknown-execution-state":
        rewrite(state_file, "UPDATE tasks SET saved = replace(saved, '\"QUEUED\"', '\"EXPLODED\"')")
    elif how == "other-format":
        rewrite(state_file, "UPDATE meta SET value = '99'")


@pytest.mark.parametrize(
    "how",
    [
        "truncated",
        "garbage",
        "task-naming-a-missing-device",
        "nan",
        "infinity",
        "unknown-account",
        "unknown-region",
        "unknown-execution-state",
        "other-format",
    ],
)
def test_damaged_content_stops_the_start_with_one_line_and_leaves_the_file_untouched(tmp_path: Path, how: str) -> None:
    state_file = saved_state(tmp_path)
    _damage(state_file, how)
    content = state_file.read_bytes()

    assert_one_line_refusal(refused_start("--fleet", "sample", "--state", str(state_file)), str(state_file))

    assert state_file.read_bytes() == content


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"\xff\xfe",
        b'{"version": 99, "backends": []}',
        b'{"version": 1}',
        b"[]",
        b'{"version": 1, "backends": [{"accountId": "123456789012", "region": "us-east-1", "devices": '
        b'[{"device": {"managedDeviceId": "smd-fictbgr3rbcjeqa5", "lastUpdatedAt": NaN}}], '
        b'"tasks": [], "clientTokens": {}}]}',
    ],
    ids=["not-json", "not-utf8", "other-version", "no-backends", "a-list", "nan"],
)
def test_a_damaged_json_state_file_stops_the_start_with_one_line(tmp_path: Path, content: bytes) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_bytes(content)
    assert_one_line_refusal(refused_start("--state", str(state_file)), str(state_file))
    assert state_file.read_bytes() == content


def legacy_state() -> dict[str, Any]:
    """A state file as the JSON format (version 1) wrote it."""
    return {
        "version": 1,
        "backends": [
            {
                "accountId": "123456789012",
                "region": "us-east-1",
                "takesWorkBeforeCancel": False,
                "lastTime": 1700000000.5,
                "devices": [
                    {
                        "device": {"managedDeviceId": SAMPLE_DEVICE, "tags": {"site": "harbor"}, "instances": []},
                        "takesWorkBeforeCancel": False,
                    }
                ],
                "tasks": [
                    {
                        "taskId": "st-legacy0000000001",
                        "targets": [SAMPLE_DEVICE],
                        "command": {"reboot": {}},
                        "description": None,
                        "tags": {"k": "v"},
                        "createdAt": 1700000000.1,
                        "lastUpdatedAt": 1700000000.5,
                        "completedAt": 1700000000.5,
                        "canceled": False,
                        "executions": [
                            {
                                "managedDeviceId": SAMPLE_DEVICE,
                                "state": "SUCCEEDED",
                                "startedAt": 1700000000.2,
                                "lastUpdatedAt": 1700000000.5,
                                "tick": 0,
                            }
                        ],
                    }
                ],
                "clientTokens": {"token-1": ["f00d", "st-legacy0000000001"]},
            }
        ],
    }


def test_a_json_state_file_of_the_previous_format_is_converted_once_and_kept_beside(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    original = json.dumps(legacy_state()).encode()
    state_file.write_bytes(original)
    with started("--state", str(state_file)) as (url, lines, _):
        sdm = client(url)
        task = sdm.describe_task(taskId="st-legacy0000000001")
        assert (task["state"], task["tags"]) == ("COMPLETED", {"k": "v"})
        assert sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)["tags"] == {"site": "harbor"}
    assert lines[0].startswith(f"loaded state from {state_file}: 1 tasks and 1 managed devices")
    assert state_file.read_bytes().startswith(b"SQLite format 3\x00")
    assert (tmp_path / "state.json.v1.json").read_bytes() == original
    with server("--state", str(state_file)) as url:
        assert client(url).describe_task(taskId="st-legacy0000000001")["state"] == "COMPLETED"


def test_connectivity_and_outcome_weights_survive_kill_9(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        url = process.url
        control = f"{url}/moto-api/snow-device-management"
        spare = requests.post(f"{control}/devices", json={"device": {}}, timeout=10).json()["managedDeviceId"]
        for route, body in [
            ("connectivity", {"managedDeviceId": SAMPLE_DEVICE, "online": False}),
            ("execution-outcomes", {"weights": {"FAILED": 1}}),
            ("execution-outcomes", {"weights": {"REJECTED": 1}, "managedDeviceId": OTHER_SAMPLE_DEVICE}),
        ]:
            requests.post(f"{control}/{route}", json=body, timeout=10).raise_for_status()
        offline_task = client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
        process.stop(signal.SIGKILL)

    with server("--state", str(state_file)) as url:
        sdm = client(url)
        for _ in range(3):
            assert sdm.describe_execution(taskId=offline_task, managedDeviceId=SAMPLE_DEVICE)["state"] == "QUEUED"
        task = sdm.create_task(targets=[OTHER_SAMPLE_DEVICE, spare], command={"reboot": {}})["taskId"]
        assert sdm.describe_execution(taskId=task, managedDeviceId=OTHER_SAMPLE_DEVICE)["state"] == "REJECTED"
        states = [sdm.describe_execution(taskId=task, managedDeviceId=spare)["state"] for _ in range(2)]
        assert states == ["IN_PROGRESS", "FAILED"]


def test_the_execution_timeout_survives_kill_9(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        requests.post(
            f"{process.url}/moto-api/snow-device-management/execution-timeout", json={"seconds": 0.5}, timeout=10
        ).raise_for_status()
        process.stop(signal.SIGKILL)

    with server("--state", str(state_file)) as url:
        sdm = client(url)
        task = sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
        # Waits past the deadline: only a kept timeout can end the task
        time.sleep(0.6)
        assert sdm.describe_execution(taskId=task, managedDeviceId=SAMPLE_DEVICE)["state"] == "TIMED_OUT"
        assert sdm.describe_task(taskId=task)["state"] == "COMPLETED"


def test_the_polls_a_device_banked_survive_kill_9(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        requests.post(
            f"{process.url}/moto-api/state-manager/set-transition",
            json={
                "model_name": "snow-device-management::execution",
                "transition": {"progression": "manual", "times": 2},
            },
            timeout=10,
        ).raise_for_status()
        sdm = client(process.url)
        task_id = sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
        assert sdm.describe_execution(taskId=task_id, managedDeviceId=SAMPLE_DEVICE)["state"] == "QUEUED"
        process.stop(signal.SIGKILL)
    with MockServerProcess("--state", str(state_file)) as process:
        requests.post(
            f"{process.url}/moto-api/state-manager/set-transition",
            json={
                "model_name": "snow-device-management::execution",
                "transition": {"progression": "manual", "times": 2},
            },
            timeout=10,
        ).raise_for_status()
        # The poll before the kill counts: this second one is the step
        state = client(process.url).describe_execution(taskId=task_id, managedDeviceId=SAMPLE_DEVICE)["state"]
        assert state == "IN_PROGRESS"


def _limit_file_size(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_failed_write_answers_500_keeps_what_was_acknowledged_and_reads_go_on(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    # The file system refuses to let a file grow past 96 KiB, as a full disk would. The change log (made
    # 64 KiB here) is allocated whole at start: requests are acknowledged until it is full of changes
    # the database could not take
    with started(
        "--log-size",
        str(64 * 1024),
        "--",
        "--fleet",
        "sample",
        "--state",
        str(state_file),
        server=[sys.executable, str(Path(__file__).with_name("durability_server.py")), "-p", "0"],
        preexec_fn=lambda: _limit_file_size(96 * 1024),
    ) as (url, _, process):
        sdm = client(url)
        acknowledged, full = [], None
        for _ in range(2000):
            try:
                acknowledged.append(sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"])
            except ClientError as error:
                full = error.response
                break
        assert full is not None, "the database never filled up"
        assert full["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert full["Error"]["Code"] == "InternalServerException"
        assert "could not be saved" in full["Error"]["Message"]
        # A change named by an ARN (a slash inside the path) is a write too
        with refused("InternalServerException", 500, "could not be saved"):
            sdm.tag_resource(resourceArn=device_arn(SAMPLE_DEVICE), tags={"disk": "full"})
        # Reads that change nothing go on (one that reports work moves it, so it is a change)
        assert sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)["deviceState"] == "LOCKED"
        assert sdm.list_devices()["devices"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    with server("--state", str(state_file)) as url:
        sdm = client(url)
        stored = {task["taskId"] for page in sdm.get_paginator("list_tasks").paginate() for task in page["tasks"]}
        assert set(acknowledged) <= stored


def test_restoring_draws_no_random_ids(tmp_path: Path) -> None:
    state_file = saved_state(tmp_path)

    def next_task_id(load: bool) -> str:
        with mock_aws():
            mock_random.seed(7)
            store = _state.StateStore.open(state_file) if load else None
            try:
                if store:
                    store.install()
                device = moto_snowdevice.add_device({"managedDeviceId": "smd-seeded0000000001"})
                task_id = boto3.client("snow-device-management", region_name="us-east-1").create_task(
                    targets=[device], command={"reboot": {}}
                )["taskId"]
            finally:
                if store:
                    store.close()
            return task_id

    assert next_task_id(load=True) == next_task_id(load=False)
