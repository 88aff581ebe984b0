"""Requests an attacker or a careless client sends: who a request names, numbers the model cannot carry,
parameters given twice, JSON nested too deeply, and the errors the request layer answers with."""

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core import DEFAULT_ACCOUNT_ID, set_initial_no_auth_action_count
from moto.iam.models import iam_backends

import moto_snowdevice
from moto_snowdevice._shapes import SERVICE_MODEL, InvalidInput, _describe, compile_check
from moto_snowdevice.models import snowdevicemanagement_backends

from helpers import device_arn, refused, task_arn

SERVICE = "snow-device-management"
REGION = "us-east-1"
URL = f"https://{SERVICE}.{REGION}.amazonaws.com"
PROBED_ACCOUNT = "210987654321"
# Signed for the service but never sent through botocore, so any header, path and body can be tried
SIGNED_HEADER = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0"
}
REBOOT = {"reboot": {}}
DEVICE_CHECK = compile_check(SERVICE_MODEL.shape_for("DescribeDeviceOutput"), strict=True)
INSTANCE_CHECK = compile_check(SERVICE_MODEL.shape_for("Instance"), strict=True)
LONG_RANGE = (-(2**63), 2**63 - 1)
INTEGER_RANGE = (-(2**31), 2**31 - 1)
# The epoch seconds of 0001-01-01 and of the end of 9999-12-31, the range a datetime holds
EARLIEST, LATEST = -62135596800, 253402300800


def has_backend(backends: Any, account: str) -> bool:
    """Whether a BackendDict holds anything for the account, asked without making it."""
    return dict.__contains__(backends, account)


def raw(method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
    data = body if body is None or isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.request(method, f"{URL}{path}", data=data, headers={**SIGNED_HEADER, **headers}, timeout=30)


def assert_json_error(response: requests.Response, status: int, code: str, *words: str) -> str:
    assert response.status_code == status, response.text[:300]
    assert response.headers["x-amzn-ErrorType"] == code
    message = response.json()["message"]
    for word in words:
        assert word in message
    return str(message)


# Item 1: who a request names is checked before any backend exists


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    "account",
    ["foo", "12345678901", "1234567890123", "1" * 5000, "١٢٣٤٥٦٧٨٩٠١٢", "12345678901a", "+12345678901"],
    ids=["word", "eleven-digits", "thirteen-digits", "5000-digits", "arabic-indic-digits", "a-letter", "a-sign"],
)
def test_an_account_that_is_not_twelve_ascii_digits_is_refused_with_400_naming_account_id_and_makes_no_backend(
    aws: None, account: str
) -> None:
    response = raw("GET", "/tasks", **{"x-moto-account-id": account})

    assert_json_error(response, 400, "ValidationException", "'accountId'")
    assert not has_backend(snowdevicemanagement_backends, account)
    assert not has_backend(iam_backends, account)


