"""Values the model cannot carry never enter: accounts and regions of the control routes, numbers in
control bodies and device documents, moto's state-manager transition for executions, and the limits on
devices per request and per backend; a filtered ListTasks answers from its index."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.moto_api import state_manager

import moto_snowdevice
from _moto_snowdevice_pytest import MockServerProcess
from moto_snowdevice import models
from moto_snowdevice.exceptions import ValidationException
from moto_snowdevice.models import snowdevicemanagement_backends, work

REGION = "us-east-1"
EXECUTION_MODEL = "snow-device-management::execution"
CONTROL = "http://motoapi.amazonaws.com/moto-api/snow-device-management"
ARABIC_INDIC_ACCOUNT = "١٢٣٤٥٦٧٨٩٠١٢"
ACCOUNT = "111122223333"
REBOOT = {"reboot": {}}
# Transitions moto's set-transition stores as given, none of them one the package can follow
BAD_TRANSITIONS = [
    {"progression": "time", "seconds": "abc"},
    None,
    [1],
    "manual",
    {"progression": "manual", "times": "x"},
    {"progression": "manual", "times": -1},
    {"progression": "time", "seconds": -5},
    {"progression": "time", "seconds": float("nan")},
    {"progression": "time", "seconds": float("inf")},
    {"progression": "manual", "times": 10**400},
    {"progression": "sometimes"},
]
BAD_TRANSITION_IDS = [json.dumps(value, default=str)[:40] for value in BAD_TRANSITIONS]


def post_raw(route: str, body: str) -> requests.Response:
    return requests.post(f"{CONTROL}/{route}", data=body.encode(), headers={"Content-Type": "application/json"})


def created_accounts() -> set[str]:
    # dict's own keys: BackendDict's item lookup would create the account it is asked about
    return set(dict.keys(snowdevicemanagement_backends))


@pytest.fixture
def sdm(aws: None) -> Any:
    return boto3.client("snow-device-management", region_name=REGION)


@pytest.fixture
def transition() -> Iterator[Callable[[Any], None]]:
    """Plants a transition past the check made where transitions are set, as one kept from before the
    package was imported would be, by writing moto's store of transitions directly."""

    def plant(config: Any) -> None:
        state_manager._transitions[EXECUTION_MODEL] = config

    try:
        yield plant
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)


# Item 1: accounts and regions of the control functions and routes

CONTROL_CALLS: dict[str, Callable[..., Any]] = {
    "add_device": lambda **where: moto_snowdevice.add_device(**where),
    "advance_execution": lambda **where: moto_snowdevice.advance_execution("st-x", "smd-x", "SUCCEEDED", **where),
    "simulate_cancel_race": lambda **where: moto_snowdevice.simulate_cancel_race(True, **where),
    "inject_fault": lambda **where: moto_snowdevice.inject_fault("ListTasks", "ThrottlingException", **where),
    "clear_faults": lambda **where: moto_snowdevice.clear_faults(**where),
    "set_device_online": lambda **where: moto_snowdevice.set_device_online("smd-x", False, **where),
    "set_execution_timeout": lambda **where: moto_snowdevice.set_execution_timeout(60, **where),
    "set_execution_outcomes": lambda **where: moto_snowdevice.set_execution_outcomes({"FAILED": 1}, **where),
}


@pytest.mark.parametrize("call", CONTROL_CALLS.values(), ids=CONTROL_CALLS.keys())
def test_every_control_function_refuses_an_account_of_other_scripts_digits_and_creates_nothing(
    aws: None, call: Callable[..., Any]
) -> None:
    with pytest.raises(ValidationException, match="accountId"):
        call(account_id=ARABIC_INDIC_ACCOUNT)

    assert ARABIC_INDIC_ACCOUNT not in created_accounts()


@pytest.mark.parametrize("call", CONTROL_CALLS.values(), ids=CONTROL_CALLS.keys())
def test_every_control_function_refuses_an_unserved_region_before_making_the_account(
    aws: None, call: Callable[..., Any]
) -> None:
    with pytest.raises(ValidationException, match="region"):
        call(account_id=ACCOUNT, region_name="mars-north-1")

    assert ACCOUNT not in created_accounts()


