"""Other clients against the mock server: the AWS SDK for JavaScript v3 (tests/js) and the AWS CLI.

Each CLI output is checked against schemas/<Operation>.json as printed: awscli v1 prints a timestamp
as the wire's epoch seconds, so the schemas apply unchanged.
"""

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import jsonschema
import pytest
import requests
from botocore import xform_name
from moto.core import DEFAULT_ACCOUNT_ID

SERVICE = "snow-device-management"
REGION = "us-east-1"
TESTS = Path(__file__).resolve().parent
JS_DIR = TESTS / "js"
SCHEMAS = TESTS.parent / "schemas"
CONTROL = f"/moto-api/{SERVICE}"
UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa"
EC2_INSTANCE = "AWS::EC2::Instance"
INSTANCE_RUNNING = {
    "instanceId": "s.i-84fa8a27d3e15e111",
    "imageId": "s.ami-03f976c3cadaa6111",
    "instanceType": "snc1.medium",
    "state": {"code": 16, "name": "RUNNING"},
    "createdAt": 1629760200,
    "updatedAt": 1629760245,
}
INSTANCE_STOPPED = {"instanceId": "s.i-0b6f9d2c8a7e4f222", "state": {"code": 80, "name": "STOPPED"}}


# Helpers


@cache
def _operations_by_command() -> dict[str, str]:
    """CLI command name (create-task) -> operation name (CreateTask), from botocore's model."""
    model = botocore.session.get_session().get_service_model(SERVICE)
    return {xform_name(name, "-"): name for name in model.operation_names}


@cache
def _validator(operation: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{operation}.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _cli_environment(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials and empty config files, so nothing of the user's AWS setup takes part."""
    config = tmp_path / "aws-config"
    credentials = tmp_path / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return environment


class Cli:
    """`aws snow-device-management ...` (awscli v1) against one mock server."""

    def __init__(self, url: str, environment: dict[str, str]):
        self.url = url
        self.environment = environment

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable, "-m", "awscli",
                "--endpoint-url", self.url, "--region", REGION, "--output", "json",
                SERVICE, command, *args,
            ],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )  # fmt: skip

    def __call__(self, command: str, *args: str) -> dict[str, Any]:
        """The command's output, parsed and checked against its operation's schema."""
        done = self.run(command, *args)
        assert done.returncode == 0, f"aws {command} exited {done.returncode}:\n{done.stderr}"
        # awscli prints nothing at all for an empty result (TagResource, UntagResource)
        output = json.loads(done.stdout) if done.stdout.strip() else {}
        operation = _operations_by_command()[command]
        errors = sorted(_validator(operation).iter_errors(output), key=str)
        assert not errors, f"aws {command} printed output that breaks schemas/{operation}.json: {errors[0]}"
        return output


@pytest.fixture
def cli(sdm_server: str, tmp_path: Path) -> Cli:
    return Cli(sdm_server, _cli_environment(tmp_path))


def control(url: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url}{CONTROL}/{route}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def add_device(url: str, **device: Any) -> dict[str, str]:
    return control(url, "devices", {"device": device})


def task_arn(task_id: str) -> str:
    return f"arn:aws:{SERVICE}:{REGION}:{DEFAULT_ACCOUNT_ID}:task/{task_id}"


