"""aioboto3 clients of snow-device-management under moto's mock_aws (aioboto3 pins aiobotocore 2.x)."""

import asyncio

from async_helpers import NO_RETRY, REBOOT, REGION, SERVICE, optional, refused

aioboto3 = optional("aioboto3")


async def test_an_aioboto3_client_creates_pages_and_cancels_in_process(fleet: list[str]) -> None:
    async with aioboto3.Session().client(SERVICE, region_name=REGION, config=NO_RETRY) as sdm:
        created = await asyncio.gather(*(sdm.create_task(targets=fleet, command=REBOOT) for _ in range(120)))
        # Canceled before anything reads its work: every listing polls it under moto's default progression
        first = min(task["taskId"] for task in created)
        await sdm.cancel_task(taskId=first)
        pages = [page async for page in sdm.get_paginator("list_tasks").paginate()]
        assert [len(page["tasks"]) for page in pages] == [100, 20]
        listed = {task["taskId"]: task["state"] for page in pages for task in page["tasks"]}
        assert sorted(listed) == sorted(task["taskId"] for task in created)
        assert listed[first] == "CANCELED"
        assert (await sdm.describe_task(taskId=first))["state"] == "CANCELED"


async def test_an_aioboto3_client_raises_client_errors_with_code_and_status(aws: None) -> None:
    async with aioboto3.Session().client(SERVICE, region_name=REGION, config=NO_RETRY) as sdm:
        with refused("ResourceNotFoundException", 404):
            await sdm.list_executions(taskId="st-aaaaaaaaaaaaaaaa")
