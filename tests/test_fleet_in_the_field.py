"""A fleet in the field: queues that drain whichever execution is polled, devices that go offline,
the execution timeout, outcome weights drawn from moto's seedable random source, AWS's tagging rules,
and the HTTP twins of the control functions."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice import models
from moto_snowdevice.exceptions import ValidationException

from helpers import Clock, device_arn, refused, task_arn

REGION = "us-east-1"
EXECUTION_MODEL = "snow-device-management::execution"
MOTO_API = "http://motoapi.amazonaws.com/moto-api"
CONTROL = f"{MOTO_API}/snow-device-management"
REBOOT = {"reboot": {}}
UNLOCK = {"unlock": {}}
DAY = 24 * 3600
UNKNOWN_DEVICE = "smd-aaaaaaaaaaaaaaaa"

SetTransition = Callable[[dict[str, Any]], None]


# Helpers


def new_task(sdm: Any, *devices: str, command: dict[str, Any] = REBOOT) -> str:
    return sdm.create_task(targets=list(devices), command=command)["taskId"]


def poll(sdm: Any, task_id: str, device_id: str) -> dict[str, Any]:
    return sdm.describe_execution(taskId=task_id, managedDeviceId=device_id)


def state_of(sdm: Any, task_id: str, device_id: str) -> str:
    """The execution's state as the model holds it, caught up to the clock: a look, not a poll.

    Every read of the API reports work, which under the default progression moves it one step.
    """
    backend = models.snowdevicemanagement_backends[DEFAULT_ACCOUNT_ID][sdm.meta.region_name]
    execution = backend.get_execution(task_id, device_id)
    backend.catch_up([execution.device], backend._now())
    return str(execution.state)


def polls_until_finished(sdm: Any, task_id: str, device_id: str, limit: int = 200) -> int:
    for count in range(1, limit + 1):
        if poll(sdm, task_id, device_id)["state"] not in ("QUEUED", "IN_PROGRESS"):
            return count
    raise AssertionError(f"{task_id} did not finish in {limit} polls")


def described_device(sdm: Any, device_id: str) -> dict[str, Any]:
    return sdm.describe_device(managedDeviceId=device_id)


def post(route: str, body: Any) -> requests.Response:
    return requests.post(f"{CONTROL}/{route}", json=body)


@pytest.fixture
def transition() -> Iterator[SetTransition]:
    """Sets the executions' progression with moto's state manager; always restores the default."""
    try:
        yield lambda config: state_manager.set_transition(EXECUTION_MODEL, config)
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    stand_in = Clock()
    monkeypatch.setattr(models.core, "time", stand_in)
    return stand_in


@pytest.fixture
def other_device(aws: None) -> str:
    return moto_snowdevice.add_device()


# Queues drain


@pytest.mark.decorator_mode
@pytest.mark.parametrize("times", [1, 3])
def test_polling_only_the_last_task_brings_it_to_its_end_in_the_steps_of_the_work_ahead_plus_its_own(
    sdm: Any, device: str, transition: SetTransition, times: int
) -> None:
    transition({"progression": "manual", "times": times})
    tasks = [new_task(sdm, device) for _ in range(4)]

    polls = polls_until_finished(sdm, tasks[-1], device)

    # Two steps (start, end) for each task, `times` polls per step
    assert polls == 2 * len(tasks) * times
    assert [state_of(sdm, task, device) for task in tasks] == ["SUCCEEDED"] * 4


@pytest.mark.decorator_mode
def test_a_device_runs_one_task_at_a_time_while_the_last_task_is_polled(sdm: Any, device: str) -> None:
    tasks = [new_task(sdm, device) for _ in range(3)]
    seen = []
    for _ in range(200):
        if poll(sdm, tasks[-1], device)["state"] == "SUCCEEDED":
            break
        states = [state_of(sdm, task, device) for task in tasks]
        assert states.count("IN_PROGRESS") <= 1
        seen.append(states)
    else:
        pytest.fail("the last task did not succeed within 200 polls")
    assert seen
    # Oldest first: a task starts only once every task before it ended
    for states in seen:
        assert states == sorted(states, key=["SUCCEEDED", "IN_PROGRESS", "QUEUED"].index)


@pytest.mark.decorator_mode
def test_with_immediate_progression_one_poll_of_the_last_task_drains_the_queue(
    sdm: Any, device: str, transition: SetTransition
) -> None:
    tasks = [new_task(sdm, device) for _ in range(3)]
    transition({"progression": "immediate"})

    assert poll(sdm, tasks[-1], device)["state"] == "SUCCEEDED"
    assert [state_of(sdm, task, device) for task in tasks] == ["SUCCEEDED"] * 3


@pytest.mark.decorator_mode
def test_with_time_progression_the_last_task_ends_after_the_periods_of_the_work_ahead_plus_its_own(
    sdm: Any, device: str, transition: SetTransition, clock: Clock
) -> None:
    transition({"progression": "time", "seconds": 10})
    tasks = [new_task(sdm, device) for _ in range(3)]

    # The periods count from the first task's creation, a few milliseconds after the clock's reading
    clock.current += 2 * 3 * 10 - 1
    assert poll(sdm, tasks[-1], device)["state"] == "IN_PROGRESS"
    clock.current += 2
    assert poll(sdm, tasks[-1], device)["state"] == "SUCCEEDED"


@pytest.mark.decorator_mode
def test_polling_a_task_moves_only_the_polled_device(sdm: Any, device: str, other_device: str) -> None:
    ahead = new_task(sdm, device, other_device)
    behind = new_task(sdm, device)

    polls_until_finished(sdm, behind, device)

    assert state_of(sdm, ahead, device) == "SUCCEEDED"
    assert state_of(sdm, ahead, other_device) == "QUEUED"
    assert sdm.describe_task(taskId=ahead)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
def test_calls_that_report_no_execution_move_nothing_under_the_default_progression(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    for _ in range(3):
        described_device(sdm, device)
        sdm.list_devices()
        sdm.list_device_resources(managedDeviceId=device)
        sdm.untag_resource(resourceArn=device_arn(device), tagKeys=["site"])
        sdm.create_task(targets=[device], command=REBOOT)
    assert state_of(sdm, task, device) == "QUEUED"
    sdm.cancel_task(taskId=task)
    assert sdm.describe_task(taskId=task)["state"] == "CANCELED"


@pytest.mark.decorator_mode
def test_motos_dashboard_reads_executions_without_moving_them(sdm: Any, device: str, transition: SetTransition) -> None:
    task = new_task(sdm, device)
    transition({"progression": "immediate"})

    dashboard = requests.get(f"{MOTO_API}/data.json")

    assert dashboard.status_code == 200
    assert [e["state"] for e in dashboard.json()["snow-device-management"]["Execution"]] == ["QUEUED"]
    backend = models.snowdevicemanagement_backends["123456789012"][REGION]
    assert backend.tasks[task].executions[0].state == "QUEUED"


@pytest.mark.decorator_mode
def test_with_time_progression_describe_device_shows_the_work_the_device_did(
    sdm: Any, device: str, transition: SetTransition, clock: Clock
) -> None:
    transition({"progression": "time", "seconds": 10})
    new_task(sdm, device, command=UNLOCK)
    clock.current += 11
    assert described_device(sdm, device)["deviceState"] == "UNLOCKING"
    clock.current += 10
    assert described_device(sdm, device)["deviceState"] == "UNLOCKED"


# Connectivity


def test_an_offline_device_takes_no_work_however_often_it_is_polled(sdm: Any, device: str) -> None:
    moto_snowdevice.set_device_online(device, False)
    task = new_task(sdm, device)
    for _ in range(5):
        assert poll(sdm, task, device)["state"] == "QUEUED"
    assert sdm.describe_task(taskId=task)["state"] == "IN_PROGRESS"


@pytest.mark.parametrize(
    "config", [{"progression": "immediate"}, {"progression": "time", "seconds": 60}], ids=["immediate", "time"]
)
def test_an_offline_device_takes_no_work_under_any_progression(
    sdm: Any, device: str, transition: SetTransition, clock: Clock, config: dict[str, Any]
) -> None:
    moto_snowdevice.set_device_online(device, False)
    transition(config)
    task = new_task(sdm, device)
    clock.current += 7 * DAY
    assert poll(sdm, task, device)["state"] == "QUEUED"
    assert sdm.describe_task(taskId=task)["state"] == "IN_PROGRESS"


def test_an_offline_device_keeps_its_last_reached_out_at(sdm: Any, device: str, clock: Clock) -> None:
    moto_snowdevice.set_device_online(device, False)
    before = described_device(sdm, device)["lastReachedOutAt"]
    task = new_task(sdm, device)
    clock.current += DAY
    poll(sdm, task, device)
    assert described_device(sdm, device)["lastReachedOutAt"] == before


@pytest.mark.decorator_mode
def test_advance_execution_is_refused_for_an_offline_device_and_changes_nothing(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    moto_snowdevice.set_device_online(device, False)
    with pytest.raises(ValidationException, match="offline"):
        moto_snowdevice.advance_execution(task, device, "IN_PROGRESS")
    assert state_of(sdm, task, device) == "QUEUED"


@pytest.mark.decorator_mode
def test_queued_work_of_an_offline_device_can_be_canceled(sdm: Any, device: str) -> None:
    moto_snowdevice.set_device_online(device, False)
    task = new_task(sdm, device)
    sdm.cancel_task(taskId=task)
    assert sdm.describe_task(taskId=task)["state"] == "CANCELED"
    assert state_of(sdm, task, device) == "CANCELED"


def test_the_cancel_race_spares_an_offline_device(sdm: Any, device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    moto_snowdevice.set_device_online(device, False)
    task = new_task(sdm, device)
    sdm.cancel_task(taskId=task)
    assert sdm.describe_task(taskId=task)["state"] == "CANCELED"


@pytest.mark.decorator_mode
def test_coming_back_online_is_a_reach_out_and_the_queue_then_drains(sdm: Any, device: str, clock: Clock) -> None:
    moto_snowdevice.set_device_online(device, False)
    task = new_task(sdm, device)
    poll(sdm, task, device)
    clock.current += 3 * DAY

    moto_snowdevice.set_device_online(device)

    reached_out = described_device(sdm, device)["lastReachedOutAt"]
    assert reached_out.timestamp() == pytest.approx(clock.current, abs=0.01)
    assert [poll(sdm, task, device)["state"] for _ in range(2)] == ["IN_PROGRESS", "SUCCEEDED"]


def test_work_in_progress_when_the_device_drops_stays_in_progress_until_it_is_back(sdm: Any, device: str) -> None:
    task = new_task(sdm, device, command=UNLOCK)
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"
    moto_snowdevice.set_device_online(device, False)
    for _ in range(3):
        assert poll(sdm, task, device)["state"] == "IN_PROGRESS"
    assert described_device(sdm, device)["deviceState"] == "UNLOCKING"
    moto_snowdevice.set_device_online(device, True)
    assert poll(sdm, task, device)["state"] == "SUCCEEDED"


def test_setting_a_device_online_twice_changes_nothing(sdm: Any, device: str) -> None:
    before = described_device(sdm, device)
    moto_snowdevice.set_device_online(device, True)
    after = described_device(sdm, device)
    assert after["lastReachedOutAt"] == before["lastReachedOutAt"]
    assert after["lastUpdatedAt"] == before["lastUpdatedAt"]


def test_a_fleet_entry_can_start_a_device_offline(sdm: Any, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        json.dumps(
            [
                {"device": {"managedDeviceId": "smd-offline00000000a"}, "online": False},
                {"device": {"managedDeviceId": "smd-online000000000b"}, "online": True},
            ]
        )
    )
    offline, online = moto_snowdevice.load_fleet(fleet)
    task = new_task(sdm, offline, online)
    assert poll(sdm, task, offline)["state"] == "QUEUED"
    assert poll(sdm, task, online)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
def test_the_devices_route_can_add_a_device_offline(sdm: Any) -> None:
    response = post("devices", {"device": {}, "online": False})
    assert response.status_code == 200
    device = response.json()["managedDeviceId"]
    task = new_task(sdm, device)
    assert poll(sdm, task, device)["state"] == "QUEUED"


@pytest.mark.decorator_mode
def test_a_fleet_entry_with_a_non_boolean_online_adds_nothing(sdm: Any) -> None:
    response = post("fleet", [{"device": {}}, {"device": {}, "online": "no"}])
    assert response.status_code == 400
    assert "online" in response.json()["message"]
    assert sdm.list_devices()["devices"] == []


@pytest.mark.decorator_mode
def test_the_connectivity_route_takes_a_device_offline_and_back(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    response = post("connectivity", {"managedDeviceId": device, "online": False})
    assert response.status_code == 200
    assert response.json() == {"managedDeviceId": device, "online": False}
    assert poll(sdm, task, device)["state"] == "QUEUED"
    assert post("connectivity", {"managedDeviceId": device, "online": True}).status_code == 200
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "body, word",
    [
        (lambda device: {"managedDeviceId": UNKNOWN_DEVICE, "online": False}, UNKNOWN_DEVICE),
        (lambda device: {"online": False}, "managedDeviceId"),
        (lambda device: {"managedDeviceId": device}, "online"),
        (lambda device: {"managedDeviceId": device, "online": "false"}, "online"),
        (lambda device: {"managedDeviceId": device, "online": 0}, "online"),
        (lambda device: {"managedDeviceId": device, "online": False, "accountId": "12"}, "accountId"),
        (lambda device: [device], "object"),
    ],
    ids=["unknown-device", "no-device", "no-online", "text-online", "number-online", "bad-account", "a-list"],
)
def test_the_connectivity_route_refuses_bad_input_with_400_and_changes_nothing(
    sdm: Any, device: str, body: Callable[[str], Any], word: str
) -> None:
    task = new_task(sdm, device)
    response = post("connectivity", body(device))
    assert response.status_code == 400
    assert word in response.json()["message"]
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"


def test_set_device_online_refuses_an_unknown_device(aws: None) -> None:
    with pytest.raises(ValidationException, match=UNKNOWN_DEVICE):
        moto_snowdevice.set_device_online(UNKNOWN_DEVICE, False)


def test_set_device_online_refuses_a_device_of_another_region(aws: None, device: str) -> None:
    with pytest.raises(ValidationException, match="eu-west-1"):
        moto_snowdevice.set_device_online(device, False, region_name="eu-west-1")


# Timeouts


@pytest.mark.decorator_mode
def test_an_execution_not_finished_in_time_reads_timed_out_from_its_deadline(
    sdm: Any, device: str, clock: Clock
) -> None:
    moto_snowdevice.set_execution_timeout(3600)
    task = new_task(sdm, device)
    # Created at the clock's reading, exactly
    deadline = clock.current + 3600

    clock.current = deadline - 1
    assert state_of(sdm, task, device) == "QUEUED"
    clock.current = deadline + DAY

    described = poll(sdm, task, device)
    assert described["state"] == "TIMED_OUT"
    assert described["lastUpdatedAt"].timestamp() == pytest.approx(deadline, abs=0.01)
    assert "startedAt" not in described
    finished = sdm.describe_task(taskId=task)
    assert finished["state"] == "COMPLETED"
    assert finished["completedAt"].timestamp() == pytest.approx(deadline, abs=0.01)


@pytest.mark.decorator_mode
def test_a_running_unlock_that_times_out_leaves_the_device_locked(sdm: Any, device: str, clock: Clock) -> None:
    moto_snowdevice.set_execution_timeout(600)
    task = new_task(sdm, device, command=UNLOCK)
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"
    assert described_device(sdm, device)["deviceState"] == "UNLOCKING"
    clock.current += 601
    assert poll(sdm, task, device)["state"] == "TIMED_OUT"
    assert described_device(sdm, device)["deviceState"] == "LOCKED"


def test_work_finished_before_the_deadline_keeps_its_end(sdm: Any, device: str, clock: Clock) -> None:
    moto_snowdevice.set_execution_timeout(600)
    task = new_task(sdm, device)
    polls_until_finished(sdm, task, device)
    clock.current += DAY
    assert poll(sdm, task, device)["state"] == "SUCCEEDED"


@pytest.mark.decorator_mode
def test_a_queue_that_is_not_polled_times_out_in_full(sdm: Any, device: str, other_device: str, clock: Clock) -> None:
    moto_snowdevice.set_execution_timeout(600)
    tasks = [new_task(sdm, device, other_device) for _ in range(3)]
    clock.current += 601
    assert [sdm.describe_task(taskId=task)["state"] for task in tasks] == ["COMPLETED"] * 3
    assert {state_of(sdm, task, other_device) for task in tasks} == {"TIMED_OUT"}


@pytest.mark.decorator_mode
def test_the_timeout_ends_the_work_of_an_offline_device(sdm: Any, device: str, clock: Clock) -> None:
    moto_snowdevice.set_device_online(device, False)
    moto_snowdevice.set_execution_timeout(DAY)
    task = new_task(sdm, device)
    clock.current += 7 * DAY
    assert sdm.describe_task(taskId=task)["state"] == "COMPLETED"
    assert state_of(sdm, task, device) == "TIMED_OUT"


def test_a_timeout_of_none_never_times_out(sdm: Any, device: str, clock: Clock) -> None:
    moto_snowdevice.set_execution_timeout(60)
    moto_snowdevice.set_execution_timeout(None)
    task = new_task(sdm, device)
    clock.current += 30 * DAY
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
def test_with_time_progression_steps_before_the_deadline_happen_and_the_rest_times_out(
    sdm: Any, device: str, transition: SetTransition, clock: Clock
) -> None:
    transition({"progression": "time", "seconds": 60})
    moto_snowdevice.set_execution_timeout(90)
    task = new_task(sdm, device)
    created = sdm.describe_task(taskId=task)["createdAt"].timestamp()
    clock.current += 1000
    described = poll(sdm, task, device)
    assert described["state"] == "TIMED_OUT"
    # It started at the end of the first period, then reached its deadline before the second ended
    assert described["startedAt"].timestamp() == pytest.approx(created + 60, abs=0.01)
    assert described["lastUpdatedAt"].timestamp() == pytest.approx(created + 90, abs=0.01)


@pytest.mark.decorator_mode
def test_the_execution_timeout_route_sets_and_clears_the_timeout(sdm: Any, device: str, clock: Clock) -> None:
    response = post("execution-timeout", {"seconds": 60})
    assert response.status_code == 200
    assert response.json() == {"seconds": 60}
    task = new_task(sdm, device)
    clock.current += 61
    assert poll(sdm, task, device)["state"] == "TIMED_OUT"
    assert post("execution-timeout", {"seconds": None}).status_code == 200
    later = new_task(sdm, device)
    clock.current += DAY
    assert poll(sdm, later, device)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
@pytest.mark.parametrize("seconds", [-1, 0, "60", True, float("nan"), float("inf"), [60], 10**400], ids=repr)
def test_set_execution_timeout_refuses_anything_but_a_positive_number_and_keeps_the_setting(
    sdm: Any, device: str, clock: Clock, seconds: Any
) -> None:
    moto_snowdevice.set_execution_timeout(600)
    with pytest.raises(ValidationException, match="seconds"):
        moto_snowdevice.set_execution_timeout(seconds)
    task = new_task(sdm, device)
    clock.current += 601
    assert poll(sdm, task, device)["state"] == "TIMED_OUT"


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "body, word",
    [
        ({}, "seconds"),
        ({"seconds": -5}, "seconds"),
        ({"seconds": "soon"}, "seconds"),
        ({"seconds": 5, "region": "mars-1"}, "mars-1"),
    ],
    ids=["missing", "negative", "text", "bad-region"],
)
def test_the_execution_timeout_route_refuses_bad_input_with_400_and_changes_nothing(
    sdm: Any, device: str, clock: Clock, body: Any, word: str
) -> None:
    response = post("execution-timeout", body)
    assert response.status_code == 400
    assert word in response.json()["message"]
    task = new_task(sdm, device)
    clock.current += DAY
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
def test_the_execution_timeout_route_refuses_nan_in_the_json_body(sdm: Any) -> None:
    response = requests.post(
        f"{CONTROL}/execution-timeout", data=b'{"seconds": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "seconds" in response.json()["message"]


# Outcomes


def test_with_failed_weights_an_unlock_fails_after_in_progress_and_leaves_the_device_locked(
    sdm: Any, device: str
) -> None:
    moto_snowdevice.set_execution_outcomes({"FAILED": 1})
    task = new_task(sdm, device, command=UNLOCK)
    assert poll(sdm, task, device)["state"] == "IN_PROGRESS"
    assert described_device(sdm, device)["deviceState"] == "UNLOCKING"
    assert poll(sdm, task, device)["state"] == "FAILED"
    assert described_device(sdm, device)["deviceState"] == "LOCKED"
    assert sdm.describe_task(taskId=task)["state"] == "COMPLETED"


def test_with_timed_out_weights_work_times_out_after_in_progress(sdm: Any, device: str) -> None:
    moto_snowdevice.set_execution_outcomes({"TIMED_OUT": 1})
    task = new_task(sdm, device, command=UNLOCK)
    assert [poll(sdm, task, device)["state"] for _ in range(2)] == ["IN_PROGRESS", "TIMED_OUT"]
    assert described_device(sdm, device)["deviceState"] == "LOCKED"


def test_rejected_work_goes_straight_from_queued_to_rejected_and_leaves_the_device_alone(sdm: Any, device: str) -> None:
    moto_snowdevice.set_execution_outcomes({"REJECTED": 1})
    before = described_device(sdm, device)
    task = new_task(sdm, device, command=UNLOCK)

    rejected = poll(sdm, task, device)

    assert rejected["state"] == "REJECTED"
    assert "startedAt" not in rejected
    after = described_device(sdm, device)
    for key in ("deviceState", "lastUpdatedAt", "lastReachedOutAt"):
        assert after[key] == before[key]
    assert sdm.describe_task(taskId=task)["state"] == "COMPLETED"


@pytest.mark.parametrize(
    "weights, end", [({"REJECTED": 1}, "SUCCEEDED"), ({"REJECTED": 5, "FAILED": 1}, "FAILED")], ids=repr
)
def test_work_started_by_advance_execution_ends_by_the_weights_other_than_rejected(
    sdm: Any, device: str, weights: dict[str, float], end: str
) -> None:
    moto_snowdevice.set_execution_outcomes(weights)
    task = new_task(sdm, device)
    moto_snowdevice.advance_execution(task, device, "IN_PROGRESS")
    assert poll(sdm, task, device)["state"] == end


@pytest.mark.decorator_mode
def test_a_device_setting_wins_over_the_account_and_region_setting(sdm: Any, device: str, other_device: str) -> None:
    moto_snowdevice.set_execution_outcomes({"FAILED": 1})
    moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1}, managed_device_id=device)
    task = new_task(sdm, device, other_device)
    assert polls_until_finished(sdm, task, device) == 2
    assert polls_until_finished(sdm, task, other_device) == 2
    assert state_of(sdm, task, device) == "SUCCEEDED"
    assert state_of(sdm, task, other_device) == "FAILED"


def test_removing_a_device_setting_brings_back_the_account_and_region_setting(sdm: Any, device: str) -> None:
    moto_snowdevice.set_execution_outcomes({"REJECTED": 1})
    moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1}, managed_device_id=device)
    moto_snowdevice.set_execution_outcomes(None, managed_device_id=device)
    task = new_task(sdm, device)
    assert poll(sdm, task, device)["state"] == "REJECTED"


def run_mix(sdm: Any, seed: int) -> list[str]:
    """Seed moto's random source, then end 30 tasks on one device under mixed weights."""
    requests.post(f"{MOTO_API}/seed?a={seed}").raise_for_status()
    device = moto_snowdevice.add_device({"managedDeviceId": "smd-mix0000000000001"})
    moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 2, "FAILED": 1, "REJECTED": 1, "TIMED_OUT": 1})
    tasks = [new_task(sdm, device) for _ in range(30)]
    polls_until_finished(sdm, tasks[-1], device)
    return [state_of(sdm, task, device) for task in tasks]


