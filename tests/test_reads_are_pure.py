"""What a read does and does not do: under the time and immediate progressions reads catch up and change
nothing a later read returns; under the default (manual) progression each call that reports a device's
work moves that device one step, whichever read it is; outcomes fixed per execution, whoever looks first;
scripted outcomes; and every change reaching --state by construction (the pace a new task sets too)."""

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from freezegun import freeze_time
from moto import mock_aws
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice import models
from moto_snowdevice._checks import check_outcome_script
from moto_snowdevice._state import StateStore
from moto_snowdevice.exceptions import ValidationException

SERVICE = "snow-device-management"
ACCOUNT = "123456789012"
REGION = "us-east-1"
EXECUTION_MODEL = "snow-device-management::execution"
NOON = datetime(2020, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
REBOOT = {"reboot": {}}

pytestmark = pytest.mark.decorator_mode


@pytest.fixture
def frozen() -> Iterator[Any]:
    with freeze_time(NOON) as frozen_clock, mock_aws():
        yield frozen_clock


@pytest.fixture
def transition() -> Iterator[Callable[[dict[str, Any]], None]]:
    try:
        yield lambda config: state_manager.set_transition(EXECUTION_MODEL, config)
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)


def client() -> Any:
    return boto3.client(SERVICE, region_name=REGION)


def backend() -> Any:
    return models.snowdevicemanagement_backends[ACCOUNT][REGION]


def new_task(sdm: Any, *devices: str) -> str:
    return str(sdm.create_task(targets=list(devices), command=REBOOT)["taskId"])


def held(task_id: str, device: str) -> str:
    """The execution's state as the model holds it: a look that reports nothing, so moves nothing."""
    return str(backend().get_execution(task_id, device).state)


def describe(sdm: Any, task_id: str, device: str) -> dict[str, Any]:
    described = sdm.describe_execution(taskId=task_id, managedDeviceId=device)
    described.pop("ResponseMetadata")
    return described


# Time and immediate progressions: reads are pure


def test_one_period_on_the_clock_shows_exactly_one_step_at_the_first_read(frozen: Any, transition: Any) -> None:
    transition({"progression": "time", "seconds": 60})
    sdm = client()
    device = moto_snowdevice.add_device()
    task_id = new_task(sdm, device)
    frozen.tick(60)

    answers = [describe(sdm, task_id, device) for _ in range(3)]

    assert [answer["state"] for answer in answers] == ["IN_PROGRESS"] * 3
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["startedAt"].timestamp() == NOON.timestamp() + 60


def test_a_100_second_timeout_reads_timed_out_at_exactly_100_seconds(frozen: Any) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    moto_snowdevice.set_execution_timeout(100)
    task_id = new_task(sdm, device)
    frozen.tick(99.999)
    assert held(task_id, device) == "QUEUED"
    frozen.tick(0.001)

    described = describe(sdm, task_id, device)

    assert described["state"] == "TIMED_OUT"
    assert described["lastUpdatedAt"].timestamp() == pytest.approx(NOON.timestamp() + 100, abs=1e-6)


def _time_progression_run(reads: bool) -> list[dict[str, Any]]:
    """Three devices, six tasks, the clock moved in steps of 45 s; with or without listings between the moves."""
    with freeze_time(NOON) as frozen, mock_aws():
        moto_snowdevice.seed(3)
        state_manager.set_transition(EXECUTION_MODEL, {"progression": "time", "seconds": 60})
        moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1, "FAILED": 1, "REJECTED": 1})
        sdm = client()
        devices = [moto_snowdevice.add_device() for _ in range(3)]
        tasks = [new_task(sdm, devices[index % 3]) for index in range(6)]
        for _ in range(10):
            frozen.tick(45)
            if reads:
                sdm.list_tasks(state="COMPLETED", maxResults=1)
                sdm.list_tasks(state="IN_PROGRESS")
                sdm.list_executions(taskId=tasks[0], state="QUEUED")
                sdm.describe_device(managedDeviceId=devices[1])
        return [describe(sdm, task_id, devices[index % 3]) for index, task_id in enumerate(tasks)]


def test_listings_their_filters_and_look_ahead_change_nothing_a_later_read_returns(transition: Any) -> None:
    transition({"progression": "time", "seconds": 60})

    assert _time_progression_run(reads=True) == _time_progression_run(reads=False)


def test_under_immediate_progression_identical_reads_give_identical_answers(frozen: Any, transition: Any) -> None:
    transition({"progression": "immediate"})
    sdm = client()
    device = moto_snowdevice.add_device()
    task_id = new_task(sdm, device)

    answers = [sdm.list_executions(taskId=task_id)["executions"] for _ in range(3)]

    assert (
        answers[0]
        == answers[1]
        == answers[2]
        == [{"executionId": "1", "managedDeviceId": device, "state": "SUCCEEDED", "taskId": task_id}]
    )