@pytest.mark.parametrize("region", ["Mars", "north-1", "us-east-1 ", "x" * 5000])
def test_a_region_not_shaped_like_one_is_refused_even_when_moto_allows_unknown_regions(
    aws: None, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    with pytest.raises(ValidationException, match="region"):
        moto_snowdevice.add_device(account_id=ACCOUNT, region_name=region)

    assert ACCOUNT not in created_accounts()


@pytest.mark.decorator_mode
def test_a_region_shaped_like_one_is_served_when_moto_allows_unknown_regions(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    device_id = moto_snowdevice.add_device(account_id=ACCOUNT, region_name="xx-mars-1")

    assert device_id in snowdevicemanagement_backends[ACCOUNT]["xx-mars-1"].devices


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "where, field",
    [
        ({"accountId": ARABIC_INDIC_ACCOUNT}, "accountId"),
        ({"accountId": "1" * 5000}, "accountId"),
        ({"accountId": 123456789012}, "accountId"),
        ({"region": "mars-north-1"}, "region"),
        ({"region": ["us-east-1"]}, "region"),
    ],
    ids=["arabic-indic", "5000-characters", "a-number", "mars-north-1", "a-list"],
)
def test_the_devices_route_refuses_a_bad_account_or_region_with_a_400_naming_it(
    aws: None, where: dict[str, Any], field: str
) -> None:
    response = requests.post(f"{CONTROL}/devices", json={**where, "device": {}})

    assert response.status_code == 400
    assert field in response.json()["message"]
    assert len(response.json()["message"]) < 300
    assert created_accounts() == set()


@pytest.mark.decorator_mode
def test_a_fleet_with_one_bad_account_makes_no_backend_for_the_good_entries_before_it(aws: None) -> None:
    fleet = [{"accountId": ACCOUNT, "device": {}}, {"accountId": ARABIC_INDIC_ACCOUNT, "device": {}}]

    response = requests.post(f"{CONTROL}/fleet", json=fleet)

    assert response.status_code == 400
    assert "fleet entry 2" in response.json()["message"] and "accountId" in response.json()["message"]
    assert created_accounts() == set()


# Item 2: numbers the model cannot carry


@pytest.mark.decorator_mode
@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_the_devices_route_refuses_a_number_json_cannot_carry_naming_the_field_and_the_number(
    aws: None, number: str
) -> None:
    response = post_raw("devices", f'{{"device": {{"lastUpdatedAt": {number}}}}}')

    assert response.status_code == 400
    assert "device.lastUpdatedAt" in response.json()["message"]
    assert number in response.json()["message"]
    assert created_accounts() == set()


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "route, body, field",
    [
        ("faults", '{"operation": "ListTasks", "error": "ThrottlingException", "count": 1e999}', "count"),
        ("faults", '{"operation": "ListTasks", "error": "ThrottlingException", "probability": NaN}', "probability"),
        ("execution-outcomes", '{"weights": {"FAILED": Infinity}}', "weights.FAILED"),
        ("execution-timeout", '{"seconds": -Infinity}', "seconds"),
        ("fleet", '[{"device": {}}, {"device": {"lastReachedOutAt": NaN}}]', "2.device.lastReachedOutAt"),
    ],
    ids=["count", "probability", "weight", "timeout", "fleet"],
)
def test_every_control_route_refuses_a_number_json_cannot_carry_naming_where_it_is(
    aws: None, route: str, body: str, field: str
) -> None:
    response = post_raw(route, body)

    assert response.status_code == 400
    assert field in response.json()["message"]
    assert "strict JSON" in response.json()["message"]


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "document, field",
    [
        ({"lastUpdatedAt": 10**400}, "device.lastUpdatedAt"),
        ({"lastReachedOutAt": float("nan")}, "device.lastReachedOutAt"),
        ({"lastUpdatedAt": 1e300}, "device.lastUpdatedAt"),
        ({"lastUpdatedAt": -1}, "device.lastUpdatedAt"),
        ({"deviceCapacities": [{"name": "vCPU", "total": 2**63}]}, "device.deviceCapacities.1.total"),
        ({"instances": [{"instanceId": "s.i-1", "amiLaunchIndex": 2**31}]}, "device.instances.1.amiLaunchIndex"),
        ({"instances": [{"instanceId": "s.i-1", "createdAt": float("inf")}]}, "device.instances.1.createdAt"),
    ],
    ids=[
        "400-digit-timestamp",
        "nan-timestamp",
        "year-beyond-9999",
        "before-1970",
        "long-beyond-64-bits",
        "integer-beyond-32-bits",
        "infinite-instance-timestamp",
    ],
)
def test_add_device_refuses_a_number_out_of_its_range_naming_the_field(
    aws: None, document: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationException, match=field.replace(".", r"\.")):
        moto_snowdevice.add_device(document)