@pytest.mark.parametrize("region", ["xx-north-100", "north-1", "abcdefghijkl-north-1"])
def test_a_region_not_shaped_like_a_region_is_refused_with_400_naming_region_though_moto_allows_nonexistent_ones(
    aws: None, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    with refused("ValidationException", 400, "'region'"):
        boto3.client(SERVICE, region_name=region).list_tasks()

    assert not any(dict.__contains__(account, region) for account in dict.values(snowdevicemanagement_backends))


@pytest.mark.decorator_mode
def test_a_region_shaped_like_a_region_is_served_when_moto_allows_nonexistent_ones(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    for region in ("xx-north-9", "mars-north-1"):
        assert boto3.client(SERVICE, region_name=region).list_tasks()["tasks"] == []


@pytest.mark.decorator_mode
def test_a_request_naming_a_new_account_leaves_no_iam_backend_for_it(aws: None) -> None:
    response = raw("GET", "/tasks", **{"x-moto-account-id": PROBED_ACCOUNT})

    assert response.status_code == 200
    assert response.json() == {"tasks": []}
    assert not has_backend(iam_backends, PROBED_ACCOUNT)


@pytest.mark.decorator_mode
def test_many_accounts_named_once_each_leave_as_many_iam_backends_as_before(aws: None) -> None:
    before = len(iam_backends)

    for index in range(200):
        assert raw("GET", "/tasks", **{"x-moto-account-id": f"{300000000000 + index}"}).status_code == 200

    assert len(iam_backends) == before


def iam_user_keys(statements: list[dict[str, Any]]) -> Credentials:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="operator")
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_user_policy(UserName="operator", PolicyName="snow", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def signed(credentials: Credentials, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
    """A request as sent (repeated and percent-encoded parameters kept), SigV4-signed for the service."""
    data = None if body is None else json.dumps(body)
    request = AWSRequest(method=method, url=f"{URL}{path}", data=data, headers=headers)
    SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
    return requests.request(method, request.url, data=data, headers=dict(request.headers), timeout=30)


# The IAM setup of each test: CreateUser, PutUserPolicy, CreateAccessKey
IAM_SETUP = 3
ALLOW_ALL = {"Effect": "Allow", "Action": "snow-device-management:*", "Resource": "*"}


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(IAM_SETUP)
def test_a_signed_request_naming_an_account_without_the_key_is_refused_and_leaves_no_backend(aws: None) -> None:
    credentials = iam_user_keys([ALLOW_ALL])

    response = signed(credentials, "GET", "/tasks", **{"x-moto-account-id": PROBED_ACCOUNT})

    assert_json_error(response, 403, "UnrecognizedClientException")
    assert not has_backend(snowdevicemanagement_backends, PROBED_ACCOUNT)
    assert not has_backend(iam_backends, PROBED_ACCOUNT)


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(IAM_SETUP)
def test_a_request_iam_denies_makes_no_backend_for_its_region(aws: None) -> None:
    credentials = iam_user_keys([{"Effect": "Deny", "Action": "snow-device-management:*", "Resource": "*"}])

    response = signed(credentials, "GET", "/tasks")

    assert_json_error(response, 403, "AccessDeniedException")
    assert not has_backend(snowdevicemanagement_backends, DEFAULT_ACCOUNT_ID)


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(IAM_SETUP)
def test_an_allowed_call_still_marks_its_access_key_as_used_by_the_service(aws: None) -> None:
    credentials = iam_user_keys([ALLOW_ALL])

    assert signed(credentials, "GET", "/tasks").status_code == 200

    last_used = iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[credentials.access_key].last_used
    assert last_used is not None and last_used.service == SERVICE


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "eu-west-3"])
def test_the_arn_prefix_iam_is_given_before_a_backend_exists_is_the_one_motos_backend_would_have(
    aws: None, region: str
) -> None:
    from moto_snowdevice.models import arn_prefix

    prefix = arn_prefix(PROBED_ACCOUNT, region)

    backend = snowdevicemanagement_backends[PROBED_ACCOUNT][region]
    assert prefix == f"arn:{backend.partition}:{SERVICE}:{region}:{PROBED_ACCOUNT}:"


# Item 2: no number the model cannot carry


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, float("1e999"), 10**400, -(10**400), LATEST + 1, EARLIEST - 1]
)
def test_a_timestamp_that_is_not_a_finite_instant_a_datetime_holds_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(InvalidInput, match=r"at 'device\.lastUpdatedAt'"):
        DEVICE_CHECK({"lastUpdatedAt": value}, "device")


@settings(max_examples=80, deadline=None)
@given(st.floats(min_value=EARLIEST, max_value=LATEST) | st.integers(min_value=EARLIEST, max_value=LATEST))
def test_a_timestamp_a_datetime_holds_is_kept_as_epoch_seconds(value: float) -> None:
    assert DEVICE_CHECK({"lastReachedOutAt": value}, "device") == {"lastReachedOutAt": float(value)}


@settings(max_examples=80, deadline=None)
@given(st.integers())
def test_a_long_is_accepted_exactly_when_it_fits_64_signed_bits(value: int) -> None:
    document = {"deviceCapacities": [{"name": "vCPU", "total": value}]}
    low, high = LONG_RANGE
    if low <= value <= high:
        assert DEVICE_CHECK(document, "device")["deviceCapacities"][0]["total"] == value
    else:
        with pytest.raises(InvalidInput, match=r"at 'device\.deviceCapacities\.1\.member\.total'"):
            DEVICE_CHECK(document, "device")