@pytest.mark.decorator_mode
def test_the_same_seed_repeats_the_mix_of_outcomes_exactly(sdm: Any) -> None:
    first = run_mix(sdm, 42)
    requests.post(f"{MOTO_API}/reset").raise_for_status()
    again = run_mix(sdm, 42)

    assert again == first
    assert set(first) == {"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"}


@pytest.mark.decorator_mode
def test_another_seed_gives_another_mix(sdm: Any) -> None:
    first = run_mix(sdm, 42)
    requests.post(f"{MOTO_API}/reset").raise_for_status()
    assert run_mix(sdm, 7) != first


@pytest.mark.decorator_mode
def test_the_execution_outcomes_route_sets_account_and_device_weights(sdm: Any, device: str, other_device: str) -> None:
    response = post("execution-outcomes", {"weights": {"FAILED": 1}})
    assert response.status_code == 200
    assert response.json() == {"weights": {"FAILED": 1}}
    response = post("execution-outcomes", {"weights": {"REJECTED": 3}, "managedDeviceId": device})
    assert response.json() == {"weights": {"REJECTED": 3}, "managedDeviceId": device}
    task = new_task(sdm, device, other_device)
    polls_until_finished(sdm, task, device)
    polls_until_finished(sdm, task, other_device)
    assert state_of(sdm, task, device) == "REJECTED"
    assert state_of(sdm, task, other_device) == "FAILED"


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "weights, word",
    [
        ({"EXPLODED": 1}, "EXPLODED"),
        ({"IN_PROGRESS": 1}, "IN_PROGRESS"),
        ({"CANCELED": 1}, "CANCELED"),
        ({"FAILED": -1}, "FAILED"),
        ({"FAILED": "1"}, "FAILED"),
        ({"FAILED": True}, "FAILED"),
        ({"FAILED": float("nan")}, "FAILED"),
        ({"FAILED": float("inf")}, "FAILED"),
        ({"FAILED": 0, "SUCCEEDED": 0}, "zero"),
        ({}, "weights"),
        ([("FAILED", 1)], "weights"),
        ("FAILED", "weights"),
    ],
    ids=repr,
)
def test_set_execution_outcomes_refuses_bad_weights_and_keeps_the_setting(
    sdm: Any, device: str, weights: Any, word: str
) -> None:
    moto_snowdevice.set_execution_outcomes({"FAILED": 1})
    with pytest.raises(ValidationException, match=word):
        moto_snowdevice.set_execution_outcomes(weights)
    task = new_task(sdm, device)
    polls_until_finished(sdm, task, device)
    assert state_of(sdm, task, device) == "FAILED"


