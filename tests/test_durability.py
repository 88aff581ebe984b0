"""Durability under kill -9: every change a server answered 200 is still there after a restart.

A checker drives `--state FILE` servers with many clients mixing every write and control route in
several accounts and regions, logs every 200 with what it acknowledged, kills the server with
SIGKILL at a seeded moment, reads the database (read-only) and restarts the server on it, and
compares. Only 200s are promises: a refused or cut-off request may or may not have happened, so a
value it may have set is allowed where it could have landed last. Faults planted on purpose
(tests/durability_server.py) prove that the checker catches a loss and names what was lost.

Set SDM_DURABILITY_SEED to replay a run; failures print the seed.
"""

import http.client
import json
import math
import os
import queue
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from test_state import kept

# Servers of its own, started and stopped by the tests: the same in every moto test mode
pytestmark = pytest.mark.own_server

SEED = int(os.environ.get("SDM_DURABILITY_SEED", "16"))
CLIENTS = 8
SCOPES = (("123456789012", "us-east-1"), ("123456789012", "eu-west-1"), ("111122223333", "us-west-2"))
TAG_KEYS = ("rack", "owner", "site", "stage")
LAUNCHER = Path(__file__).with_name("durability_server.py")
CONTROL = "/moto-api/snow-device-management"
# Per request: a server that does not answer in this time is treated as one that may have acted
CLIENT_TIMEOUT = 5.0
START_TIMEOUT = 60.0
# One round of traffic ends at this many requests per client or this many seconds, whichever is first
MAX_REQUESTS_PER_CLIENT = 400
ROUND_SECONDS = 8.0
# How many connectivity changes take a device offline (the rest bring it online)
OFFLINE_SHARE = 0.3
STARTED_STATES = frozenset({"IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT"})
FINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED"})
RESOURCE_ID = re.compile(r"\b(?:st|smd)-[a-z0-9]{16}\b")

Scope = tuple[str, str]


# The client-side log


@dataclass(frozen=True)
class Claim:
    """One request's say on one value: what it set, when it was sent and when it was over."""

    value: Any
    sent: float
    ended: float
    acknowledged: bool
    by: str


def candidates(claims: list[Claim]) -> list[Claim]:
    """The claims whose value may be the one in force now.

    A claim is overruled when an acknowledged claim was sent after it was over: that one landed later.
    Claims not acknowledged (cut off, 5xx) may have landed at any moment while they were in flight.
    """
    acknowledged_sends = [claim.sent for claim in claims if claim.acknowledged]
    return [claim for claim in claims if not any(sent > claim.ended for sent in acknowledged_sends)]


@dataclass
class TaskRecord:
    scope: Scope
    task_id: str
    arn: str
    targets: list[str]
    by: str
    cancel_acknowledged: bool = False
    # Execution states acknowledged by advance-execution, per managed device
    advanced: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class DeviceRecord:
    scope: Scope
    managed_device_id: str
    arn: str
    by: str


@dataclass(frozen=True)
class Loss:
    """Something acknowledged that the restarted server or the database does not hold."""

    kind: str
    resource: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.resource}: {self.detail}"


class ClientLog:
    """Every acknowledged request, and every claim on a value, from all clients (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tasks: dict[str, TaskRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}
        self.claims: dict[tuple[Any, ...], list[Claim]] = {}
        # clientToken -> (scope, CreateTask body, acknowledged taskId)
        self.tokens: dict[str, tuple[Scope, dict[str, Any], str]] = {}
        self.attempts: dict[str, int] = {}
        self.acknowledged: dict[str, int] = {}
        self.losses: list[Loss] = []
        self.faults_posted: set[Scope] = set()
        # Each account and region's settings start unset, before any request
        for scope in SCOPES:
            for register, value in ((("timeout", scope), None), (("weights", scope), None), (("race", scope), False)):
                self.claims[register] = [Claim(value, -math.inf, -math.inf, True, "the defaults")]

    def counted(self, route: str, acknowledged: bool) -> None:
        with self.lock:
            self.attempts[route] = self.attempts.get(route, 0) + 1
            if acknowledged:
                self.acknowledged[route] = self.acknowledged.get(route, 0) + 1

    def total_acknowledged(self) -> int:
        with self.lock:
            return sum(self.acknowledged.values())

    def claim(self, register: tuple[Any, ...], claim: Claim) -> None:
        with self.lock:
            self.claims.setdefault(register, []).append(claim)

    def new_resource(self, arn: str, tags: dict[str, str], ended: float, by: str) -> None:
        """A resource's tags as made: every key starts with the value it was made with, or none."""
        for key in TAG_KEYS:
            self.claim(("tag", arn, key), Claim(tags.get(key), -math.inf, ended, True, by))

    def add_task(self, record: TaskRecord, tags: dict[str, str], ended: float) -> None:
        self.new_resource(record.arn, tags, ended, record.by)
        with self.lock:
            self.tasks[record.task_id] = record

    def add_device(self, record: DeviceRecord, tags: dict[str, str], online: bool, ended: float) -> None:
        self.new_resource(record.arn, tags, ended, record.by)
        scope, device_id = record.scope, record.managed_device_id
        self.claim(("online", scope, device_id), Claim(online, -math.inf, ended, True, record.by))
        self.claim(("weights", scope, device_id), Claim(None, -math.inf, ended, True, record.by))
        self.claim(("race", scope, device_id), Claim(False, -math.inf, ended, True, record.by))
        with self.lock:
            self.devices[device_id] = record

    def tasks_in(self, scope: Scope) -> list[TaskRecord]:
        with self.lock:
            return [task for task in self.tasks.values() if task.scope == scope]

    def devices_in(self, scope: Scope) -> list[DeviceRecord]:
        with self.lock:
            return [device for device in self.devices.values() if device.scope == scope]


