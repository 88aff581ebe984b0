"""The mock server: every operation over HTTP, JSON on the wire, moto's API beside the service, the
command line, moto's ThreadedMotoServer, and the pytest plugin's fixtures."""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib import resources
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

import moto_snowdevice  # noqa: F401 - registers the service with moto, for ThreadedMotoServer
from moto_snowdevice.pytest_plugin import MockServerProcess

SERVICE = "snow-device-management"
REGION = "us-east-1"
OTHER_REGION = "us-west-2"
DUMMY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
CONTROL = f"/moto-api/{SERVICE}"
EXECUTION_MODEL = "snow-device-management::execution"
REBOOT = {"reboot": {}}
UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa"
OPERATIONS = set(botocore.session.get_session().get_service_model(SERVICE).operation_names)
SAMPLE_FLEET = json.loads(
    resources.files("moto_snowdevice").joinpath("fleets", "sample.json").read_text(encoding="utf-8")
)
# Signed for the service but never sent through botocore, so any path and method can be tried
SIGNED_HEADER = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0"
}


# Helpers


def client_at(url: str, region: str = REGION, **config: Any) -> Any:
    return boto3.client(SERVICE, endpoint_url=url, region_name=region, config=Config(**config), **DUMMY_KEYS)


def signed(method: str, url: str, body: str | None = None) -> requests.Response:
    """A raw request, SigV4-signed for the service as any SDK would sign it."""
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials("testing", "testing"), SERVICE, REGION).add_auth(request)
    return requests.request(method, url, headers=dict(request.headers), data=body, timeout=30)


def post_device(url: str, **entry: Any) -> str:
    response = requests.post(f"{url}{CONTROL}/devices", json={"device": {}, **entry}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["managedDeviceId"]


def device_ids(sdm: Any) -> list[str]:
    return [device["managedDeviceId"] for device in sdm.list_devices()["devices"]]


def task_ids(sdm: Any) -> list[str]:
    return [task["taskId"] for task in sdm.list_tasks()["tasks"]]


def sample_ids(region: str | None = None) -> list[str]:
    return [
        entry["device"]["managedDeviceId"]
        for entry in SAMPLE_FLEET
        if region is None or entry.get("region", REGION) == region
    ]


def assert_json_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == code
    message = response.json()["message"]
    assert isinstance(message, str) and message
    assert "<html" not in response.text.lower()


def set_transition(url: str, transition: dict[str, Any]) -> None:
    response = requests.post(
        f"{url}/moto-api/state-manager/set-transition",
        json={"model_name": EXECUTION_MODEL, "transition": transition},
        timeout=30,
    )
    assert response.status_code == 201


def unset_transition(url: str) -> None:
    response = requests.post(
        f"{url}/moto-api/state-manager/unset-transition", json={"model_name": EXECUTION_MODEL}, timeout=30
    )
    assert response.status_code == 201


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(sdm_server: str) -> Any:
    """A boto3 client of the session's mock server, its state reset."""
    return client_at(sdm_server)


@pytest.fixture
def device(sdm_server: str) -> str:
    return post_device(sdm_server)


# Every operation through the server


def test_tasks_are_created_described_listed_and_canceled_through_the_server(served: Any, device: str) -> None:
    created = served.create_task(targets=[device], command=REBOOT, description="nightly reboot", tags={"a": "1"})
    task_id = created["taskId"]
    assert created["taskArn"].endswith(f":task/{task_id}")

    # CancelTask never moves work, so a task canceled before anyone reads it is still queued and cancelable
    assert served.cancel_task(taskId=task_id)["taskId"] == task_id

    described = served.describe_task(taskId=task_id)
    assert described["state"] == "CANCELED"
    assert described["targets"] == [device]
    assert described["description"] == "nightly reboot"
    assert described["tags"] == {"a": "1"}
    assert served.list_tasks()["tasks"] == [
        {"taskId": task_id, "taskArn": created["taskArn"], "state": "CANCELED", "tags": {"a": "1"}}
    ]


def test_a_new_task_is_described_and_listed_in_progress_through_the_server(served: Any, device: str) -> None:
    created = served.create_task(targets=[device], command=REBOOT, tags={"a": "1"})
    task_id = created["taskId"]

    # Under the default progression the listing reports the work, so the device takes it (one step)
    assert served.list_tasks()["tasks"] == [
        {"taskId": task_id, "taskArn": created["taskArn"], "state": "IN_PROGRESS", "tags": {"a": "1"}}
    ]
    assert served.list_executions(taskId=task_id)["executions"][0]["state"] == "SUCCEEDED"
    assert served.describe_task(taskId=task_id)["state"] == "COMPLETED"


def test_executions_are_listed_and_described_through_the_server(served: Any, device: str) -> None:
    task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]

    # By default each call that reports the work (ListExecutions as DescribeExecution) moves it one step on
    assert served.list_executions(taskId=task_id)["executions"] == [
        {"executionId": "1", "taskId": task_id, "managedDeviceId": device, "state": "IN_PROGRESS"}
    ]
    execution = served.describe_execution(taskId=task_id, managedDeviceId=device)
    assert execution["executionId"] == "1"
    assert (execution["taskId"], execution["managedDeviceId"]) == (task_id, device)
    assert execution["state"] == "SUCCEEDED"
    assert "startedAt" in execution and "lastUpdatedAt" in execution


