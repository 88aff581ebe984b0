"""A fleet a test can trust: the same seed, clock and calls give the same answers however a test reads.

In-process, hypothesis draws a program of calls that change state and runs it twice, each time in a
fresh `mock_aws` seeded alike under a frozen clock (freezegun), with reads drawn apart for each run and
interleaved at different points. Under the time and immediate progressions reads are pure: both runs
must answer every call that changes state alike, every read made at the same point in both runs (and
every repeat of it) alike, and give the same whole snapshot at the end. Under the manual progression,
where a read that reports work moves it, the program interleaves only reads that never move work, and
each run then polls the devices to the end in its own order and with its own reads: every execution
must end the same way, at the same time. The examples are derandomized, so a failure repeats.
"""

import functools
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice.models import EXECUTION_MODEL

from fleet_model import DEVICE_IDS, FINAL_EXECUTION_STATES, Change, Fleet, Read, answer, changes, pages, reads

# Reads this process's own backends and clock
pytestmark = pytest.mark.decorator_mode

FROZEN_AT = "2020-01-01 12:00:00"
SEED = 7
# Clock moves that land before, on and after a period's or a timeout's end
TICKS = st.sampled_from((0, 1, 29, 30, 59, 60, 100, 250))
# Each example is two runs of a program; shrinking one that fails takes minutes, so only on request
# (SDM_PROPERTY_SHRINK=1): derandomized, a failure repeats as it was first drawn
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if os.environ.get("SDM_PROPERTY_SHRINK") else [])],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
POLLS = ("describe_execution", "list_executions", "describe_task", "list_tasks")
# Rounds of polling under the manual progression: far more than 2 steps per execution at 2 polls a step
MAX_POLL_ROUNDS = 120


class Run:
    """One run of a program in a fresh mock_aws under a frozen clock: the answers it gathered."""

    def __init__(self, fleet: Fleet, frozen: Any) -> None:
        self.fleet = fleet
        self.frozen = frozen
        self.changes: list[Any] = []
        self.reads: dict[tuple[int, Read], list[Any]] = {}
        self.snapshot: dict[str, Any] = {}

    def change(self, change: Change) -> None:
        self.changes.append(apply(self.fleet, change, self.frozen))

    def read(self, point: int, read: Read) -> None:
        self.reads.setdefault((point, read), []).append(self.fleet.read(read))


def apply(fleet: Fleet, change: Change, frozen: Any) -> Any:
    """Make one call that changes state (or moves a clock) in-process; its answer, or its refusal."""
    client, arguments = fleet.client, change.arguments
    if change.name == "create_task":
        positions, command = arguments
        device_ids = [fleet.device(position) for position in positions]
        created = answer(lambda: client.create_task(targets=device_ids, command={command: {}}))
        if isinstance(created, dict):
            fleet.task_ids.append(created["taskId"])
            fleet.targets[created["taskId"]] = device_ids
        return created
    if change.name == "tick":
        frozen.tick(arguments[0])
        return None
    if change.name == "advance_clock":
        return answer(lambda: moto_snowdevice.advance_clock(arguments[0]))
    if change.name == "set_device_online":
        return answer(lambda: moto_snowdevice.set_device_online(fleet.device(arguments[0]), arguments[1]))
    if change.name == "set_execution_timeout":
        return answer(lambda: moto_snowdevice.set_execution_timeout(arguments[0]))
    if change.name in ("set_execution_outcomes", "simulate_cancel_race"):
        setting, device = arguments
        device_id = None if device is None else fleet.device(device)
        function = getattr(moto_snowdevice, change.name)
        return answer(lambda: function(setting, managed_device_id=device_id))
    if change.name == "tag_device":
        arn = client.describe_device(managedDeviceId=fleet.device(arguments[0]))["managedDeviceArn"]
        return answer(lambda: client.tag_resource(resourceArn=arn, tags=arguments[1]))
    return apply_to_task(fleet, change)


