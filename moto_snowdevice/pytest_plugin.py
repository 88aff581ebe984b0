"""pytest fixtures for Snow Device Management, typed: the definitions the plugin's entry point loads.

The `pytest11` entry point names the top-level module `_moto_snowdevice_pytest`, which runs this file
without importing the package; so loading the plugin imports neither moto, boto3, botocore nor the
package's own modules, and a fixture imports what it needs when it is first used. Import these names
from here: this module is in the package, which ships `py.typed`, so type checkers see them.

- `sdm_client`: a boto3 snow-device-management client (us-east-1) inside `mock_aws`; typed as
  boto3-stubs' `SnowDeviceManagementClient` where mypy-boto3-snow-device-management is installed.
- `sdm_fleet`: the managed device IDs of a fleet seeded after the mock's reset: the packaged sample
  fleet, or the file or name given by `@pytest.mark.sdm_fleet("path/or/name")`. Beside `sdm_server`
  it seeds that server; otherwise where `sdm_client`'s clients go.
- `sdm_async_client`: an aiobotocore snow-device-management client (us-east-1) inside `mock_aws`,
  for async tests run by pytest-asyncio or anyio's pytest plugin.
- `sdm_server_url`: session-wide; the URL of a mock server for any SDK: under moto's
  TEST_SERVER_MODE the server moto sends clients to, else one of its own (own process, free port).
- `sdm_server`: that URL, with the server's state reset before the test and after it.

In every mode the helpers act where the clients go (see `moto_snowdevice.add_device`): in-process,
on TEST_SERVER_MODE_ENDPOINT under TEST_SERVER_MODE, on TEST_PROXY_MODE_ENDPOINT under
TEST_PROXY_MODE. Nothing a test sets outlives it: moto's reset empties the backends (faults,
timeouts, outcome weights, cancel races with them), and each fixture also removes a progression set
with moto's state manager for this service's executions, in-process and on its server.

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
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # boto3-stubs' client type where it is installed (boto3-stubs[snow-device-management]); else Any
    from mypy_boto3_snow_device_management import (  # type: ignore[import-not-found, unused-ignore]
        SnowDeviceManagementClient,
    )
else:
    SnowDeviceManagementClient = Any

__all__ = [
    "MockServerProcess",
    "SnowDeviceManagementClient",
    "pytest_addoption",
    "pytest_configure",
    "pytest_unconfigure",
    "sdm_async_client",
    "sdm_client",
    "sdm_fleet",
    "sdm_server",
    "sdm_server_url",
]

_LISTENING = re.compile(r"listening on (http://\S+)")
# moto's proxy announces itself so; its own /moto-api/ routes answer only on http://localhost:PORT
_PROXY_LISTENING = re.compile(r"Serving HTTP Proxy on \S+?:(\d+)")

_CHECK_OPTION = "--sdm-check-responses"
_CHECK_VARIABLE = "MOTO_SNOWDEVICE_CHECK_RESPONSES"
# What the environment held before --sdm-check-responses set it, kept on the config: a conftest naming
# this module beside the entry point runs these hooks twice, and only the first may record it
_CHECKING_WAS = "_sdm_checking_was"


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
    if config.getoption(_CHECK_OPTION, default=False) and not hasattr(config, _CHECKING_WAS):
        setattr(config, _CHECKING_WAS, (os.environ.get(_CHECK_VARIABLE),))
        # Servers the tests start inherit the environment; this process switches on directly (only
        # with the option does loading the plugin import the package, and so moto)
        os.environ[_CHECK_VARIABLE] = "1"
        from moto_snowdevice._schemas import check_responses

        check_responses(True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, _CHECKING_WAS):
        return
    (previous,) = getattr(config, _CHECKING_WAS)
    delattr(config, _CHECKING_WAS)
    if previous is None:
        os.environ.pop(_CHECK_VARIABLE, None)
    else:
        os.environ[_CHECK_VARIABLE] = previous
    from moto_snowdevice._schemas import check_responses, from_environment

    check_responses(from_environment())


def _forget_progression(endpoint_url: str | None = None) -> None:
    """Remove a progression set for the service's executions: in this process, and where the clients go."""
    from moto_snowdevice import _control, _moto

    _control.forget_progression(endpoint_url=None)
    endpoint = endpoint_url or _moto.mock_endpoint()
    if endpoint is not None:
        _control.forget_progression(endpoint_url=endpoint)


