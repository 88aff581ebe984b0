"""aiobotocore clients of snow-device-management under moto's own mock_aws, in-process."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from moto.moto_api import recorder

import moto_snowdevice

from async_helpers import NO_RETRY, REBOOT, REGION, SERVICE, device_arn, refused, task_arn

HARBOR = "smd-fictbgr3rbcjeqa5"  # the sample fleet's locked device, with two EC2 instances
HARBOR_INSTANCES = ["s.i-84fa8a27d3e15e111", "s.i-0b6f9d2c8a7e4f222"]
ALLOW_DESCRIBE_TASK = {"Effect": "Allow", "Action": "snow-device-management:DescribeTask", "Resource": "*"}


def async_client(**options: Any) -> Any:
    """An aiobotocore client context of the service in us-east-1."""
    return get_session().create_client(SERVICE, region_name=REGION, **options)


async def test_every_operation_answers_in_process(sdm: Any, fleet: list[str]) -> None:
    device, other = fleet
    assert device == HARBOR
    assert [d["managedDeviceId"] for d in (await sdm.list_devices())["devices"]] == fleet
    assert (await sdm.describe_device(managedDeviceId=device))["managedDeviceArn"] == device_arn(device)
    instances = await sdm.describe_device_ec2_instances(managedDeviceId=device, instanceIds=HARBOR_INSTANCES[:1])
    assert [i["instance"]["instanceId"] for i in instances["instances"]] == HARBOR_INSTANCES[:1]
    resources = (await sdm.list_device_resources(managedDeviceId=device))["resources"]
    assert sorted(r["id"] for r in resources) == sorted(HARBOR_INSTANCES)

    created = await sdm.create_task(targets=[device, other], command=REBOOT, tags={"team": "a"})
    task_id = created["taskId"]
    assert created["taskArn"] == task_arn(task_id)
    # Canceled before anything reads it: under moto's default progression every read of work polls it
    assert (await sdm.cancel_task(taskId=task_id))["taskId"] == task_id
    assert (await sdm.describe_task(taskId=task_id))["state"] == "CANCELED"
    assert [(t["taskId"], t["state"]) for t in (await sdm.list_tasks())["tasks"]] == [(task_id, "CANCELED")]
    executions = (await sdm.list_executions(taskId=task_id))["executions"]
    assert [(e["managedDeviceId"], e["state"]) for e in executions] == [(device, "CANCELED"), (other, "CANCELED")]
    execution = await sdm.describe_execution(taskId=task_id, managedDeviceId=device)
    assert execution["state"] == "CANCELED"

    await sdm.tag_resource(resourceArn=created["taskArn"], tags={"env": "test"})
    await sdm.untag_resource(resourceArn=created["taskArn"], tagKeys=["team"])
    assert (await sdm.list_tags_for_resource(resourceArn=created["taskArn"]))["tags"] == {"env": "test"}


async def test_response_received_handlers_see_the_body_the_client_parsed(sdm: Any, fleet: list[str]) -> None:
    bodies: list[bytes] = []
    sdm.meta.events.register(
        "response-received.snow-device-management.ListDevices",
        lambda response_dict, **_: bodies.append(response_dict["body"]),
    )
    listed = await sdm.list_devices()
    assert [json.loads(body)["devices"] for body in bodies] == [listed["devices"]]


async def test_an_unknown_task_raises_resource_not_found_404(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, "st-aaaaaaaaaaaaaaaa"):
        await sdm.describe_task(taskId="st-aaaaaaaaaaaaaaaa")


async def test_input_the_model_refuses_raises_validation_exception_400_naming_the_field(aws: None) -> None:
    # botocore's own checks off, as other SDKs send it, so the mock's checks answer
    async with async_client(config=AioConfig(parameter_validation=False)) as sdm:
        with refused("ValidationException", 400, "targets"):
            await sdm.create_task(targets=[], command=REBOOT)
        assert (await sdm.list_tasks())["tasks"] == []


async def test_canceling_a_started_task_raises_validation_exception_and_keeps_it_running(
    sdm: Any, fleet: list[str]
) -> None:
    task_id = (await sdm.create_task(targets=fleet[:1], command=REBOOT))["taskId"]
    moto_snowdevice.advance_execution(task_id, fleet[0], "IN_PROGRESS")
    with refused("ValidationException", 400, "IN_PROGRESS"):
        await sdm.cancel_task(taskId=task_id)
    # Not canceled: the read's step ends the running work, and the task completes
    assert (await sdm.describe_task(taskId=task_id))["state"] == "COMPLETED"


async def test_an_injected_quota_error_raises_402_and_creates_nothing(sdm: Any, fleet: list[str]) -> None:
    moto_snowdevice.inject_fault("CreateTask", "ServiceQuotaExceededException")
    with refused("ServiceQuotaExceededException", 402):
        await sdm.create_task(targets=fleet, command=REBOOT)
    assert (await sdm.list_tasks())["tasks"] == []


async def test_the_paginator_walks_every_task_once_in_creation_order(sdm: Any, fleet: list[str]) -> None:
    created = [(await sdm.create_task(targets=fleet, command=REBOOT))["taskId"] for _ in range(250)]
    pages = [page async for page in sdm.get_paginator("list_tasks").paginate(PaginationConfig={"PageSize": 100})]
    assert [len(page["tasks"]) for page in pages] == [100, 100, 50]
    assert [task["taskId"] for page in pages for task in page["tasks"]] == created


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
async def test_retries_recover_from_two_injected_throttling_errors(aws: None, fleet: list[str], mode: str) -> None:
    moto_snowdevice.inject_fault("ListDevices", "ThrottlingException", count=2)
    retrying = AioConfig(retries={"total_max_attempts": 3, "mode": mode})
    async with async_client(config=retrying) as sdm:
        listed = await sdm.list_devices()
    assert listed["ResponseMetadata"]["RetryAttempts"] == 2
    assert [device["managedDeviceId"] for device in listed["devices"]] == fleet


async def test_injected_throttling_without_retries_raises_throttling_exception_429(sdm: Any) -> None:
    moto_snowdevice.inject_fault("ListTasks", "ThrottlingException")
    with refused("ThrottlingException", 429):
        await sdm.list_tasks()
    assert (await sdm.list_tasks())["tasks"] == []


async def test_fifty_gathered_creates_make_fifty_distinct_tasks(sdm: Any, fleet: list[str]) -> None:
    created = await asyncio.gather(*(sdm.create_task(targets=fleet, command=REBOOT) for _ in range(50)))
    task_ids = [task["taskId"] for task in created]
    assert len(set(task_ids)) == 50
    listed = (await sdm.list_tasks())["tasks"]
    assert sorted(task["taskId"] for task in listed) == sorted(task_ids)
    described = await asyncio.gather(*(sdm.describe_task(taskId=task_id) for task_id in task_ids))
    assert [task["taskId"] for task in described] == task_ids


async def test_boto3_and_aiobotocore_in_one_mock_see_the_same_tasks(sdm: Any, fleet: list[str]) -> None:
    sync = boto3.client(SERVICE, region_name=REGION)
    from_sync = sync.create_task(targets=fleet, command=REBOOT)["taskId"]
    from_async = (await sdm.create_task(targets=fleet, command=REBOOT))["taskId"]
    await sdm.cancel_task(taskId=from_sync)
    described = await sdm.describe_task(taskId=from_sync)
    assert (described["targets"], described["state"]) == (fleet, "CANCELED")
    assert sync.describe_task(taskId=from_sync)["state"] == "CANCELED"
    assert [task["taskId"] for task in sync.list_tasks()["tasks"]] == [from_sync, from_async]


async def test_another_region_of_the_mock_is_its_own(aws: None, fleet: list[str]) -> None:
    async with get_session().create_client(SERVICE, region_name="us-west-2") as west:
        assert [d["managedDeviceId"] for d in (await west.list_devices())["devices"]] == ["smd-fictz5c8h1r6tv2d"]
        with refused("ResourceNotFoundException", 404):
            await west.describe_device(managedDeviceId=fleet[0])


@mock_aws
def test_mock_aws_as_a_decorator_of_a_function_that_runs_the_event_loop() -> None:
    device = moto_snowdevice.add_device()

    async def create_and_describe() -> str:
        async with async_client() as sdm:
            task_id = (await sdm.create_task(targets=[device], command=REBOOT))["taskId"]
            return str((await sdm.describe_task(taskId=task_id))["state"])

    assert asyncio.run(create_and_describe()) == "IN_PROGRESS"
    assert len(boto3.client(SERVICE, region_name=REGION).list_tasks()["tasks"]) == 1


def _user_keys(*statements: dict[str, Any]) -> dict[str, str]:
    """An IAM user (with an inline policy of `statements`, if any) and its access key, made with boto3."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="operator")
    if statements:
        document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
        iam.put_user_policy(UserName="operator", PolicyName="snow", PolicyDocument=document)
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