@settings(max_examples=80, deadline=None)
@given(st.integers())
def test_an_integer_is_accepted_exactly_when_it_fits_32_signed_bits(value: int) -> None:
    low, high = INTEGER_RANGE
    if low <= value <= high:
        assert INSTANCE_CHECK({"amiLaunchIndex": value}, "instance") == {"amiLaunchIndex": value}
    else:
        with pytest.raises(InvalidInput, match=r"at 'instance\.amiLaunchIndex'"):
            INSTANCE_CHECK({"amiLaunchIndex": value}, "instance")


@pytest.mark.parametrize("value", [math.nan, math.inf, 1.5])
def test_a_long_that_is_no_integer_is_refused_naming_the_field(value: float) -> None:
    with pytest.raises(InvalidInput, match=r"at 'device\.deviceCapacities\.1\.member\.used'"):
        DEVICE_CHECK({"deviceCapacities": [{"used": value}]}, "device")


@pytest.mark.decorator_mode
@pytest.mark.parametrize("value", [10**400, 2**31])
def test_max_results_out_of_range_in_the_query_is_refused_with_400_naming_it(aws: None, value: int) -> None:
    response = raw("GET", f"/tasks?maxResults={value}")

    assert_json_error(response, 400, "ValidationException", "'maxResults'")


@pytest.mark.decorator_mode
def test_a_device_whose_document_holds_nan_is_answered_with_a_json_500_never_bare_nan(aws: None) -> None:
    device_id = moto_snowdevice.add_device()
    device = snowdevicemanagement_backends[DEFAULT_ACCOUNT_ID][REGION].devices[device_id]
    # A value no check let in, planted behind the model's back
    device.document["lastReachedOutAt"] = math.nan

    response = raw("POST", f"/managed-device/{device_id}/describe")

    assert_json_error(response, 500, "InternalServerException", "response mismatch")


# Item 4: one parse of the request for IAM and the handler; a parameter given twice is refused


@pytest.fixture
def two_tasks(aws: None, device: str) -> list[str]:
    sdm = boto3.client(SERVICE, region_name=REGION)
    return [sdm.create_task(targets=[device], command=REBOOT)["taskId"] for _ in range(2)]


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    ("path", "member"),
    [
        ("/executions?taskId={b}&taskId={a}", "taskId"),
        ("/executions?taskId={a}&taskId={a}", "taskId"),
        ("/executions?taskId={a}&state=QUEUED&state=QUEUED", "state"),
        ("/tasks?state=IN_PROGRESS&state=CANCELED", "state"),
        ("/tasks?maxResults=1&maxResults=2", "maxResults"),
        ("/executions?task%49d={b}&taskId={a}", "taskId"),
        ("/managed-devices?jobId=a&jobId=b", "jobId"),
    ],
)
def test_a_singular_query_parameter_given_twice_is_refused_with_400_naming_it(
    two_tasks: list[str], path: str, member: str
) -> None:
    a, b = two_tasks

    response = raw("GET", path.format(a=a, b=b))

    assert_json_error(response, 400, "ValidationException", f"'{member}'", "given once")


@pytest.mark.decorator_mode
def test_tag_keys_stay_repeatable_in_untag_resource(aws: None, device: str) -> None:
    sdm = boto3.client(SERVICE, region_name=REGION)
    sdm.tag_resource(resourceArn=device_arn(device), tags={"a": "1", "b": "2", "c": "3"})

    response = raw("DELETE", f"/tags/{quote(device_arn(device), safe='')}?tagKeys=a&tagKeys=b")

    assert response.status_code == 200, response.text
    assert sdm.list_tags_for_resource(resourceArn=device_arn(device))["tags"] == {"c": "3"}


@pytest.mark.decorator_mode
def test_a_json_key_given_twice_is_refused_with_400(aws: None, device: str) -> None:
    body = f'{{"targets": ["{device}"], "command": {{"reboot": {{}}}}, "description": "a", "description": "b"}}'

    response = raw("POST", "/task", body)

    assert_json_error(response, 400, "ValidationException", "'description'", "more than once")
    assert boto3.client(SERVICE, region_name=REGION).list_tasks()["tasks"] == []


def encoded(text: str) -> str:
    """Every character percent-encoded, as a client may send it and the service must read it."""
    return "".join(f"%{byte:02X}" for byte in text.encode())


