"""The seam's copies of moto's logic answer what moto's own answers, and the fast reads read what they stand for."""

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import HeadersDict
from botocore.compat import HTTPHeaders
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import BaseResponse
from moto.moto_api._internal import mock_random

from moto_snowdevice import _moto
from moto_snowdevice.models.work import DEFAULT_EXECUTION_TRANSITION, EXECUTION_MODEL, execution_transition

from helpers import REGION

# Unit tests of the in-process seam: nothing here goes through a server
pytestmark = pytest.mark.decorator_mode

# A SigV4 Authorization header as botocore writes one, for the access key `key`
SIGNED = (
    "AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/snow-device-management/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


# IDs


@settings(max_examples=200, deadline=None)
@given(
    seed=st.one_of(st.integers(min_value=0, max_value=2**64), st.text(max_size=8)),
    before=st.integers(min_value=0, max_value=20),
    lengths=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=5),
)
def test_ids_are_drawn_as_motos_get_random_string_draws_them(seed: Any, before: int, lengths: list[int]) -> None:
    def draws(draw: Any) -> list[str]:
        mock_random.seed(seed)
        for _ in range(before):
            mock_random.uuid4()  # moto's other draws, between the IDs
        return [draw(length) for length in lengths]

    ours = draws(_moto.random_lower_string)
    theirs = draws(lambda length: mock_random.get_random_string(length=length, lower_case=True))
    assert ours == theirs


def test_the_copy_of_motos_draws_is_the_one_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # The import check found moto's draws the same as the copy's on this moto and Python, so IDs are
    # drawn without moto's get_random_string
    assert _moto._draws_as_moto()

    def refused(**_: Any) -> str:
        raise AssertionError("moto's get_random_string was called")

    monkeypatch.setattr(mock_random, "get_random_string", refused)
    drawn = _moto.random_lower_string(16)
    assert len(drawn) == 16 and set(drawn) <= set(_moto._POOL)


# The calling account


def response_with(headers: dict[str, str]) -> _moto.ServiceResponse:
    response = _moto.ServiceResponse(service_name="snow-device-management")
    response.take_request("GET", "https://snow-device-management.us-east-1.amazonaws.com/tasks", "/tasks", headers)
    return response


def accounts_named(headers: dict[str, str]) -> tuple[str, str]:
    """(this package's answer, moto's) for a request with these headers; moto's is asked second."""
    ours = response_with(headers).get_current_account()
    theirs = BaseResponse.get_current_account(response_with(headers))
    return ours, theirs