def device_arn(scope: Scope, device_id: str) -> str:
    account, region = scope
    return f"arn:aws:snow-device-management:{region}:{account}:managed-device/{device_id}"


# A client


@dataclass
class Answer:
    status: int | None
    body: Any
    sent: float
    ended: float

    @property
    def acknowledged(self) -> bool:
        return self.status == 200 and self.body is not None

    @property
    def refused(self) -> bool:
        """A 4xx: the request changed nothing (only 200s are promises, and 4xx are refusals)."""
        return self.status is not None and 400 <= self.status < 500


class Connection:
    """http.client to one server: this service's requests signed for a region, control routes plain."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._connection: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: Any = None, scope: Scope | None = None) -> Answer:
        headers = {"Content-Type": "application/json"}
        if scope is not None:
            account, region = scope
            headers["x-moto-account-id"] = account
            headers["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/{region}/snow-device-management/"
                f"aws4_request, SignedHeaders=host, Signature={'0' * 64}"
            )
        payload = None if body is None else json.dumps(body).encode()
        sent = time.monotonic()
        try:
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port, timeout=CLIENT_TIMEOUT)
            self._connection.request(method, path, payload, headers)
            response = self._connection.getresponse()
            status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return Answer(None, None, sent, time.monotonic())
        try:
            parsed = json.loads(raw)
        except ValueError:
            # A 200 without its body acknowledges nothing
            parsed = None
        return Answer(status, parsed, sent, time.monotonic())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Client:
    """One client thread's traffic: a seeded mix of every write and control route."""

    def __init__(self, log: ClientLog, url: str, rng: random.Random, name: str, offline_share: float = OFFLINE_SHARE):
        self.log, self.rng, self.name = log, rng, name
        self.offline_share = offline_share
        self.connection = Connection(url)
        self.count = 0
        # How often each route is picked, before any emphasis a run gives
        self.routes: dict[str, tuple[Callable[[Scope], None], int]] = {
            "CreateTask": (self.create_task, 6),
            "CreateTask clientToken": (self.create_task_with_token, 3),
            "CreateTask again": (self.create_task_again, 2),
            "CancelTask": (self.cancel_task, 4),
            "TagResource": (self.tag_resource, 5),
            "UntagResource": (self.untag_resource, 3),
            "devices": (self.post_device, 1),
            "fleet": (self.post_fleet, 1),
            "advance-execution": (self.advance_execution, 4),
            "connectivity": (self.connectivity, 2),
            "execution-timeout": (self.execution_timeout, 1),
            "execution-outcomes": (self.execution_outcomes, 2),
            "cancel-race": (self.cancel_race, 2),
            "faults": (self.post_faults, 1),
            "faults DELETE": (self.delete_faults, 1),
        }

    def run(self, stop: threading.Event, deadline: float, emphasis: dict[str, int]) -> None:
        names = list(self.routes)
        weights = [self.routes[name][1] * emphasis.get(name, 1) for name in names]
        try:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                self.routes[self.rng.choices(names, weights)[0]][0](self.rng.choice(SCOPES))
        finally:
            self.connection.close()

    def label(self, route: str) -> str:
        self.count += 1
        return f"{route} #{self.count} of {self.name}"

    def send(self, route: str, method: str, path: str, body: Any = None, scope: Scope | None = None) -> Answer:
        answer = self.connection.send(method, path, body, scope)
        self.log.counted(route, answer.acknowledged)
        return answer

    def claim(self, register: tuple[Any, ...], value: Any, answer: Answer, by: str) -> None:
        if not answer.refused:
            self.log.claim(register, Claim(value, answer.sent, answer.ended, answer.acknowledged, by))

    # This service's writes

    def task_body(self, scope: Scope) -> dict[str, Any] | None:
        devices = self.log.devices_in(scope)
        if not devices:
            return None
        targets = self.rng.sample([d.managed_device_id for d in devices], k=self.rng.randint(1, min(3, len(devices))))
        body: dict[str, Any] = {"targets": targets, "command": {self.rng.choice(["reboot", "unlock"]): {}}}
        tags = {key: f"made-{self.name}-{self.count}" for key in self.rng.sample(TAG_KEYS, k=self.rng.randint(0, 2))}
        if tags:
            body["tags"] = tags
        if self.rng.random() < 0.3:
            body["description"] = f"durability {self.name} {self.count}"
        return body

    def create(self, scope: Scope, body: dict[str, Any], route: str) -> Answer:
        by = self.label(route)
        answer = self.send(route, "POST", "/task", body, scope)
        if answer.acknowledged and isinstance(answer.body.get("taskId"), str):
            task_id = answer.body["taskId"]
            record = TaskRecord(scope, task_id, answer.body.get("taskArn", ""), list(body["targets"]), by)
            self.log.add_task(record, body.get("tags", {}), answer.ended)
        return answer

    def create_task(self, scope: Scope) -> None:
        body = self.task_body(scope)
        if body is not None:
            self.create(scope, body, "CreateTask")

    def create_task_with_token(self, scope: Scope) -> None:
        body = self.task_body(scope)
        if body is None:
            return
        body["clientToken"] = f"token-{self.name}-{self.count}"
        answer = self.create(scope, body, "CreateTask clientToken")
        if answer.acknowledged:
            with self.log.lock:
                self.log.tokens[body["clientToken"]] = (scope, body, answer.body["taskId"])

    def create_task_again(self, scope: Scope) -> None:
        """A clientToken acknowledged before (in any round) answers with the same task."""
        with self.log.lock:
            if not self.log.tokens:
                return
            token = self.rng.choice(sorted(self.log.tokens))
            scope, body, task_id = self.log.tokens[token]
        answer = self.send("CreateTask again", "POST", "/task", body, scope)
        if answer.acknowledged and answer.body.get("taskId") != task_id:
            detail = f"clientToken {token} now answers {answer.body.get('taskId')}, acknowledged as this task"
            with self.log.lock:
                self.log.losses.append(Loss("client token", task_id, detail))

    def pick_task(self, scope: Scope) -> TaskRecord | None:
        tasks = self.log.tasks_in(scope)
        return self.rng.choice(tasks) if tasks else None

    def cancel_task(self, scope: Scope) -> None:
        task = self.pick_task(scope)
        if task is None:
            return
        answer = self.send("CancelTask", "POST", f"/task/{task.task_id}/cancel", None, scope)
        if answer.acknowledged:
            with self.log.lock:
                task.cancel_acknowledged = True

    def pick_arn(self, scope: Scope) -> str | None:
        arns = [task.arn for task in self.log.tasks_in(scope)] + [device.arn for device in self.log.devices_in(scope)]
        return self.rng.choice(arns) if arns else None

    def tag_resource(self, scope: Scope) -> None:
        arn = self.pick_arn(scope)
        if arn is None:
            return
        by = self.label("TagResource")
        tags = {key: f"{self.name}-{self.count}" for key in self.rng.sample(TAG_KEYS, k=self.rng.randint(1, 2))}
        answer = self.send("TagResource", "POST", f"/tags/{quote(arn, safe='')}", {"tags": tags}, scope)
        for key, value in tags.items():
            self.claim(("tag", arn, key), value, answer, by)

    def untag_resource(self, scope: Scope) -> None:
        arn = self.pick_arn(scope)
        if arn is None:
            return
        by = self.label("UntagResource")
        keys = self.rng.sample(TAG_KEYS, k=self.rng.randint(1, 2))
        query = urlencode([("tagKeys", key) for key in keys])
        answer = self.send("UntagResource", "DELETE", f"/tags/{quote(arn, safe='')}?{query}", None, scope)
        for key in keys:
            self.claim(("tag", arn, key), None, answer, by)

    # Control routes

    def device_entry(self, scope: Scope) -> dict[str, Any]:
        tags = {key: f"made-{self.name}-{self.count}" for key in self.rng.sample(TAG_KEYS, k=self.rng.randint(0, 2))}
        entry: dict[str, Any] = {"accountId": scope[0], "region": scope[1], "device": {"tags": tags} if tags else {}}
        if self.rng.random() < 0.2:
            entry["online"] = False
        return entry

    def added(self, entries: list[dict[str, Any]], device_ids: Any, answer: Answer, by: str) -> None:
        if not isinstance(device_ids, list) or len(device_ids) != len(entries):
            return
        for entry, device_id in zip(entries, device_ids, strict=True):
            scope = (entry["accountId"], entry["region"])
            record = DeviceRecord(scope, device_id, device_arn(scope, device_id), by)
            self.log.add_device(record, entry["device"].get("tags", {}), entry.get("online", True), answer.ended)

    def post_device(self, scope: Scope) -> None:
        by, entry = self.label("devices"), self.device_entry(scope)
        answer = self.send("devices", "POST", f"{CONTROL}/devices", entry)
        if answer.acknowledged:
            self.added([entry], [answer.body.get("managedDeviceId")], answer, by)

    def post_fleet(self, scope: Scope) -> None:
        by = self.label("fleet")
        entries = [self.device_entry(self.rng.choice(SCOPES)) for _ in range(self.rng.randint(1, 3))]
        answer = self.send("fleet", "POST", f"{CONTROL}/fleet", entries)
        if answer.acknowledged:
            self.added(entries, answer.body.get("managedDeviceIds"), answer, by)

    def advance_execution(self, scope: Scope) -> None:
        task = self.pick_task(scope)
        if task is None:
            return
        device_id = self.rng.choice(task.targets)
        state = self.rng.choice(["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED", "CANCELED"])
        body = {
            "taskId": task.task_id,
            "managedDeviceId": device_id,
            "state": state,
            "accountId": scope[0],
            "region": scope[1],
        }
        answer = self.send("advance-execution", "POST", f"{CONTROL}/advance-execution", body)
        if answer.acknowledged:
            with self.log.lock:
                task.advanced.setdefault(device_id, []).append(state)

    def pick_device(self, scope: Scope) -> str | None:
        devices = self.log.devices_in(scope)
        return self.rng.choice(devices).managed_device_id if devices else None

    def connectivity(self, scope: Scope) -> None:
        device_id = self.pick_device(scope)
        if device_id is None:
            return
        by, online = self.label("connectivity"), self.rng.random() >= self.offline_share
        body = {"managedDeviceId": device_id, "online": online, "accountId": scope[0], "region": scope[1]}
        answer = self.send("connectivity", "POST", f"{CONTROL}/connectivity", body)
        self.claim(("online", scope, device_id), online, answer, by)

    def execution_timeout(self, scope: Scope) -> None:
        # Long enough that nothing times out while the checker looks: the setting itself is what is checked
        by, seconds = self.label("execution-timeout"), self.rng.choice([None, 3600, 7200.5, 86400])
        body = {"seconds": seconds, "accountId": scope[0], "region": scope[1]}
        answer = self.send("execution-timeout", "POST", f"{CONTROL}/execution-timeout", body)
        self.claim(("timeout", scope), None if seconds is None else float(seconds), answer, by)

    def execution_outcomes(self, scope: Scope) -> None:
        by = self.label("execution-outcomes")
        weights = self.rng.choice([None, {"SUCCEEDED": 9, "FAILED": 1}, {"REJECTED": 1}, {"SUCCEEDED": 1.5}])
        device_id = self.pick_device(scope) if self.rng.random() < 0.5 else None
        body: dict[str, Any] = {"weights": weights, "accountId": scope[0], "region": scope[1]}
        if device_id is not None:
            body["managedDeviceId"] = device_id
        answer = self.send("execution-outcomes", "POST", f"{CONTROL}/execution-outcomes", body)
        register = ("weights", scope) if device_id is None else ("weights", scope, device_id)
        self.claim(register, normal_weights(weights), answer, by)

    def cancel_race(self, scope: Scope) -> None:
        by, enabled = self.label("cancel-race"), self.rng.random() < 0.5
        device_id = self.pick_device(scope) if self.rng.random() < 0.5 else None
        body: dict[str, Any] = {"enabled": enabled, "accountId": scope[0], "region": scope[1]}
        if device_id is not None:
            body["managedDeviceId"] = device_id
        answer = self.send("cancel-race", "POST", f"{CONTROL}/cancel-race", body)
        self.claim(("race", scope) if device_id is None else ("race", scope, device_id), enabled, answer, by)

    def post_faults(self, scope: Scope) -> None:
        # Faults on operations the checker does not use; they are never saved, which the restart shows
        body = {
            "operation": self.rng.choice(["ListDeviceResources", "DescribeDeviceEc2Instances"]),
            "error": "ThrottlingException",
            "count": self.rng.randint(1, 3),
            "accountId": scope[0],
            "region": scope[1],
        }
        if self.send("faults", "POST", f"{CONTROL}/faults", body).acknowledged:
            with self.log.lock:
                self.log.faults_posted.add(scope)

    def delete_faults(self, scope: Scope) -> None:
        body = {"accountId": scope[0], "region": scope[1]}
        if self.rng.random() < 0.5:
            body["operation"] = "ListDeviceResources"
        self.send("faults DELETE", "DELETE", f"{CONTROL}/faults", body)


