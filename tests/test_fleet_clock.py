"""One clock: moto's, plus what the fleet clock was advanced. Timestamps under frozen and moved clocks,
advance_clock and its HTTP twin GET/POST /moto-api/snow-device-management/clock, its refusals, moto's
reset, and what --state keeps of time: the advance, the progression and every device's pace."""

import json
import signal
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import time_machine
from freezegun import freeze_time
from moto import mock_aws
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice import models
from moto_snowdevice._clock import advance_clock, fleet_time
from moto_snowdevice.exceptions import ValidationException
from moto_snowdevice.pytest_plugin import MockServerProcess

from test_state import client as server_client

SERVICE = "snow-device-management"
REGION = "us-east-1"
EXECUTION_MODEL = "snow-device-management::execution"
CLOCK = "http://motoapi.amazonaws.com/moto-api/snow-device-management/clock"
NOON = datetime(2020, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
DAY = 24 * 3600
REBOOT = {"reboot": {}}
SAMPLE_DEVICE = "smd-fictbgr3rbcjeqa5"


def client(endpoint_url: str | None = None) -> Any:
    if endpoint_url is not None:
        return server_client(endpoint_url)
    return boto3.client(SERVICE, region_name=REGION)


@pytest.fixture
def frozen() -> Iterator[Any]:
    """A clock frozen at noon on 2020-01-01, under mock_aws (which starts the fleet clock from the plain clock)."""
    with freeze_time(NOON) as frozen_clock, mock_aws():
        yield frozen_clock


@pytest.fixture
def transition() -> Iterator[Any]:
    try:
        yield lambda config: state_manager.set_transition(EXECUTION_MODEL, config)
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)


def new_task(sdm: Any, device: str) -> str:
    return str(sdm.create_task(targets=[device], command=REBOOT)["taskId"])


# One clock: moto's


@pytest.mark.decorator_mode
def test_under_a_frozen_clock_every_timestamp_is_the_frozen_instant(frozen: Any) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    first, second = new_task(sdm, device), new_task(sdm, device)

    started = sdm.describe_execution(taskId=first, managedDeviceId=device)
    described = [sdm.describe_task(taskId=task_id) for task_id in (first, second)]

    assert {task["createdAt"] for task in described} == {NOON}
    assert {task["lastUpdatedAt"] for task in described} == {NOON}
    assert (started["startedAt"], started["lastUpdatedAt"]) == (NOON, NOON)
    assert sdm.describe_device(managedDeviceId=device)["lastUpdatedAt"] == NOON


@pytest.mark.decorator_mode
def test_a_clock_moved_backwards_is_followed_by_the_next_change() -> None:
    with time_machine.travel(NOON, tick=False) as traveller, mock_aws():
        sdm = client()
        device = moto_snowdevice.add_device()
        new_task(sdm, device)
        earlier = datetime(2019, 1, 1, tzinfo=timezone.utc)
        traveller.move_to(earlier)

        later_task = sdm.describe_task(taskId=new_task(sdm, device))

        assert later_task["createdAt"] == earlier


@pytest.mark.decorator_mode
def test_a_tasks_last_update_is_its_latest_change_even_after_the_clock_moved_back(frozen: Any) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    task_id = new_task(sdm, device)
    sdm.describe_execution(taskId=task_id, managedDeviceId=device)
    frozen.move_to("2019-06-01")

    ended = sdm.describe_execution(taskId=task_id, managedDeviceId=device)
    task = sdm.describe_task(taskId=task_id)

    # The execution's own change follows the clock, and the task completed then; the task's lastUpdatedAt
    # is its latest change, so it never goes back
    june = datetime(2019, 6, 1, tzinfo=timezone.utc)
    assert ended["lastUpdatedAt"] == june
    assert (task["state"], task["lastUpdatedAt"], task["completedAt"]) == ("COMPLETED", NOON, june)


# advance_clock and its HTTP twin


@pytest.mark.decorator_mode
def test_advance_clock_answers_the_fleet_time_as_the_frozen_clock_plus_every_advance(frozen: Any) -> None:
    assert advance_clock(3 * DAY) == NOON.timestamp() + 3 * DAY
    assert advance_clock(0.5) == NOON.timestamp() + 3 * DAY + 0.5
    frozen.tick(10)

    assert fleet_time() == NOON.timestamp() + 3 * DAY + 10.5


@pytest.mark.decorator_mode
def test_the_services_timestamps_follow_the_fleet_clock(frozen: Any) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    advance_clock(3 * DAY)

    task = sdm.describe_task(taskId=new_task(sdm, device))

    assert task["createdAt"].timestamp() == NOON.timestamp() + 3 * DAY


@pytest.mark.decorator_mode
def test_three_days_later_on_the_fleet_clock_a_one_day_timeout_has_happened(frozen: Any) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    moto_snowdevice.set_execution_timeout(DAY)
    task_id = new_task(sdm, device)

    advance_clock(3 * DAY)
    described = sdm.describe_execution(taskId=task_id, managedDeviceId=device)

    assert described["state"] == "TIMED_OUT"
    assert described["lastUpdatedAt"].timestamp() == NOON.timestamp() + DAY


@pytest.mark.decorator_mode
def test_advancing_the_fleet_clock_moves_the_time_progression_one_step_per_period(frozen: Any, transition: Any) -> None:
    transition({"progression": "time", "seconds": 60})
    sdm = client()
    device = moto_snowdevice.add_device()
    task_id = new_task(sdm, device)

    advance_clock(60)
    assert sdm.describe_execution(taskId=task_id, managedDeviceId=device)["state"] == "IN_PROGRESS"
    advance_clock(60)
    assert sdm.describe_execution(taskId=task_id, managedDeviceId=device)["state"] == "SUCCEEDED"