def test_devices_and_their_instances_are_listed_and_described_through_the_server(served: Any, sdm_server: str) -> None:
    instance = {"instanceId": "s.i-84fa8a27d3e15e111", "state": {"code": 16, "name": "RUNNING"}}
    device = post_device(
        sdm_server,
        device={"deviceType": "SNC1_SSD", "tags": {"site": "harbor"}, "instances": [instance]},
    )

    described = served.describe_device(managedDeviceId=device)
    assert (described["managedDeviceId"], described["deviceType"]) == (device, "SNC1_SSD")
    assert described["tags"] == {"site": "harbor"}
    [summary] = served.list_devices()["devices"]
    assert summary["managedDeviceId"] == device
    assert summary["managedDeviceArn"] == described["managedDeviceArn"]
    assert summary["tags"] == {"site": "harbor"}

    [resource] = served.list_device_resources(managedDeviceId=device)["resources"]
    assert (resource["resourceType"], resource["id"]) == ("AWS::EC2::Instance", "s.i-84fa8a27d3e15e111")
    [found] = served.describe_device_ec2_instances(
        managedDeviceId=device, instanceIds=["s.i-84fa8a27d3e15e111", "s.i-unknown"]
    )["instances"]
    assert found["instance"]["instanceId"] == "s.i-84fa8a27d3e15e111"
    assert found["instance"]["state"] == {"code": 16, "name": "RUNNING"}


def test_a_task_arn_with_colons_and_slashes_is_tagged_untagged_and_listed_through_the_server(
    served: Any, device: str
) -> None:
    task_arn = served.create_task(targets=[device], command=REBOOT, tags={"keep": "k"})["taskArn"]
    assert ":" in task_arn and "/" in task_arn

    served.tag_resource(resourceArn=task_arn, tags={"a": "1", "b": "2", "c": "3"})
    tags = served.list_tags_for_resource(resourceArn=task_arn)["tags"]
    assert tags == {"keep": "k", "a": "1", "b": "2", "c": "3"}
    # tagKeys repeats in the query string: ?tagKeys=a&tagKeys=b
    served.untag_resource(resourceArn=task_arn, tagKeys=["a", "b"])
    assert served.list_tags_for_resource(resourceArn=task_arn)["tags"] == {"keep": "k", "c": "3"}