@pytest.fixture
def sdm_client() -> Iterator["SnowDeviceManagementClient"]:
    """A boto3 snow-device-management client in us-east-1, inside mock_aws."""
    import boto3
    from moto import mock_aws

    import moto_snowdevice  # noqa: F401 - registers the service with moto

    with mock_aws():
        try:
            yield boto3.client("snow-device-management", region_name="us-east-1")
        finally:
            _forget_progression()


_AsyncFixtureDecorator = Callable[[Callable[[], AsyncIterator[Any]]], object]


def _async_fixture_decorator() -> _AsyncFixtureDecorator:
    """pytest-asyncio's fixture decorator where it is installed, else pytest's.

    pytest-asyncio's strict mode (its default) runs only the async fixtures it marked itself. Typed
    here, as pytest-asyncio may be absent where types are checked (its decorator is then unknown).
    """
    try:
        import pytest_asyncio
    except ImportError:
        return pytest.fixture
    decorator: _AsyncFixtureDecorator = pytest_asyncio.fixture
    return decorator


_async_fixture = _async_fixture_decorator()


@_async_fixture
async def sdm_async_client() -> AsyncIterator[Any]:
    """An aiobotocore snow-device-management client in us-east-1, inside mock_aws."""
    from aiobotocore.session import get_session
    from moto import mock_aws

    import moto_snowdevice  # noqa: F401 - registers the service with moto

    with mock_aws():
        try:
            async with get_session().create_client("snow-device-management", region_name="us-east-1") as client:
                yield client
        finally:
            _forget_progression()


@pytest.fixture
def sdm_fleet(request: pytest.FixtureRequest) -> list[str]:
    """The managed device IDs of the seeded fleet (sample, unless marked with sdm_fleet).

    Seeded on `sdm_server` when the test uses it, else after `sdm_client`'s reset, where its clients go.
    """
    from moto_snowdevice import load_fleet

    marker = request.node.get_closest_marker("sdm_fleet")
    fleet = marker.args[0] if marker else "sample"
    if "sdm_server" in request.fixturenames:
        return load_fleet(fleet, endpoint_url=request.getfixturevalue("sdm_server"))
    request.getfixturevalue("sdm_client")
    return load_fleet(fleet)


class MockServerProcess:
    """`python -m moto_snowdevice -p 0 ARGUMENTS` in a process of its own, as a context manager.

    Entering waits until it listens and sets `url` (with `--proxy`, moto's proxy at
    http://localhost:PORT); leaving (or `stop()`) sends SIGTERM (or the given signal) and waits,
    leaving the exit status in `returncode`. Its log goes to a temporary file, so a full pipe never
    stalls it. Its standard input is a pipe from this process, and the server stops when that pipe
    ends: a process that ends without stopping it (killed, crashed) takes it along.
    """

    def __init__(self, *arguments: str, env: dict[str, str] | None = None) -> None:
        self.arguments = arguments
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.url = ""
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

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
            found, proxy = _LISTENING.search(line), _PROXY_LISTENING.search(line)
            if found is not None:
                self.url = found.group(1)
                return self
            if proxy is not None:
                self.url = f"http://localhost:{proxy.group(1)}"
                return self
        self._process.wait(timeout=30)
        self._log.seek(0)
        log = self._log.read()
        self.stop()
        raise RuntimeError("the mock server stopped before listening:\n" + log)

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
            if self._log is not None:
                self._log.close()
        return -1 if self.returncode is None else self.returncode

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def sdm_server_url() -> Iterator[str]:
    """The URL of a mock server of every moto service and this one, for the whole session.

    Under moto's TEST_SERVER_MODE, the server moto sends the clients to; else one of its own.
    """
    from moto_snowdevice import _moto

    endpoint = _moto.test_server_endpoint()
    if endpoint is not None:
        yield endpoint
        return
    with MockServerProcess() as server:
        yield server.url


@pytest.fixture
def sdm_server(sdm_server_url: str) -> Iterator[str]:
    """The session's mock server URL, its state reset for this test and after it."""
    _reset_server(sdm_server_url)
    yield sdm_server_url
    _reset_server(sdm_server_url)


def _reset_server(url: str) -> None:
    """moto's reset of a server, and no progression set for the service's executions there or here."""
    from moto_snowdevice import _control

    _control.call_control_route(url, "POST", "/moto-api/reset")
    _forget_progression(url)
