"""pytest fixtures for Snow Device Management: the module the `pytest11` entry point loads.

Loading it imports neither moto, boto3, botocore nor the moto_snowdevice package, so a pytest run
that uses none of the fixtures pays next to nothing for them; a fixture imports what it needs when it
is first used. Users import these names from `moto_snowdevice.pytest_plugin`.

- `sdm_client`: a boto3 snow-device-management client (us-east-1) inside `mock_aws`.
- `sdm_fleet`: the managed device IDs of a fleet seeded into that mock: the packaged sample fleet,
  or the file or name given by `@pytest.mark.sdm_fleet("path/or/name")`.
- `sdm_async_client`: an aiobotocore snow-device-management client (us-east-1) inside `mock_aws`,
  for async tests run by pytest-asyncio or anyio's pytest plugin.
- `sdm_server_url`: session-wide; the URL of a mock server (own process, free port) for any SDK.
- `sdm_server`: that URL, with the server's state reset before the test.

Nothing is shared between pytest-xdist workers: each starts its own server on a port the OS picks,
and a worker that crashes or is killed takes its server with it.
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

__all__ = ["MockServerProcess", "sdm_async_client", "sdm_client", "sdm_fleet", "sdm_server", "sdm_server_url"]

_LISTENING = re.compile(r"listening on (http://\S+)")


_CHECK_OPTION = "--sdm-check-responses"
_CHECK_VARIABLE = "MOTO_SNOWDEVICE_CHECK_RESPONSES"
# What the environment held before --sdm-check-responses set it, to put back at the end
_checking_was = pytest.StashKey[tuple[str | None]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # ValueError: added already, by a conftest naming moto_snowdevice.pytest_plugin beside the entry point
    with contextlib.suppress(ValueError):
        parser.getgroup("moto-snowdevice").addoption(
            _CHECK_OPTION,
            action="store_true",
            default=False,
            help="check every snow-device-management response against its operation's JSON Schema, "
            f"in-process and in mock servers started from the tests (as {_CHECK_VARIABLE}=1 does)",
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sdm_fleet(fleet): the fleet file or packaged fleet name the sdm_fleet fixture seeds"
    )
    if config.getoption(_CHECK_OPTION, default=False):
        config.stash[_checking_was] = (os.environ.get(_CHECK_VARIABLE),)
        # Servers the tests start inherit the environment; this process switches on directly (only
        # with the option does loading the plugin import the package, and so moto)
        os.environ[_CHECK_VARIABLE] = "1"
        from moto_snowdevice._schemas import check_responses

        check_responses(True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _checking_was not in config.stash:
        return
    (previous,) = config.stash[_checking_was]
    if previous is None:
        os.environ.pop(_CHECK_VARIABLE, None)
    else:
        os.environ[_CHECK_VARIABLE] = previous
    from moto_snowdevice._schemas import check_responses, from_environment

    check_responses(from_environment())


@pytest.fixture
def sdm_client() -> Iterator[Any]:
    """A boto3 snow-device-management client in us-east-1, inside mock_aws."""
    import boto3
    from moto import mock_aws

    import moto_snowdevice  # noqa: F401 - registers the service with moto

    with mock_aws():
        yield boto3.client("snow-device-management", region_name="us-east-1")


try:
    # pytest-asyncio's strict mode (its default) runs only the async fixtures it marked itself
    from pytest_asyncio import fixture as _async_fixture
except ImportError:
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@_async_fixture
async def sdm_async_client() -> AsyncIterator[Any]:
    """An aiobotocore snow-device-management client in us-east-1, inside mock_aws."""
    from aiobotocore.session import get_session
    from moto import mock_aws

    import moto_snowdevice  # noqa: F401 - registers the service with moto

    with mock_aws():
        async with get_session().create_client("snow-device-management", region_name="us-east-1") as client:
            yield client


@pytest.fixture
def sdm_fleet(request: pytest.FixtureRequest, sdm_client: Any) -> list[str]:
    """The managed device IDs of the seeded fleet (sample, unless marked with sdm_fleet)."""
    from moto_snowdevice import load_fleet

    marker = request.node.get_closest_marker("sdm_fleet")
    return load_fleet(marker.args[0] if marker else "sample")


class MockServerProcess:
    """`python -m moto_snowdevice -p 0 ARGUMENTS` in a process of its own, as a context manager.

    Entering waits until it listens and sets `url`; leaving (or `stop()`) sends SIGTERM (or the given
    signal) and waits, leaving the exit status in `returncode`. Its log goes to a temporary file, so
    a full pipe never stalls it. Its standard input is a pipe from this process, and the server stops
    when that pipe ends: a process that ends without stopping it (killed, crashed) takes it along.
    """

    def __init__(self, *arguments: str, env: dict[str, str] | None = None):
        self.arguments = arguments
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.url = ""
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log: Any = None

    def __enter__(self) -> "MockServerProcess":
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto_snowdevice", "--port", "0", "--stop-on-stdin-eof", *self.arguments],
            # Never written to: the kernel closes it when this process ends, however it ends
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=self.env,
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            found = _LISTENING.search(line)
            if found:
                self.url = found.group(1)
                return self
        self.stop()
        self._log.seek(0)
        raise RuntimeError("the mock server stopped before listening:\n" + self._log.read())

    def stop(self, signum: int = signal.SIGTERM) -> int:
        process = self._process
        if process is not None and self.returncode is None:
            process.send_signal(signum)
            try:
                self.returncode = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                self.returncode = process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()
            self._log.close()
        return self.returncode  # type: ignore[return-value]

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


@pytest.fixture(scope="session")
def sdm_server_url() -> Iterator[str]:
    """The URL of a mock server of every moto service and this one, for the whole session."""
    with MockServerProcess() as server:
        yield server.url


@pytest.fixture
def sdm_server(sdm_server_url: str) -> str:
    """The session's mock server URL, its state reset for this test."""
    import requests

    requests.post(f"{sdm_server_url}/moto-api/reset", timeout=30).raise_for_status()
    return sdm_server_url
