"""Benchmarks of moto-snowdevice, each figure a ratio against a baseline measured in the same run.

    python benchmarks/run.py            # everything (a few minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller counts, for a smoke run

1. per call under mock_aws, against a botocore client whose before-send hook returns a canned
   response (the floor) and against moto's built-in rest-json IVS GetChannel;
2. full ListTasks / ListDevices walks in pages of 100 over N and 10*N items, and ListExecutions of one
   task with N and 10*N tasks stored;
3. retained memory per stored task with one target (tracemalloc);
4. server mode: 8 concurrent boto3 clients (one process each) against moto-snowdevice-server
   (DescribeTask) and against moto_server (IVS GetChannel).

Async clients (aiobotocore) are measured by benchmarks/async_run.py, in an async venv.
"""

import argparse
import gc
import json
import multiprocessing
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse

import moto_snowdevice
from moto_snowdevice.models import snowdevicemanagement_backends

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "secret"}
rows: list[tuple[str, str, str, str]] = []


def report(section: str, what: str, figure: str, goal: str) -> None:
    rows.append((section, what, figure, goal))
    print(f"  {what}: {figure}  (goal {goal})", flush=True)


def print_table() -> None:
    print()
    print(f"{'section':<11} | {'measure':<62} | {'figure':<42} | goal")
    print(f"{'-' * 11}-+-{'-' * 62}-+-{'-' * 42}-+-------")
    for section, what, figure, goal in rows:
        print(f"{section:<11} | {what:<62} | {figure:<42} | {goal}")


