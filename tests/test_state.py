"""State that survives a restart: `--state FILE` on the server command."""

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

import moto_snowdevice
from moto_snowdevice import _state
from moto_snowdevice.exceptions import ThrottlingException
from moto_snowdevice.pytest_plugin import MockServerProcess

SAMPLE_DEVICE = "smd-fictbgr3rbcjeqa5"
OTHER_SAMPLE_DEVICE = "smd-fictq7k2m9x4wp3n"


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
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_devices_tasks_executions_and_tags_survive_a_restart(tmp_path: Path, stop: int) -> None:
    state_file = tmp_path / "state.json"
    with server("--fleet", "sample", "--state", str(state_file), stop=stop) as url:
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
        before = sdm.describe_task(taskId=running)
        device_before = sdm.describe_device(managedDeviceId=SAMPLE_DEVICE)

    with server("--fleet", "sample", "--state", str(state_file)) as url:
        sdm = client(url)
        after = sdm.describe_task(taskId=running)
        for key in ("state", "createdAt", "lastUpdatedAt", "tags", "targets", "taskArn"):
            assert after[key] == before[key]
        execution = sdm.describe_execution(taskId=running, managedDeviceId=SAMPLE_DEVICE)
        assert execution["state"] == "SUCCEEDED"  # the default progression moves it on when polled
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


def test_faults_are_not_saved(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with server("--state", str(state_file)) as url:
        requests.post(
            f"{url}/moto-api/snow-device-management/faults",
            json={"operation": "ListTasks", "error": "InternalServerException", "count": 5},
            timeout=10,
        ).raise_for_status()
    assert "faults" not in state_file.read_text()
    with server("--state", str(state_file)) as url:
        assert client(url).list_tasks()["tasks"] == []


def test_a_missing_state_file_starts_empty_and_is_written_on_exit(tmp_path: Path) -> None:
    state_file = tmp_path / "new" / "state.json"
    state_file.parent.mkdir()
    with server("--state", str(state_file)) as url:
        assert client(url).list_devices()["devices"] == []
    saved = json.loads(state_file.read_text())
    assert saved["version"] == _state.FORMAT_VERSION
    # Written by rename: no temporary file is left beside it
    assert [path.name for path in state_file.parent.iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    "content",
    [b"not json", b"\xff\xfe", b'{"version": 99, "backends": []}', b'{"version": 1}', b"[]"],
    ids=["not-json", "not-utf8", "other-version", "no-backends", "a-list"],
)
def test_a_corrupt_state_file_stops_the_start_with_one_line_and_no_traceback(
    tmp_path: Path, content: bytes
) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_bytes(content)

    finished = subprocess.run(
        [sys.executable, "-m", "moto_snowdevice", "-p", "0", "--state", str(state_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr
    assert len(finished.stderr.strip().splitlines()) == 1
    assert str(state_file) in finished.stderr
    assert state_file.read_bytes() == content


def test_a_state_file_with_one_bad_backend_loads_nothing(tmp_path: Path) -> None:
    with mock_aws():
        device = moto_snowdevice.add_device()
        sdm = boto3.client("snow-device-management", region_name="us-east-1")
        sdm.create_task(targets=[device], command={"reboot": {}})
        good = _state.dump()["backends"][0]
    bad = json.loads(json.dumps(good))
    bad["region"] = "eu-west-1"
    bad["tasks"][0]["executions"][0]["state"] = "EXPLODED"
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"version": 1, "backends": [good, bad]}))

    with mock_aws():
        moto_snowdevice.add_device({"managedDeviceId": "smd-keepme0000000001"})
        sdm = boto3.client("snow-device-management", region_name="us-east-1")

        with pytest.raises(_state.StateFileError, match="EXPLODED"):
            _state.load(state_file)

        # The good backend did not replace the running state either
        assert [d["managedDeviceId"] for d in sdm.list_devices()["devices"]] == ["smd-keepme0000000001"]
        assert sdm.list_tasks()["tasks"] == []


def test_faults_injected_before_a_load_are_left_alone_by_save(tmp_path: Path) -> None:
    with mock_aws():
        moto_snowdevice.inject_fault("ListTasks", ThrottlingException.code, count=1)
        _state.save(tmp_path / "state.json")
        assert "ThrottlingException" not in (tmp_path / "state.json").read_text()


def test_connectivity_and_outcome_weights_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with server("--fleet", "sample", "--state", str(state_file)) as url:
        control = f"{url}/moto-api/snow-device-management"
        spare = requests.post(f"{control}/devices", json={"device": {}}, timeout=10).json()["managedDeviceId"]
        for route, body in [
            ("connectivity", {"managedDeviceId": SAMPLE_DEVICE, "online": False}),
            ("execution-outcomes", {"weights": {"FAILED": 1}}),
            ("execution-outcomes", {"weights": {"REJECTED": 1}, "managedDeviceId": OTHER_SAMPLE_DEVICE}),
        ]:
            requests.post(f"{control}/{route}", json=body, timeout=10).raise_for_status()
        offline_task = client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]

    with server("--state", str(state_file)) as url:
        sdm = client(url)
        for _ in range(3):
            assert sdm.describe_execution(taskId=offline_task, managedDeviceId=SAMPLE_DEVICE)["state"] == "QUEUED"
        task = sdm.create_task(targets=[OTHER_SAMPLE_DEVICE, spare], command={"reboot": {}})["taskId"]
        assert sdm.describe_execution(taskId=task, managedDeviceId=OTHER_SAMPLE_DEVICE)["state"] == "REJECTED"
        states = [sdm.describe_execution(taskId=task, managedDeviceId=spare)["state"] for _ in range(2)]
        assert states == ["IN_PROGRESS", "FAILED"]


def test_the_execution_timeout_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with server("--fleet", "sample", "--state", str(state_file)) as url:
        requests.post(
            f"{url}/moto-api/snow-device-management/execution-timeout", json={"seconds": 0.5}, timeout=10
        ).raise_for_status()

    with server("--state", str(state_file)) as url:
        sdm = client(url)
        task = sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"]
        # Waits past the deadline: only a kept timeout can end the task
        time.sleep(0.6)
        assert sdm.describe_execution(taskId=task, managedDeviceId=SAMPLE_DEVICE)["state"] == "TIMED_OUT"
        assert sdm.describe_task(taskId=task)["state"] == "COMPLETED"