def iam_keys_in(account: str) -> str:
    iam = boto3.client("iam", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    iam.meta.events.register("before-sign", in_account)
    iam.create_user(UserName="caller")
    return str(iam.create_access_key(UserName="caller")["AccessKey"]["AccessKeyId"])


def test_a_key_that_no_iam_backend_holds_names_the_default_account(aws: None) -> None:
    assert accounts_named({"Authorization": SIGNED.format(key="AKIAIOSFODNN7EXAMPLE")}) == (
        DEFAULT_ACCOUNT_ID,
        DEFAULT_ACCOUNT_ID,
    )


def test_a_key_an_iam_backend_holds_names_its_account(aws: None) -> None:
    key = iam_keys_in("111122223333")
    assert accounts_named({"Authorization": SIGNED.format(key=key)}) == ("111122223333", "111122223333")
    # Another key still names the default account, with IAM backends that hold keys about
    other = {"Authorization": SIGNED.format(key="AKIAIOSFODNN7EXAMPLE")}
    assert accounts_named(other) == (DEFAULT_ACCOUNT_ID, DEFAULT_ACCOUNT_ID)


def test_the_account_header_comes_before_the_key_and_moto_account_id_before_both(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = iam_keys_in("111122223333")
    headers = {"Authorization": SIGNED.format(key=key), "x-moto-account-id": "444455556666"}
    assert accounts_named(headers) == ("444455556666", "444455556666")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "777788889999")
    assert accounts_named(headers) == ("777788889999", "777788889999")


def test_naming_the_account_makes_no_iam_backend(aws: None) -> None:
    from moto.iam.models import iam_backends

    iam_keys_in("111122223333")
    accounts = set(dict.keys(iam_backends))
    partitions = {account: set(dict.keys(iam_backends[account])) for account in accounts}
    response_with({"Authorization": SIGNED.format(key="AKIAUNKNOWNKEY000000")}).get_current_account()
    assert set(dict.keys(iam_backends)) == accounts
    assert {account: set(dict.keys(iam_backends[account])) for account in accounts} == partitions


# The headers a botocore request was sent with


def sent(
    pairs: list[tuple[str, Any]], url: str = "https://snow-device-management.us-east-1.amazonaws.com/tasks"
) -> Any:
    headers = HeadersDict()
    for name, value in pairs:
        headers[name] = value
    return _moto.SentHeaders(headers, url.split("/", 3)[2])


def test_sent_headers_are_read_decoded_in_any_case() -> None:
    headers = sent([("X-Amz-Date", b"20261201T000000Z"), ("Authorization", "AWS4 x"), ("x-moto-account-id", b"1")])
    assert headers["x-amz-date"] == headers["X-AMZ-DATE"] == "20261201T000000Z"
    assert headers.get("authorization") == "AWS4 x"
    assert "X-Moto-Account-Id" in headers and headers["X-Moto-Account-Id"] == "1"
    assert headers.get("User-Agent") is None and "User-Agent" not in headers
    with pytest.raises(KeyError):
        headers["User-Agent"]


def test_sent_headers_carry_the_urls_host_as_the_sent_request_would() -> None:
    headers = sent([("X-Amz-Date", b"20261201T000000Z")], "https://snow-device-management.eu-west-1.amazonaws.com/x")
    assert headers["host"] == headers["Host"] == "snow-device-management.eu-west-1.amazonaws.com"
    assert dict(headers.items()) == {"X-Amz-Date": "20261201T000000Z", "host": headers["host"]}
    assert len(headers) == 2
    given_host = sent([("Host", b"example.com")])
    assert given_host["host"] == "example.com" and list(given_host) == ["Host"]


def test_sent_headers_read_the_http_headers_of_a_request_sent_with_requests() -> None:
    # moto hands a request sent with `requests` to the stubber with an email-style HTTPHeaders,
    # which answers None, not KeyError, for a header it lacks
    http_headers = HTTPHeaders()
    http_headers["Authorization"] = "AWS4 y"
    headers = _moto.SentHeaders(http_headers, "snow-device-management.us-east-1.amazonaws.com")
    assert headers["authorization"] == "AWS4 y"
    assert list(headers) == ["Authorization", "host"]
    assert "x-moto-account-id" not in headers
    assert headers.get("x-moto-account-id", "none") == "none"


# The progression, read once while it stays the same


@pytest.fixture
def progression(aws: None) -> Iterator[Any]:
    from moto.moto_api import state_manager

    yield state_manager
    state_manager.unset_transition(EXECUTION_MODEL)


def test_the_progression_reads_anew_when_it_is_set_or_changed_in_place(progression: Any) -> None:
    progression.set_transition(EXECUTION_MODEL, {"progression": "manual", "times": 2})
    assert execution_transition() == {"progression": "manual", "times": 2}
    assert execution_transition() is execution_transition()
    progression.get_transition(EXECUTION_MODEL)["times"] = 3
    assert execution_transition() == {"progression": "manual", "times": 3}
    progression.set_transition(EXECUTION_MODEL, {"progression": "time", "seconds": 5})
    assert execution_transition() == {"progression": "time", "seconds": 5}
    progression.get_transition(EXECUTION_MODEL)["seconds"] = "abc"
    assert execution_transition() == DEFAULT_EXECUTION_TRANSITION
    progression.unset_transition(EXECUTION_MODEL)
    assert execution_transition() == DEFAULT_EXECUTION_TRANSITION