def test_every_operation_of_the_service_answers_200_in_json_through_the_server(served: Any, device: str) -> None:
    answers: dict[str, tuple[int, str]] = {}

    def record(http_response: Any, model: Any, **kwargs: Any) -> None:
        answers[model.name] = (http_response.status_code, http_response.headers.get("Content-Type"))

    served.meta.events.register(f"after-call.{SERVICE}", record)
    task = served.create_task(targets=[device], command={"unlock": {}})
    served.describe_task(taskId=task["taskId"])
    served.list_tasks()
    served.list_executions(taskId=task["taskId"])
    served.describe_execution(taskId=task["taskId"], managedDeviceId=device)
    served.describe_device(managedDeviceId=device)
    served.list_devices()
    served.list_device_resources(managedDeviceId=device)
    served.describe_device_ec2_instances(managedDeviceId=device, instanceIds=["s.i-none"])
    served.tag_resource(resourceArn=task["taskArn"], tags={"a": "1"})
    served.list_tags_for_resource(resourceArn=task["taskArn"])
    served.untag_resource(resourceArn=task["taskArn"], tagKeys=["a"])
    second = served.create_task(targets=[device], command=REBOOT)
    served.cancel_task(taskId=second["taskId"])

    assert set(answers) == OPERATIONS
    assert set(answers.values()) == {(200, "application/json")}


# Errors and unknown requests are JSON too


def test_a_validation_error_is_400_json_with_its_error_type_and_a_message(sdm_server: str) -> None:
    response = signed("GET", f"{sdm_server}/tasks?maxResults=1000")
    assert_json_error(response, 400, "ValidationException")


def test_a_validation_error_reaches_boto3_as_validation_exception(sdm_server: str) -> None:
    unchecked = client_at(sdm_server, parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        unchecked.list_tasks(maxResults=0)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"


def test_an_unknown_task_is_404_json_resource_not_found(sdm_server: str) -> None:
    response = signed("POST", f"{sdm_server}/task/{UNKNOWN_TASK}")
    assert_json_error(response, 404, "ResourceNotFoundException")
    assert UNKNOWN_TASK in response.json()["message"]


def test_an_unknown_path_signed_for_the_service_is_404_json_not_html(sdm_server: str) -> None:
    response = signed("GET", f"{sdm_server}/no/such/operation")
    assert_json_error(response, 404, "UnknownOperationException")


def test_a_wrong_method_on_a_known_path_is_405_json_not_html(sdm_server: str) -> None:
    response = requests.put(f"{sdm_server}/tasks", headers=SIGNED_HEADER, timeout=30)
    assert_json_error(response, 405, "UnknownOperationException")
    assert "PUT" in response.json()["message"]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["", "/", "/no-such-endpoint", "/faults/extra"])
def test_an_unknown_control_path_at_the_server_is_404_json_not_html(sdm_server: str, method: str, path: str) -> None:
    response = requests.request(method, f"{sdm_server}{CONTROL}{path}", timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert method in response.json()["message"]


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "OPTIONS"])
def test_a_wrong_method_on_a_control_endpoint_at_the_server_is_405_json_not_html(sdm_server: str, method: str) -> None:
    response = requests.request(method, f"{sdm_server}{CONTROL}/devices", timeout=30)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Allow"] == "POST"
    assert method in response.json()["message"]


# moto's API at the server's address


def test_moto_reset_clears_the_devices_and_tasks_of_this_service(served: Any, sdm_server: str, device: str) -> None:
    served.create_task(targets=[device], command=REBOOT)
    post_device(sdm_server, region=OTHER_REGION)

    response = requests.post(f"{sdm_server}/moto-api/reset", timeout=30)

    assert response.status_code == 200
    assert device_ids(served) == []
    assert task_ids(served) == []
    assert device_ids(client_at(sdm_server, OTHER_REGION)) == []