def test_set_execution_outcomes_refuses_an_unknown_device(aws: None) -> None:
    with pytest.raises(ValidationException, match=UNKNOWN_DEVICE):
        moto_snowdevice.set_execution_outcomes({"FAILED": 1}, managed_device_id=UNKNOWN_DEVICE)


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "body, word",
    [
        ({}, "weights"),
        ({"weights": {"FAILED": -2}}, "FAILED"),
        ({"weights": {"NOPE": 1}}, "NOPE"),
        ({"weights": {"FAILED": 0}}, "zero"),
        ({"weights": {"FAILED": 1}, "managedDeviceId": UNKNOWN_DEVICE}, UNKNOWN_DEVICE),
    ],
    ids=["missing", "negative", "unknown-state", "all-zero", "unknown-device"],
)
def test_the_execution_outcomes_route_refuses_bad_input_with_400_and_changes_nothing(
    sdm: Any, device: str, body: Any, word: str
) -> None:
    response = post("execution-outcomes", body)
    assert response.status_code == 400
    assert word in response.json()["message"]
    task = new_task(sdm, device)
    polls_until_finished(sdm, task, device)
    assert state_of(sdm, task, device) == "SUCCEEDED"


# Reset


@pytest.mark.decorator_mode
def test_motos_reset_clears_connectivity_timeout_and_weights(sdm: Any, clock: Clock) -> None:
    device = moto_snowdevice.add_device({"managedDeviceId": "smd-reset00000000001"})
    moto_snowdevice.set_device_online(device, False)
    moto_snowdevice.set_execution_timeout(60)
    moto_snowdevice.set_execution_outcomes({"FAILED": 1})

    requests.post(f"{MOTO_API}/reset").raise_for_status()

    device = moto_snowdevice.add_device({"managedDeviceId": "smd-reset00000000001"})
    task = new_task(sdm, device)
    clock.current += DAY
    assert [poll(sdm, task, device)["state"] for _ in range(2)] == ["IN_PROGRESS", "SUCCEEDED"]