@pytest.mark.decorator_mode
def test_a_400_digit_timestamp_on_the_devices_route_is_a_400_not_a_500(aws: None) -> None:
    response = post_raw("devices", '{"device": {"lastUpdatedAt": %s}}' % ("9" * 400))

    assert response.status_code == 400
    assert "device.lastUpdatedAt" in response.json()["message"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.floats(min_value=0, max_value=253402300799) | st.integers(min_value=0, max_value=253402300799))
def test_any_timestamp_from_1970_to_9999_is_kept_and_read_back_by_boto3(sdm: Any, timestamp: float) -> None:
    device_id = moto_snowdevice.add_device({"lastReachedOutAt": timestamp})

    described = sdm.describe_device(managedDeviceId=device_id)

    assert described["lastReachedOutAt"].timestamp() == pytest.approx(timestamp, abs=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda value: not 0 <= value <= 253402300799)
    | st.integers().filter(lambda value: not 0 <= value <= 253402300799)
)
def test_any_other_timestamp_is_refused_naming_the_field(timestamp: float) -> None:
    with mock_aws(), pytest.raises(ValidationException, match=r"device\.lastUpdatedAt"):
        moto_snowdevice.add_device({"lastUpdatedAt": timestamp})


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "seconds, accepted",
    [(10 * 365 * 24 * 3600, True), (10 * 365 * 24 * 3600 + 1, False), (10**400, False)],
    ids=["ten-years", "a-second-more", "400-digits"],
)
def test_an_execution_timeout_may_be_at_most_ten_years(aws: None, seconds: int, accepted: bool) -> None:
    if accepted:
        moto_snowdevice.set_execution_timeout(seconds)
        assert snowdevicemanagement_backends["123456789012"][REGION].execution_timeout == seconds
    else:
        with pytest.raises(ValidationException, match="seconds"):
            moto_snowdevice.set_execution_timeout(seconds)


@pytest.mark.parametrize("weight", [10**6 + 1, 1e308, 10**400], ids=["a-million-and-one", "1e308", "400-digits"])
def test_an_outcome_weight_above_a_million_is_refused_naming_its_state(aws: None, weight: float) -> None:
    with pytest.raises(ValidationException, match=r"weights\.FAILED"):
        moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1, "FAILED": weight})


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "count, accepted", [(10**6, True), (10**6 + 1, False), (10**400, False)], ids=["a-million", "more", "400-digits"]
)
def test_a_fault_count_may_be_at_most_a_million(aws: None, count: int, accepted: bool) -> None:
    inject = lambda: moto_snowdevice.inject_fault("ListTasks", "ThrottlingException", count=count)  # noqa: E731
    if accepted:
        inject()
        faults = snowdevicemanagement_backends["123456789012"][REGION].faults["ListTasks"]
        assert faults[0].remaining == count
    else:
        with pytest.raises(ValidationException, match="count"):
            inject()


# Item 6: moto's state-manager transition for executions


