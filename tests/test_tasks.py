"""Tasks of Snow Device Management through boto3: registration, isolation, CreateTask, DescribeTask,
CancelTask, ListTasks, tags, and how errors look on the wire."""

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import moto.backend_index
import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice.models import ManagedDevice

from helpers import device_arn, refused, task_arn

SERVICE = "snow-device-management"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
OTHER_ACCOUNT = "111122223333"
REBOOT = {"reboot": {}}
UNKNOWN_DEVICE = "smd-aaaaaaaaaaaaaaaa"
UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa"
TASK_ID = re.compile(r"^st-[a-z0-9]{16}$")
DEVICE_ID = re.compile(r"^smd-[a-z0-9]{16}$")
EXECUTION_MODEL = "snow-device-management::execution"
NOON = datetime(2020, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


# Helpers


def client(region: str = REGION) -> Any:
    return boto3.client(SERVICE, region_name=region)


def new_task(sdm: Any, device: str, **params: Any) -> str:
    return sdm.create_task(targets=[device], command=REBOOT, **params)["taskId"]


def task_ids(sdm: Any, **params: Any) -> list[str]:
    return [task["taskId"] for task in sdm.list_tasks(**params)["tasks"]]


def all_pages(sdm: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of ListTasks, following nextToken by hand."""
    pages = [sdm.list_tasks(**params)]
    while "nextToken" in pages[-1]:
        pages.append(sdm.list_tasks(nextToken=pages[-1]["nextToken"], **params))
    return pages


@pytest.fixture
def frozen() -> Iterator[Any]:
    """A clock frozen at noon on 2020-01-01, under mock_aws."""
    with freeze_time(NOON) as frozen_clock, mock_aws():
        yield frozen_clock


@pytest.fixture
def transition() -> Iterator[Any]:
    """Sets moto's progression for this service's executions for one test."""
    try:
        yield lambda config: state_manager.set_transition(EXECUTION_MODEL, config)
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)


# Registration


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_importing_the_package_serves_the_service_in_every_region(aws: None, region: str) -> None:
    device = moto_snowdevice.add_device(region_name=region)
    sdm = client(region)

    created = sdm.create_task(targets=[device], command=REBOOT)

    assert created["taskArn"] == task_arn(created["taskId"], region=region)
    assert task_ids(sdm) == [created["taskId"]]


def test_registering_again_changes_nothing(sdm: Any, device: str) -> None:
    task_id = new_task(sdm, device)

    moto_snowdevice.register()
    moto_snowdevice.register()

    names = [name for name, _ in moto.backend_index.backend_url_patterns]
    assert names.count("snowdevicemanagement") == 1
    assert task_ids(sdm) == [task_id]


def test_leaving_mock_aws_clears_every_task_and_device() -> None:
    with mock_aws():
        device = moto_snowdevice.add_device()
        new_task(client(), device)
        assert len(task_ids(client())) == 1

    with mock_aws():
        sdm = client()
        assert task_ids(sdm) == []
        with refused("ResourceNotFoundException", 404, device):
            sdm.create_task(targets=[device], command=REBOOT)


# Account and region isolation


def test_a_task_is_not_visible_from_another_region(sdm: Any, device: str) -> None:
    task_id = new_task(sdm, device)
    other = client(OTHER_REGION)

    assert task_ids(other) == []
    with refused("ResourceNotFoundException", 404):
        other.describe_task(taskId=task_id)


@pytest.mark.decorator_mode
def test_a_task_is_not_visible_from_another_account(sdm: Any, device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    task_id = new_task(sdm, device)

    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)

    assert task_ids(sdm) == []
    with refused("ResourceNotFoundException", 404):
        sdm.describe_task(taskId=task_id)


def test_the_x_moto_account_id_header_chooses_the_account(sdm: Any, device: str) -> None:
    task_id = new_task(sdm, device)
    other = client(REGION)
    other.meta.events.register(
        "before-sign.snow-device-management.*",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", OTHER_ACCOUNT),
    )
    moto_snowdevice.add_device({"managedDeviceId": "smd-otheraccount001"}, account_id=OTHER_ACCOUNT)

    created = other.create_task(targets=["smd-otheraccount001"], command=REBOOT)

    assert created["taskArn"] == task_arn(created["taskId"], account=OTHER_ACCOUNT)
    assert task_ids(other) == [created["taskId"]]
    assert task_ids(sdm) == [task_id]


@pytest.mark.decorator_mode
def test_a_device_can_be_targeted_only_from_its_own_account_and_region(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = moto_snowdevice.add_device(account_id=OTHER_ACCOUNT, region_name=OTHER_REGION)

    with refused("ResourceNotFoundException", 404):
        client(REGION).create_task(targets=[device], command=REBOOT)
    with refused("ResourceNotFoundException", 404):
        client(OTHER_REGION).create_task(targets=[device], command=REBOOT)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    with refused("ResourceNotFoundException", 404):
        client(REGION).create_task(targets=[device], command=REBOOT)

    created = client(OTHER_REGION).create_task(targets=[device], command=REBOOT)

    assert created["taskArn"] == task_arn(created["taskId"], region=OTHER_REGION, account=OTHER_ACCOUNT)


# Managed devices added by the test


def test_add_device_returns_a_managed_device_id(aws: None) -> None:
    assert DEVICE_ID.match(moto_snowdevice.add_device())


def test_tags_of_an_added_device_are_listed_on_its_arn(sdm: Any) -> None:
    device = moto_snowdevice.add_device({"tags": {"site": "north", "team": "ops"}})

    listed = sdm.list_tags_for_resource(resourceArn=device_arn(device))

    assert listed["tags"] == {"site": "north", "team": "ops"}


# CreateTask


def test_create_task_returns_a_task_id_and_its_arn(sdm: Any, device: str) -> None:
    created = sdm.create_task(targets=[device], command=REBOOT)

    assert TASK_ID.match(created["taskId"])
    assert created["taskArn"] == (f"arn:aws:snow-device-management:us-east-1:123456789012:task/{created['taskId']}")


def test_create_task_refuses_an_unknown_target_and_creates_nothing(sdm: Any, device: str) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_DEVICE):
        sdm.create_task(targets=[device, UNKNOWN_DEVICE], command=REBOOT)

    assert task_ids(sdm) == []


@pytest.mark.parametrize("command", [{"reboot": {}, "unlock": {}}, {}], ids=["reboot-and-unlock", "neither"])
def test_create_task_needs_exactly_one_command(raw_sdm: Any, device: str, command: dict[str, Any]) -> None:
    with refused("ValidationException", 400, "command"):
        raw_sdm.create_task(targets=[device], command=command)

    assert task_ids(raw_sdm) == []


def test_create_task_needs_at_least_one_target(raw_sdm: Any) -> None:
    with refused("ValidationException", 400, "targets"):
        raw_sdm.create_task(targets=[], command=REBOOT)


def test_create_task_accepts_at_most_ten_targets(raw_sdm: Any) -> None:
    devices = [moto_snowdevice.add_device() for _ in range(11)]

    with refused("ValidationException", 400, "targets"):
        raw_sdm.create_task(targets=devices, command=REBOOT)
    assert TASK_ID.match(raw_sdm.create_task(targets=devices[:10], command=REBOOT)["taskId"])


def test_create_task_requires_targets(raw_sdm: Any) -> None:
    with refused("ValidationException", 400, "targets"):
        raw_sdm.create_task(command=REBOOT)


@pytest.mark.parametrize("description", ["reboot; now", "a" * 129], ids=["forbidden-char", "129-chars"])
def test_create_task_refuses_a_description_the_model_forbids(sdm: Any, device: str, description: str) -> None:
    with refused("ValidationException", 400, "description"):
        sdm.create_task(targets=[device], command=REBOOT, description=description)


def test_create_task_keeps_a_description_of_128_allowed_characters(sdm: Any, device: str) -> None:
    description = ("Reboot all_3. Now, #1!" * 6)[:128]
    assert len(description) == 128

    task_id = new_task(sdm, device, description=description)

    assert sdm.describe_task(taskId=task_id)["description"] == description


@pytest.mark.parametrize("token", ["t" * 65, "two words"], ids=["65-chars", "space"])
def test_create_task_refuses_a_client_token_the_model_forbids(sdm: Any, device: str, token: str) -> None:
    with refused("ValidationException", 400, "clientToken"):
        sdm.create_task(targets=[device], command=REBOOT, clientToken=token)


def test_create_task_with_the_same_client_token_and_parameters_returns_the_same_task(sdm: Any, device: str) -> None:
    first = sdm.create_task(targets=[device], command=REBOOT, clientToken="once")
    again = sdm.create_task(targets=[device], command=REBOOT, clientToken="once")

    assert again["taskId"] == first["taskId"]
    assert again["taskArn"] == first["taskArn"]
    assert task_ids(sdm) == [first["taskId"]]


def test_create_task_refuses_a_client_token_reused_with_other_parameters(sdm: Any, device: str) -> None:
    first = sdm.create_task(targets=[device], command=REBOOT, clientToken="once")

    with refused("ValidationException", 400, "clientToken"):
        sdm.create_task(targets=[device], command={"unlock": {}}, clientToken="once")
    assert task_ids(sdm) == [first["taskId"]]


# DescribeTask


def test_a_new_task_is_in_progress_never_queued(sdm: Any, device: str) -> None:
    # Each read below is the first to report its task's work: a task listed, and one described
    listed = new_task(sdm, device)
    assert [(task["taskId"], task["state"]) for task in sdm.list_tasks()["tasks"]] == [(listed, "IN_PROGRESS")]

    described = new_task(sdm, moto_snowdevice.add_device())
    assert sdm.describe_task(taskId=described)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
def test_a_task_whose_execution_is_still_queued_reads_in_progress(frozen: Any, transition: Any) -> None:
    # Under a time progression whose first step is an hour away, reads are pure: the execution stays QUEUED
    transition({"progression": "time", "seconds": 3600})
    sdm = client()
    task_id = new_task(sdm, moto_snowdevice.add_device())

    assert sdm.describe_task(taskId=task_id)["state"] == "IN_PROGRESS"
    assert [task["state"] for task in sdm.list_tasks()["tasks"]] == ["IN_PROGRESS"]
    assert [execution["state"] for execution in sdm.list_executions(taskId=task_id)["executions"]] == ["QUEUED"]


def test_describe_task_returns_the_whole_task_and_no_completed_at_while_in_progress(sdm: Any, device: str) -> None:
    created = sdm.create_task(targets=[device], command=REBOOT, description="nightly reboot", tags={"team": "ops"})

    described = sdm.describe_task(taskId=created["taskId"])

    assert described["taskId"] == created["taskId"]
    assert described["taskArn"] == created["taskArn"]
    assert described["targets"] == [device]
    assert described["state"] == "IN_PROGRESS"
    assert described["description"] == "nightly reboot"
    assert described["tags"] == {"team": "ops"}
    assert described["lastUpdatedAt"] >= described["createdAt"]
    assert "completedAt" not in described


def test_reading_a_task_behind_many_queued_tasks_looks_at_the_device_queue_a_bounded_number_of_times(
    sdm: Any, device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each task queued ahead on the device may add a little work, never multiply it
    task_ids = [new_task(sdm, device) for _ in range(40)]
    reads = []
    original = ManagedDevice.head
    monkeypatch.setattr(ManagedDevice, "head", lambda self: reads.append(self) or original(self))

    described = sdm.describe_task(taskId=task_ids[-1])
    listed = sdm.list_tasks()["tasks"]

    assert described["state"] == "IN_PROGRESS"
    assert [task["taskId"] for task in listed] == task_ids
    assert len(reads) <= 2 * (1 + len(task_ids))


def test_describe_task_refuses_an_unknown_task(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_TASK):
        sdm.describe_task(taskId=UNKNOWN_TASK)


# CancelTask


def test_cancel_returns_only_the_task_id(sdm: Any, device: str) -> None:
    task_id = new_task(sdm, device)

    canceled = sdm.cancel_task(taskId=task_id)

    canceled.pop("ResponseMetadata")
    assert canceled == {"taskId": task_id}


@pytest.mark.decorator_mode
def test_cancel_moves_the_task_to_canceled_and_its_last_update_forward(frozen: Any) -> None:
    sdm = client()
    task_id = new_task(sdm, moto_snowdevice.add_device())
    frozen.tick(5)

    sdm.cancel_task(taskId=task_id)

    after = sdm.describe_task(taskId=task_id)
    assert after["state"] == "CANCELED"
    assert after["createdAt"] == NOON
    assert after["lastUpdatedAt"] == NOON + timedelta(seconds=5)


def test_cancel_refuses_a_task_that_is_already_canceled(sdm: Any, device: str) -> None:
    task_id = new_task(sdm, device)
    sdm.cancel_task(taskId=task_id)

    with refused("ValidationException", 400, "CANCELED"):
        sdm.cancel_task(taskId=task_id)
    assert sdm.describe_task(taskId=task_id)["state"] == "CANCELED"


def test_cancel_refuses_an_unknown_task(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_TASK):
        sdm.cancel_task(taskId=UNKNOWN_TASK)


def test_cancel_refuses_a_task_id_longer_than_64_characters(raw_sdm: Any) -> None:
    with refused("ValidationException", 400, "taskId"):
        raw_sdm.cancel_task(taskId="st-" + "a" * 62)


# ListTasks


def test_list_tasks_filters_by_state(sdm: Any, device: str) -> None:
    running = new_task(sdm, device)
    canceled = new_task(sdm, device)
    sdm.cancel_task(taskId=canceled)

    assert task_ids(sdm, state="IN_PROGRESS") == [running]
    assert task_ids(sdm, state="CANCELED") == [canceled]
    assert task_ids(sdm, state="COMPLETED") == []
    assert task_ids(sdm) == [running, canceled]


@pytest.mark.parametrize("max_results", [0, 101])
def test_list_tasks_refuses_max_results_outside_1_to_100(raw_sdm: Any, max_results: int) -> None:
    with refused("ValidationException", 400, "maxResults"):
        raw_sdm.list_tasks(maxResults=max_results)


@pytest.mark.parametrize("max_results", [1, 100])
def test_list_tasks_accepts_max_results_at_its_bounds(sdm: Any, device: str, max_results: int) -> None:
    task_id = new_task(sdm, device)

    assert task_ids(sdm, maxResults=max_results) == [task_id]


def test_list_tasks_pages_through_every_task_once_in_creation_order(sdm: Any, device: str) -> None:
    created = [new_task(sdm, device) for _ in range(25)]

    pages = all_pages(sdm, maxResults=7)

    assert [len(page["tasks"]) for page in pages] == [7, 7, 7, 4]
    assert [task["taskId"] for page in pages for task in page["tasks"]] == created
    assert "nextToken" not in pages[-1]


def test_list_tasks_gives_no_token_after_a_last_page_that_is_full(sdm: Any, device: str) -> None:
    created = [new_task(sdm, device) for _ in range(14)]

    pages = all_pages(sdm, maxResults=7)

    assert [task["taskId"] for page in pages for task in page["tasks"]] == created
    assert len(pages) == 2


def test_list_tasks_neither_loses_nor_repeats_tasks_created_between_pages(sdm: Any, device: str) -> None:
    created = [new_task(sdm, device) for _ in range(5)]
    first = sdm.list_tasks(maxResults=3)
    created += [new_task(sdm, device) for _ in range(4)]

    seen = [task["taskId"] for task in first["tasks"]]
    token = first["nextToken"]
    while token:
        page = sdm.list_tasks(maxResults=3, nextToken=token)
        seen += [task["taskId"] for task in page["tasks"]]
        token = page.get("nextToken")

    assert seen == created


def test_list_tasks_pages_through_a_state_filter_without_other_states(sdm: Any, device: str) -> None:
    created = [new_task(sdm, device) for _ in range(9)]
    for task_id in created[1::3]:
        sdm.cancel_task(taskId=task_id)
    running = [task_id for task_id in created if task_id not in created[1::3]]

    pages = all_pages(sdm, state="IN_PROGRESS", maxResults=2)

    assert [task["taskId"] for page in pages for task in page["tasks"]] == running
    assert "nextToken" not in pages[-1]


@pytest.mark.parametrize("token", ["!!!", "abc"])
def test_list_tasks_refuses_a_malformed_next_token(sdm: Any, token: str) -> None:
    with refused("ValidationException", 400, "nextToken"):
        sdm.list_tasks(nextToken=token)


def test_list_tasks_refuses_a_token_issued_for_another_state_filter(sdm: Any, device: str) -> None:
    for _ in range(3):
        sdm.cancel_task(taskId=new_task(sdm, device))
    token = sdm.list_tasks(state="CANCELED", maxResults=1)["nextToken"]

    with refused("ValidationException", 400, "nextToken"):
        sdm.list_tasks(nextToken=token)


def test_list_tasks_refuses_a_token_issued_in_another_region(sdm: Any, device: str) -> None:
    for _ in range(3):
        new_task(sdm, device)
    token = sdm.list_tasks(maxResults=1)["nextToken"]

    with refused("ValidationException", 400, "nextToken"):
        client(OTHER_REGION).list_tasks(nextToken=token)


@pytest.mark.decorator_mode
def test_list_tasks_refuses_a_token_issued_in_another_account(
    sdm: Any, device: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        new_task(sdm, device)
    token = sdm.list_tasks(maxResults=1)["nextToken"]

    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)

    with refused("ValidationException", 400, "nextToken"):
        sdm.list_tasks(nextToken=token)


def test_the_list_tasks_paginator_walks_every_task(sdm: Any, device: str) -> None:
    created = [new_task(sdm, device) for _ in range(12)]

    pages = sdm.get_paginator("list_tasks").paginate(PaginationConfig={"PageSize": 5})

    assert [task["taskId"] for page in pages for task in page["tasks"]] == created


def test_list_tasks_shows_the_tags_given_at_creation(sdm: Any, device: str) -> None:
    new_task(sdm, device, tags={"team": "ops"})

    assert [task["tags"] for task in sdm.list_tasks()["tasks"]] == [{"team": "ops"}]


# Tags


def test_tags_of_a_task_can_be_added_listed_and_removed(sdm: Any, device: str) -> None:
    arn = sdm.create_task(targets=[device], command=REBOOT, tags={"team": "ops"})["taskArn"]

    sdm.tag_resource(resourceArn=arn, tags={"site": "north", "team": "field"})
    assert sdm.list_tags_for_resource(resourceArn=arn)["tags"] == {"site": "north", "team": "field"}

    sdm.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert sdm.list_tags_for_resource(resourceArn=arn)["tags"] == {"site": "north"}


def test_tags_of_a_device_can_be_added_listed_and_removed(sdm: Any, device: str) -> None:
    arn = device_arn(device)

    sdm.tag_resource(resourceArn=arn, tags={"site": "north", "team": "ops"})
    assert sdm.list_tags_for_resource(resourceArn=arn)["tags"] == {"site": "north", "team": "ops"}

    sdm.untag_resource(resourceArn=arn, tagKeys=["site"])
    assert sdm.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ops"}


def test_untagging_absent_keys_changes_nothing(sdm: Any, device: str) -> None:
    arn = sdm.create_task(targets=[device], command=REBOOT, tags={"team": "ops"})["taskArn"]

    sdm.untag_resource(resourceArn=arn, tagKeys=["absent", "also-absent"])

    assert sdm.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ops"}


@pytest.mark.parametrize("arn", [task_arn(UNKNOWN_TASK), device_arn(UNKNOWN_DEVICE)], ids=["task", "device"])
def test_tag_operations_refuse_an_unknown_resource(sdm: Any, arn: str) -> None:
    with refused("ResourceNotFoundException", 404):
        sdm.tag_resource(resourceArn=arn, tags={"team": "ops"})
    with refused("ResourceNotFoundException", 404):
        sdm.untag_resource(resourceArn=arn, tagKeys=["team"])
    with refused("ResourceNotFoundException", 404):
        sdm.list_tags_for_resource(resourceArn=arn)


def test_tag_operations_refuse_a_malformed_arn(sdm: Any) -> None:
    with refused("ValidationException", 400, "resourceArn"):
        sdm.tag_resource(resourceArn="not-an-arn", tags={"team": "ops"})
    with refused("ValidationException", 400, "resourceArn"):
        sdm.untag_resource(resourceArn="not-an-arn", tagKeys=["team"])
    with refused("ValidationException", 400, "resourceArn"):
        sdm.list_tags_for_resource(resourceArn="not-an-arn")


@pytest.mark.parametrize(
    "region, account",
    [(OTHER_REGION, DEFAULT_ACCOUNT_ID), (REGION, OTHER_ACCOUNT)],
    ids=["region", "account"],
)
def test_tag_operations_refuse_the_arn_of_a_task_in_another_place(
    sdm: Any, device: str, region: str, account: str
) -> None:
    task_id = new_task(sdm, device, tags={"team": "ops"})
    elsewhere = task_arn(task_id, region=region, account=account)

    with refused("ResourceNotFoundException", 404):
        sdm.list_tags_for_resource(resourceArn=elsewhere)
    with refused("ResourceNotFoundException", 404):
        sdm.tag_resource(resourceArn=elsewhere, tags={"team": "field"})
    assert sdm.list_tags_for_resource(resourceArn=task_arn(task_id))["tags"] == {"team": "ops"}


# Errors on the wire


def test_an_error_is_sent_with_its_type_header_and_a_json_message(raw_sdm: Any) -> None:
    received: list[dict[str, Any]] = []
    raw_sdm.meta.events.register(
        "before-parse.snow-device-management.CancelTask",
        lambda response_dict, **_: received.append(response_dict),
    )

    with refused("ValidationException", 400, "taskId"):
        raw_sdm.cancel_task(taskId="a" * 65)

    (response,) = received
    assert response["status_code"] == 400
    assert response["headers"]["x-amzn-ErrorType"] == "ValidationException"
    assert response["headers"]["Content-Type"].startswith("application/json")
    body = json.loads(response["body"])
    assert set(body) == {"message"}
    assert "taskId" in body["message"]


def test_an_error_reports_its_type_and_content_type_in_the_response_metadata(sdm: Any) -> None:
    with pytest.raises(ClientError) as caught:
        sdm.describe_task(taskId=UNKNOWN_TASK)

    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert headers["content-type"].startswith("application/json")
