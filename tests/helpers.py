"""Small helpers the test modules share."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID

REGION = "us-east-1"


@contextmanager
def refused(code: str, status: int, *words: str) -> Iterator[dict[str, Any]]:
    """The block's call fails with this error code and HTTP status, its message naming each word.

    Yields a dict that holds the error response once the block has failed.
    """
    response: dict[str, Any] = {}
    with pytest.raises(ClientError) as caught:
        yield response
    response.update(caught.value.response)
    assert response["Error"]["Code"] == code
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    for word in words:
        assert word in response["Error"]["Message"]


def task_arn(task_id: str, region: str = REGION, account: str = DEFAULT_ACCOUNT_ID) -> str:
    return f"arn:aws:snow-device-management:{region}:{account}:task/{task_id}"


def device_arn(device_id: str, region: str = REGION, account: str = DEFAULT_ACCOUNT_ID) -> str:
    return f"arn:aws:snow-device-management:{region}:{account}:managed-device/{device_id}"


class Clock:
    """Stands in for the `time` module the package reads its clock from, so time needs no sleeping.

    Install it with `monkeypatch.setattr(moto_snowdevice.models.core, "time", clock)`.
    """

    def __init__(self) -> None:
        # Ahead of the real clock: the package's timestamps never go back
        self.current = float(int(time.time()) + 3600)

    def time(self) -> float:
        return self.current