@pytest.mark.parametrize(
    "transition, expected",
    [
        ({"progression": "manual"}, {"progression": "manual", "times": 1}),
        ({"progression": "manual", "times": 3}, {"progression": "manual", "times": 3}),
        ({"progression": "time", "seconds": 0}, {"progression": "time", "seconds": 0.0}),
        ({"progression": "time", "seconds": 2.5}, {"progression": "time", "seconds": 2.5}),
        ({"progression": "immediate"}, {"progression": "immediate"}),
    ],
    ids=["manual", "manual-3", "time-0", "time-2.5", "immediate"],
)
def test_check_execution_transition_returns_a_valid_transition_as_the_package_reads_it(
    transition: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert models.check_execution_transition(transition) == expected


@pytest.mark.parametrize(
    "transition, field",
    [
        (None, "transition"),
        ([1], "transition"),
        ("manual", "transition"),
        ({}, "transition.progression"),
        ({"progression": "sometimes"}, "transition.progression"),
        ({"progression": "manual", "times": "x"}, "transition.times"),
        ({"progression": "manual", "times": 0}, "transition.times"),
        ({"progression": "manual", "times": -1}, "transition.times"),
        ({"progression": "manual", "times": True}, "transition.times"),
        ({"progression": "manual", "times": 2.5}, "transition.times"),
        ({"progression": "manual", "times": 10**400}, "transition.times"),
        ({"progression": "time", "seconds": "abc"}, "transition.seconds"),
        ({"progression": "time"}, "transition.seconds"),
        ({"progression": "time", "seconds": -5}, "transition.seconds"),
        ({"progression": "time", "seconds": float("nan")}, "transition.seconds"),
        ({"progression": "time", "seconds": float("inf")}, "transition.seconds"),
        ({"progression": "time", "seconds": 10**400}, "transition.seconds"),
        ({"progression": "immediate", "times": 2}, "times"),
    ],
    ids=lambda value: json.dumps(value, default=str)[:40] if not isinstance(value, str) or "." not in value else "",
)
def test_check_execution_transition_refuses_a_bad_transition_naming_the_field(transition: Any, field: str) -> None:
    with pytest.raises(ValidationException, match=field.replace(".", r"\.")):
        models.check_execution_transition(transition)


@pytest.mark.parametrize("bad", BAD_TRANSITIONS, ids=BAD_TRANSITION_IDS)
def test_a_bad_transition_is_refused_where_it_is_set_in_python_and_nothing_is_kept(aws: None, bad: Any) -> None:
    with pytest.raises(ValidationException, match="transition"):
        state_manager.set_transition(EXECUTION_MODEL, bad)

    assert state_manager.get_transition(EXECUTION_MODEL) == {"progression": "manual", "times": 1}


def test_a_good_transition_is_kept_as_it_is_set_and_other_models_are_not_checked(aws: None) -> None:
    try:
        state_manager.set_transition(EXECUTION_MODEL, {"progression": "time", "seconds": 5})
        state_manager.set_transition("ec2::instance", {"progression": "anything"})

        assert state_manager.get_transition(EXECUTION_MODEL) == {"progression": "time", "seconds": 5}
        assert state_manager.get_transition("ec2::instance") == {"progression": "anything"}
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)
        state_manager.unset_transition("ec2::instance")


@pytest.mark.parametrize("bad", BAD_TRANSITIONS, ids=BAD_TRANSITION_IDS)
def test_a_bad_transition_reads_as_the_default_so_every_operation_still_answers(
    sdm: Any, transition: Callable[[Any], None], bad: Any
) -> None:
    device_id = moto_snowdevice.add_device()
    task_id = sdm.create_task(targets=[device_id], command=REBOOT)["taskId"]
    transition(bad)

    other_task = sdm.create_task(targets=[device_id], command=REBOOT)["taskId"]
    assert sdm.describe_device(managedDeviceId=device_id)["managedDeviceId"] == device_id
    # The default, manual with one poll per step: each call that reports the device's work moves it one step
    assert sdm.describe_task(taskId=task_id)["state"] == "IN_PROGRESS"
    assert sdm.describe_execution(taskId=task_id, managedDeviceId=device_id)["state"] == "SUCCEEDED"
    assert [task["taskId"] for task in sdm.list_tasks(state="IN_PROGRESS")["tasks"]] == [other_task]
    assert len(sdm.list_tasks()["tasks"]) == 2
    assert sdm.list_executions(taskId=other_task)["executions"][0]["state"] == "SUCCEEDED"