# IAM: moto lets the first calls through unchecked; the tests count them exactly
@set_initial_no_auth_action_count(4)  # CreateTask, then CreateUser, PutUserPolicy, CreateAccessKey
@mock_aws
def test_iam_allows_what_the_policy_allows_and_refuses_the_rest_with_access_denied_403() -> None:
    device = moto_snowdevice.add_device()
    task_id = boto3.client(SERVICE, region_name=REGION).create_task(targets=[device], command=REBOOT)["taskId"]
    keys = _user_keys(ALLOW_DESCRIBE_TASK)

    async def calls() -> None:
        async with async_client(config=NO_RETRY, **keys) as sdm:
            with refused("AccessDeniedException", 403, "snow-device-management:CancelTask"):
                await sdm.cancel_task(taskId=task_id)
            assert (await sdm.describe_task(taskId=task_id))["state"] == "IN_PROGRESS"

    asyncio.run(calls())


@set_initial_no_auth_action_count(2)  # CreateUser, CreateAccessKey
@mock_aws
def test_iam_refuses_a_user_without_a_policy_and_an_unknown_key() -> None:
    keys = _user_keys()

    async def calls() -> None:
        async with async_client(config=NO_RETRY, **keys) as sdm:
            with refused("AccessDeniedException", 403, "snow-device-management:ListTasks"):
                await sdm.list_tasks()
        async with async_client(config=NO_RETRY, aws_access_key_id="AKIAUNKNOWN", aws_secret_access_key="x") as sdm:
            with refused("UnrecognizedClientException", 403):
                await sdm.list_tasks()

    asyncio.run(calls())


