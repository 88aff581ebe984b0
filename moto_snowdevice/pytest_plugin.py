"""The pytest plugin's public names: fixtures `sdm_client`, `sdm_fleet`, `sdm_async_client`,
`sdm_server_url`, `sdm_server`, and `MockServerProcess` (each described where it is defined).

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