@pytest.mark.decorator_mode
def test_a_bad_transition_leaves_another_account_answering(transition: Callable[[Any], None]) -> None:
    with mock_aws(), pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
        other = boto3.client("snow-device-management", region_name=REGION)
        device_id = moto_snowdevice.add_device(account_id=ACCOUNT)
        task_id = other.create_task(targets=[device_id], command=REBOOT)["taskId"]
        transition({"progression": "time", "seconds": "abc"})

        described = other.describe_task(taskId=task_id)

        assert described["state"] == "IN_PROGRESS"


def server_client(url: str) -> Any:
    return boto3.client(
        "snow-device-management",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with MockServerProcess("--fleet", "sample") as process:
        yield process.url


@pytest.mark.parametrize("bad", BAD_TRANSITIONS[:6], ids=BAD_TRANSITION_IDS[:6])
def test_a_bad_transition_set_on_a_server_is_refused_with_400_and_every_operation_answers(
    served: str, bad: Any
) -> None:
    sdm = server_client(served)
    # A device of its own, idle, so that each case counts its steps from the start
    added = requests.post(f"{served}/moto-api/snow-device-management/devices", json={"device": {}}, timeout=10)
    device_id = added.json()["managedDeviceId"]
    task_id = sdm.create_task(targets=[device_id], command=REBOOT)["taskId"]
    body = json.dumps({"model_name": EXECUTION_MODEL, "transition": bad}, default=str)
    try:
        set_response = requests.post(f"{served}/moto-api/state-manager/set-transition", data=body, timeout=10)
        assert set_response.status_code == 400
        assert "transition" in set_response.json()["message"]
        kept = requests.get(f"{served}/moto-api/state-manager/get-transition?model_name={EXECUTION_MODEL}", timeout=10)
        assert kept.json() == {"progression": "manual", "times": 1}

        other_task = sdm.create_task(targets=[device_id], command=REBOOT)["taskId"]
        # The kept default, one step per call that reports the device's work
        assert sdm.describe_task(taskId=task_id)["state"] == "IN_PROGRESS"
        assert sdm.list_tasks(state="CANCELED")["tasks"] == []
        assert sdm.describe_device(managedDeviceId=device_id)["managedDeviceId"] == device_id
        assert sdm.describe_execution(taskId=task_id, managedDeviceId=device_id)["state"] == "SUCCEEDED"
        assert sdm.list_executions(taskId=other_task)["executions"][0]["state"] == "IN_PROGRESS"
    finally:
        unset = {"model_name": EXECUTION_MODEL}
        requests.post(f"{served}/moto-api/state-manager/unset-transition", json=unset, timeout=10)


# Item 7: limits on devices, and a filtered listing that answers from its index


@pytest.mark.decorator_mode
def test_a_fleet_of_more_than_a_thousand_devices_is_refused_and_adds_none(aws: None) -> None:
    response = requests.post(f"{CONTROL}/fleet", json=[{"device": {}}] * 1001)

    assert response.status_code == 400
    assert "1000" in response.json()["message"]
    assert created_accounts() == set()


def test_load_fleet_refuses_a_file_of_more_than_a_thousand_devices(aws: None, tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.json"
    fleet_file.write_text(json.dumps([{"device": {}}] * 1001))

    with pytest.raises(ValidationException, match="1000"):
        moto_snowdevice.load_fleet(fleet_file)


@pytest.mark.decorator_mode
def test_a_backend_holds_at_most_ten_thousand_devices_whichever_route_adds_them(sdm: Any) -> None:
    for _ in range(10):
        assert requests.post(f"{CONTROL}/fleet", json=[{"device": {}}] * 1000).status_code == 200

    refused_fleet = requests.post(f"{CONTROL}/fleet", json=[{"device": {}}])
    refused_device = requests.post(f"{CONTROL}/devices", json={"device": {}})
    with pytest.raises(ValidationException, match="10000"):
        moto_snowdevice.add_device()

    assert refused_fleet.status_code == refused_device.status_code == 400
    assert "10000" in refused_fleet.json()["message"] and "10000" in refused_device.json()["message"]
    assert len(snowdevicemanagement_backends["123456789012"][REGION].devices) == 10_000
    assert moto_snowdevice.add_device(account_id=ACCOUNT)


@pytest.mark.decorator_mode
def test_a_fleet_that_would_pass_the_backend_limit_adds_none_of_its_devices(aws: None) -> None:
    backend = snowdevicemanagement_backends["123456789012"][REGION]
    for _ in range(9):
        assert requests.post(f"{CONTROL}/fleet", json=[{"device": {}}] * 1000).status_code == 200
    assert requests.post(f"{CONTROL}/fleet", json=[{"device": {}}] * 999).status_code == 200

    response = requests.post(f"{CONTROL}/fleet", json=[{"device": {}}, {"device": {}}])

    assert response.status_code == 400
    assert len(backend.devices) == 9_999


@pytest.mark.decorator_mode
def test_a_filtered_listing_lets_each_device_work_once_not_once_per_task(
    sdm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    device_id = moto_snowdevice.add_device()
    for _ in range(300):
        sdm.create_task(targets=[device_id], command=REBOOT)
    catch_ups: list[str] = []
    polls: list[str] = []
    real_catch_up, real_poll = work.DeviceWork.catch_up, work.DeviceWork.poll

    def counted_catch_up(device: models.ManagedDevice, now: float) -> None:
        catch_ups.append(device.managed_device_id)
        real_catch_up(device, now)

    def counted_poll(device: models.ManagedDevice, now: float) -> None:
        polls.append(device.managed_device_id)
        real_poll(device, now)

    monkeypatch.setattr(work.DeviceWork, "catch_up", counted_catch_up)
    monkeypatch.setattr(work.DeviceWork, "poll", counted_poll)

    listed = sdm.list_tasks(state="CANCELED")

    assert listed["tasks"] == []
    assert catch_ups == [device_id]
    assert polls == []


def _cancel_or_finish(sdm: Any, task_id: str, device_id: str, fate: str) -> None:
    if fate == "CANCELED":
        sdm.cancel_task(taskId=task_id)
    elif fate == "COMPLETED":
        moto_snowdevice.advance_execution(task_id, device_id, "SUCCEEDED")


@settings(max_examples=15, deadline=None)
@given(
    fates=st.lists(st.sampled_from(["IN_PROGRESS", "CANCELED", "COMPLETED"]), min_size=1, max_size=25),
    page_size=st.integers(min_value=1, max_value=7),
)
def test_paging_a_filtered_listing_gives_exactly_the_tasks_in_that_state_in_creation_order(
    fates: list[str], page_size: int
) -> None:
    with mock_aws():
        sdm = boto3.client("snow-device-management", region_name=REGION)
        devices = [moto_snowdevice.add_device() for _ in fates]
        tasks = [sdm.create_task(targets=[device], command=REBOOT)["taskId"] for device in devices]
        # Fates in reverse order: later tasks end first, so the index is not filled in creation order
        for task_id, device_id, fate in reversed(list(zip(tasks, devices, fates, strict=True))):
            _cancel_or_finish(sdm, task_id, device_id, fate)

        for state in ("IN_PROGRESS", "CANCELED", "COMPLETED"):
            listed, token = [], None
            for _ in range(len(tasks) + 1):
                page = sdm.list_tasks(state=state, maxResults=page_size, **({"nextToken": token} if token else {}))
                listed += [summary["taskId"] for summary in page["tasks"]]
                token = page.get("nextToken")
                if token is None:
                    break
            assert listed == [task for task, fate in zip(tasks, fates, strict=True) if fate == state]