# AWS's tagging rules


def tags(count: int, prefix: str = "key") -> dict[str, str]:
    return {f"{prefix}-{number}": "value" for number in range(count)}


@pytest.mark.parametrize(
    "bad_tags, words",
    [
        (tags(51), ["'tags'", "less than or equal to 50"]),
        ({"k" * 129: "v"}, ["Map keys", "less than or equal to 128"]),
        ({"": "v"}, ["Map keys", "greater than or equal to 1"]),
        ({"site": "v" * 257}, ["Map value", "less than or equal to 256"]),
        ({"aws:site": "v"}, ["Map keys", "aws:"]),
        ({"AWS:Site": "v"}, ["Map keys", "aws:"]),
    ],
    ids=["51-tags", "long-key", "empty-key", "long-value", "aws-prefix", "aws-prefix-upper-case"],
)
def test_create_task_refuses_tags_that_break_aws_tagging_rules_and_creates_nothing(
    raw_sdm: Any, device: str, bad_tags: dict[str, str], words: list[str]
) -> None:
    with refused("ValidationException", 400, "1 validation error detected", *words):
        raw_sdm.create_task(targets=[device], command=REBOOT, tags=bad_tags)
    assert raw_sdm.list_tasks()["tasks"] == []


def test_create_task_takes_tags_at_every_limit(sdm: Any, device: str) -> None:
    at_limits = {**tags(48), "k" * 128: "v" * 256, "site": ""}
    task = sdm.create_task(targets=[device], command=REBOOT, tags=at_limits)
    assert sdm.list_tags_for_resource(resourceArn=task["taskArn"])["tags"] == at_limits


