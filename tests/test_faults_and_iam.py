"""Injected faults (the Python functions and their HTTP twins), moto's IAM enforcement with task and
managed-device ARNs as resources, and isolation between accounts and regions."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID, set_initial_no_auth_action_count

import moto_snowdevice
from moto_snowdevice import clear_faults, inject_fault
from moto_snowdevice._moto import iam_enforced, mock_random
from moto_snowdevice._shapes import ERROR_STATUS
from moto_snowdevice.exceptions import ValidationException
from moto_snowdevice.models import snowdevicemanagement_backends
from moto_snowdevice.pytest_plugin import MockServerProcess

from helpers import device_arn, refused, task_arn

SERVICE = "snow-device-management"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
OTHER_ACCOUNT = "111122223333"
REBOOT = {"reboot": {}}
FAULTS_PATH = f"/moto-api/{SERVICE}/faults"
FAULTS_URL = f"http://motoapi.amazonaws.com{FAULTS_PATH}"
DUMMY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# One attempt in all. botocore reads retries' max_attempts as retries after the first attempt
# (max_attempts 1 is total_max_attempts 2), so only total_max_attempts 1 turns retrying off
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
USER = "operator"
ALLOW_ALL = {"Effect": "Allow", "Action": "snow-device-management:*", "Resource": "*"}
# The IAM calls that set up one user: CreateUser, PutUserPolicy (when it has one), CreateAccessKey
SETUP_WITH_POLICY = 3
SETUP_WITHOUT_POLICY = 2


# Helpers


def client(region: str = REGION, config: Config = NO_RETRY, **keys: Any) -> Any:
    return boto3.client(SERVICE, region_name=region, config=config, **keys)


def new_task(sdm: Any, device: str, **params: Any) -> str:
    return sdm.create_task(targets=[device], command=REBOOT, **params)["taskId"]


def task_ids(sdm: Any) -> list[str]:
    return [task["taskId"] for task in sdm.list_tasks()["tasks"]]


def held_states(task_id: str) -> list[str]:
    """The task's execution states as this process's model holds them: a look that reports no work, so moves none
    (every API read of a task reports its work, and under moto's manual progression moves it a step)."""
    task = snowdevicemanagement_backends[DEFAULT_ACCOUNT_ID][REGION].get_task(task_id)
    return [str(execution.state) for execution in task.executions]


def outcomes(sdm: Any, calls: int) -> list[bool]:
    """For each of `calls` ListTasks calls: whether it succeeded (a failure must be the injected one)."""
    results = []
    for _ in range(calls):
        try:
            sdm.list_tasks()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException"
            results.append(False)
        else:
            results.append(True)
    return results


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def iam_user_keys(iam: Any, name: str = USER, statements: tuple[dict[str, Any], ...] = ()) -> dict[str, str]:
    """An IAM user with an inline policy of `statements` (none: no policy at all) and its access key."""
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="snow", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def user_client(*statements: dict[str, Any]) -> Any:
    """A client of a new IAM user; the setup calls use up the initial no-auth count exactly."""
    keys = iam_user_keys(boto3.client("iam", region_name=REGION), statements=statements)
    # From here on moto checks every call's signature and policy
    assert iam_enforced()
    return client(**keys)


def server_client(url: str, **keys: str) -> Any:
    """A client of a mock server in its own process; dummy keys unless others are given."""
    keys = keys or DUMMY_KEYS
    return boto3.client(SERVICE, endpoint_url=url, region_name=REGION, config=NO_RETRY, **keys)


def signed(method: str, url: str, access_key: str, secret_key: str) -> requests.Response:
    """A raw bodiless request, SigV4-signed for the service with the given keys."""
    request = AWSRequest(method=method, url=url)
    SigV4Auth(Credentials(access_key, secret_key), SERVICE, REGION).add_auth(request)
    return requests.request(method, url, headers=dict(request.headers), timeout=30)


@contextmanager
def mock_server(env: dict[str, str]) -> Iterator[str]:
    """A mock server in its own process with extra environment; yields its URL."""
    with MockServerProcess(env=env) as server:
        yield server.url


@pytest.fixture
def seeded() -> Iterator[None]:
    """Lets a test seed moto's random source; afterwards it is unpredictable again."""
    yield
    mock_random.seed()


@pytest.fixture
def task(aws: None, device: str) -> str:
    return new_task(client(), device)


@pytest.fixture
def two_tasks(aws: None, device: str) -> list[str]:
    sdm = client()
    return [new_task(sdm, device), new_task(sdm, device)]


@pytest.fixture
def two_devices(aws: None) -> list[str]:
    return [moto_snowdevice.add_device(), moto_snowdevice.add_device()]


# Fault injection: what a fault does to the next calls


def test_a_client_with_total_max_attempts_one_sends_each_call_once(aws: None, task: str) -> None:
    inject_fault("DescribeTask", "ThrottlingException", count=2)
    sdm = client()
    with refused("ThrottlingException", 429) as error:
        sdm.describe_task(taskId=task)
    assert error["ResponseMetadata"]["RetryAttempts"] == 0
    # One attempt used one of the two injected failures, so the second call meets the other
    with refused("ThrottlingException", 429):
        sdm.describe_task(taskId=task)
    assert sdm.describe_task(taskId=task)["taskId"] == task


def test_a_client_with_max_attempts_one_retries_once_and_hides_a_single_fault(aws: None, task: str) -> None:
    inject_fault("DescribeTask", "ThrottlingException")
    sdm = client(config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    described = sdm.describe_task(taskId=task)
    assert described["taskId"] == task
    assert described["ResponseMetadata"]["RetryAttempts"] == 1


def test_an_injected_internal_error_fails_the_next_describe_task_and_the_call_after_succeeds(
    aws: None, task: str
) -> None:
    inject_fault("DescribeTask", "InternalServerException")
    sdm = client()
    with refused("InternalServerException", 500) as error:
        sdm.describe_task(taskId=task)
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "InternalServerException"
    described = sdm.describe_task(taskId=task)
    assert described["taskId"] == task
    assert described["state"] == "IN_PROGRESS"


def test_a_fault_with_count_three_fails_exactly_three_calls(aws: None, task: str) -> None:
    inject_fault("DescribeTask", "InternalServerException", count=3)
    sdm = client()
    for _ in range(3):
        with refused("InternalServerException", 500):
            sdm.describe_task(taskId=task)
    assert sdm.describe_task(taskId=task)["taskId"] == task
    assert sdm.describe_task(taskId=task)["taskId"] == task


@pytest.mark.parametrize(("error", "status"), [("ThrottlingException", 429), ("AccessDeniedException", 403)])
def test_an_injected_error_reaches_the_client_with_its_documented_status(
    aws: None, task: str, error: str, status: int
) -> None:
    inject_fault("DescribeTask", error)
    sdm = client()
    with refused(error, status) as response:
        sdm.describe_task(taskId=task)
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == error
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    assert response["Error"]["Message"]
    assert sdm.describe_task(taskId=task)["taskId"] == task


def test_an_injected_service_quota_error_fails_create_task_with_402_and_creates_nothing(aws: None, device: str) -> None:
    inject_fault("CreateTask", "ServiceQuotaExceededException")
    sdm = client()
    with refused("ServiceQuotaExceededException", 402):
        new_task(sdm, device)
    assert task_ids(sdm) == []


# Fault injection: messages


def test_an_injected_fault_carries_the_message_the_test_gives(aws: None, task: str) -> None:
    inject_fault("DescribeTask", "InternalServerException", message="Device fleet database unavailable")
    with refused("InternalServerException", 500) as error:
        client().describe_task(taskId=task)
    assert error["Error"]["Message"] == "Device fleet database unavailable"


@pytest.mark.parametrize(
    ("operation", "error", "message"),
    [
        ("DescribeTask", "ThrottlingException", "Rate exceeded"),
        ("DescribeTask", "InternalServerException", "An unexpected error occurred while processing the request."),
        ("DescribeTask", "ResourceNotFoundException", "The request references a resource that doesn't exist."),
        (
            "DescribeTask",
            "ValidationException",
            "The input fails to satisfy the constraints specified by an Amazon Web Services service.",
        ),
        (
            "CreateTask",
            "ServiceQuotaExceededException",
            "The request would cause a service quota to be exceeded.",
        ),
        (
            "DescribeTask",
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: "
            "snow-device-management:DescribeTask because no identity-based policy allows the "
            "snow-device-management:DescribeTask action",
        ),
    ],
    ids=["throttling", "internal", "not-found", "validation", "quota", "access-denied"],
)
def test_an_injected_fault_without_a_message_reads_as_aws_words_it(
    aws: None, device: str, operation: str, error: str, message: str
) -> None:
    inject_fault(operation, error)
    sdm = client()
    with refused(error, ERROR_STATUS[error]) as response:
        if operation == "CreateTask":
            new_task(sdm, device)
        else:
            sdm.describe_task(taskId="st-ficthmqoc2pht111")
    assert response["Error"]["Message"] == message
    assert "unspecified" not in message


@pytest.mark.parametrize(
    "message", ["", "x" * 1025, 42, ["Rate exceeded"]], ids=["empty", "too-long", "number", "list"]
)
def test_an_injected_message_that_is_no_string_of_1_to_1024_characters_is_refused(
    aws: None, task: str, message: Any
) -> None:
    with pytest.raises(ValidationException, match="message"):
        inject_fault("DescribeTask", "ThrottlingException", message=message)
    assert client().describe_task(taskId=task)["taskId"] == task


# Fault injection: a failed call changes nothing


def test_a_create_task_failed_by_a_fault_creates_nothing_and_its_client_token_stays_free(
    aws: None, device: str, task: str
) -> None:
    sdm = client()
    inject_fault("CreateTask", "InternalServerException")
    with refused("InternalServerException", 500):
        new_task(sdm, device, clientToken="token-1", tags={"team": "a"})
    assert task_ids(sdm) == [task]
    created = new_task(sdm, device, clientToken="token-1", tags={"team": "a"})
    assert created != task
    assert task_ids(sdm) == [task, created]
    assert sdm.describe_task(taskId=created)["tags"] == {"team": "a"}
    # The token now belongs to the task it created
    assert new_task(sdm, device, clientToken="token-1", tags={"team": "a"}) == created
    assert task_ids(sdm) == [task, created]


def test_a_cancel_task_failed_by_a_fault_leaves_the_task_in_progress_and_cancelable(
    aws: None, device: str, task: str
) -> None:
    sdm = client()
    inject_fault("CancelTask", "ThrottlingException")
    with refused("ThrottlingException", 429):
        sdm.cancel_task(taskId=task)
    # No call that reports work came between, so only the failed cancel could have changed the task: a cancel
    # succeeds only while the task is IN_PROGRESS with every execution QUEUED
    assert sdm.cancel_task(taskId=task)["taskId"] == task
    assert sdm.describe_task(taskId=task)["state"] == "CANCELED"
    executions = sdm.list_executions(taskId=task)["executions"]
    assert [execution["state"] for execution in executions] == ["CANCELED"]


def test_boto3_retries_recover_from_two_injected_throttling_errors(aws: None) -> None:
    inject_fault("ListTasks", "ThrottlingException", count=2)
    listed = boto3.client(SERVICE, region_name=REGION).list_tasks()
    assert listed["tasks"] == []
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert listed["ResponseMetadata"]["RetryAttempts"] == 2


# Fault injection: by chance


@pytest.mark.decorator_mode
def test_a_fault_by_chance_fails_some_calls_and_repeats_its_sequence_under_the_same_seed(
    aws: None, seeded: None
) -> None:
    sdm = client()
    mock_random.seed(7)
    inject_fault("ListTasks", "ThrottlingException", probability=0.5)
    first = outcomes(sdm, 40)
    assert 0 < first.count(False) < 40
    clear_faults()
    mock_random.seed(7)
    inject_fault("ListTasks", "ThrottlingException", probability=0.5)
    assert outcomes(sdm, 40) == first


@pytest.mark.decorator_mode
def test_seeding_through_moto_api_gives_the_same_sequence_as_seeding_in_python(aws: None, seeded: None) -> None:
    sdm = client()
    mock_random.seed(11)
    inject_fault("ListTasks", "ThrottlingException", probability=0.5)
    first = outcomes(sdm, 40)
    clear_faults()
    assert requests.post("http://motoapi.amazonaws.com/moto-api/seed?a=11", timeout=30).status_code == 200
    inject_fault("ListTasks", "ThrottlingException", probability=0.5)
    assert outcomes(sdm, 40) == first


def test_a_fault_with_probability_one_fails_every_call_until_cleared(aws: None) -> None:
    sdm = client()
    inject_fault("ListTasks", "ThrottlingException", probability=1)
    assert outcomes(sdm, 20) == [False] * 20
    clear_faults()
    assert outcomes(sdm, 3) == [True] * 3


def test_a_fault_with_probability_one_and_count_two_fails_exactly_two_calls(aws: None) -> None:
    inject_fault("ListTasks", "ThrottlingException", count=2, probability=1)
    assert outcomes(client(), 5) == [False, False, True, True, True]


# Fault injection: scope


def test_a_fault_on_describe_task_leaves_list_tasks_alone(aws: None, task: str) -> None:
    inject_fault("DescribeTask", "InternalServerException")
    sdm = client()
    assert task_ids(sdm) == [task]
    with refused("InternalServerException", 500):
        sdm.describe_task(taskId=task)


@pytest.mark.decorator_mode
def test_a_fault_injected_in_another_region_leaves_this_region_alone(aws: None) -> None:
    inject_fault("ListTasks", "ThrottlingException", region_name=OTHER_REGION)
    assert outcomes(client(REGION), 2) == [True, True]
    assert outcomes(client(OTHER_REGION), 2) == [False, True]


@pytest.mark.decorator_mode
def test_a_fault_injected_in_another_account_leaves_this_account_alone(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_fault("ListTasks", "ThrottlingException", account_id=OTHER_ACCOUNT)
    assert outcomes(client(), 2) == [True, True]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    assert outcomes(client(), 2) == [False, True]


def test_clearing_the_faults_of_one_operation_keeps_those_of_the_others(aws: None, task: str) -> None:
    inject_fault("DescribeTask", "InternalServerException", count=5)
    inject_fault("ListTasks", "ThrottlingException")
    clear_faults("DescribeTask")
    sdm = client()
    assert sdm.describe_task(taskId=task)["taskId"] == task
    with refused("ThrottlingException", 429):
        sdm.list_tasks()


@pytest.mark.decorator_mode
def test_clearing_faults_in_one_region_keeps_those_of_another(aws: None) -> None:
    inject_fault("ListTasks", "ThrottlingException", probability=1)
    inject_fault("ListTasks", "ThrottlingException", probability=1, region_name=OTHER_REGION)
    clear_faults(region_name=OTHER_REGION)
    assert outcomes(client(OTHER_REGION), 1) == [True]
    assert outcomes(client(REGION), 1) == [False]


def test_leaving_mock_aws_resets_the_injected_faults() -> None:
    with mock_aws():
        inject_fault("ListTasks", "ThrottlingException", probability=1)
        assert outcomes(client(), 1) == [False]
    with mock_aws():
        assert outcomes(client(), 2) == [True, True]


# Fault injection: refused


@pytest.mark.parametrize(
    ("operation", "error", "options"),
    [
        ("RebootDevice", "ThrottlingException", {}),
        ("TagResource", "ThrottlingException", {}),
        ("DescribeTask", "NoSuchException", {}),
        ("DescribeTask", "ThrottlingException", {"count": 0}),
        ("DescribeTask", "ThrottlingException", {"probability": 0}),
        ("DescribeTask", "ThrottlingException", {"probability": 1.5}),
    ],
    ids=[
        "unknown-operation",
        "undocumented-error",
        "unknown-error",
        "count-0",
        "probability-0",
        "probability-1.5",
    ],
)
def test_an_injection_the_service_model_does_not_allow_is_refused_and_injects_nothing(
    aws: None, task: str, operation: str, error: str, options: dict[str, Any]
) -> None:
    with pytest.raises(ValidationException) as caught:
        inject_fault(operation, error, **options)
    assert caught.value.code == "ValidationException"
    assert caught.value.message
    assert client().describe_task(taskId=task)["taskId"] == task


# Fault injection: the HTTP twin


@pytest.mark.decorator_mode
def test_posting_a_fault_to_moto_api_in_process_fails_the_next_call(aws: None, task: str) -> None:
    fault = {"operation": "DescribeTask", "error": "ThrottlingException"}
    posted = requests.post(FAULTS_URL, json=fault, timeout=30)
    assert posted.status_code == 200
    assert posted.json() == fault
    sdm = client()
    with refused("ThrottlingException", 429):
        sdm.describe_task(taskId=task)
    assert sdm.describe_task(taskId=task)["taskId"] == task


@pytest.mark.decorator_mode
def test_posting_a_fault_with_a_message_in_process_fails_the_next_call_with_it(aws: None, task: str) -> None:
    fault = {"operation": "DescribeTask", "error": "ThrottlingException", "message": "Slow down, harbor"}
    posted = requests.post(FAULTS_URL, json=fault, timeout=30)
    assert posted.status_code == 200
    with refused("ThrottlingException", 429) as error:
        client().describe_task(taskId=task)
    assert error["Error"]["Message"] == "Slow down, harbor"


@pytest.mark.decorator_mode
def test_posting_a_fault_with_count_and_region_in_process_applies_to_that_region_only(aws: None) -> None:
    posted = requests.post(
        FAULTS_URL,
        json={"operation": "ListTasks", "error": "ThrottlingException", "count": 2, "region": OTHER_REGION},
        timeout=30,
    )
    assert posted.status_code == 200
    assert outcomes(client(REGION), 1) == [True]
    assert outcomes(client(OTHER_REGION), 3) == [False, False, True]


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '["DescribeTask", "ThrottlingException"]',
        '{"operation": "DescribeTask"}',
        '{"operation": "TagResource", "error": "ThrottlingException"}',
        '{"operation": "DescribeTask", "error": "ThrottlingException", "count": 0}',
        '{"operation": "DescribeTask", "error": "ThrottlingException", "probability": 2}',
        '{"operation": "DescribeTask", "error": "ThrottlingException", "accountId": "abc"}',
        '{"operation": "DescribeTask", "error": "ThrottlingException", "message": 7}',
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-error",
        "undocumented-error",
        "count-0",
        "probability-2",
        "bad-account",
        "message-not-a-string",
    ],
)
def test_posting_an_invalid_fault_in_process_is_refused_with_400_json_and_injects_nothing(
    aws: None, task: str, body: str
) -> None:
    posted = requests.post(FAULTS_URL, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert posted.status_code == 400
    assert posted.headers["Content-Type"] == "application/json"
    message = posted.json()["message"]
    assert isinstance(message, str) and message
    assert client().describe_task(taskId=task)["taskId"] == task


@pytest.mark.decorator_mode
def test_deleting_faults_in_process_clears_every_fault(aws: None, task: str) -> None:
    inject_fault("ListTasks", "ThrottlingException", count=5)
    inject_fault("DescribeTask", "InternalServerException", probability=1)
    deleted = requests.delete(FAULTS_URL, json={}, timeout=30)
    assert deleted.status_code == 200
    assert deleted.json() == {}
    sdm = client()
    assert task_ids(sdm) == [task]
    assert sdm.describe_task(taskId=task)["taskId"] == task


@pytest.mark.decorator_mode
def test_deleting_the_faults_of_one_operation_in_process_keeps_the_others(aws: None, task: str) -> None:
    inject_fault("ListTasks", "ThrottlingException")
    inject_fault("DescribeTask", "InternalServerException")
    assert requests.delete(FAULTS_URL, json={"operation": "ListTasks"}, timeout=30).status_code == 200
    sdm = client()
    assert task_ids(sdm) == [task]
    with refused("InternalServerException", 500):
        sdm.describe_task(taskId=task)


@pytest.mark.decorator_mode
def test_deleting_faults_in_process_with_an_operation_that_is_not_a_string_is_refused_with_400_json(
    aws: None,
) -> None:
    inject_fault("ListTasks", "ThrottlingException")
    deleted = requests.delete(FAULTS_URL, json={"operation": ["ListTasks"]}, timeout=30)
    assert deleted.status_code == 400
    assert deleted.headers["Content-Type"] == "application/json"
    assert deleted.json()["message"]
    assert outcomes(client(), 2) == [False, True]


@pytest.mark.own_server
def test_posting_a_fault_to_the_server_fails_the_next_call_of_a_boto3_client(sdm_server: str) -> None:
    fault = {"operation": "ListTasks", "error": "ThrottlingException"}
    posted = requests.post(f"{sdm_server}{FAULTS_PATH}", json=fault, timeout=30)
    assert posted.status_code == 200
    sdm = server_client(sdm_server)
    with refused("ThrottlingException", 429) as error:
        sdm.list_tasks()
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ThrottlingException"
    assert sdm.list_tasks()["tasks"] == []


def test_posting_an_invalid_fault_to_the_server_is_refused_with_400_json(sdm_server: str) -> None:
    fault = {"operation": "TagResource", "error": "ThrottlingException"}
    posted = requests.post(f"{sdm_server}{FAULTS_PATH}", json=fault, timeout=30)
    assert posted.status_code == 400
    assert posted.headers["Content-Type"] == "application/json"
    assert "TagResource" in posted.json()["message"]


@pytest.mark.own_server
def test_deleting_faults_at_the_server_clears_them(sdm_server: str) -> None:
    faults = f"{sdm_server}{FAULTS_PATH}"
    body = {"operation": "ListTasks", "error": "InternalServerException", "probability": 1}
    assert requests.post(faults, json=body, timeout=30).status_code == 200
    sdm = server_client(sdm_server)
    with refused("InternalServerException", 500):
        sdm.list_tasks()
    assert requests.delete(faults, json={}, timeout=30).status_code == 200
    assert sdm.list_tasks()["tasks"] == []


def test_deleting_faults_at_the_server_with_an_operation_that_is_not_a_string_is_refused_with_400_json(
    sdm_server: str,
) -> None:
    faults = f"{sdm_server}{FAULTS_PATH}"
    fault = {"operation": "ListTasks", "error": "ThrottlingException"}
    assert requests.post(faults, json=fault, timeout=30).status_code == 200
    deleted = requests.delete(faults, json={"operation": ["ListTasks"]}, timeout=30)
    assert deleted.status_code == 400
    assert deleted.headers["Content-Type"] == "application/json"
    assert deleted.json()["message"]


@pytest.mark.own_server
def test_moto_reset_at_the_server_clears_the_faults(sdm_server: str) -> None:
    body = {"operation": "ListTasks", "error": "InternalServerException", "probability": 1}
    assert requests.post(f"{sdm_server}{FAULTS_PATH}", json=body, timeout=30).status_code == 200
    assert requests.post(f"{sdm_server}/moto-api/reset", timeout=30).status_code == 200
    sdm = server_client(sdm_server)
    assert sdm.list_tasks()["tasks"] == []


# IAM: the decorator resets moto's request count when the test starts, so the fixtures' calls are
# not counted and the initial no-auth count is exactly the IAM setup of the test itself


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITH_POLICY)
def test_a_policy_allowing_every_action_lets_bodiless_json_and_delete_requests_through(aws: None, device: str) -> None:
    sdm = user_client(ALLOW_ALL)
    created = sdm.create_task(targets=[device], command=REBOOT, tags={"team": "a", "env": "test"})
    # Canceled before any read reports its work, so still queued and cancelable
    assert sdm.cancel_task(taskId=created["taskId"])["taskId"] == created["taskId"]
    assert [summary["taskId"] for summary in sdm.list_tasks()["tasks"]] == [created["taskId"]]
    assert sdm.describe_task(taskId=created["taskId"])["state"] == "CANCELED"
    sdm.untag_resource(resourceArn=created["taskArn"], tagKeys=["team"])
    assert sdm.list_tags_for_resource(resourceArn=created["taskArn"])["tags"] == {"env": "test"}


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITHOUT_POLICY)
def test_a_user_without_a_policy_is_refused_with_access_denied_403_in_json(aws: None, task: str) -> None:
    sdm = user_client()
    with refused("AccessDeniedException", 403) as error:
        sdm.list_tasks()
    headers = error["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    assert headers["content-type"] == "application/json"
    assert "snow-device-management:ListTasks" in error["Error"]["Message"]
    with refused("AccessDeniedException", 403):
        sdm.describe_task(taskId=task)
    with refused("AccessDeniedException", 403):
        sdm.create_task(targets=["smd-aaaaaaaaaaaaaaaa"], command=REBOOT)


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITH_POLICY)
def test_an_explicit_deny_of_cancel_task_beats_an_allow_of_every_action(aws: None, task: str) -> None:
    sdm = user_client(ALLOW_ALL, {"Effect": "Deny", "Action": "snow-device-management:CancelTask", "Resource": "*"})
    with refused("AccessDeniedException", 403):
        sdm.cancel_task(taskId=task)
    assert held_states(task) == ["QUEUED"]
    assert sdm.describe_task(taskId=task)["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITH_POLICY)
def test_a_policy_scoped_to_one_task_arn_allows_that_task_and_denies_another(aws: None, two_tasks: list[str]) -> None:
    allowed, other = two_tasks
    sdm = user_client(
        {"Effect": "Allow", "Action": "snow-device-management:DescribeTask", "Resource": task_arn(allowed)}
    )
    assert sdm.describe_task(taskId=allowed)["taskArn"] == task_arn(allowed)
    with refused("AccessDeniedException", 403):
        sdm.describe_task(taskId=other)


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITH_POLICY)
def test_a_policy_scoped_to_one_managed_device_arn_allows_that_device_and_denies_another(
    aws: None, two_devices: list[str]
) -> None:
    allowed, other = two_devices
    sdm = user_client(
        {
            "Effect": "Allow",
            "Action": "snow-device-management:DescribeDevice",
            "Resource": device_arn(allowed),
        }
    )
    assert sdm.describe_device(managedDeviceId=allowed)["managedDeviceArn"] == device_arn(allowed)
    with refused("AccessDeniedException", 403):
        sdm.describe_device(managedDeviceId=other)


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITH_POLICY)
def test_a_policy_scoped_to_a_task_arn_covers_its_tags(aws: None, two_tasks: list[str]) -> None:
    allowed, other = two_tasks
    sdm = user_client(
        {"Effect": "Allow", "Action": "snow-device-management:TagResource", "Resource": task_arn(allowed)},
        {"Effect": "Allow", "Action": "snow-device-management:ListTagsForResource", "Resource": "*"},
    )
    sdm.tag_resource(resourceArn=task_arn(allowed), tags={"team": "a"})
    with refused("AccessDeniedException", 403):
        sdm.tag_resource(resourceArn=task_arn(other), tags={"team": "a"})
    assert sdm.list_tags_for_resource(resourceArn=task_arn(allowed))["tags"] == {"team": "a"}
    assert sdm.list_tags_for_resource(resourceArn=task_arn(other))["tags"] == {}


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(SETUP_WITH_POLICY)
def test_a_wrong_secret_key_is_refused_with_invalid_signature_403_in_json_not_xml(aws: None) -> None:
    keys = iam_user_keys(boto3.client("iam", region_name=REGION), statements=(ALLOW_ALL,))
    sdm = client(aws_access_key_id=keys["aws_access_key_id"], aws_secret_access_key="not-the-secret")
    with refused("InvalidSignatureException", 403) as error:
        sdm.list_tasks()
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    raw = signed("GET", f"https://{SERVICE}.{REGION}.amazonaws.com/tasks", keys["aws_access_key_id"], "not-the-secret")
    assert raw.status_code == 403
    assert raw.headers["Content-Type"] == "application/json"
    assert raw.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert raw.json()["message"]
    assert not raw.text.lstrip().startswith("<")


