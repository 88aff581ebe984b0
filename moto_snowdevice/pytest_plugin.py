"""pytest fixtures for Snow Device Management, registered through the `pytest11` entry point.

- `sdm_client`: a boto3 snow-device-management client (us-east-1) inside `mock_aws`.
- `sdm_fleet`: the managed device IDs of a fleet seeded into that mock: the packaged sample fleet,
  or the file or name given by `@pytest.mark.sdm_fleet("path/or/name")`.
- `sdm_async_client`: an aiobotocore snow-device-management client (us-east-1) inside `mock_aws`,
  for async tests run by pytest-asyncio or anyio's pytest plugin.
- `sdm_server_url`: session-wide; the URL of a mock server (own process, free port) for any SDK.
- `sdm_server`: that URL, with the server's state reset before the test.
- `MockServerProcess`: a mock server in a process of its own, as a context manager.

The entry point loads the top-level module `_moto_snowdevice_pytest`, which imports neither moto nor
boto3 (importing this package would: it registers the service with moto); this module names the
same objects for import.
"""

from _moto_snowdevice_pytest import (  # the hooks too, for a conftest naming this module
    MockServerProcess,
    pytest_addoption,
    pytest_configure,
    pytest_unconfigure,
    sdm_async_client,
    sdm_client,
    sdm_fleet,
    sdm_server,
    sdm_server_url,
)

__all__ = [
    "MockServerProcess",
    "pytest_addoption",
    "pytest_configure",
    "pytest_unconfigure",
    "sdm_async_client",
    "sdm_client",
    "sdm_fleet",
    "sdm_server",
    "sdm_server_url",
]