def variants(task: dict[str, str], device: dict[str, str]) -> Iterator[tuple[str, str, Any]]:
    """Every operation, its parameters duplicated, reordered and percent-encoded, naming A and B."""
    a, b, da, db = task["a"], task["b"], device["a"], device["b"]
    for t in (a, encoded(a), b):
        yield "POST", f"/task/{t}", None
        yield "POST", f"/task/{t}/cancel", None
        for d in (da, encoded(da), db):
            yield "POST", f"/task/{t}/execution/{d}", None
    for first, second in ((b, a), (a, b)):
        for key in ("taskId", "task%49d", encoded("taskId")):
            yield "GET", f"/executions?{key}={first}&taskId={second}", None
            yield "GET", f"/executions?taskId={first}&{key}={second}", None
        yield "GET", f"/executions?taskId={encoded(first)}&taskId={second}", None
    for d in (da, encoded(da), db):
        yield "POST", f"/managed-device/{d}/describe", None
        yield "GET", f"/managed-device/{d}/resources?type=AWS::EC2::Instance&type=AWS::EC2::Instance", None
        yield "GET", f"/managed-device/{d}/resources", None
        yield "POST", f"/managed-device/{d}/resources/ec2/describe", {"instanceIds": ["s.i-1"]}
    for arn in (task_arn(a), task_arn(b), device_arn(da), device_arn(db)):
        for path_arn in (quote(arn, safe=""), encoded(arn)):
            yield "GET", f"/tags/{path_arn}", None
            yield "POST", f"/tags/{path_arn}", {"tags": {"probe": "1"}}
            yield "DELETE", f"/tags/{path_arn}?tagKeys=owner&tagKeys=owner", None
    yield "POST", "/task", {"targets": [db], "command": REBOOT}
    yield "GET", "/tasks?state=IN_PROGRESS&state=IN_PROGRESS", None
    yield "GET", "/managed-devices", None


# The setup: two CreateTask calls and a TagResource before the IAM setup
@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(3 + IAM_SETUP)
def test_under_a_policy_scoped_to_task_a_and_device_a_no_request_is_answered_about_b(aws: None) -> None:
    sdm = boto3.client(SERVICE, region_name=REGION)
    devices = {"a": moto_snowdevice.add_device(), "b": moto_snowdevice.add_device()}
    tasks = {
        name: sdm.create_task(targets=[devices[name]], command=REBOOT, tags={"owner": name})["taskId"]
        for name in ("a", "b")
    }
    sdm.tag_resource(resourceArn=device_arn(devices["b"]), tags={"owner": "b"})
    allowed = [task_arn(tasks["a"]), device_arn(devices["a"])]
    credentials = iam_user_keys([{"Effect": "Allow", "Action": "snow-device-management:*", "Resource": allowed}])
    answered = set()

    for method, path, body in variants(tasks, devices):
        response = signed(credentials, method, path, body)
        assert response.status_code != 500, (method, path, response.text[:300])
        answered.add(response.status_code)
        if response.status_code == 200:
            assert tasks["b"] not in response.text and devices["b"] not in response.text, (method, path)

    assert {200, 403} <= answered
    backend = snowdevicemanagement_backends[DEFAULT_ACCOUNT_ID][REGION]
    assert backend.tasks[tasks["b"]].state == "IN_PROGRESS"
    assert backend.tags_of(task_arn(tasks["b"])) == {"owner": "b"}
    assert backend.tags_of(device_arn(devices["b"])) == {"owner": "b"}
    assert len(backend.tasks) == 2


# The setup: two CreateTask calls before the IAM setup
@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(2 + IAM_SETUP)
def test_list_executions_naming_task_b_then_task_a_is_not_answered_with_task_bs_executions(aws: None) -> None:
    sdm = boto3.client(SERVICE, region_name=REGION)
    device = moto_snowdevice.add_device()
    a, b = (sdm.create_task(targets=[device], command=REBOOT)["taskId"] for _ in range(2))
    allowed = {"Effect": "Allow", "Action": "snow-device-management:ListExecutions", "Resource": task_arn(a)}
    credentials = iam_user_keys([allowed])

    response = signed(credentials, "GET", f"/executions?taskId={b}&taskId={a}")

    assert response.status_code in (400, 403), response.text
    assert b not in response.text
    assert signed(credentials, "GET", f"/executions?taskId={a}").json()["executions"][0]["taskId"] == a