@pytest.mark.own_server
@set_initial_no_auth_action_count(SETUP_WITHOUT_POLICY)
def test_an_access_key_iam_does_not_know_is_refused_with_403_in_json(aws: None) -> None:
    iam_user_keys(boto3.client("iam", region_name=REGION))
    sdm = client(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="secret")
    with refused("UnrecognizedClientException", 403) as error:
        sdm.list_tasks()
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"


# IAM in server mode


@pytest.fixture(scope="module")
def iam_server() -> Iterator[dict[str, Any]]:
    """A server of its own that enforces IAM after its setup calls: two users, one allowed everything."""
    with mock_server({"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_WITH_POLICY + SETUP_WITHOUT_POLICY)}) as url:
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **DUMMY_KEYS)
        allowed = iam_user_keys(iam, "allowed", (ALLOW_ALL,))
        denied = iam_user_keys(iam, "denied")
        # moto's control API is not an AWS call: it is neither counted nor checked
        device = requests.post(f"{url}/moto-api/{SERVICE}/devices", json={"device": {}}, timeout=30)
        assert device.status_code == 200
        yield {"url": url, "allowed": allowed, "denied": denied, "device": device.json()["managedDeviceId"]}


def iam_server_client(server: dict[str, Any], user: str) -> Any:
    return server_client(server["url"], **server[user])


@pytest.mark.own_server
def test_the_server_lets_a_user_allowed_every_action_create_describe_list_and_untag(iam_server: dict[str, Any]) -> None:
    sdm = iam_server_client(iam_server, "allowed")
    tags = {"team": "a", "env": "test"}
    created = sdm.create_task(targets=[iam_server["device"]], command=REBOOT, tags=tags)
    # The task's first read takes its execution from the queue (one step): the task is running, not yet done
    assert sdm.describe_task(taskId=created["taskId"])["state"] == "IN_PROGRESS"
    assert created["taskId"] in [summary["taskId"] for summary in sdm.list_tasks()["tasks"]]
    sdm.untag_resource(resourceArn=created["taskArn"], tagKeys=["team"])
    assert sdm.list_tags_for_resource(resourceArn=created["taskArn"])["tags"] == {"env": "test"}


@pytest.mark.own_server
def test_the_server_refuses_a_user_without_a_policy_with_access_denied_403_in_json(iam_server: dict[str, Any]) -> None:
    sdm = iam_server_client(iam_server, "denied")
    with refused("AccessDeniedException", 403) as error:
        sdm.list_tasks()
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    with refused("AccessDeniedException", 403):
        sdm.describe_device(managedDeviceId=iam_server["device"])


def test_the_server_refuses_a_wrong_secret_key_with_invalid_signature_403_in_json(iam_server: dict[str, Any]) -> None:
    raw = signed("GET", f"{iam_server['url']}/tasks", iam_server["allowed"]["aws_access_key_id"], "not-the-secret")
    assert raw.status_code == 403
    assert raw.headers["Content-Type"] == "application/json"
    assert raw.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert raw.json()["message"]


# Isolation between accounts and regions


@pytest.fixture
def foreign(aws: None, device: str) -> dict[str, Any]:
    """A tagged task on a tagged device in the default account and us-east-1."""
    sdm = client()
    created = sdm.create_task(targets=[device], command=REBOOT, tags={"owner": "home"})
    sdm.tag_resource(resourceArn=device_arn(device), tags={"site": "home"})
    return {
        "task": created["taskId"],
        "task_arn": created["taskArn"],
        "device": device,
        "device_arn": device_arn(device),
    }


@pytest.fixture(params=["account", "region"])
def prober(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, foreign: dict[str, Any]) -> Iterator[Any]:
    """A client of another account (same region) or another region (same account)."""
    if request.param == "account":
        monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
        yield client()
    else:
        yield client(OTHER_REGION)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)