# The manual progression: every read that reports work polls it


def test_a_list_executions_poll_loop_finishes_in_as_few_calls_as_a_describe_execution_loop(aws: None) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    by_describe, by_listing = new_task(sdm, device), None
    calls = {"describe": 0, "list": 0}
    while describe(sdm, by_describe, device)["state"] in ("QUEUED", "IN_PROGRESS") and calls["describe"] < 10:
        calls["describe"] += 1
    by_listing = new_task(sdm, device)
    while sdm.list_executions(taskId=by_listing)["executions"][0]["state"] in ("QUEUED", "IN_PROGRESS"):
        calls["list"] += 1
        assert calls["list"] < 10

    assert calls["list"] == calls["describe"] == 1


@pytest.mark.parametrize(
    "read",
    [
        lambda sdm, task_id: sdm.describe_task(taskId=task_id),
        lambda sdm, task_id: sdm.list_tasks(),
        lambda sdm, task_id: sdm.list_tasks(state="IN_PROGRESS"),
        lambda sdm, task_id: sdm.list_executions(taskId=task_id),
    ],
    ids=["DescribeTask", "ListTasks", "ListTasks-filtered", "ListExecutions"],
)
def test_each_read_that_reports_work_moves_each_device_one_step_per_call(aws: None, read: Any) -> None:
    sdm = client()
    first, second = moto_snowdevice.add_device(), moto_snowdevice.add_device()
    task_id = new_task(sdm, first, second)
    new_task(sdm, first)  # a second task on one device: still one step for it per call

    read(sdm, task_id)

    assert (held(task_id, first), held(task_id, second)) == ("IN_PROGRESS", "IN_PROGRESS")


def test_with_times_three_every_third_reporting_call_is_a_step(aws: None, transition: Any) -> None:
    transition({"progression": "manual", "times": 3})
    sdm = client()
    device = moto_snowdevice.add_device()
    task_id = new_task(sdm, device)

    reads = [
        lambda: sdm.describe_task(taskId=task_id),
        lambda: sdm.list_tasks(),
        lambda: sdm.list_executions(taskId=task_id),
    ]
    seen = []
    for read in reads:
        read()
        seen.append(held(task_id, device))

    assert seen == ["QUEUED", "QUEUED", "IN_PROGRESS"]


def test_a_filtered_list_tasks_moves_only_the_devices_of_the_tasks_it_returns(aws: None) -> None:
    sdm = client()
    listed, unlisted = moto_snowdevice.add_device(), moto_snowdevice.add_device()
    completed = new_task(sdm, listed)
    while describe(sdm, completed, listed)["state"] != "SUCCEEDED":
        pass
    queued_elsewhere = new_task(sdm, unlisted)
    queued_behind = new_task(sdm, listed)

    page = sdm.list_tasks(state="COMPLETED")["tasks"]

    assert [task["taskId"] for task in page] == [completed]
    assert (held(queued_elsewhere, unlisted), held(queued_behind, listed)) == ("QUEUED", "QUEUED")


def test_a_filtered_listing_answers_only_what_is_still_in_its_state_after_its_step(aws: None) -> None:
    sdm = client()
    moving, idle = moto_snowdevice.add_device(), moto_snowdevice.add_device()
    stepped = new_task(sdm, moving)
    untouched = new_task(sdm, idle)
    moto_snowdevice.set_device_online(idle, False)

    tasks = sdm.list_tasks(state="IN_PROGRESS")["tasks"]
    fresh_device = moto_snowdevice.add_device()
    fresh = new_task(sdm, fresh_device)
    executions = sdm.list_executions(taskId=fresh, state="QUEUED")["executions"]

    # A task stays IN_PROGRESS through its step; the fresh execution was picked QUEUED and left it with its
    # step, so is not answered
    assert [task["taskId"] for task in tasks] == [stepped, untouched]
    assert {task["state"] for task in tasks} == {"IN_PROGRESS"}
    assert executions == []
    assert (held(stepped, moving), held(fresh, fresh_device)) == ("IN_PROGRESS", "IN_PROGRESS")
    assert sdm.list_executions(taskId=untouched, state="QUEUED")["executions"][0]["state"] == "QUEUED"


# Outcomes fixed per execution, whoever looks first