@pytest.mark.decorator_mode
def test_the_clock_route_reads_and_moves_the_fleet_time(frozen: Any) -> None:
    read = requests.get(CLOCK, timeout=10)
    moved = requests.post(CLOCK, json={"advanceSeconds": 3600}, timeout=10)

    assert (read.status_code, read.json()) == (200, {"now": NOON.timestamp()})
    assert (moved.status_code, moved.json()) == (200, {"now": NOON.timestamp() + 3600})
    assert requests.get(CLOCK, timeout=10).json() == {"now": NOON.timestamp() + 3600}


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "body",
    [
        '{"advanceSeconds": -1}',
        '{"advanceSeconds": NaN}',
        '{"advanceSeconds": Infinity}',
        '{"advanceSeconds": "60"}',
        '{"advanceSeconds": true}',
        '{"advanceSeconds": null}',
        "{}",
        '{"advanceSeconds": 1e12}',
    ],
    ids=["negative", "nan", "infinite", "text", "boolean", "null", "missing", "past-9999"],
)
def test_the_clock_route_refuses_bad_input_naming_the_field_and_moves_nothing(frozen: Any, body: str) -> None:
    answer = requests.post(CLOCK, data=body, headers={"Content-Type": "application/json"}, timeout=10)

    assert answer.status_code == 400
    assert "advanceSeconds" in answer.json()["message"]
    assert fleet_time() == NOON.timestamp()


@pytest.mark.decorator_mode
@pytest.mark.parametrize("seconds", [-1, float("nan"), float("inf"), "60", True, None])
def test_advance_clock_refuses_bad_input_naming_the_field_and_moves_nothing(frozen: Any, seconds: Any) -> None:
    with pytest.raises(ValidationException, match="advanceSeconds"):
        advance_clock(seconds)

    assert fleet_time() == NOON.timestamp()


@pytest.mark.decorator_mode
def test_the_clock_route_answers_other_methods_with_405_in_json(frozen: Any) -> None:
    answer = requests.delete(CLOCK, timeout=10)

    assert answer.status_code == 405
    assert "GET or POST" in answer.json()["message"]


@pytest.mark.decorator_mode
def test_one_fleet_clock_serves_every_account_and_region(frozen: Any) -> None:
    advance_clock(DAY)
    device = moto_snowdevice.add_device(account_id="111111111111", region_name="eu-west-1")
    backend = models.snowdevicemanagement_backends["111111111111"]["eu-west-1"]

    assert backend.get_device(device).document["lastUpdatedAt"] == NOON.timestamp() + DAY


@pytest.mark.decorator_mode
def test_motos_reset_sets_the_fleet_clock_back_to_the_plain_clock(frozen: Any) -> None:
    advance_clock(DAY)

    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=10).raise_for_status()

    assert fleet_time() == NOON.timestamp()


@pytest.mark.decorator_mode
def test_a_new_mock_starts_from_the_plain_clock() -> None:
    with freeze_time(NOON):
        with mock_aws():
            advance_clock(DAY)
        with mock_aws():
            assert fleet_time() == NOON.timestamp()


# What --state keeps of time


def _control(url: str, method: str, route: str, body: Any = None) -> Any:
    answer = requests.request(method, f"{url}/moto-api/{route}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json() if answer.content.strip() else {}


@pytest.mark.own_server
def test_state_keeps_the_fleet_clocks_advance_the_progression_and_every_pace(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    progression = {"progression": "time", "seconds": 10 * DAY}
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        _control(
            process.url,
            "POST",
            "state-manager/set-transition",
            {"model_name": EXECUTION_MODEL, "transition": progression},
        )
        task_id = new_task(client(process.url), SAMPLE_DEVICE)
        created = client(process.url).describe_task(taskId=task_id)["createdAt"].timestamp()
        advanced = _control(process.url, "POST", "snow-device-management/clock", {"advanceSeconds": 9 * DAY})["now"]
        process.stop(signal.SIGKILL)

    with MockServerProcess("--state", str(state_file)) as process:
        sdm = client(process.url)
        now = _control(process.url, "GET", "snow-device-management/clock")["now"]
        kept = _control(process.url, "GET", f"state-manager/get-transition?model_name={EXECUTION_MODEL}")
        assert sdm.describe_execution(taskId=task_id, managedDeviceId=SAMPLE_DEVICE)["state"] == "QUEUED"
        # One more day on the fleet clock is the tenth since the task was queued: its step falls due then
        _control(process.url, "POST", "snow-device-management/clock", {"advanceSeconds": DAY})
        stepped = sdm.describe_execution(taskId=task_id, managedDeviceId=SAMPLE_DEVICE)

    assert advanced <= now < advanced + 60
    assert kept == progression
    assert stepped["state"] == "IN_PROGRESS"
    assert stepped["startedAt"].timestamp() == pytest.approx(created + 10 * DAY, abs=1e-3)


@pytest.mark.own_server
def test_motos_reset_forgets_the_saved_fleet_clock(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--state", str(state_file)) as process:
        _control(process.url, "POST", "snow-device-management/clock", {"advanceSeconds": 100 * DAY})
        _control(process.url, "POST", "reset")
        process.stop(signal.SIGKILL)

    with MockServerProcess("--state", str(state_file)) as process:
        now = _control(process.url, "GET", "snow-device-management/clock")["now"]

    assert now < datetime.now(timezone.utc).timestamp() + DAY


@pytest.mark.decorator_mode
def test_the_clock_routes_answers_are_json_with_a_request_id() -> None:
    with mock_aws():
        answer = requests.get(CLOCK, timeout=10)

    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["x-amzn-RequestId"]
    assert set(json.loads(answer.content)) == {"now"}