async def test_with_moto_s_recorder_on_async_calls_are_answered_and_recorded(
    sdm: Any, fleet: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the recorder writes its default file into the working directory
    recorder.reset_recording()
    recorder.start_recording()
    try:
        task_id = (await sdm.create_task(targets=fleet, command=REBOOT))["taskId"]
        assert (await sdm.describe_task(taskId=task_id))["state"] == "IN_PROGRESS"
    finally:
        recorder.stop_recording()
    urls = [json.loads(line)["url"] for line in recorder.download_recording().splitlines() if line.strip()]
    assert [urlsplit(url).path for url in urls] == ["/task", f"/task/{task_id}"]


async def test_moto_s_own_services_are_left_as_moto_answers_them(aws: None) -> None:
    # moto itself answers aiobotocore with bytes where an awaitable is awaited; only this service is rewrapped
    async with get_session().create_client("ivs", region_name=REGION) as ivs:
        with pytest.raises(TypeError, match="await"):
            await ivs.list_channels()


async def test_an_async_client_outside_mock_aws_is_not_intercepted(sdm_server: str) -> None:
    seeded = requests.post(f"{sdm_server}/moto-api/{SERVICE}/devices", json={"device": {}}, timeout=30)
    server_device = seeded.json()["managedDeviceId"]
    async with async_client(endpoint_url=sdm_server, aws_access_key_id="testing", aws_secret_access_key="x") as sdm:
        assert [d["managedDeviceId"] for d in (await sdm.list_devices())["devices"]] == [server_device]
        task_id = (await sdm.create_task(targets=[server_device], command=REBOOT))["taskId"]
    with mock_aws():
        async with async_client() as sdm:
            assert (await sdm.list_devices())["devices"] == []
            with refused("ResourceNotFoundException", 404):
                await sdm.describe_task(taskId=task_id)


@pytest.mark.parametrize("first", ["aiobotocore.endpoint", "moto_snowdevice"])
def test_async_calls_work_whichever_is_imported_first(first: str) -> None:
    second = "moto_snowdevice" if first == "aiobotocore.endpoint" else "aiobotocore.endpoint"
    script = f"""
import asyncio, importlib
importlib.import_module({first!r}); importlib.import_module({second!r})
from aiobotocore.session import get_session
from moto import mock_aws
import moto_snowdevice

async def main():
    async with get_session().create_client("snow-device-management", region_name="us-east-1") as sdm:
        print((await sdm.describe_device(managedDeviceId=moto_snowdevice.add_device()))["deviceState"])

with mock_aws():
    asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "LOCKED"


def test_importing_the_package_and_its_pytest_plugin_imports_no_aiobotocore() -> None:
    script = "import sys, moto_snowdevice.pytest_plugin; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = set(done.stdout.split())
    assert "moto_snowdevice" in imported
    assert not imported & {"aiobotocore", "aiohttp", "aioboto3"}
