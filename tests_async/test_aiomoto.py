"""aiobotocore clients of snow-device-management under aiomoto's mock_aws instead of moto's."""

import asyncio
from typing import Any

import boto3
from aiobotocore.session import get_session
from moto import mock_aws as moto_mock_aws

import moto_snowdevice

from async_helpers import NO_RETRY, REBOOT, REGION, SERVICE, optional, refused

aiomoto = optional("aiomoto")


def async_client(service: str = SERVICE) -> Any:
    return get_session().create_client(service, region_name=REGION, config=NO_RETRY)


async def test_every_kind_of_call_works_under_aiomoto_s_async_context_manager() -> None:
    async with aiomoto.mock_aws():
        device = moto_snowdevice.add_device()
        async with async_client() as sdm:
            task_id = (await sdm.create_task(targets=[device], command=REBOOT))["taskId"]
            # Canceled before anything reads it: every read of work polls it under moto's default progression
            await sdm.cancel_task(taskId=task_id)
            assert (await sdm.describe_task(taskId=task_id))["state"] == "CANCELED"
            pages = [page async for page in sdm.get_paginator("list_tasks").paginate()]
            assert [(t["taskId"], t["state"]) for page in pages for t in page["tasks"]] == [(task_id, "CANCELED")]
            with refused("ResourceNotFoundException", 404):
                await sdm.describe_device(managedDeviceId="smd-aaaaaaaaaaaaaaaa")


@aiomoto.mock_aws
async def test_aiomoto_s_decorator_of_an_async_test_and_boto3_share_one_state() -> None:
    device = moto_snowdevice.add_device()
    sync = boto3.client(SERVICE, region_name=REGION)
    from_sync = sync.create_task(targets=[device], command=REBOOT)["taskId"]
    async with async_client() as sdm:
        from_async = (await sdm.create_task(targets=[device], command=REBOOT))["taskId"]
        assert (await sdm.describe_task(taskId=from_sync))["targets"] == [device]
    assert [task["taskId"] for task in sync.list_tasks()["tasks"]] == [from_sync, from_async]


async def test_each_gathered_create_makes_exactly_one_task_under_aiomoto() -> None:
    async with aiomoto.mock_aws():
        device = moto_snowdevice.add_device()
        async with async_client() as sdm:
            created = await asyncio.gather(*(sdm.create_task(targets=[device], command=REBOOT) for _ in range(30)))
            listed = (await sdm.list_tasks())["tasks"]
    assert sorted(task["taskId"] for task in listed) == sorted(task["taskId"] for task in created)
    assert len(listed) == 30


async def test_aiomoto_still_answers_moto_s_own_services_once_per_call() -> None:
    async with aiomoto.mock_aws(), async_client("sqs") as sqs:
        queue = (await sqs.create_queue(QueueName="orders"))["QueueUrl"]
        await sqs.send_message(QueueUrl=queue, MessageBody="one")
        attributes = await sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


async def test_moto_s_mock_aws_still_answers_async_clients_after_an_aiomoto_mock_ended() -> None:
    async with aiomoto.mock_aws():
        pass
    with moto_mock_aws():
        device = moto_snowdevice.add_device()
        async with async_client() as sdm:
            assert (await sdm.describe_device(managedDeviceId=device))["managedDeviceId"] == device
