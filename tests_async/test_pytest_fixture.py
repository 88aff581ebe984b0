"""The plugin's sdm_async_client fixture, in a pytest run of its own under each async test plugin."""

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest
import moto_snowdevice

@pytest.fixture
def anyio_backend():
    return "asyncio"

{mark}
async def test_the_fixture_s_client_answers_in_process(sdm_async_client):
    device = moto_snowdevice.add_device()
    created = await sdm_async_client.create_task(targets=[device], command={{"reboot": {{}}}})
    described = await sdm_async_client.describe_task(taskId=created["taskId"])
    assert described["state"] == "IN_PROGRESS"
    assert sdm_async_client.meta.region_name == "us-east-1"

{mark}
async def test_the_state_ends_with_the_test(sdm_async_client):
    assert (await sdm_async_client.list_tasks())["tasks"] == []

{mark}
async def test_the_fixture_sees_the_sdm_fleet(sdm_async_client, sdm_fleet):
    listed = (await sdm_async_client.list_devices())["devices"]
    assert [device["managedDeviceId"] for device in listed] == sdm_fleet[:2]
"""


@pytest.mark.parametrize(
    ("mark", "options"),
    [
        ("@pytest.mark.asyncio", ["-o", "asyncio_mode=strict"]),
        ("", ["-o", "asyncio_mode=auto"]),
        ("@pytest.mark.anyio", ["-o", "asyncio_mode=strict"]),
        ("@pytest.mark.anyio", ["-p", "no:asyncio"]),
    ],
    ids=["pytest-asyncio strict", "pytest-asyncio auto", "anyio beside pytest-asyncio", "anyio alone"],
)
def test_sdm_async_client_works_under_each_async_test_plugin(
    pytester: pytest.Pytester, mark: str, options: list[str]
) -> None:
    pytester.makepyfile(test_async_fixture=TESTS.format(mark=mark))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    result.assert_outcomes(passed=3)