def assert_unchanged(foreign: dict[str, Any]) -> None:
    """The probe neither canceled nor moved the task's work, nor touched a tag."""
    sdm = client()
    assert "MOTO_ACCOUNT_ID" not in os.environ
    assert held_states(foreign["task"]) == ["QUEUED"]
    assert sdm.list_tags_for_resource(resourceArn=foreign["task_arn"])["tags"] == {"owner": "home"}
    assert sdm.list_tags_for_resource(resourceArn=foreign["device_arn"])["tags"] == {"site": "home"}
    assert sdm.describe_task(taskId=foreign["task"])["state"] == "IN_PROGRESS"


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "probe",
    [
        lambda sdm, f: sdm.describe_task(taskId=f["task"]),
        lambda sdm, f: sdm.cancel_task(taskId=f["task"]),
        lambda sdm, f: sdm.describe_execution(taskId=f["task"], managedDeviceId=f["device"]),
        lambda sdm, f: sdm.list_executions(taskId=f["task"]),
    ],
    ids=["DescribeTask", "CancelTask", "DescribeExecution", "ListExecutions"],
)
def test_another_account_or_region_cannot_reach_a_task_by_its_id(
    prober: Any, foreign: dict[str, Any], monkeypatch: pytest.MonkeyPatch, probe: Any
) -> None:
    with refused("ResourceNotFoundException", 404):
        probe(prober, foreign)
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    assert_unchanged(foreign)