def per_call_seconds(call: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls


def interleaved(
    candidates: dict[str, Callable[[], Any]], mock: Any, calls: int, rounds: int = 5
) -> dict[str, float]:
    """Median seconds per call of each candidate, measured in alternating rounds against noise.

    Candidates named "... floor" run with the mock stopped (its data kept): inside mock_aws moto's
    stubber answers every botocore call, even one that a before-send hook already answered.
    """

    def measure(name: str, count: int) -> float:
        floor = name.endswith("floor")
        if floor:
            mock.stop(remove_data=False)
        try:
            return per_call_seconds(candidates[name], count)
        finally:
            if floor:
                mock.start(reset=False)

    for name in candidates:
        measure(name, max(calls // 10, 20))
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name in candidates:
            samples[name].append(measure(name, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def canned_client(body: dict[str, Any]) -> Any:
    """The floor: a botocore client whose before-send hook answers without any mock behind it."""
    payload = json.dumps(body).encode()
    client = boto3.client("snow-device-management", region_name=REGION, **CREDENTIALS)

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, {"Content-Type": "application/json"}, MockRawResponse(payload))

    client.meta.events.register_first("before-send", answer)
    return client


def bench_per_call(calls: int) -> None:
    print("1. per call under mock_aws", flush=True)
    with mock_aws() as mock:
        device = moto_snowdevice.add_device()
        sdm = boto3.client("snow-device-management", region_name=REGION)
        ivs = boto3.client("ivs", region_name=REGION)
        channel = ivs.create_channel(name="bench")["channel"]["arn"]
        task_id = sdm.create_task(targets=[device], command={"reboot": {}})["taskId"]
        for _ in range(99):
            sdm.create_task(targets=[device], command={"reboot": {}})
        described = sdm.describe_task(taskId=task_id)
        described.pop("ResponseMetadata")
        listed = sdm.list_tasks(maxResults=10)
        listed.pop("ResponseMetadata")
        # CancelTask needs a fresh queued task per call
        spare = [
            sdm.create_task(targets=[moto_snowdevice.add_device()], command={"reboot": {}})["taskId"]
            for _ in range(calls * 6 + max(calls // 10, 20))
        ]
        spare_iterator = iter(spare)
        canned_describe = canned_client(json.loads(json.dumps(described, default=lambda t: t.timestamp())))
        canned_list = canned_client(listed)
        canned_create = canned_client({"taskId": task_id, "taskArn": described["taskArn"]})
        canned_cancel = canned_client({"taskId": task_id})
        results = interleaved(
            {
                "DescribeTask": lambda: sdm.describe_task(taskId=task_id),
                "DescribeTask floor": lambda: canned_describe.describe_task(taskId=task_id),
                "CreateTask": lambda: sdm.create_task(targets=[device], command={"reboot": {}}),
                "CreateTask floor": lambda: canned_create.create_task(targets=[device], command={"reboot": {}}),
                "CancelTask": lambda: sdm.cancel_task(taskId=next(spare_iterator)),
                "CancelTask floor": lambda: canned_cancel.cancel_task(taskId=task_id),
                "ListTasks": lambda: sdm.list_tasks(maxResults=10),
                "ListTasks floor": lambda: canned_list.list_tasks(maxResults=10),
                "IVS GetChannel (moto)": lambda: ivs.get_channel(arn=channel),
            },
            mock,
            calls,
        )
    for operation in ("DescribeTask", "CreateTask", "CancelTask", "ListTasks"):
        ours, floor = results[operation], results[f"{operation} floor"]
        report("per call", f"{operation} / floor", f"{ours / floor:.2f}x ({ours * 1e6:.0f} us vs {floor * 1e6:.0f} us)", "<= 1.5x")
    ivs_time = results["IVS GetChannel (moto)"]
    report(
        "per call",
        "DescribeTask / moto IVS GetChannel",
        f"{results['DescribeTask'] / ivs_time:.2f}x ({ivs_time * 1e6:.0f} us for IVS)",
        "< 1x",
    )


def _walk(pages: Callable[[], Iterator[dict[str, Any]]], key: str) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(len(page[key]) for page in pages())
    return time.perf_counter() - started, count


def bench_pagination(small: int) -> None:
    print("2. pagination", flush=True)
    timings: dict[str, dict[int, float]] = {"ListTasks": {}, "ListDevices": {}, "ListExecutions": {}}
    for size in (small, small * 10):
        with mock_aws():
            backend = snowdevicemanagement_backends["123456789012"][REGION]
            devices = [moto_snowdevice.add_device() for _ in range(size)]
            for index in range(size):
                backend.create_task([devices[index]], {"reboot": {}}, None, None, None)
            probe = backend.create_task(devices[:10], {"reboot": {}}, None, None, None).task_id
            sdm = boto3.client("snow-device-management", region_name=REGION)
            config = {"PageSize": 100}
            for operation, key, arguments in (
                ("ListTasks", "tasks", {}),
                ("ListDevices", "devices", {}),
            ):
                paginator = sdm.get_paginator(operation[0].lower() + re.sub(r"([A-Z])", r"_\1", operation[1:]).lower())
                seconds, count = _walk(lambda: paginator.paginate(PaginationConfig=config, **arguments), key)
                assert count >= size, (operation, count, size)
                timings[operation][size] = seconds
            seconds = min(
                per_call_seconds(lambda: sdm.list_executions(taskId=probe, maxResults=100), 50) for _ in range(3)
            )
            timings["ListExecutions"][size] = seconds
    for operation, by_size in timings.items():
        growth = by_size[small * 10] / by_size[small]
        what = (
            f"{operation} full walk, {small * 10} vs {small} items"
            if operation != "ListExecutions"
            else f"ListExecutions of one task, {small * 10} vs {small} tasks stored"
        )
        before, after = by_size[small], by_size[small * 10]
        unit, scale = ("ms", 1e3) if operation != "ListExecutions" else ("us", 1e6)
        report("pagination", what, f"{growth:.1f}x ({before * scale:.0f} {unit} -> {after * scale:.0f} {unit})", "<= 13x")


def bench_memory(tasks: int) -> None:
    print("3. memory", flush=True)
    with mock_aws():
        device = moto_snowdevice.add_device()
        sdm = boto3.client("snow-device-management", region_name=REGION)
        for _ in range(100):
            sdm.create_task(targets=[device], command={"reboot": {}})
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(tasks):
            sdm.create_task(targets=[device], command={"reboot": {}})
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        retained = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    report("memory", f"retained bytes per task with one target ({tasks} created through boto3)", f"{retained / tasks:.0f} B", "<= 2048 B")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _process(command: list[str], ready: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if ready in line:
            break
    # Keep draining the log so a full pipe never stalls the server
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client_process(job: tuple[str, str, str, float, float]) -> tuple[list[float], int]:
    """One of the concurrent clients, in a process of its own: latencies and errors of its calls."""
    url, service, ident, start_at, seconds = job
    config = Config(retries={"max_attempts": 1})
    client = boto3.client(service, region_name=REGION, endpoint_url=url, config=config, **CREDENTIALS)
    call = (
        (lambda: client.get_channel(arn=ident))
        if service == "ivs"
        else (lambda: client.describe_task(taskId=ident))
    )
    for _ in range(20):
        call()
    while time.time() < start_at:
        time.sleep(0.001)
    latencies, errors, deadline = [], 0, start_at + seconds
    while time.time() < deadline:
        started = time.perf_counter()
        try:
            call()
        except Exception:  # noqa: BLE001 - counted, not raised
            errors += 1
        latencies.append(time.perf_counter() - started)
    return latencies, errors


def _load(url: str, service: str, ident: str, clients: int, seconds: float) -> tuple[float, float, int]:
    """Throughput (calls/s), p99 latency (s) and errors of `clients` concurrent clients.

    Each client runs in its own process, so the load generator is not held back by one GIL.
    """
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        start_at = time.time() + 5  # time for every process to start and warm up
        results = pool.map(_client_process, [(url, service, ident, start_at, seconds)] * clients)
    latencies = sorted(latency for mine, _ in results for latency in mine)
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    return len(latencies) / seconds, p99, sum(errors for _, errors in results)


def bench_server(seconds: float) -> None:
    print("4. server mode, 8 concurrent clients (one process each)", flush=True)
    ours_port, moto_port = _free_port(), _free_port()
    with _process(
        [sys.executable, "-m", "moto_snowdevice", "-p", str(ours_port), "--fleet", "sample"], "listening on"
    ), _process([sys.executable, "-m", "moto.server", "-p", str(moto_port)], "Running on"):
        ours_url, moto_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{moto_port}"
        sdm = boto3.client("snow-device-management", region_name=REGION, endpoint_url=ours_url, **CREDENTIALS)
        ivs = boto3.client("ivs", region_name=REGION, endpoint_url=moto_url, **CREDENTIALS)
        task_id = sdm.create_task(targets=["smd-fictbgr3rbcjeqa5"], command={"reboot": {}})["taskId"]
        channel = ivs.create_channel(name="bench")["channel"]["arn"]
        ours = _load(ours_url, "snow-device-management", task_id, 8, seconds)
        theirs = _load(moto_url, "ivs", channel, 8, seconds)
    report("server", "throughput, DescribeTask vs moto_server IVS GetChannel", f"{ours[0] / theirs[0]:.2f}x ({ours[0]:.0f}/s vs {theirs[0]:.0f}/s)", ">= 2x")
    report("server", "p99 latency, DescribeTask", f"{ours[1] * 1000:.1f} ms (moto_server IVS: {theirs[1] * 1000:.1f} ms)", "<= 30 ms")
    report("server", "errors", f"{ours[2]} (moto_server IVS: {theirs[2]})", "0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    args = parser.parse_args()
    quick = args.quick
    bench_per_call(200 if quick else 1000)
    bench_pagination(200 if quick else 2000)
    bench_memory(1000 if quick else 5000)
    bench_server(2.0 if quick else 10.0)
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