def test_posting_a_device_to_the_server_adds_it_in_the_given_region(served: Any, sdm_server: str) -> None:
    response = requests.post(
        f"{sdm_server}{CONTROL}/devices",
        json={"region": OTHER_REGION, "device": {"deviceType": "SBE1"}},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    device = response.json()["managedDeviceId"]
    arn = response.json()["managedDeviceArn"]
    assert arn == f"arn:aws:{SERVICE}:{OTHER_REGION}:123456789012:managed-device/{device}"
    assert client_at(sdm_server, OTHER_REGION).describe_device(managedDeviceId=device)["deviceType"] == "SBE1"
    assert device_ids(served) == []


def test_posting_an_invalid_device_to_the_server_is_refused_with_400_json(served: Any, sdm_server: str) -> None:
    response = requests.post(f"{sdm_server}{CONTROL}/devices", json={"device": {"deviceState": "MELTED"}}, timeout=30)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "deviceState" in response.json()["message"]
    assert device_ids(served) == []


def test_posting_a_fleet_to_the_server_adds_every_entry(served: Any, sdm_server: str) -> None:
    response = requests.post(
        f"{sdm_server}{CONTROL}/fleet",
        json=[
            {"device": {"managedDeviceId": "smd-first"}},
            {"region": OTHER_REGION, "device": {"managedDeviceId": "smd-second"}},
        ],
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json() == {"managedDeviceIds": ["smd-first", "smd-second"]}
    assert device_ids(served) == ["smd-first"]
    assert device_ids(client_at(sdm_server, OTHER_REGION)) == ["smd-second"]


def test_posting_a_fleet_that_is_not_a_list_is_refused_with_400_json(served: Any, sdm_server: str) -> None:
    response = requests.post(f"{sdm_server}{CONTROL}/fleet", json={"device": {}}, timeout=30)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "list" in response.json()["message"]
    assert device_ids(served) == []


def test_advance_execution_at_the_server_completes_the_task(served: Any, sdm_server: str, device: str) -> None:
    task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]

    response = requests.post(
        f"{sdm_server}{CONTROL}/advance-execution",
        json={"taskId": task_id, "managedDeviceId": device, "state": "SUCCEEDED"},
        timeout=30,
    )

    assert response.status_code == 200
    assert response.json() == {"taskId": task_id, "managedDeviceId": device, "state": "SUCCEEDED"}
    assert served.describe_task(taskId=task_id)["state"] == "COMPLETED"


def test_advance_execution_at_the_server_refuses_an_unknown_state_with_400_json(
    served: Any, sdm_server: str, device: str
) -> None:
    task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]

    response = requests.post(
        f"{sdm_server}{CONTROL}/advance-execution",
        json={"taskId": task_id, "managedDeviceId": device, "state": "DONE"},
        timeout=30,
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "DONE" in response.json()["message"]
    # Still queued: only queued work can be canceled, and CancelTask itself never moves work
    assert served.cancel_task(taskId=task_id)["taskId"] == task_id
    assert served.list_executions(taskId=task_id)["executions"][0]["state"] == "CANCELED"


def test_cancel_race_at_the_server_lets_the_device_take_the_task_before_the_cancel(
    served: Any, sdm_server: str, device: str
) -> None:
    response = requests.post(
        f"{sdm_server}{CONTROL}/cancel-race", json={"enabled": True, "managedDeviceId": device}, timeout=30
    )
    assert response.status_code == 200
    assert response.json() == {"enabled": True}
    task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]

    assert served.cancel_task(taskId=task_id)["taskId"] == task_id

    # The device took the work before the cancel landed, so it runs on: the first read ends it
    assert served.describe_task(taskId=task_id)["state"] == "COMPLETED"
    assert served.list_executions(taskId=task_id)["executions"][0]["state"] == "SUCCEEDED"


def test_cancel_race_at_the_server_refuses_a_non_boolean_with_400_json(sdm_server: str) -> None:
    response = requests.post(f"{sdm_server}{CONTROL}/cancel-race", json={"enabled": "yes"}, timeout=30)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert "enabled" in response.json()["message"]


def test_the_state_managers_immediate_transition_completes_a_new_task_until_unset(
    served: Any, sdm_server: str, device: str
) -> None:
    set_transition(sdm_server, {"progression": "immediate"})
    try:
        task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]
        assert served.describe_task(taskId=task_id)["state"] == "COMPLETED"
        assert served.list_executions(taskId=task_id)["executions"][0]["state"] == "SUCCEEDED"
    finally:
        unset_transition(sdm_server)

    # Back to the default: one step per call that reports the work, not the whole run at once
    task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]
    assert served.list_executions(taskId=task_id)["executions"][0]["state"] == "IN_PROGRESS"
    assert served.describe_task(taskId=task_id)["state"] == "COMPLETED"