def normal_weights(weights: Any) -> Any:
    return None if weights is None else {state: float(weight) for state, weight in weights.items()}


# The server process


class ServerRun:
    """A server process on 127.0.0.1 (port 0) from `command`; started, killed and restarted on one file."""

    def __init__(self, command: list[str]):
        self.command = command
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._errors: Any = None

    def start(self) -> str | None:
        """The URL once it listens, or None when it stops before listening (`error()` says why)."""
        self._errors = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - read after the process ends
        process = subprocess.Popen(
            [*self.command, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._process = process
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            if "listening on " in line:
                self.url = line.split("listening on ")[1].strip()
                return self.url
        self.kill()
        return None

    def error(self) -> str:
        self._errors.seek(0)
        text = self._errors.read().strip()
        return text.splitlines()[-1] if text else "no message"

    def kill(self) -> float:
        """SIGKILL, and the moment after which it can have done nothing more."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
        if self._process is not None:
            self._process.wait(timeout=30)
        return time.monotonic()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _drain(process: subprocess.Popen[str], lines: "queue.Queue[str | None]") -> None:
    # Read to the end, so that a full pipe never stalls the server
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)
    process.stdout.close()


# What the state file holds (while no server runs): the database and the records of its change log


@dataclass
class Database:
    tasks: set[tuple[str, str, str]]
    devices: dict[tuple[str, str, str], dict[str, Any]]
    backends: dict[Scope, dict[str, Any]]


def read_database(path: Path) -> Database:
    connection = kept(path)
    try:
        tasks = set(connection.execute("SELECT account_id, region, task_id FROM tasks"))
        devices = {
            (account, region, device_id): json.loads(saved)
            for account, region, device_id, saved in connection.execute(
                "SELECT account_id, region, managed_device_id, saved FROM devices"
            )
        }
        backends = {
            (account, region): json.loads(saved)
            for account, region, saved in connection.execute("SELECT account_id, region, saved FROM backends")
        }
    finally:
        connection.close()
    return Database(tasks, devices, backends)


# The saved key of each setting, and its value before anything set it
_BACKEND_SETTINGS = {
    "timeout": ("executionTimeout", None),
    "weights": ("outcomeWeights", None),
    "race": ("takesWorkBeforeCancel", False),
}
_DEVICE_SETTINGS = {
    "online": ("online", True),
    "weights": ("outcomeWeights", None),
    "race": ("takesWorkBeforeCancel", False),
}


def saved_setting(database: Database, register: tuple[Any, ...]) -> Any:
    kind, (account, region), *device = register
    if device:
        key, default = _DEVICE_SETTINGS[kind]
        value = database.devices.get((account, region, device[0]), {}).get(key, default)
    else:
        key, default = _BACKEND_SETTINGS[kind]
        value = database.backends.get((account, region), {}).get(key, default)
    if kind == "weights":
        return normal_weights(value)
    return float(value) if kind == "timeout" and value is not None else value


def judge(kind: str, resource: str, claims: list[Claim], actual: Any) -> Loss | None:
    """None if `actual` may be in force after these claims, else the loss, naming the last acknowledged claim."""
    if any(claim.value == actual for claim in candidates(claims)):
        return None
    last = max((claim for claim in claims if claim.acknowledged), key=lambda claim: claim.ended)
    return Loss(kind, resource, f"holds {actual!r}; {last.value!r} was acknowledged by {last.by}")


def check_database(log: ClientLog, path: Path) -> list[Loss]:
    """Every acknowledged task and device has its row, and every acknowledged setting its value."""
    try:
        database = read_database(path)
    except (sqlite3.Error, ValueError) as error:
        return [Loss("database", path.name, f"cannot be read: {error}")]
    losses = [
        Loss("task row", task.task_id, f"acknowledged by {task.by}, not in the database")
        for task in log.tasks.values()
        if (*task.scope, task.task_id) not in database.tasks
    ]
    losses += [
        Loss("device row", device.managed_device_id, f"acknowledged by {device.by}, not in the database")
        for device in log.devices.values()
        if (*device.scope, device.managed_device_id) not in database.devices
    ]
    for register, claims in log.claims.items():
        if register[0] != "tag":
            where = "/".join(register[1]) + "".join(f" {part}" for part in register[2:])
            loss = judge(f"setting {register[0]}", where, claims, saved_setting(database, register))
            losses += [loss] if loss else []
    return losses


# What the restarted server holds


def listed(connection: Connection, path: str, key: str, scope: Scope) -> list[dict[str, Any]] | None:
    """Every item of a listing, page by page; None if the server did not answer one of them."""
    items: list[dict[str, Any]] = []
    token = None
    for _ in range(1000):
        query = urlencode({"maxResults": 100, **({"nextToken": token} if token else {})})
        separator = "&" if "?" in path else "?"
        answer = connection.send("GET", f"{path}{separator}{query}", None, scope)
        if not answer.acknowledged:
            return None
        items += answer.body.get(key, [])
        token = answer.body.get("nextToken")
        if not token:
            return items
    return None


def check_task(task: TaskRecord, summary: dict[str, Any], connection: Connection) -> list[Loss]:
    """An acknowledged cancel and acknowledged execution moves are in force (allowing the cancel race)."""
    if not task.cancel_acknowledged and not task.advanced:
        return []
    executions = listed(connection, f"/executions?taskId={task.task_id}", "executions", task.scope)
    if executions is None:
        return [Loss("read", task.task_id, "ListExecutions did not answer 200 after the restart")]
    states = {execution["managedDeviceId"]: execution["state"] for execution in executions}
    losses = []
    if set(states) != set(task.targets):
        losses.append(Loss("execution", task.task_id, f"executions on {sorted(states)}, targets {task.targets}"))
    if task.cancel_acknowledged and summary["state"] != "CANCELED" and not STARTED_STATES & set(states.values()):
        detail = f"cancel acknowledged, task {summary['state']}, executions {states}"
        losses.append(Loss("cancel", task.task_id, detail))
    for device_id, moves in task.advanced.items():
        finals = [state for state in moves if state in FINAL_STATES]
        held = states.get(device_id)
        if finals and held != finals[-1] or not finals and held not in STARTED_STATES:
            losses.append(Loss("execution", task.task_id, f"on {device_id} is {held}; acknowledged {moves}"))
    return losses


def check_scope(log: ClientLog, scope: Scope, connection: Connection) -> list[Loss]:
    tasks = listed(connection, "/tasks", "tasks", scope)
    devices = listed(connection, "/managed-devices", "devices", scope)
    if tasks is None or devices is None:
        return [Loss("read", "/".join(scope), "ListTasks or ListDevices did not answer 200 after the restart")]
    held_tasks = {task["taskId"]: task for task in tasks}
    held_tags = {task.get("taskArn"): task.get("tags", {}) for task in tasks}
    held_tags |= {device_arn(scope, device["managedDeviceId"]): device.get("tags", {}) for device in devices}
    losses = []
    for task in log.tasks_in(scope):
        if task.task_id not in held_tasks:
            losses.append(Loss("task", task.task_id, f"acknowledged by {task.by}, not on the restarted server"))
        else:
            losses += check_task(task, held_tasks[task.task_id], connection)
    losses += [
        Loss("device", device.managed_device_id, f"acknowledged by {device.by}, not on the restarted server")
        for device in log.devices_in(scope)
        if device.arn not in held_tags
    ]
    for register, claims in log.claims.items():
        if register[0] == "tag" and register[1] in held_tags and f":{scope[1]}:{scope[0]}:" in register[1]:
            loss = judge(f"tag {register[2]}", register[1], claims, held_tags[register[1]].get(register[2]))
            losses += [loss] if loss else []
    losses += check_offline_devices(log, scope, held_tasks, connection)
    return losses + check_faults_not_kept(log, scope, devices, connection)


def check_offline_devices(
    log: ClientLog, scope: Scope, held_tasks: dict[str, Any], connection: Connection
) -> list[Loss]:
    """A device that can only be offline reports no work: advance-execution on it is refused as offline."""
    losses = []
    for register, claims in log.claims.items():
        if register[0] != "online" or register[1] != scope or {c.value for c in candidates(claims)} != {False}:
            continue
        device_id = register[2]
        task = next((t for t in log.tasks_in(scope) if device_id in t.targets and t.task_id in held_tasks), None)
        if task is None:
            continue
        body = {
            "taskId": task.task_id,
            "managedDeviceId": device_id,
            "state": "IN_PROGRESS",
            "accountId": scope[0],
            "region": scope[1],
        }
        answer = connection.send("POST", f"{CONTROL}/advance-execution", body)
        if answer.status != 400 or "offline" not in str(answer.body):
            detail = f"acknowledged offline; advance-execution answered {answer.status} {answer.body}"
            losses.append(Loss("connectivity", device_id, detail))
    return losses


def check_faults_not_kept(
    log: ClientLog, scope: Scope, devices: list[dict[str, Any]], connection: Connection
) -> list[Loss]:
    """Injected faults are never saved: after a restart, the operation they were set on answers."""
    if scope not in log.faults_posted or not devices:
        return []
    path = f"/managed-device/{devices[0]['managedDeviceId']}/resources"
    answer = connection.send("GET", path, None, scope)
    if answer.status == 200:
        return []
    return [Loss("fault kept", "/".join(scope), f"ListDeviceResources answered {answer.status} after the restart")]


def check_server(log: ClientLog, url: str) -> list[Loss]:
    connection = Connection(url)
    try:
        return [loss for scope in SCOPES for loss in check_scope(log, scope, connection)]
    finally:
        connection.close()
        log.faults_posted.clear()


# Rounds: traffic, kill -9, read the database, restart, compare


@dataclass
class Run:
    seed: int
    log: ClientLog
    losses: list[Loss]

    def report(self) -> str:
        lines = [str(loss) for loss in self.losses[:30]]
        more = f"\n... and {len(self.losses) - 30} more" if len(self.losses) > 30 else ""
        answered = self.log.acknowledged
        counts = ", ".join(f"{route} {answered.get(route, 0)}/{n}" for route, n in self.log.attempts.items())
        return f"seed {self.seed} (SDM_DURABILITY_SEED replays it); 200s/requests: {counts}\n" + "\n".join(lines) + more


def seed_fleet(log: ClientLog, url: str, seed: int) -> None:
    client = Client(log, url, random.Random(seed), "seed")
    entries = [{"accountId": account, "region": region, "device": {}} for account, region in SCOPES for _ in range(2)]
    answer = client.send("fleet", "POST", f"{CONTROL}/fleet", entries)
    client.connection.close()
    assert answer.acknowledged, f"seeding the fleet answered {answer.status} {answer.body}"
    client.added(entries, answer.body["managedDeviceIds"], answer, "the seeded fleet")


def traffic(
    log: ClientLog, server: ServerRun, seed: int, number: int, emphasis: dict[str, int], offline_share: float
) -> None:
    """CLIENTS clients until a seeded number of 200s more (or the round's time is up), then SIGKILL."""
    stop, failures = threading.Event(), []
    deadline = time.monotonic() + ROUND_SECONDS
    clients = [
        Client(log, server.url, random.Random(f"{seed}/{number}/{index}"), f"r{number}c{index}", offline_share)
        for index in range(CLIENTS)
    ]

    def run(client: Client) -> None:
        try:
            client.run(stop, deadline, emphasis)
        except Exception as error:  # noqa: BLE001 - a bug in the checker must fail the test, not end a thread quietly
            failures.append(f"{client.name}: {error!r}")

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    kill_after = log.total_acknowledged() + random.Random(f"{seed}/{number}/kill").randint(150, 400)
    for thread in threads:
        thread.start()
    while log.total_acknowledged() < kill_after and time.monotonic() < deadline and any(t.is_alive() for t in threads):
        stop.wait(0.005)
    # No new requests once the kill is decided; those in flight meet it
    stop.set()
    server.kill()
    for thread in threads:
        thread.join(timeout=3 * CLIENT_TIMEOUT)
    assert failures == [] and not any(thread.is_alive() for thread in threads), f"seed {seed}: {failures}"


def run_checker(
    command: list[str],
    state_file: Path,
    rounds: int,
    seed: int = SEED,
    emphasis: dict[str, int] | None = None,
    offline_share: float = OFFLINE_SHARE,
) -> Run:
    """`rounds` rounds of traffic, kill -9, database check, restart and server check; `emphasis` multiplies
    how often the named routes are picked, `offline_share` is how many connectivity changes go offline."""
    log, losses = ClientLog(), []
    server = ServerRun(command)
    assert server.start() is not None, f"the server did not start: {server.error()}"
    try:
        seed_fleet(log, server.url, seed)
        for number in range(rounds):
            traffic(log, server, seed, number, emphasis or {}, offline_share)
            losses += check_database(log, state_file)
            if server.start() is None:
                losses.append(Loss("restart", state_file.name, f"the restarted server refused it: {server.error()}"))
                break
            losses += check_server(log, server.url)
    finally:
        server.stop()
    return Run(seed, log, losses + log.losses)


def real_server(state_file: Path) -> list[str]:
    return [sys.executable, "-m", "moto_snowdevice", "--state", str(state_file)]


def planted_server(state_file: Path, plant: str, plant_log: Path, every: int = 3) -> list[str]:
    return [
        sys.executable,
        str(LAUNCHER),
        "--plant",
        plant,
        "--plant-log",
        str(plant_log),
        "--every",
        str(every),
        "--state",
        str(state_file),
    ]


def planted(plant_log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in plant_log.read_text().splitlines()] if plant_log.exists() else []


# The checker's rule for what may be in force


@given(st.lists(st.tuples(st.booleans(), st.floats(0.001, 1.0)), min_size=1, max_size=12))
def test_after_requests_one_after_another_only_the_last_acknowledged_value_or_a_later_unanswered_one_is_allowed(
    requests: list[tuple[bool, float]],
) -> None:
    claims, moment = [Claim("as made", -math.inf, 0.0, True, "made")], 0.0
    for number, (acknowledged, duration) in enumerate(requests):
        claims.append(Claim(number, moment + 0.001, moment + duration, acknowledged, f"request {number}"))
        moment += duration + 0.002
    last = max((number for number, (acknowledged, _) in enumerate(requests) if acknowledged), default=-1)

    allowed = {claim.value for claim in candidates(claims)}

    later = [number for number, (acknowledged, _) in enumerate(requests) if not acknowledged and number > last]
    assert allowed == {"as made" if last == -1 else last, *later}


def test_requests_in_flight_together_may_land_in_either_order() -> None:
    claims = [Claim("a", 1.0, 3.0, True, "first"), Claim("b", 2.0, 4.0, True, "second")]

    assert {claim.value for claim in candidates(claims)} == {"a", "b"}


# The checker on the real server, and on servers with faults planted on purpose


def test_the_server_keeps_everything_it_acknowledged_through_three_kill_9_rounds(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"

    run = run_checker(real_server(state_file), state_file, rounds=3)

    assert run.losses == [], run.report()
    # Every write and control route was answered 200 at least once: the mix did what it says
    every_route = set(Client(run.log, "http://127.0.0.1", random.Random(), "").routes)
    assert set(run.log.acknowledged) == every_route, run.report()
    assert len(run.log.tasks) >= 50 and len(run.log.devices) >= 10, run.report()


def test_the_checker_names_every_task_answered_200_but_never_made(tmp_path: Path) -> None:
    state_file, plant_log = tmp_path / "state.db", tmp_path / "plant.log"

    run = run_checker(planted_server(state_file, "unmade-create", plant_log), state_file, rounds=1)

    unmade = {entry["taskId"] for entry in planted(plant_log)} & set(run.log.tasks)
    assert unmade, run.report()
    assert {loss.resource for loss in run.losses if loss.kind == "task"} == unmade, run.report()
    assert {loss.resource for loss in run.losses if loss.kind == "task row"} == unmade, run.report()


def test_the_checker_names_changes_whose_write_was_skipped(tmp_path: Path) -> None:
    state_file, plant_log = tmp_path / "state.db", tmp_path / "plant.log"

    run = run_checker(planted_server(state_file, "skipped-write", plant_log), state_file, rounds=1)

    skipped = {resource for entry in planted(plant_log) for resource in entry["resourceIds"]}
    named = {found for loss in run.losses for found in RESOURCE_ID.findall(loss.resource)}
    assert named, run.report()
    assert named <= skipped, run.report()


def test_the_checker_names_tag_changes_answered_200_but_dropped(tmp_path: Path) -> None:
    state_file, plant_log = tmp_path / "state.db", tmp_path / "plant.log"

    run = run_checker(planted_server(state_file, "dropped-tag", plant_log), state_file, rounds=1)

    dropped = {(entry["resourceArn"], f"tag {key}") for entry in planted(plant_log) for key in entry["tags"]}
    named = {(loss.resource, loss.kind) for loss in run.losses}
    assert named, run.report()
    assert named <= dropped, run.report()


def test_the_checker_names_devices_whose_connectivity_change_was_answered_200_but_dropped(tmp_path: Path) -> None:
    state_file, plant_log = tmp_path / "state.db", tmp_path / "plant.log"
    # Every request taking a device offline is dropped: a device whose last one was acknowledged shows it.
    # Most changes go offline, so that some device's last change is one, whatever the moment of the kill
    command = planted_server(state_file, "dropped-connectivity", plant_log, every=1)

    run = run_checker(command, state_file, rounds=1, emphasis={"connectivity": 5}, offline_share=0.8)

    dropped = {entry["managedDeviceId"] for entry in planted(plant_log)}
    named = {found for loss in run.losses for found in RESOURCE_ID.findall(loss.resource)}
    assert named, run.report()
    assert named <= dropped, run.report()
    assert {loss.kind for loss in run.losses} <= {"setting online", "connectivity"}, run.report()
