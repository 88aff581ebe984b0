"""Shared fixtures. setup.cfg runs the suite with --sdm-check-responses: every response it receives,
in-process or from a server it starts, is checked against its operation's JSON Schema."""

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import moto_snowdevice

SERVICE = "snow-device-management"

pytest_plugins = ["pytester"]


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def sdm(aws: None) -> "boto3.client":
    """A client in us-east-1 under mock_aws."""
    return boto3.client(SERVICE, region_name="us-east-1")


@pytest.fixture
def raw_sdm(aws: None) -> "boto3.client":
    """A client that skips botocore's own parameter checks, as other SDKs do, so the mock's own checks answer."""
    return boto3.client(
        SERVICE, region_name="us-east-1", config=Config(parameter_validation=False)
    )


@pytest.fixture
def device(aws: None) -> str:
    return moto_snowdevice.add_device()