def test_moto_data_json_lists_the_tasks_and_managed_devices_of_the_service(
    served: Any, sdm_server: str, device: str
) -> None:
    task_id = served.create_task(targets=[device], command=REBOOT)["taskId"]

    response = requests.get(f"{sdm_server}/moto-api/data.json", timeout=30)

    assert response.status_code == 200
    models = response.json()[SERVICE]
    assert [task["task_id"] for task in models["Task"]] == [task_id]
    assert [managed["managed_device_id"] for managed in models["ManagedDevice"]] == [device]


def test_other_moto_services_are_served_at_the_same_address(sdm_server: str) -> None:
    s3 = boto3.client("s3", endpoint_url=sdm_server, region_name=REGION, **DUMMY_KEYS)
    sqs = boto3.client("sqs", endpoint_url=sdm_server, region_name=REGION, **DUMMY_KEYS)

    s3.create_bucket(Bucket="snow-device-logs")
    queue_url = sqs.create_queue(QueueName="snow-device-events")["QueueUrl"]

    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == ["snow-device-logs"]
    assert sqs.list_queues()["QueueUrls"] == [queue_url]


# The command line


def test_the_command_line_seeds_the_sample_fleet_in_each_region() -> None:
    with MockServerProcess("--fleet", "sample") as server:
        assert device_ids(client_at(server.url, REGION)) == sample_ids(REGION)
        assert device_ids(client_at(server.url, OTHER_REGION)) == sample_ids(OTHER_REGION)
    assert (len(sample_ids(REGION)), len(sample_ids(OTHER_REGION))) == (2, 1)
    assert server.returncode == 0


def test_the_command_line_refuses_an_unknown_fleet_with_one_line_and_no_traceback() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "moto_snowdevice", "-p", "0", "--fleet", "does-not-exist"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert "Traceback" not in finished.stderr
    [line] = finished.stderr.strip().splitlines()
    assert "does-not-exist" in line
    assert "listening" not in finished.stdout


def test_the_console_script_prints_its_help() -> None:
    script = shutil.which("moto-snowdevice-server") or os.path.join(
        os.path.dirname(sys.executable), "moto-snowdevice-server"
    )
    finished = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0
    for flag in ("--host", "--port", "--fleet"):
        assert flag in finished.stdout


# moto's ThreadedMotoServer, in-process


@pytest.fixture(scope="module")
def threaded_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=30)
        server.stop()


def test_threaded_moto_server_serves_the_service_after_import(threaded_server: str) -> None:
    # Nothing but `import moto_snowdevice` (above) tells moto's own server about the service
    sdm = client_at(threaded_server)
    device = post_device(threaded_server)

    task_id = sdm.create_task(targets=[device], command=REBOOT)["taskId"]

    assert task_ids(sdm) == [task_id]


def test_threaded_moto_server_answers_an_unknown_path_with_json_404(threaded_server: str) -> None:
    response = signed("GET", f"{threaded_server}/no/such/operation")
    assert_json_error(response, 404, "UnknownOperationException")


# The pytest plugin


