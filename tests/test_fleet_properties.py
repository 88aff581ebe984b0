"""A fleet a test can trust: the same seed, clock and calls give the same answers however a test reads.

In-process, hypothesis draws a program of calls that change state and runs it twice, each time in a
fresh `mock_aws` seeded alike under a frozen clock (freezegun), with reads drawn apart for each run and
interleaved at different points. Under the time and immediate progressions reads are pure: both runs
must answer every call that changes state alike, every read made at the same point in both runs (and
every repeat of it) alike, and give the same whole snapshot at the end. Under the manual progression,
where a read that reports work moves it, the program interleaves only reads that never move work, and
each run then polls the devices to the end in its own order and with its own reads: every execution
must end the same way, at the same time. The examples are derandomized, so a failure repeats.

Against a server with `--state`, a hypothesis state machine (`FleetOnDisk`) drives every operation and
every control route, kills the server with SIGKILL at random points and at the end of every run, restarts
it on the same file and compares whole answers; its comparison rule is written above the machine.
"""

import functools
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from freezegun import freeze_time
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test
from moto import mock_aws
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice.models import EXECUTION_MODEL
from moto_snowdevice.pytest_plugin import MockServerProcess

from fleet_model import (
    DEVICE_IDS,
    FINAL_EXECUTION_STATES,
    Change,
    Fleet,
    Read,
    answer,
    changes,
    maybe_device,
    pages,
    positions,
    reads,
    scripts,
    tags,
    targets,
    weights,
)
from helpers import refused

FROZEN_AT = "2020-01-01 12:00:00"
SEED = 7
# Clock moves that land before, on and after a period's or a timeout's end
TICKS = st.sampled_from((0, 1, 29, 30, 59, 60, 100, 250))
# Each example is two runs of a program (or a server's life); shrinking one that fails takes minutes, so
# only on request (SDM_PROPERTY_SHRINK=1): derandomized, a failure repeats as it was first drawn
PHASES = [Phase.explicit, Phase.generate, *([Phase.shrink] if os.environ.get("SDM_PROPERTY_SHRINK") else [])]
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    phases=PHASES,
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


@pytest.mark.decorator_mode
@given(data=st.data(), seconds=st.sampled_from((30, 60, 100)), devices=st.integers(1, 4))
@PROPERTY
def test_reads_under_the_time_progression_change_no_answer(data: st.DataObject, seconds: int, devices: int) -> None:
    program = data.draw(st.lists(changes(ticks=TICKS), max_size=14), label="program")
    progression = {"progression": "time", "seconds": seconds}

    first = run(program, read_plans(data, program, moving=True), progression, devices)
    second = run(program, read_plans(data, program, moving=True), progression, devices)

    assert_same_answers(first, second)


@pytest.mark.decorator_mode
@given(data=st.data(), devices=st.integers(1, 4))
@PROPERTY
def test_reads_under_the_immediate_progression_change_no_answer(data: st.DataObject, devices: int) -> None:
    program = data.draw(st.lists(changes(ticks=TICKS), max_size=14), label="program")
    progression = {"progression": "immediate"}

    first = run(program, read_plans(data, program, moving=True), progression, devices)
    second = run(program, read_plans(data, program, moving=True), progression, devices)

    assert_same_answers(first, second)


@pytest.mark.decorator_mode
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


@pytest.mark.decorator_mode
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