@pytest.mark.decorator_mode
@pytest.mark.parametrize("resource", ["task_arn", "device_arn"])
@pytest.mark.parametrize(
    "probe",
    [
        lambda sdm, arn: sdm.tag_resource(resourceArn=arn, tags={"owner": "intruder", "site": "intruder"}),
        lambda sdm, arn: sdm.untag_resource(resourceArn=arn, tagKeys=["owner", "site"]),
        lambda sdm, arn: sdm.list_tags_for_resource(resourceArn=arn),
    ],
    ids=["TagResource", "UntagResource", "ListTagsForResource"],
)
def test_another_account_or_region_cannot_tag_untag_or_list_tags_of_a_task_or_device(
    prober: Any, foreign: dict[str, Any], monkeypatch: pytest.MonkeyPatch, probe: Any, resource: str
) -> None:
    with refused("ResourceNotFoundException", 404):
        probe(prober, foreign[resource])
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    assert_unchanged(foreign)


@pytest.mark.decorator_mode
def test_another_account_lists_none_of_the_tasks_or_devices_of_this_one(
    foreign: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    sdm = client()
    assert sdm.list_tasks()["tasks"] == []
    assert sdm.list_devices()["devices"] == []
    with refused("ResourceNotFoundException", 404):
        sdm.describe_device(managedDeviceId=foreign["device"])
