"""Shared fixtures: every response the suite receives is checked against schemas/."""

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import moto_snowdevice
from moto_snowdevice._schemas import validate_responses

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SERVICE = "snow-device-management"
# Mock servers started by the suite check their responses against schemas/ too
os.environ["MOTO_SNOWDEVICE_SCHEMAS"] = str(SCHEMAS)

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="session")
def _responses_match_their_schemas() -> Iterator[None]:
    validate_responses(SCHEMAS)
    yield
    validate_responses(None)


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
