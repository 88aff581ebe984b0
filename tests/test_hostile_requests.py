"""Requests an attacker or a careless client sends: who a request names, numbers the model cannot carry,
parameters given twice, JSON nested too deeply, and the errors the request layer answers with."""

import json
import math
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
from moto import mock_aws
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


@pytest.mark.parametrize("region", ["mars-north-1", "xx-north-100", "north-1"])
def test_a_region_not_shaped_like_a_region_is_refused_with_400_naming_region_though_moto_allows_nonexistent_ones(
    aws: None, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    with refused("ValidationException", 400, "'region'"):
        boto3.client(SERVICE, region_name=region).list_tasks()

    assert not any(dict.__contains__(account, region) for account in dict.values(snowdevicemanagement_backends))


def test_a_region_shaped_like_a_region_is_served_when_moto_allows_nonexistent_ones(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")

    assert boto3.client(SERVICE, region_name="xx-north-9").list_tasks()["tasks"] == []


def test_a_request_naming_a_new_account_leaves_no_iam_backend_for_it(aws: None) -> None:
    response = raw("GET", "/tasks", **{"x-moto-account-id": PROBED_ACCOUNT})

    assert response.status_code == 200
    assert response.json() == {"tasks": []}
    assert not has_backend(iam_backends, PROBED_ACCOUNT)


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


@set_initial_no_auth_action_count(IAM_SETUP)
def test_a_signed_request_naming_an_account_without_the_key_is_refused_and_leaves_no_backend(aws: None) -> None:
    credentials = iam_user_keys([ALLOW_ALL])

    response = signed(credentials, "GET", "/tasks", **{"x-moto-account-id": PROBED_ACCOUNT})

    assert_json_error(response, 403, "UnrecognizedClientException")
    assert not has_backend(snowdevicemanagement_backends, PROBED_ACCOUNT)
    assert not has_backend(iam_backends, PROBED_ACCOUNT)


@set_initial_no_auth_action_count(IAM_SETUP)
def test_a_request_iam_denies_makes_no_backend_for_its_region(aws: None) -> None:
    credentials = iam_user_keys([{"Effect": "Deny", "Action": "snow-device-management:*", "Resource": "*"}])

    response = signed(credentials, "GET", "/tasks")

    assert_json_error(response, 403, "AccessDeniedException")
    assert not has_backend(snowdevicemanagement_backends, DEFAULT_ACCOUNT_ID)


@set_initial_no_auth_action_count(IAM_SETUP)
def test_an_allowed_call_still_marks_its_access_key_as_used_by_the_service(aws: None) -> None:
    credentials = iam_user_keys([ALLOW_ALL])

    assert signed(credentials, "GET", "/tasks").status_code == 200

    last_used = iam_backends[DEFAULT_ACCOUNT_ID]["aws"].access_keys[credentials.access_key].last_used
    assert last_used is not None and last_used.service == SERVICE


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "eu-west-3"])
def test_the_arn_prefix_iam_is_given_before_a_backend_exists_is_the_backends_own(aws: None, region: str) -> None:
    from moto_snowdevice.responses import arn_prefix

    prefix = arn_prefix(PROBED_ACCOUNT, region)

    assert prefix == snowdevicemanagement_backends[PROBED_ACCOUNT][region].arn_prefix
