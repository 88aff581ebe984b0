"""pytest fixtures for Snow Device Management, registered through the `pytest11` entry point.

- `sdm_client`: a boto3 snow-device-management client (us-east-1) inside `mock_aws`.
- `sdm_fleet`: the managed device IDs of a fleet seeded into that mock: the packaged sample fleet,
  or the file or name given by `@pytest.mark.sdm_fleet("path/or/name")`.
- `sdm_server_url`: session-wide; the URL of a mock server (own process, free port) for any SDK.
- `sdm_server`: that URL, with the server's state reset before the test.

Nothing is shared between pytest-xdist workers: each starts its own server on a port the OS picks.
"""

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from ._control import load_fleet

_LISTENING = re.compile(r"listening on (http://\S+)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sdm_fleet(fleet): the fleet file or packaged fleet name the sdm_fleet fixture seeds"
    )


@pytest.fixture
def sdm_client() -> Iterator[Any]:
    """A boto3 snow-device-management client in us-east-1, inside mock_aws."""
    with mock_aws():
        yield boto3.client("snow-device-management", region_name="us-east-1")


@pytest.fixture
def sdm_fleet(request: pytest.FixtureRequest, sdm_client: Any) -> list[str]:
    """The managed device IDs of the seeded fleet (sample, unless marked with sdm_fleet)."""
    marker = request.node.get_closest_marker("sdm_fleet")
    return load_fleet(marker.args[0] if marker else "sample")


@pytest.fixture(scope="session")
def sdm_server_url() -> Iterator[str]:
    """The URL of a mock server of every moto service and this one, for the whole session."""
    # The request log goes to a file, so a full pipe can never stall the server
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto_snowdevice", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert server.stdout is not None
    try:
        found = None
        for line in server.stdout:
            found = _LISTENING.search(line)
            if found:
                break
        if found is None:
            log.seek(0)
            raise RuntimeError("the mock server stopped before listening:\n" + log.read())
        yield found.group(1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        server.stdout.close()
        log.close()


@pytest.fixture
def sdm_server(sdm_server_url: str) -> str:
    """The session's mock server URL, its state reset for this test."""
    requests.post(f"{sdm_server_url}/moto-api/reset", timeout=30).raise_for_status()
    return sdm_server_url