# Durability: a stateful test against a server with --state, killed with SIGKILL at random points
#
# The comparison rule: before a kill the machine reads every Describe*/List* answer about every task,
# execution and device it knows (`Fleet.snapshot`), the progression moto's state manager holds and the
# fleet clock; after the restart on the same file it reads them again, and they must be equal (the fleet
# clock no further on than the time the restart took). For that to be exact, reads must not move work
# and the server's real clock must not make anything fall due during the restart: so the machine runs
# under the immediate progression or the time progression with periods of whole hours, every execution
# timeout is whole hours and the fleet clock moves in whole hours. A step or deadline then falls due
# either before the clock move that reaches it or at least an hour after anything the machine does.
HOUR = 3600
CONTROL = "/moto-api/snow-device-management"
MAX_DEVICES = 6
STATEFUL = settings(
    max_examples=6,
    stateful_step_count=20,
    deadline=None,
    phases=PHASES,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Operations a fault may fail, and one of each one's documented errors a client meets without retrying
FAULTS = (("ListDevices", "ThrottlingException"), ("DescribeTask", "AccessDeniedException"))
FAULT_STATUS = {"ThrottlingException": 429, "AccessDeniedException": 403}


class Server:
    """The server the machine talks to: one process at a time on one state file, restarted after a kill."""

    def __init__(self, state_file: Path) -> None:
        self.state_file = state_file
        self.process = MockServerProcess("--state", str(state_file)).__enter__()

    @property
    def url(self) -> str:
        return self.process.url

    def kill_and_restart(self) -> None:
        assert self.process.stop(signal.SIGKILL) == -signal.SIGKILL
        self.process = MockServerProcess("--state", str(self.state_file)).__enter__()

    def control(self, method: str, path: str, body: Any = None) -> requests.Response:
        """One control request; the machine asserts on its status."""
        return requests.request(method, f"{self.url}{path}", json=body, timeout=30)

    def client(self) -> Any:
        return server_client(self.url)


@functools.cache
def server_client(url: str) -> Any:
    return boto3.client(
        "snow-device-management",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def accepted(response: requests.Response) -> Any:
    """A control route's 200 answer; bad input must be a 400 {"message"}, never anything else."""
    assert response.status_code in (200, 400), response.text
    body = response.json()
    if response.status_code == 400:
        assert isinstance(body.get("message"), str)
        return None
    return body


class FleetOnDisk(RuleBasedStateMachine):
    """Every operation and control function in random order, and kills; see the comparison rule above."""

    server: Server

    def __init__(self) -> None:
        super().__init__()
        server = self.server
        assert server.control("POST", "/moto-api/reset").ok
        assert server.control("POST", "/moto-api/state-manager/unset-transition", {"model_name": EXECUTION_MODEL}).ok
        self.fleet = Fleet(server.client(), [])
        self.fault_pending: tuple[str, str] | None = None
        self.now: float | None = None

    @initialize(
        progression=st.sampled_from(
            (
                {"progression": "immediate"},
                {"progression": "time", "seconds": HOUR},
                {"progression": "time", "seconds": 2 * HOUR},
            )
        ),
        online=st.lists(st.booleans(), min_size=1, max_size=3),
    )
    def start(self, progression: dict[str, Any], online: list[bool]) -> None:
        body = {"model_name": EXECUTION_MODEL, "transition": progression}
        assert self.server.control("POST", "/moto-api/state-manager/set-transition", body).ok
        fleet = [{"device": {"deviceType": "SNC1_HDD"}, "online": each} for each in online]
        self.fleet.device_ids += accepted(self.server.control("POST", f"{CONTROL}/fleet", fleet))["managedDeviceIds"]

    # The service's operations

    @rule(
        positions=targets,
        command=st.sampled_from(("reboot", "unlock")),
        tags=st.one_of(st.none(), tags),
        token=st.booleans(),
    )
    def create_task(self, positions: list[int], command: str, tags: dict[str, str] | None, token: bool) -> None:
        device_ids = list(dict.fromkeys(self.fleet.device(position) for position in positions))
        extra: dict[str, Any] = {"tags": tags} if tags else {}
        if token:
            extra["clientToken"] = f"token-{len(self.fleet.task_ids)}"
        created = self.fleet.client.create_task(targets=device_ids, command={command: {}}, **extra)
        self.fleet.task_ids.append(created["taskId"])
        self.fleet.targets[created["taskId"]] = device_ids

    @precondition(lambda self: self.fleet.task_ids)
    @rule(position=positions)
    def cancel_task(self, position: int) -> None:
        answer(lambda: self.fleet.client.cancel_task(taskId=self.fleet.task(position)))

    @precondition(lambda self: self.fault_pending is None)
    @rule(read=reads(), position=positions)
    def read_twice(self, read: Read, position: int) -> None:
        # Reads are pure under these progressions: a repeat answers alike
        assert self.fleet.read(read) == self.fleet.read(read)

    @rule(
        position=positions,
        keys=st.lists(st.sampled_from(("rack", "site", "owner")), max_size=2),
        tag=tags,
        task=st.booleans(),
    )
    def tag_and_untag(self, position: int, keys: list[str], tag: dict[str, str], task: bool) -> None:
        client = self.fleet.client
        if task and self.fleet.task_ids:
            arn = task_arn(self.fleet.task(position) or "")
        else:
            arn = client.describe_device(managedDeviceId=self.fleet.device(position))["managedDeviceArn"]
        client.tag_resource(resourceArn=arn, tags=tag)
        if keys:
            client.untag_resource(resourceArn=arn, tagKeys=keys)

    # The control functions

    @precondition(lambda self: len(self.fleet.device_ids) < MAX_DEVICES)
    @rule(online=st.booleans())
    def add_device(self, online: bool) -> None:
        added = accepted(
            self.server.control("POST", f"{CONTROL}/devices", {"device": {"deviceType": "SNCBE"}, "online": online})
        )
        self.fleet.device_ids.append(added["managedDeviceId"])

    @rule(position=positions, online=st.booleans())
    def connectivity(self, position: int, online: bool) -> None:
        body = {"managedDeviceId": self.fleet.device(position), "online": online}
        assert accepted(self.server.control("POST", f"{CONTROL}/connectivity", body)) is not None

    @rule(hours=st.sampled_from((None, 1, 2, 3)))
    def execution_timeout(self, hours: int | None) -> None:
        body = {"seconds": None if hours is None else hours * HOUR}
        assert accepted(self.server.control("POST", f"{CONTROL}/execution-timeout", body)) is not None

    @rule(drawn=weights, device=maybe_device)
    def outcome_weights(self, drawn: dict[str, int] | None, device: int | None) -> None:
        body: dict[str, Any] = {"weights": drawn}
        if device is not None:
            body["managedDeviceId"] = self.fleet.device(device)
        assert accepted(self.server.control("POST", f"{CONTROL}/execution-outcomes", body)) is not None

    @rule(script=scripts, device=positions)
    def outcome_script(self, script: list[str], device: int) -> None:
        body = {"script": script, "managedDeviceId": self.fleet.device(device)}
        assert accepted(self.server.control("POST", f"{CONTROL}/execution-outcomes", body)) is not None

    @rule(enabled=st.booleans(), device=maybe_device)
    def cancel_race(self, enabled: bool, device: int | None) -> None:
        body: dict[str, Any] = {"enabled": enabled}
        if device is not None:
            body["managedDeviceId"] = self.fleet.device(device)
        assert accepted(self.server.control("POST", f"{CONTROL}/cancel-race", body)) is not None

    @precondition(lambda self: self.fleet.task_ids)
    @rule(
        position=positions,
        device=positions,
        state=st.sampled_from(("IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED", "CANCELED")),
    )
    def advance_execution(self, position: int, device: int, state: str) -> None:
        task_id = self.fleet.task(position) or ""
        targets = self.fleet.targets[task_id]
        body = {"taskId": task_id, "managedDeviceId": targets[device % len(targets)], "state": state}
        accepted(self.server.control("POST", f"{CONTROL}/advance-execution", body))

    @rule(value=st.integers(0, 2**16))
    def seed(self, value: int) -> None:
        assert self.server.control("POST", f"/moto-api/seed?a={value}").ok

    @rule(hours=st.sampled_from((1, 2, 3, 24)))
    def advance_clock(self, hours: int) -> None:
        before = self.fleet_time()
        now = accepted(self.server.control("POST", f"{CONTROL}/clock", {"advanceSeconds": hours * HOUR}))["now"]
        assert now >= before + hours * HOUR

    @precondition(lambda self: self.fault_pending is None)
    @rule(fault=st.sampled_from(FAULTS))
    def inject_fault(self, fault: tuple[str, str]) -> None:
        operation, error = fault
        body = {"operation": operation, "error": error, "count": 1}
        assert accepted(self.server.control("POST", f"{CONTROL}/faults", body)) is not None
        self.fault_pending = fault

    @precondition(lambda self: self.fault_pending is not None)
    @rule()
    def meet_the_fault(self) -> None:
        operation, error = self.fault_pending or ("", "")
        with refused(error, FAULT_STATUS[error]):
            self.call(operation)
        self.fault_pending = None
        # The fault failed one call, and only one
        assert answer(lambda: self.call(operation)) != ("error", error)

    def call(self, operation: str) -> Any:
        client = self.fleet.client
        if operation == "ListDevices":
            return client.list_devices()
        return client.describe_task(taskId=self.fleet.task(0) or "st-fictnotask00000")

    # The kill, and what must survive it

    def fleet_time(self) -> float:
        return float(accepted(self.server.control("GET", f"{CONTROL}/clock"))["now"])

    def transition(self) -> Any:
        return self.server.control("GET", f"/moto-api/state-manager/get-transition?model_name={EXECUTION_MODEL}").json()

    @precondition(lambda self: self.fault_pending is None)
    @rule()
    def kill_and_restart(self) -> None:
        before, transition, now = self.fleet.snapshot(), self.transition(), self.fleet_time()
        started = time.time()
        self.server.kill_and_restart()
        self.fleet.client = self.server.client()

        assert self.fleet.snapshot() == before
        assert self.transition() == transition
        assert now <= self.fleet_time() <= now + (time.time() - started) + 1

    def teardown(self) -> None:
        # Every example ends with a kill: each run of the machine proves its state survives one
        if self.fault_pending is not None:
            self.meet_the_fault()
        self.kill_and_restart()


@pytest.mark.own_server
def test_every_acknowledged_change_survives_a_kill_of_a_server_with_state(tmp_path: Path) -> None:
    server = Server(tmp_path / "state.db")
    try:
        FleetOnDisk.server = server
        run_state_machine_as_test(FleetOnDisk, settings=STATEFUL)
    finally:
        server.process.stop()