def test_the_plugins_fixtures_serve_a_test_file(pytester: pytest.Pytester) -> None:
    fleet = pytester.makefile(
        ".json",
        marked_fleet=json.dumps(
            [
                {"device": {"managedDeviceId": "smd-markedfleet0001", "deviceType": "SBE1"}},
                {"region": "eu-west-1", "device": {"managedDeviceId": "smd-markedfleet0002"}},
            ]
        ),
    )
    source = textwrap.dedent(
        """
        import boto3
        import pytest
        import requests

        import moto_snowdevice

        SAMPLE_IDS = @SAMPLE_IDS@
        SAMPLE_US_EAST_1_IDS = @SAMPLE_US_EAST_1_IDS@


        def test_sdm_client_creates_a_task_on_an_added_device(sdm_client):
            device = moto_snowdevice.add_device()
            task_id = sdm_client.create_task(targets=[device], command={"reboot": {}})["taskId"]
            assert sdm_client.describe_task(taskId=task_id)["targets"] == [device]
            assert sdm_client.meta.region_name == "us-east-1"


        def test_sdm_fleet_seeds_the_sample_fleet(sdm_fleet, sdm_client):
            assert sdm_fleet == SAMPLE_IDS
            devices = sdm_client.list_devices()["devices"]
            assert [device["managedDeviceId"] for device in devices] == SAMPLE_US_EAST_1_IDS


        @pytest.mark.sdm_fleet(@FLEET@)
        def test_sdm_fleet_seeds_the_marked_fleet_file(sdm_fleet, sdm_client):
            assert sdm_fleet == ["smd-markedfleet0001", "smd-markedfleet0002"]
            devices = sdm_client.list_devices()["devices"]
            assert [device["managedDeviceId"] for device in devices] == ["smd-markedfleet0001"]


        def test_sdm_server_serves_the_service(sdm_server):
            sdm = boto3.client(
                "snow-device-management", endpoint_url=sdm_server, region_name="us-east-1",
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
            assert sdm.list_tasks()["tasks"] == []
            response = requests.post(sdm_server + "/moto-api/snow-device-management/devices", json={})
            device = response.json()["managedDeviceId"]
            assert [d["managedDeviceId"] for d in sdm.list_devices()["devices"]] == [device]
        """
    )
    source = (
        source.replace("@SAMPLE_IDS@", repr(sample_ids()))
        .replace("@SAMPLE_US_EAST_1_IDS@", repr(sample_ids(REGION)))
        .replace("@FLEET@", repr(str(fleet)))
    )
    pytester.makepyfile(test_plugin_fixtures=source)

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)

    result.assert_outcomes(passed=4)


def test_sdm_client_state_does_not_leak_from_one_test_to_the_next(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_isolation="""
        import moto_snowdevice


        def test_first_seeds_a_fleet_and_creates_a_task(sdm_fleet, sdm_client):
            moto_snowdevice.add_device({"managedDeviceId": "smd-leftover"})
            sdm_client.create_task(targets=["smd-leftover"], command={"reboot": {}})
            assert len(sdm_client.list_devices()["devices"]) == 3


        def test_second_sees_no_device_and_no_task(sdm_client):
            assert sdm_client.list_devices()["devices"] == []
            assert sdm_client.list_tasks()["tasks"] == []
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)

    result.assert_outcomes(passed=2)


@pytest.mark.decorator_mode
def test_the_plugins_fixtures_work_under_pytest_xdist_with_a_server_per_worker(
    pytester: pytest.Pytester,
) -> None:
    # Each test creates the same task names in its own mock and its own (or a reset) server:
    # shared ports, files or state between workers would make some of them fail
    pytester.makepyfile(
        test_parallel="""
        import boto3
        import pytest
        import requests

        import moto_snowdevice


        @pytest.mark.parametrize("round", range(8))
        def test_in_process_and_server_state_belong_to_this_test(round, sdm_client, sdm_server):
            device = moto_snowdevice.add_device({"managedDeviceId": "smd-parallel000001"})
            sdm_client.create_task(targets=[device], command={"reboot": {}})
            assert len(sdm_client.list_tasks()["tasks"]) == 1

            requests.post(
                f"{sdm_server}/moto-api/snow-device-management/devices",
                json={"device": {"managedDeviceId": "smd-parallel000001"}},
                timeout=30,
            ).raise_for_status()
            served = boto3.client(
                "snow-device-management", region_name="us-east-1", endpoint_url=sdm_server,
                aws_access_key_id="testing", aws_secret_access_key="testing",
            )
            served.create_task(targets=["smd-parallel000001"], command={"reboot": {}})
            assert len(served.list_tasks()["tasks"]) == 1
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=300)

    result.assert_outcomes(passed=8)
