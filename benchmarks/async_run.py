"""Benchmark of aiobotocore clients: per call in-process against the same call at the mock server.

    .venv-async3/bin/python benchmarks/async_run.py            # an async venv (.ci/run builds them)
    .venv-async3/bin/python benchmarks/async_run.py --quick    # smaller counts, for a smoke run

Measured in the same run, in alternating rounds against noise (median of the rounds):
1. per call, one call at a time: DescribeTask, CreateTask and ListTasks of an aiobotocore client
   under mock_aws, against the same calls of an aiobotocore client at moto-snowdevice-server (its
   own process, loopback), and against boto3's in-process calls;
2. per call, 50 DescribeTask calls at once with asyncio.gather, in-process and at the server.

Server calls are measured with the mock stopped (its data kept): inside mock_aws moto's stubber looks
at every request first, which a client talking to a server does not pay.
"""

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import boto3
import requests
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from moto import mock_aws
from run import per_call_seconds, print_table, report

import moto_snowdevice
from moto_snowdevice.pytest_plugin import MockServerProcess

REGION = "us-east-1"
SERVICE = "snow-device-management"
REBOOT: dict[str, Any] = {"reboot": {}}
CREDENTIALS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "secret"}
GATHERED = 50


async def per_call_async(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls


async def per_call_gathered(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(max(calls // GATHERED, 1)):
        await asyncio.gather(*(call() for _ in range(GATHERED)))
    return (time.perf_counter() - started) / (max(calls // GATHERED, 1) * GATHERED)


async def interleaved(
    candidates: dict[str, tuple[Callable[[int], Any], bool]], mock: Any, calls: int, rounds: int = 5
) -> dict[str, float]:
    """Median seconds per call of each candidate: name -> (measure, whether it is a server call)."""

    async def measure(name: str, count: int) -> float:
        measure_calls, at_server = candidates[name]
        if at_server:
            mock.stop(remove_data=False)
        try:
            result = measure_calls(count)
            return await result if asyncio.iscoroutine(result) else float(result)
        finally:
            if at_server:
                mock.start(reset=False)

    for name in candidates:
        await measure(name, max(calls // 10, 20))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name in candidates:
            samples[name].append(await measure(name, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def _operations(client: Any, device: str, task_id: str) -> dict[str, Callable[[], Any]]:
    return {
        "DescribeTask": lambda: client.describe_task(taskId=task_id),
        "CreateTask": lambda: client.create_task(targets=[device], command=REBOOT),
        "ListTasks": lambda: client.list_tasks(maxResults=10),
    }


async def bench_async(calls: int) -> None:
    print("aiobotocore per call: in-process vs moto-snowdevice-server", flush=True)
    with MockServerProcess() as server:
        remote_device = server_device(server.url)
        with mock_aws() as mock:
            results = await _measure(server.url, remote_device, mock, calls)
    for operation in ("DescribeTask", "CreateTask", "ListTasks"):
        ours, theirs, sync_time = (results[f"{operation} {where}"] for where in ("in-process", "server", "boto3"))
        report(
            "async",
            f"{operation} in-process / at the server",
            f"{ours / theirs:.2f}x ({ours * 1e6:.0f} us vs {theirs * 1e6:.0f} us)",
            "< 1x",
        )
        report(
            "async",
            f"{operation} in-process, aiobotocore / boto3",
            f"{ours / sync_time:.2f}x (boto3: {sync_time * 1e6:.0f} us)",
            "reported",
        )
    ours, theirs = results["gathered in-process"], results["gathered server"]
    report(
        "async",
        f"DescribeTask x{GATHERED} gathered, per call: in-process / server",
        f"{ours / theirs:.2f}x ({ours * 1e6:.0f} us vs {theirs * 1e6:.0f} us)",
        "< 1x",
    )


async def _measure(url: str, remote_device: str, mock: Any, calls: int) -> dict[str, float]:
    """Median seconds per call of each operation in-process, at the server, and through boto3."""
    config = AioConfig(retries={"total_max_attempts": 1})
    session = get_session()
    local_device = moto_snowdevice.add_device()
    sync = boto3.client(SERVICE, region_name=REGION)
    local_context = session.create_client(SERVICE, region_name=REGION, config=config)
    remote_context = session.create_client(SERVICE, region_name=REGION, endpoint_url=url, config=config, **CREDENTIALS)
    async with local_context as local, remote_context as remote:
        local_task = (await local.create_task(targets=[local_device], command=REBOOT))["taskId"]
        mock.stop(remove_data=False)
        remote_task = (await remote.create_task(targets=[remote_device], command=REBOOT))["taskId"]
        mock.start(reset=False)
        local_calls = _operations(local, local_device, local_task)
        remote_calls = _operations(remote, remote_device, remote_task)
        candidates: dict[str, tuple[Callable[[int], Any], bool]] = {}
        for operation in local_calls:
            local_call, remote_call = local_calls[operation], remote_calls[operation]
            sync_call = _operations(sync, local_device, local_task)[operation]
            candidates[f"{operation} in-process"] = (partial(per_call_async, local_call), False)
            candidates[f"{operation} server"] = (partial(per_call_async, remote_call), True)
            candidates[f"{operation} boto3"] = (partial(per_call_seconds, sync_call), False)
        candidates["gathered in-process"] = (partial(per_call_gathered, local_calls["DescribeTask"]), False)
        candidates["gathered server"] = (partial(per_call_gathered, remote_calls["DescribeTask"]), True)
        return await interleaved(candidates, mock, calls)


def server_device(url: str) -> str:
    """A managed device added to the server through its seeding endpoint."""
    response = requests.post(f"{url}/moto-api/{SERVICE}/devices", json={"device": {}}, timeout=30)
    response.raise_for_status()
    return str(response.json()["managedDeviceId"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    args = parser.parse_args()
    asyncio.run(bench_async(100 if args.quick else 500))
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