# Item 8: JSON nested too deeply, and the 500s of this layer


def nested_task_body(field: str, depth: int) -> str:
    nested = "[" * depth + "]" * depth
    return f'{{"targets": ["x"], "command": {{"reboot": {{}}}}, "{field}": {nested}}}'


@pytest.mark.decorator_mode
@pytest.mark.parametrize("field", ["description", "tags", "targets"])
def test_json_nested_near_the_interpreters_limit_or_beyond_is_refused_with_400(aws: None, field: str) -> None:
    # Somewhere below 1,000 levels (where depends on the caller's stack) json.loads still succeeds and
    # describing the value in the message once did not
    for depth in [*range(800, 1010), 5000, 100_000]:
        response = raw("POST", "/task", nested_task_body(field, depth))

        assert_json_error(response, 400, "ValidationException")


def test_a_value_nested_too_deeply_to_dump_is_still_described() -> None:
    value: Any = []
    for _ in range(100_000):
        value = [value]

    assert _describe(value) == "a list nested too deeply to show"


def test_json_nested_near_the_interpreters_limit_gets_a_json_400_from_the_server(sdm_server_url: str) -> None:
    # A server thread's stack differs from the test's: a range around it, each answered with a 400
    for depth in range(940, 1000):
        response = requests.post(
            f"{sdm_server_url}/task", data=nested_task_body("description", depth), headers=SIGNED_HEADER, timeout=30
        )

        assert_json_error(response, 400, "ValidationException")


def test_a_server_answer_that_breaks_its_schema_is_an_internal_server_exception_saying_response_mismatch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from werkzeug.test import Client

    from moto_snowdevice import _schemas
    from moto_snowdevice._server import SnowDeviceManagementApplication
    from moto_snowdevice.responses import SnowDeviceManagementResponse

    broken = {"tasks": [{"taskArn": task_arn("st-1")}]}
    monkeypatch.setattr(SnowDeviceManagementResponse, "list_tasks", lambda self: broken)
    checking = _schemas.checking_responses()
    moto_snowdevice.check_responses(True)
    try:
        response = Client(SnowDeviceManagementApplication()).get("/tasks", headers=SIGNED_HEADER)
    finally:
        moto_snowdevice.check_responses(checking)

    assert response.status_code == 500
    assert response.headers["x-amzn-ErrorType"] == "InternalServerException"
    assert response.get_json()["message"].startswith("response mismatch: ListTasks response does not match")


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(IAM_SETUP)
@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "MissingAuthenticationTokenException"),
        ({"Authorization": "garbage"}, "IncompleteSignatureException"),
        ({"Authorization": SIGNED_HEADER["Authorization"]}, "IncompleteSignatureException"),
    ],
    ids=["no-authorization", "garbage", "no-date"],
)
def test_under_iam_a_request_without_a_readable_signature_is_refused_with_403_in_json(
    aws: None, headers: dict[str, str], code: str
) -> None:
    iam_user_keys([ALLOW_ALL])

    response = requests.get(f"{URL}/tasks", headers=headers, timeout=30)

    assert_json_error(response, 403, code)


# The one JSON error answer


@given(message=st.text(max_size=200), code=st.one_of(st.none(), st.sampled_from(["ValidationException", "X"])))
def test_every_json_error_is_its_message_with_a_request_id_of_its_own_and_its_name_when_it_has_one(
    message: str, code: str | None
) -> None:
    from moto_snowdevice.exceptions import json_error

    status, headers, body = json_error(400, message, code)
    again = json_error(400, message, code)

    assert status == 400
    assert json.loads(body) == {"message": message}
    assert headers["Content-Type"] == "application/json"
    assert headers["x-amzn-RequestId"] != again[1]["x-amzn-RequestId"]
    # A random UUID, as AWS's request IDs are
    assert uuid.UUID(headers["x-amzn-RequestId"]).version == 4
    assert str(uuid.UUID(headers["x-amzn-RequestId"])) == headers["x-amzn-RequestId"]
    assert headers.get("x-amzn-ErrorType") == code