@pytest.mark.parametrize("kind", ["task", "device"])
def test_tag_resource_refuses_a_change_that_leaves_more_than_50_tags_and_changes_nothing(
    sdm: Any, device: str, kind: str
) -> None:
    arn = task_arn(new_task(sdm, device)) if kind == "task" else device_arn(device)
    sdm.tag_resource(resourceArn=arn, tags=tags(45))

    with refused("ValidationException", 400, "at most 50", "51"):
        sdm.tag_resource(resourceArn=arn, tags={**tags(5, "new"), "one-more": "x"})

    assert sdm.list_tags_for_resource(resourceArn=arn)["tags"] == tags(45)


def test_tag_resource_counts_replaced_keys_once(sdm: Any, device: str) -> None:
    arn = device_arn(device)
    sdm.tag_resource(resourceArn=arn, tags=tags(45))
    sdm.tag_resource(resourceArn=arn, tags={**tags(40), **tags(5, "new")})
    assert len(sdm.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


@pytest.mark.parametrize("kind", ["task", "device"])
@pytest.mark.parametrize("bad_tags", [{"aws:owner": "me"}, {"k" * 129: "v"}, {"k": "v" * 257}], ids=repr)
def test_tag_resource_refuses_a_bad_key_or_value_and_changes_nothing(
    raw_sdm: Any, device: str, kind: str, bad_tags: dict[str, str]
) -> None:
    arn = task_arn(new_task(raw_sdm, device)) if kind == "task" else device_arn(device)
    raw_sdm.tag_resource(resourceArn=arn, tags={"site": "harbor"})
    with refused("ValidationException", 400, "1 validation error detected"):
        raw_sdm.tag_resource(resourceArn=arn, tags={"rack": "7", **bad_tags})
    assert raw_sdm.list_tags_for_resource(resourceArn=arn)["tags"] == {"site": "harbor"}


@pytest.mark.parametrize(
    "bad_tags", [tags(51), {"aws:site": "x"}, {"k" * 129: "v"}, {"k": "v" * 257}], ids=["51", "aws", "key", "value"]
)
def test_add_device_refuses_tags_that_break_aws_tagging_rules_and_adds_nothing(
    sdm: Any, bad_tags: dict[str, str]
) -> None:
    with pytest.raises(ValidationException, match="device.tags"):
        moto_snowdevice.add_device({"tags": bad_tags})
    assert sdm.list_devices()["devices"] == []


@pytest.mark.decorator_mode
def test_a_fleet_with_one_device_breaking_the_tagging_rules_adds_nothing(sdm: Any) -> None:
    response = post("fleet", [{"device": {"tags": {"site": "a"}}}, {"device": {"tags": {"aws:site": "b"}}}])
    assert response.status_code == 400
    assert "fleet entry 2" in response.json()["message"]
    assert sdm.list_devices()["devices"] == []
