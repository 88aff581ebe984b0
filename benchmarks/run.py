"""Benchmarks of moto-snowdevice, each figure a ratio against a baseline measured in the same run.

    python benchmarks/run.py            # everything (a few minutes on 2 cores)
    python benchmarks/run.py --quick    # smaller counts, for a smoke run
    python benchmarks/run.py --only plugin

1. per call under mock_aws, against a botocore client whose before-send hook returns a canned
   response (the floor) and against moto's built-in rest-json IVS GetChannel;
2. full ListTasks / ListDevices walks in pages of 100 over N and 10*N items, and ListExecutions of one
   task with N and 10*N tasks stored;
3. retained memory per stored task with one target (tracemalloc);
4. server mode: 8 concurrent boto3 clients (one process each) against moto-snowdevice-server
   (DescribeTask) and against moto_server (IVS GetChannel);
5. front ends side by side on the same application: cheroot as it was (16 threads), cheroot tuned,
   waitress, granian: a normal client's p99 while 150 slowloris and 100 idle keep-alive connections are
   open, 64 clients connecting at once, 8 clients' throughput;
6. --state: CreateTask calls/s written through vs without --state, and loading N and 10*N tasks;
7. the pytest plugin's cost: a one-test pytest run with the plugin loaded against the same run with
   `-p no:moto_snowdevice`, alternating, median of each.

Async clients (aiobotocore) are measured by benchmarks/async_run.py, in an async venv.
"""

import argparse
import contextlib
import gc
import importlib.util
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws
from moto.core.botocore_stubber import MockRawResponse