def apply_to_task(fleet: Fleet, change: Change) -> Any:
    """The calls that name a task (none yet: nothing to call)."""
    task_id = fleet.task(change.arguments[0])
    if task_id is None:
        return None
    client = fleet.client
    if change.name == "cancel_task":
        return answer(lambda: client.cancel_task(taskId=task_id))
    if change.name == "tag_task":
        arn = task_arn(task_id)
        return answer(lambda: client.tag_resource(resourceArn=arn, tags=change.arguments[1]))
    _, device, state = change.arguments
    targets = fleet.targets[task_id]
    return answer(lambda: moto_snowdevice.advance_execution(task_id, targets[device % len(targets)], state))


def task_arn(task_id: str) -> str:
    return f"arn:aws:snow-device-management:us-east-1:123456789012:task/{task_id}"


@functools.cache
def shared_client() -> Any:
    """One client for every run: creating one costs more than a run's calls, and mock_aws serves it alike."""
    return boto3.client(
        "snow-device-management",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# How a run polls under the manual progression: the order of its devices, and the reads it takes in turn
Polls = tuple[list[int], list[str]]


def run(
    program: list[Change],
    read_plan: list[list[Read]],
    progression: dict[str, Any],
    devices: int,
    polls: Polls | None = None,
) -> Run:
    """Run `program` with the reads of `read_plan` before each call (and after the last), gathering answers.

    With `polls`, every device is then brought online and polled until its work has ended.
    """
    with mock_aws(), freeze_time(FROZEN_AT) as frozen, progression_set(progression):
        moto_snowdevice.seed(SEED)
        for device_id in DEVICE_IDS[:devices]:
            moto_snowdevice.add_device({"managedDeviceId": device_id, "deviceType": "SNC1_HDD"})
        this = Run(Fleet(shared_client(), list(DEVICE_IDS[:devices])), frozen)
        for point, change in enumerate(program):
            for read in read_plan[point]:
                this.read(point, read)
            this.change(change)
        for read in read_plan[len(program)]:
            this.read(len(program), read)
        if polls is not None:
            for device_id in this.fleet.device_ids:
                this.changes.append(answer(lambda d=device_id: moto_snowdevice.set_device_online(d, True)))
            poll_to_the_end(this.fleet, *polls)
        this.snapshot = this.fleet.snapshot()
        return this


# What a poll learns of an execution whose task has ended, without reading the execution itself
ENDED = "ended with its task"


def poll_to_the_end(fleet: Fleet, order: list[int], kinds: list[str]) -> None:
    """Poll each device's oldest unfinished execution, devices in `order`, with the reads of `kinds` in turn."""
    seen: dict[tuple[str, str], str] = {}
    calls = 0
    for _ in range(MAX_POLL_ROUNDS):
        pending = [key for key in fleet.executions() if seen.get(key) not in FINAL_EXECUTION_STATES | {ENDED}]
        if not pending:
            return
        for position in order:
            mine = [key for key in pending if key[1] == fleet.device(position)]
            if mine:
                poll(fleet, kinds[calls % len(kinds)], mine[0], seen)
                calls += 1
    raise AssertionError(f"the devices' work did not end within {MAX_POLL_ROUNDS} rounds of polling")


def poll(fleet: Fleet, kind: str, execution: tuple[str, str], seen: dict[tuple[str, str], str]) -> None:
    """One poll of one execution's work, and what it tells of the executions' states."""
    client, (task_id, device_id) = fleet.client, execution
    if kind == "describe_execution":
        seen[execution] = client.describe_execution(taskId=task_id, managedDeviceId=device_id)["state"]
    elif kind == "list_executions":
        for item in pages(client.list_executions, "executions", None, taskId=task_id):
            seen[(task_id, item["managedDeviceId"])] = item["state"]
    else:
        tasks = (
            [client.describe_task(taskId=task_id)]
            if kind == "describe_task"
            else pages(client.list_tasks, "tasks", None)
        )
        for task in tasks:
            if task["state"] != "IN_PROGRESS":
                seen.update({(task["taskId"], target): ENDED for target in fleet.targets[task["taskId"]]})


@pytest.fixture(autouse=True)
def no_progression_left() -> Iterator[None]:
    yield
    state_manager.unset_transition(EXECUTION_MODEL)


class progression_set:
    """The progression of this service's executions set with moto's state manager for a block."""

    def __init__(self, progression: dict[str, Any]) -> None:
        self.progression = progression

    def __enter__(self) -> None:
        state_manager.set_transition(EXECUTION_MODEL, dict(self.progression))

    def __exit__(self, *exc_info: object) -> None:
        state_manager.unset_transition(EXECUTION_MODEL)


def read_plans(data: st.DataObject, program: list[Change], moving: bool) -> list[list[Read]]:
    """For each point of a program (before each call, and after the last), the reads made there."""
    return [data.draw(st.lists(reads(moving=moving), max_size=3)) for _ in range(len(program) + 1)]


def assert_same_answers(first: Run, second: Run) -> None:
    """Both runs answered every call that changes state alike, every read at one point alike, and ended alike."""
    assert first.changes == second.changes
    for key in first.reads.keys() | second.reads.keys():
        answers = first.reads.get(key, []) + second.reads.get(key, [])
        assert all(other == answers[0] for other in answers), f"{key} answered differently: {answers}"
    assert first.snapshot == second.snapshot


@given(data=st.data(), seconds=st.sampled_from((30, 60, 100)), devices=st.integers(1, 4))
@PROPERTY
def test_reads_under_the_time_progression_change_no_answer(data: st.DataObject, seconds: int, devices: int) -> None:
    program = data.draw(st.lists(changes(ticks=TICKS), max_size=14), label="program")
    progression = {"progression": "time", "seconds": seconds}

    first = run(program, read_plans(data, program, moving=True), progression, devices)
    second = run(program, read_plans(data, program, moving=True), progression, devices)

    assert_same_answers(first, second)


@given(data=st.data(), devices=st.integers(1, 4))
@PROPERTY
def test_reads_under_the_immediate_progression_change_no_answer(data: st.DataObject, devices: int) -> None:
    program = data.draw(st.lists(changes(ticks=TICKS), max_size=14), label="program")
    progression = {"progression": "immediate"}

    first = run(program, read_plans(data, program, moving=True), progression, devices)
    second = run(program, read_plans(data, program, moving=True), progression, devices)

    assert_same_answers(first, second)


@given(data=st.data(), seconds=st.sampled_from((30, 60, 100)), devices=st.integers(1, 4))
@PROPERTY
def test_the_fleet_clock_beside_a_frozen_clock_gives_reads_that_change_no_answer(
    data: st.DataObject, seconds: int, devices: int
) -> None:
    program = data.draw(st.lists(changes(ticks=TICKS, fleet_clock=True), max_size=14), label="program")
    progression = {"progression": "time", "seconds": seconds}

    first = run(program, read_plans(data, program, moving=True), progression, devices)
    second = run(program, read_plans(data, program, moving=True), progression, devices)

    assert_same_answers(first, second)


@given(data=st.data(), times=st.sampled_from((1, 2)), devices=st.integers(1, 4))
@PROPERTY
def test_the_order_devices_are_polled_in_changes_no_end_under_the_manual_progression(
    data: st.DataObject, times: int, devices: int
) -> None:
    program = data.draw(st.lists(changes(ticks=TICKS), max_size=14), label="program")
    progression = {"progression": "manual", "times": times}

    def polls() -> Polls:
        order = data.draw(st.permutations(range(devices)), label="device order")
        return list(order), data.draw(st.lists(st.sampled_from(POLLS), min_size=1, max_size=4), label="polls")

    first = run(program, read_plans(data, program, moving=False), progression, devices, polls())
    second = run(program, read_plans(data, program, moving=False), progression, devices, polls())

    assert_same_answers(first, second)
