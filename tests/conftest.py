"""Shared fixtures. setup.cfg runs the suite with --sdm-check-responses: every response it receives,
in-process or from a server it starts, is checked against its operation's JSON Schema.

.ci/modes runs the suite under moto's TEST_SERVER_MODE and TEST_PROXY_MODE with SDM_MODE_ENDPOINTS,
one server (or proxy) URL per pytest-xdist worker: moto's reset empties a whole server, so each worker
needs its own. Set here, before any mock_aws reads them.
"""

import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import moto_snowdevice

SERVICE = "snow-device-management"

pytest_plugins = ["pytester"]


def _use_this_workers_endpoint() -> None:
    endpoints = os.environ.get("SDM_MODE_ENDPOINTS", "").split()
    if not endpoints:
        return
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    endpoint = endpoints[worker % len(endpoints)]
    if os.environ.get("TEST_PROXY_MODE", "").lower() == "true":
        os.environ["TEST_PROXY_MODE_ENDPOINT"] = endpoint
        os.environ["MOTO_PROXY_PORT"] = endpoint.rsplit(":", 1)[1]
    else:
        os.environ["TEST_SERVER_MODE_ENDPOINT"] = endpoint


_use_this_workers_endpoint()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "decorator_mode: about moto's decorator mode only (reads or patches this process's own backends, "
        "clock or moto hooks); .ci/modes leaves it out",
    )
    config.addinivalue_line(
        "markers",
        "own_server: starts servers of its own, so runs the same in every mode; .ci/modes leaves it out",
    )


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
    return boto3.client(SERVICE, region_name="us-east-1", config=Config(parameter_validation=False))


@pytest.fixture
def device(aws: None) -> str:
    return moto_snowdevice.add_device()
