"""The service's records as moto's dashboard lists them, and IDs that stay unique when moto's seed repeats."""

from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

import moto_snowdevice

REBOOT = {"reboot": {}}
OTHER_ACCOUNT = "333333333333"

# The dashboard lists this process's own backends
pytestmark = pytest.mark.decorator_mode


def dashboard_rows() -> dict[str, list[dict[str, Any]]]:
    data = requests.get("http://motoapi.amazonaws.com/moto-api/data.json", timeout=10).json()
    rows: dict[str, list[dict[str, Any]]] = data["snow-device-management"]
    return rows


def test_each_execution_row_of_the_dashboard_names_its_task_account_and_region() -> None:
    with mock_aws():
        device = moto_snowdevice.add_device()
        other = moto_snowdevice.add_device(account_id=OTHER_ACCOUNT, region_name="eu-west-1")
        sdm = boto3.client("snow-device-management", region_name="us-east-1")
        first = sdm.create_task(targets=[device], command=REBOOT)["taskId"]
        second = sdm.create_task(targets=[device], command=REBOOT)["taskId"]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
            elsewhere = boto3.client("snow-device-management", region_name="eu-west-1")
            third = elsewhere.create_task(targets=[other], command=REBOOT)["taskId"]

        rows = dashboard_rows()

        executions = {(row["task_id"], row["managed_device_id"]): row for row in rows["Execution"]}
        assert set(executions) == {(first, device), (second, device), (third, other)}
        assert {(row["account_id"], row["region_name"]) for row in executions.values()} == {
            ("123456789012", "us-east-1"),
            (OTHER_ACCOUNT, "eu-west-1"),
        }
        assert executions[(third, other)]["account_id"] == OTHER_ACCOUNT


def test_every_task_and_device_row_of_the_dashboard_names_its_account_and_region() -> None:
    with mock_aws():
        device = moto_snowdevice.add_device(region_name="us-west-2")
        sdm = boto3.client("snow-device-management", region_name="us-west-2")
        task = sdm.create_task(targets=[device], command=REBOOT)["taskId"]

        rows = dashboard_rows()

        assert [(row["task_id"], row["account_id"], row["region_name"]) for row in rows["Task"]] == [
            (task, "123456789012", "us-west-2")
        ]
        assert [
            (row["arn"].rsplit("/", 1)[1], row["account_id"], row["region_name"]) for row in rows["ManagedDevice"]
        ] == [(device, "123456789012", "us-west-2")]


def test_a_seed_repeated_in_one_mock_never_gives_a_task_or_device_an_id_already_taken() -> None:
    with mock_aws():
        sdm = boto3.client("snow-device-management", region_name="us-east-1")
        moto_snowdevice.seed(7)
        first_device = moto_snowdevice.add_device()
        first_task = sdm.create_task(targets=[first_device], command=REBOOT)["taskId"]
        moto_snowdevice.seed(7)
        second_device = moto_snowdevice.add_device()
        second_task = sdm.create_task(targets=[second_device], command=REBOOT)["taskId"]

        assert second_device != first_device
        assert second_task != first_task
        assert {task["taskId"] for task in sdm.list_tasks()["tasks"]} == {first_task, second_task}
        assert sdm.describe_task(taskId=first_task)["targets"] == [first_device]