def _outcomes_polled_in(order: list[int]) -> list[str]:
    with mock_aws():
        moto_snowdevice.seed(7)
        moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1, "FAILED": 1, "REJECTED": 1, "TIMED_OUT": 1})
        sdm = client()
        devices = [moto_snowdevice.add_device() for _ in range(6)]
        tasks = [new_task(sdm, device) for device in devices]
        for index in order:
            while describe(sdm, tasks[index], devices[index])["state"] in ("QUEUED", "IN_PROGRESS"):
                pass
        return [held(task_id, device) for task_id, device in zip(tasks, devices, strict=True)]


def test_seeded_outcomes_do_not_depend_on_the_order_devices_are_polled_in() -> None:
    forward = _outcomes_polled_in(list(range(6)))

    assert _outcomes_polled_in(list(reversed(range(6)))) == forward
    assert _outcomes_polled_in([2, 5, 0, 3, 1, 4]) == forward


def test_a_weight_setting_changed_later_applies_to_work_not_yet_ended(aws: None) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    moto_snowdevice.set_execution_outcomes({"FAILED": 1})
    task_id = new_task(sdm, device)
    assert describe(sdm, task_id, device)["state"] == "IN_PROGRESS"

    moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1})

    assert describe(sdm, task_id, device)["state"] == "SUCCEEDED"


# Scripted outcomes


def test_a_script_ends_the_devices_next_executions_as_written_then_the_weights_apply(aws: None) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    backend().set_outcome_weights({"TIMED_OUT": 1}, None)
    backend().set_outcome_script(["FAILED", "REJECTED", "SUCCEEDED"], device)
    tasks = [new_task(sdm, device) for _ in range(4)]

    for task_id in tasks:
        while describe(sdm, task_id, device)["state"] in ("QUEUED", "IN_PROGRESS"):
            pass

    assert [held(task_id, device) for task_id in tasks] == ["FAILED", "REJECTED", "SUCCEEDED", "TIMED_OUT"]
    assert backend().get_device(device).outcome_script is None


def test_a_scripted_rejection_never_starts_the_work(aws: None) -> None:
    sdm = client()
    device = moto_snowdevice.add_device()
    backend().set_outcome_script(["REJECTED"], device)
    task_id = new_task(sdm, device)

    described = describe(sdm, task_id, device)

    assert described["state"] == "REJECTED"
    assert "startedAt" not in described


@pytest.mark.parametrize(
    ("script", "field"),
    [(["SUCCEEDED", "DONE"], "script.2"), (["CANCELED"], "script.1"), ([1], "script.1"), ("FAILED", "script")],
)
def test_a_bad_script_entry_is_refused_naming_it(script: Any, field: str) -> None:
    with pytest.raises(ValidationException) as refused:
        check_outcome_script(script)

    assert refused.value.message.startswith(f"{field} must")


def test_a_script_is_kept_by_state_and_goes_with_moto_s_reset(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with mock_aws():
        store = StateStore.open(state_file)
        store.install()
        device = moto_snowdevice.add_device()
        backend().set_outcome_script(["FAILED", "SUCCEEDED"], device)
        store.flush()
        store.close()
    with mock_aws():
        store = StateStore.open(state_file)
        store.install()
        try:
            assert backend().get_device(device).outcome_script == ("FAILED", "SUCCEEDED")
        finally:
            store.close()
    with mock_aws():
        moto_snowdevice.add_device({"managedDeviceId": device})
        assert backend().get_device(device).outcome_script is None


# Durable by construction


def test_the_pace_a_new_task_sets_on_an_idle_device_reaches_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with freeze_time(NOON) as frozen, mock_aws():
        store = StateStore.open(state_file)
        store.install()
        device = moto_snowdevice.add_device()
        store.flush()
        frozen.tick(3600)
        backend().create_task([device], REBOOT, None, None, None)
        store.flush()
        in_memory = backend().get_device(device).paced_from
        store.close()
    with mock_aws():
        store = StateStore.open(state_file)
        try:
            saved = store.loaded.backends[(ACCOUNT, REGION)].get_device(device).paced_from
        finally:
            store.close()

    assert saved == in_memory == NOON.timestamp() + 3600


def test_every_kept_field_of_a_device_reports_the_device(aws: None) -> None:
    device = backend().get_device(moto_snowdevice.add_device())
    reported: list[Any] = []
    feed = models.snowdevicemanagement_backends.changes
    feed.listener = lambda _, resource: reported.append(resource)
    try:
        for field in ("online", "polls", "paced_from", "outcome_weights", "outcome_script", "takes_work_before_cancel"):
            setattr(device, field, getattr(device, field))
        device.touch(1.0)
        device.queue = device.queue
    finally:
        feed.listener = None

    assert reported == [device] * 7
