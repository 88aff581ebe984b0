"""Shared fixtures of the async client tests: every response is checked against its schema too."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiobotocore.session import get_session
from moto import mock_aws

import moto_snowdevice

from async_helpers import NO_RETRY, REGION, SERVICE


@pytest.fixture(autouse=True, scope="session")
def _responses_match_their_schemas() -> Iterator[None]:
    moto_snowdevice.check_responses(True)
    yield
    moto_snowdevice.check_responses(False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def fleet(aws: None) -> list[str]:
    """The sample fleet's two devices in us-east-1 (its third is in us-west-2)."""
    return moto_snowdevice.load_fleet("sample")[:2]


@pytest_asyncio.fixture
async def sdm(aws: None) -> AsyncIterator[Any]:
    """An aiobotocore client in us-east-1 under moto's mock_aws, with no retries."""
    async with get_session().create_client(SERVICE, region_name=REGION, config=NO_RETRY) as client:
        yield client