def is_epoch(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# The AWS SDK for JavaScript v3


def test_the_javascript_sdk_walkthrough_passes_against_the_server(sdm_server: str) -> None:
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-snow-device-management").is_dir():
        pytest.fail("the JavaScript SDK is not installed: run `npm ci --prefix tests/js` first", pytrace=False)
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (`node`, version 20 or later) is needed on PATH for the JavaScript client tests")

    done = subprocess.run(
        [node, "--test"],
        cwd=JS_DIR,
        env={**os.environ, "SDM_ENDPOINT": sdm_server},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, (
        f"node --test exited {done.returncode}\n--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    assert "# fail 0" in done.stdout


# The AWS CLI


def test_the_cli_creates_describes_lists_and_cancels_tasks(cli: Cli) -> None:
    devices = [add_device(cli.url)["managedDeviceId"] for _ in range(3)]

    created = cli(
        "create-task",
        "--targets", *devices[:2],
        "--command", '{"reboot": {}}',
        "--description", "Reboot the harbor devices",
        "--tags", "owner=ops,batch=1",
        "--client-token", "walkthrough-1",
    )  # fmt: skip
    task_id = created["taskId"]
    assert created["taskArn"] == task_arn(task_id)

    # The first read reports the task's work: under moto's default progression both devices take a step
    task = cli("describe-task", "--task-id", task_id)
    assert task["taskId"] == task_id
    assert task["taskArn"] == task_arn(task_id)
    assert task["targets"] == devices[:2]
    assert task["state"] == "IN_PROGRESS"
    assert task["description"] == "Reboot the harbor devices"
    assert task["tags"] == {"owner": "ops", "batch": "1"}
    assert is_epoch(task["createdAt"]) and is_epoch(task["lastUpdatedAt"])
    assert "completedAt" not in task

    others = [cli("create-task", "--targets", device, "--command", '{"unlock": {}}')["taskId"] for device in devices]
    # Canceled before anything reads it, so nothing has moved its work
    canceled_id = cli("create-task", "--targets", devices[2], "--command", '{"reboot": {}}')["taskId"]
    assert cli("cancel-task", "--task-id", canceled_id) == {"taskId": canceled_id}

    # One task per page: the CLI follows nextToken through every page and merges them. Each page reports
    # its task's work, so each listed task's devices take one step: the first task's second step ends it,
    # each other task's first step starts it, and the canceled task stays as it is
    listed = cli("list-tasks", "--page-size", "1")
    assert [summary["taskId"] for summary in listed["tasks"]] == [task_id, *others, canceled_id]
    assert [summary["state"] for summary in listed["tasks"]] == [
        "COMPLETED", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "CANCELED"
    ]  # fmt: skip
    assert listed["tasks"][0] == {
        "taskId": task_id,
        "taskArn": task_arn(task_id),
        "state": "COMPLETED",
        "tags": {"owner": "ops", "batch": "1"},
    }
    assert is_epoch(cli("describe-task", "--task-id", task_id)["completedAt"])

    canceled = cli("describe-task", "--task-id", canceled_id)
    assert canceled["state"] == "CANCELED"
    assert canceled["lastUpdatedAt"] >= canceled["createdAt"]
    assert [summary["taskId"] for summary in cli("list-tasks", "--state", "CANCELED")["tasks"]] == [canceled_id]

    again = cli.run("cancel-task", "--task-id", canceled_id)
    assert again.returncode != 0
    assert "(ValidationException)" in again.stderr
    running = cli.run("cancel-task", "--task-id", others[0])
    assert running.returncode != 0
    assert "(ValidationException)" in running.stderr


def test_the_cli_lists_and_describes_executions(cli: Cli) -> None:
    device = add_device(cli.url, deviceState="LOCKED")["managedDeviceId"]
    task_id = cli("create-task", "--targets", device, "--command", '{"unlock": {}}')["taskId"]

    # The step a reporting call takes under moto's default progression happens before the answer is built
    started = cli("list-executions", "--task-id", task_id)
    assert started == {
        "executions": [{"executionId": "1", "taskId": task_id, "managedDeviceId": device, "state": "IN_PROGRESS"}]
    }
    assert cli("describe-device", "--managed-device-id", device)["deviceState"] == "UNLOCKING"

    control(cli.url, "advance-execution", {"taskId": task_id, "managedDeviceId": device, "state": "SUCCEEDED"})

    execution = cli("describe-execution", "--task-id", task_id, "--managed-device-id", device)
    assert execution["executionId"] == "1"
    assert execution["taskId"] == task_id
    assert execution["managedDeviceId"] == device
    assert execution["state"] == "SUCCEEDED"
    assert is_epoch(execution["startedAt"]) and is_epoch(execution["lastUpdatedAt"])
    assert execution["lastUpdatedAt"] >= execution["startedAt"]
    succeeded = cli("list-executions", "--task-id", task_id, "--state", "SUCCEEDED")
    assert [summary["managedDeviceId"] for summary in succeeded["executions"]] == [device]
    task = cli("describe-task", "--task-id", task_id)
    assert task["state"] == "COMPLETED"
    assert is_epoch(task["completedAt"])


def test_the_cli_lists_and_describes_devices_and_their_instances(cli: Cli) -> None:
    job = "JID2bf11d5a-ea1e-414a-b5b1-3bf7e6a6e111"
    seeded = add_device(
        cli.url,
        associatedWithJob=job,
        deviceType="SNC1_HDD",
        tags={"site": "harbor"},
        instances=[INSTANCE_RUNNING, INSTANCE_STOPPED],
    )
    device_id = seeded["managedDeviceId"]
    other = add_device(cli.url, associatedWithJob="JID7c4e2a19-3b5d-4f8e-9a61-0d2c5b8e4f33")

    listed = cli("list-devices", "--page-size", "1")
    assert [summary["managedDeviceId"] for summary in listed["devices"]] == [
        device_id,
        other["managedDeviceId"],
    ]
    assert listed["devices"][0] == {
        "managedDeviceId": device_id,
        "managedDeviceArn": seeded["managedDeviceArn"],
        "associatedWithJob": job,
        "tags": {"site": "harbor"},
    }
    by_job = cli("list-devices", "--job-id", job)
    assert [summary["managedDeviceId"] for summary in by_job["devices"]] == [device_id]

    device = cli("describe-device", "--managed-device-id", device_id)
    assert device["managedDeviceId"] == device_id
    assert device["managedDeviceArn"] == seeded["managedDeviceArn"]
    assert device["associatedWithJob"] == job
    assert device["deviceType"] == "SNC1_HDD"
    assert device["deviceState"] == "LOCKED"
    assert device["tags"] == {"site": "harbor"}
    assert is_epoch(device["lastReachedOutAt"]) and is_epoch(device["lastUpdatedAt"])

    resources = cli("list-device-resources", "--managed-device-id", device_id, "--type", EC2_INSTANCE)
    assert [(resource["resourceType"], resource["id"]) for resource in resources["resources"]] == [
        (EC2_INSTANCE, INSTANCE_RUNNING["instanceId"]),
        (EC2_INSTANCE, INSTANCE_STOPPED["instanceId"]),
    ]
    for resource in resources["resources"]:
        assert resource["arn"].endswith(f":instance/{resource['id']}")
    paged = cli("list-device-resources", "--managed-device-id", device_id, "--page-size", "1")
    assert paged == resources

    described = cli(
        "describe-device-ec2-instances",
        "--managed-device-id", device_id,
        "--instance-ids", INSTANCE_RUNNING["instanceId"], "s.i-00000000000000000",
    )  # fmt: skip
    assert len(described["instances"]) == 1
    summary = described["instances"][0]
    assert is_epoch(summary["lastUpdatedAt"])
    instance = summary["instance"]
    assert instance["instanceId"] == INSTANCE_RUNNING["instanceId"]
    assert instance["imageId"] == INSTANCE_RUNNING["imageId"]
    assert instance["instanceType"] == INSTANCE_RUNNING["instanceType"]
    assert instance["state"] == {"code": 16, "name": "RUNNING"}
    assert instance["createdAt"] == INSTANCE_RUNNING["createdAt"]
    assert instance["updatedAt"] == INSTANCE_RUNNING["updatedAt"]


def test_the_cli_tags_and_untags_tasks_and_devices_by_arn(cli: Cli) -> None:
    device = add_device(cli.url, tags={"site": "harbor"})
    task_id = cli("create-task", "--targets", device["managedDeviceId"], "--command", '{"reboot": {}}')["taskId"]

    for arn, before in ((task_arn(task_id), {}), (device["managedDeviceArn"], {"site": "harbor"})):
        assert cli("list-tags-for-resource", "--resource-arn", arn) == {"tags": before}
        assert cli("tag-resource", "--resource-arn", arn, "--tags", "env=test,team=field,zone=1") == {}
        assert cli("list-tags-for-resource", "--resource-arn", arn) == {
            "tags": {**before, "env": "test", "team": "field", "zone": "1"}
        }
        assert cli("untag-resource", "--resource-arn", arn, "--tag-keys", "env", "zone", *before) == {}
        assert cli("list-tags-for-resource", "--resource-arn", arn) == {"tags": {"team": "field"}}

    assert cli("describe-task", "--task-id", task_id)["tags"] == {"team": "field"}
    assert cli("describe-device", "--managed-device-id", device["managedDeviceId"])["tags"] == {"team": "field"}


def test_the_cli_reports_an_unknown_task_as_resource_not_found(cli: Cli) -> None:
    done = cli.run("describe-task", "--task-id", UNKNOWN_TASK)

    assert done.returncode != 0
    assert "(ResourceNotFoundException)" in done.stderr
    assert UNKNOWN_TASK in done.stderr
    assert done.stdout == ""