import moto_snowdevice
from moto_snowdevice.models import snowdevicemanagement_backends
from moto_snowdevice.models.devices import MAX_DEVICES_PER_BACKEND

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "secret"}
rows: list[tuple[str, str, str, str]] = []
# Rounds of the --state part's throughput runs, seconds / STATE_ROUNDS each
STATE_ROUNDS = 15
# Rounds of the per-call part: each candidate runs max(calls // ROUNDS, 20) calls a round
ROUNDS = 25


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
    candidates: dict[str, Callable[[], Any]], mock: Any, calls: int, rounds: int = ROUNDS
) -> dict[str, list[float]]:
    """Seconds per call of each candidate in each of `rounds` rounds, the candidates alternating.

    Many short rounds, so that a pair measured back to back (an operation and its floor) shares the
    machine's state of the moment; the callers take the median of the pairs' ratios.

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
            samples[name].append(measure(name, max(calls // rounds, 20)))
    return samples


def paired_ratio(samples: dict[str, list[float]], ours: str, baseline: str) -> tuple[float, float, float]:
    """The median of the rounds' ratios of `ours` to `baseline`, and the median seconds of each."""
    ratios = [mine / theirs for mine, theirs in zip(samples[ours], samples[baseline], strict=True)]
    return statistics.median(ratios), statistics.median(samples[ours]), statistics.median(samples[baseline])


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
            for _ in range(max(calls // 10, 20) + ROUNDS * max(calls // ROUNDS, 20))
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
        ratio, ours, floor = paired_ratio(results, operation, f"{operation} floor")
        report(
            "per call",
            f"{operation} / floor",
            f"{ratio:.2f}x ({ours * 1e6:.0f} us vs {floor * 1e6:.0f} us)",
            "<= 1.5x",
        )
    ratio, _, ivs_time = paired_ratio(results, "DescribeTask", "IVS GetChannel (moto)")
    report(
        "per call",
        "DescribeTask / moto IVS GetChannel",
        f"{ratio:.2f}x ({ivs_time * 1e6:.0f} us for IVS)",
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
                pages = partial(paginator.paginate, PaginationConfig=config, **arguments)
                seconds, count = _walk(pages, key)
                assert count >= size, (operation, count, size)
                timings[operation][size] = seconds
            seconds = min(
                per_call_seconds(partial(sdm.list_executions, taskId=probe, maxResults=100), 50) for _ in range(3)
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
        report(
            "pagination", what, f"{growth:.1f}x ({before * scale:.0f} {unit} -> {after * scale:.0f} {unit})", "<= 13x"
        )


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
    report(
        "memory",
        f"retained bytes per task with one target ({tasks} created through boto3)",
        f"{retained / tasks:.0f} B",
        "<= 2048 B",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _process(command: list[str], ready: str | None) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout if ready else ():
        if ready in line:
            break
    # Keep draining the log so a full pipe never stalls the server
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _client_process(job: tuple[str, str, str, float, float]) -> tuple[list[float], int]:
    """One of the concurrent clients, in a process of its own: latencies and errors of its calls."""
    url, service, ident, start_at, seconds = job
    config = Config(retries={"max_attempts": 1})
    client = boto3.client(service, region_name=REGION, endpoint_url=url, config=config, **CREDENTIALS)
    call = (lambda: client.get_channel(arn=ident)) if service == "ivs" else (lambda: client.describe_task(taskId=ident))
    for _ in range(20):
        with contextlib.suppress(Exception):  # a warm-up call that fails is not measured
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
        start_at = time.time() + 15  # time for every process to start and warm up, on a busy machine too
        results = pool.map(_client_process, [(url, service, ident, start_at, seconds)] * clients)
    latencies = [latency for mine, _ in results for latency in mine]
    errors = sum(failed for _, failed in results)
    # Only answered calls count as throughput; failed ones still count in the latencies
    return (len(latencies) - errors) / seconds, _p99(latencies), errors


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


def bench_server(seconds: float) -> None:
    print("4. server mode, 8 concurrent clients (one process each)", flush=True)
    try:
        _measure_server(seconds)
    except Exception as error:  # noqa: BLE001 - the other parts still run and report
        report("server", "not measured", f"{type(error).__name__}: {error}"[:120], "starts and serves")


def _measure_server(seconds: float) -> None:
    ours_port, moto_port = _free_port(), _free_port()
    with (
        _process([sys.executable, "-m", "moto_snowdevice", "-p", str(ours_port), "--fleet", "sample"], "listening on"),
        _process([sys.executable, "-m", "moto.server", "-p", str(moto_port)], "Running on"),
    ):
        ours_url, moto_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{moto_port}"
        sdm = boto3.client("snow-device-management", region_name=REGION, endpoint_url=ours_url, **CREDENTIALS)
        ivs = boto3.client("ivs", region_name=REGION, endpoint_url=moto_url, **CREDENTIALS)
        task_id = sdm.create_task(targets=["smd-fictbgr3rbcjeqa5"], command={"reboot": {}})["taskId"]
        channel = ivs.create_channel(name="bench")["channel"]["arn"]
        ours = _load(ours_url, "snow-device-management", task_id, 8, seconds)
        theirs = _load(moto_url, "ivs", channel, 8, seconds)
    report(
        "server",
        "throughput, DescribeTask vs moto_server IVS GetChannel",
        f"{_ratio(ours[0], theirs[0])} ({ours[0]:.0f}/s vs {theirs[0]:.0f}/s)",
        ">= 2x",
    )
    report(
        "server",
        "p99 latency, DescribeTask",
        f"{ours[1] * 1000:.1f} ms (moto_server IVS: {theirs[1] * 1000:.1f} ms)",
        "<= 30 ms",
    )
    report("server", "errors", f"{ours[2]} (moto_server IVS: {theirs[2]})", "0")


def _state_file(path: Path, tasks: int) -> None:
    """A state file with one managed device and `tasks` tasks on it, written as the server writes."""
    from moto_snowdevice import _state

    with mock_aws():
        backend = snowdevicemanagement_backends["123456789012"][REGION]
        device = moto_snowdevice.add_device()
        for _ in range(tasks):
            backend.create_task([device], {"reboot": {}}, None, None, None)
        _state.write_database(path, [backend])


def _load_seconds(path: Path) -> float:
    from moto_snowdevice import _state

    with mock_aws():
        started = time.perf_counter()
        store = _state.StateStore.open(path)
        seconds = time.perf_counter() - started
        store.close()
    return seconds


def _processor_seconds(pid: int) -> float | None:
    """A process's user and system time so far, from Linux's /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _create_task_rate(port: int, clients: int, seconds: float) -> tuple[float, int]:
    """CreateTask calls/s of `clients` keep-alive raw HTTP clients (threads: the server is the bottleneck)."""
    body = json.dumps({"targets": ["smd-fictbgr3rbcjeqa5"], "command": {"reboot": {}}})
    request = (
        f"POST /task HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIGNED}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    counts, errors, deadline = [0] * clients, [0], time.time() + seconds

    def client(index: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            while time.time() < deadline:
                sock.sendall(request)
                if _read_response(sock) == 200:
                    counts[index] += 1
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds, errors[0]


def bench_state(seconds: float, tasks: int) -> None:
    print("6. --state: CreateTask throughput written through, and loading", flush=True)
    configurations = {
        "without --state": [],
        "--state": ["--state", "normal.db"],
        "--state --state-sync full": ["--state", "full.db", "--state-sync", "full"],
    }
    rates: dict[str, list[float]] = {name: [] for name in configurations}
    # Each server's processor time per call in each round: what a write costs the one core it is bound to
    costs: dict[str, list[float]] = {name: [] for name in configurations}
    errors = 0
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as servers:
        ports, pids = {}, {}
        for name, arguments in configurations.items():
            ports[name] = _free_port()
            command = [
                sys.executable,
                "-m",
                "moto_snowdevice",
                "-p",
                str(ports[name]),
                "--fleet",
                "sample",
                *[f"{directory}/{argument}" if argument.endswith(".db") else argument for argument in arguments],
            ]
            pids[name] = servers.enter_context(_process(command, "listening on")).pid
        # Many short alternating rounds, each configuration's ratio the median of its rounds' ratios to
        # the round's run without --state: the noise of a shared machine falls on them alike
        for _ in range(STATE_ROUNDS):
            for name, port in ports.items():
                before = _processor_seconds(pids[name])
                rate, failed = _create_task_rate(port, 4, seconds / STATE_ROUNDS)
                after = _processor_seconds(pids[name])
                rates[name].append(rate)
                errors += failed
                if before is not None and after is not None and rate:
                    costs[name].append((after - before) / (rate * seconds / STATE_ROUNDS))
        base = statistics.median(rates["without --state"])
        for name in ("--state", "--state --state-sync full"):
            rate = statistics.median(rates[name])
            ratio = statistics.median(
                ours / theirs for ours, theirs in zip(rates[name], rates["without --state"], strict=True)
            )
            goal = ">= 0.7x" if name == "--state" else "(reported)"
            report(
                "state",
                f"CreateTask calls/s, 4 clients, {name} vs without",
                f"{ratio:.2f}x ({rate:.0f}/s vs {base:.0f}/s; {errors} errors)",
                goal,
            )
            if costs[name] and costs["without --state"]:
                ours, theirs = statistics.median(costs[name]), statistics.median(costs["without --state"])
                report(
                    "state",
                    f"server processor time per CreateTask, {name} vs without",
                    f"+{(ours - theirs) * 1e6:.0f} us ({ours * 1e6:.0f} us vs {theirs * 1e6:.0f} us)",
                    "(reported)",
                )
        loads = {}
        for count in (tasks // 10, tasks):
            path = Path(directory) / f"load-{count}.db"
            _state_file(path, count)
            loads[count] = min(_load_seconds(path) for _ in range(2))
        small, large = loads[tasks // 10], loads[tasks]
        report(
            "state",
            f"loading {tasks} tasks, and vs {tasks // 10}",
            f"{large:.2f} s ({large / small:.1f}x of {small:.2f} s)",
            "seconds; ~10x (linear)",
        )


# 5. front ends, side by side: each candidate serves the same application in a process of its own

FRONT_ENDS = ("cheroot-16", "cheroot-tuned", "waitress", "granian")
SIGNED = (
    "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0\r\n"
)


def served_application() -> Any:
    """The application as moto-snowdevice-server serves it (with CORS), on the sample fleet.

    granian's worker process builds it too (granian imports a factory by name).
    """
    from moto_snowdevice._cors import with_cors
    from moto_snowdevice._server import SnowDeviceManagementApplication, is_for_service

    moto_snowdevice.load_fleet("sample")
    return with_cors(SnowDeviceManagementApplication(), is_for_service)


def serve_front_end(name: str, port: int) -> None:
    """Serve the sample fleet with one candidate front end until terminated (`run.py --serve NAME PORT`)."""
    if name == "granian":
        from granian import Granian

        sys.path.insert(0, str(Path(__file__).parent))
        Granian(
            "run:served_application",
            address="127.0.0.1",
            port=port,
            interface="wsgi",
            factory=True,
            blocking_threads=8,
            backlog=1024,
            log_enabled=False,
        ).serve()
        return
    if name == "waitress":
        from moto_snowdevice._server import make_mock_server

        # Exactly what moto-snowdevice-server serves: its waitress settings, channel and application
        moto_snowdevice.load_fleet("sample")
        server = make_mock_server("127.0.0.1", port)
    elif name.startswith("cheroot"):
        from cheroot import wsgi

        tuned = {"numthreads": 256, "request_queue_size": 1024, "timeout": 10} if name == "cheroot-tuned" else {}
        server = wsgi.Server(("127.0.0.1", port), served_application(), **{"numthreads": 16, **tuned})
    else:
        raise SystemExit(f"unknown front end {name}: one of {', '.join(FRONT_ENDS)}")
    print("front end ready", flush=True)
    (server.run if hasattr(server, "run") else server.safe_start)()


def _read_response(sock: socket.socket) -> int:
    """The status of one HTTP/1.1 response read whole from `sock` (Content-Length framed).

    A response that closes the connection comes back as a negative status: a new connection is needed.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    found = re.match(rb"HTTP/1\.[01] (\d{3})", head), re.search(rb"(?i)content-length:\s*(\d+)", head)
    if found[0] is None or found[1] is None:
        raise ConnectionError(f"not a Content-Length framed response: {head[:80]!r}")
    status, length = int(found[0].group(1)), int(found[1].group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the response")
        body += chunk
    return -status if re.search(rb"(?i)\r\nconnection:\s*close", head) else status


def _describe_request(task_id: str, close: bool = False) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"POST /task/{task_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SIGNED}{connection}Content-Length: 0\r\n\r\n".encode()


def _one_call(port: int, request: bytes, timeout: float) -> float:
    """Seconds for a fresh connection to get a 200; raises on anything else."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        status = abs(_read_response(sock))
    if status != 200:
        raise ConnectionError(f"status {status}")
    return time.perf_counter() - started


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(int(len(ordered) * 0.99) - 1, 0)] if ordered else float("nan")


def _open_slow_and_idle(port: int, task_id: str) -> tuple[list[socket.socket], list[socket.socket]]:
    """150 slowloris connections (headers begun, never ended) and 100 idle keep-alive ones."""
    slow: list[socket.socket] = []
    idle: list[socket.socket] = []
    try:
        for _ in range(150):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(f"POST /task/{task_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
            slow.append(sock)
        for _ in range(100):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(_describe_request(task_id))
            _read_response(sock)
            idle.append(sock)
    except OSError:
        pass  # a server that cannot take them all is measured as it is
    return slow, idle


def _keep_alive_calls(port: int, task_id: str, seconds: float) -> tuple[list[float], int]:
    """Latencies and errors of one normal keep-alive client calling DescribeTask for `seconds`."""
    latencies: list[float] = []
    errors, deadline = 0, time.time() + seconds
    client = None
    while time.time() < deadline:
        started = time.perf_counter()
        try:
            if client is None:
                client = socket.create_connection(("127.0.0.1", port), timeout=2)
            client.sendall(_describe_request(task_id))
            status = _read_response(client)
            if abs(status) != 200:
                errors += 1
            if status < 0:
                client.close()
                client = None
        except OSError:
            errors += 1
            client = None
        latencies.append(time.perf_counter() - started)
    if client is not None:
        client.close()
    return latencies, errors


def _under_slow_and_idle(port: int, task_id: str, seconds: float) -> tuple[float, int, int]:
    """p99, errors and calls of one normal keep-alive client while 150 slowloris and 100 idle connections are open."""
    slow, idle = _open_slow_and_idle(port, task_id)
    stop = threading.Event()

    def drip() -> None:
        # One more header line a second: the request never ends
        while not stop.wait(1.0):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X-Slow: 1\r\n")

    feeder = threading.Thread(target=drip, daemon=True)
    feeder.start()
    try:
        latencies, errors = _keep_alive_calls(port, task_id, seconds)
    finally:
        stop.set()
        feeder.join()
        for sock in [*slow, *idle]:
            sock.close()
    return _p99(latencies), errors, len(latencies)


def _burst(port: int, task_id: str, clients: int, rounds: int) -> tuple[float, int]:
    """p99 and errors of `clients` clients connecting at the same moment, `rounds` times."""
    latencies: list[float] = []
    errors = [0]
    request = _describe_request(task_id, close=True)
    for _ in range(rounds):
        barrier = threading.Barrier(clients)

        def one(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                latencies.append(_one_call(port, request, timeout=10))
            except OSError:
                errors[0] += 1

        threads = [threading.Thread(target=one) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.2)
    return _p99(latencies), errors[0]


def bench_front_ends(seconds: float, candidates: tuple[str, ...]) -> None:
    print("5. front ends side by side (cheroot-16 is the front end before this change)", flush=True)
    for name in candidates:
        module = name.split("-")[0]
        if importlib.util.find_spec(module) is None:
            report("front end", f"{name}: not measured", f"{module} is not installed", "pip install -e '.[bench]'")
            continue
        try:
            _measure_front_end(name, seconds)
        except Exception as error:  # noqa: BLE001 - one candidate failing must not end the others' run
            report("front end", f"{name}: not measured", f"{type(error).__name__}: {error}"[:120], "starts and serves")


def _measure_front_end(name: str, seconds: float) -> None:
    port = _free_port()
    command = [sys.executable, __file__, "--serve", name, str(port)]
    with _process(command, "front end ready" if name != "granian" else None) as process:
        _wait_for_port(port, process)
        sdm = boto3.client(
            "snow-device-management", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}", **CREDENTIALS
        )
        task_id = sdm.create_task(targets=["smd-fictbgr3rbcjeqa5"], command={"reboot": {}})["taskId"]
        p99, errors, calls = _under_slow_and_idle(port, task_id, seconds)
        report(
            "front end",
            f"{name}: normal client p99 under 150 slowloris + 100 idle",
            f"{p99 * 1000:.1f} ms, {errors} errors in {calls} calls",
            "<= 100 ms, 0 errors",
        )
        p99, errors = _burst(port, task_id, 64, 5 if seconds < 5 else 10)
        report(
            "front end",
            f"{name}: 64 clients connecting at once",
            f"p99 {p99 * 1000:.1f} ms, {errors} errors",
            "<= 250 ms, 0 errors",
        )
        throughput, p99, errors = _load(f"http://127.0.0.1:{port}", "snow-device-management", task_id, 8, seconds)
        report(
            "front end",
            f"{name}: 8 clients, DescribeTask",
            f"{throughput:.0f}/s, p99 {p99 * 1000:.1f} ms, {errors} errors",
            "at least cheroot-16's",
        )
        if process.poll() is not None:
            report("front end", f"{name}: stopped while measured", f"exit status {process.returncode}", "keeps serving")


def _wait_for_port(port: int, process: subprocess.Popen[str] | None = None) -> None:
    for _ in range(300):
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def bench_plugin(runs: int) -> None:
    print("7. pytest plugin cost, a one-test file", flush=True)
    timings: dict[str, list[float]] = {"loaded": [], "disabled": []}
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py"]
        variants = {"loaded": command, "disabled": [*command, "-p", "no:moto_snowdevice"]}
        for _ in range(runs):
            for name, arguments in variants.items():
                started = time.perf_counter()
                subprocess.run(arguments, cwd=directory, check=True, capture_output=True)
                timings[name].append(time.perf_counter() - started)
    loaded, disabled = statistics.median(timings["loaded"]), statistics.median(timings["disabled"])
    report(
        "plugin",
        "pytest run, plugin loaded vs -p no:moto_snowdevice",
        f"{(loaded - disabled) * 1000:+.0f} ms, {loaded / disabled:.3f}x ({loaded:.2f} s vs {disabled:.2f} s)",
        "<= +30 ms",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    parser.add_argument(
        "--only",
        choices=("per-call", "pagination", "memory", "server", "state", "front-ends", "plugin"),
        action="append",
        help="run only these parts",
    )
    parser.add_argument("--front-ends", default=",".join(FRONT_ENDS), help="candidates for part 5, comma-separated")
    parser.add_argument("--serve", nargs=2, metavar=("FRONT_END", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_front_end(args.serve[0], int(args.serve[1]))
        return 0
    quick, parts = (
        args.quick,
        set(args.only or ("per-call", "pagination", "memory", "server", "state", "front-ends", "plugin")),
    )
    if "per-call" in parts:
        bench_per_call(200 if quick else 1000)
    if "pagination" in parts:
        # 10 x 1,000 devices: the most one account and region holds (MAX_DEVICES_PER_BACKEND)
        bench_pagination(200 if quick else MAX_DEVICES_PER_BACKEND // 10)
    if "memory" in parts:
        bench_memory(1000 if quick else 5000)
    if "server" in parts:
        bench_server(2.0 if quick else 10.0)
    if "front-ends" in parts:
        bench_front_ends(3.0 if quick else 10.0, tuple(args.front_ends.split(",")))
    if "state" in parts:
        bench_state(3.0 if quick else 10.0, 10000 if quick else 100000)
    if "plugin" in parts:
        bench_plugin(5 if quick else 21)
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
