"""State that survives the server process (`--state FILE`): an SQLite database, written through.

Every change is committed (SQLite, WAL journal) before the server answers the request that made it:
one row per managed device and per task, rewritten when that object changes, so a write costs the
same however large the store is. Only what differs from a fresh start is kept: a backend that merely
came into being (a read in a new account or region) leaves no row, a backend's settings row exists
only while they differ from a fresh backend's, and `reset()` (moto's reset) empties the store.

The lock follows the file, not its name: the server holds flock on the database file itself (SQLite
uses POSIX fcntl locks, which on Linux are independent of flock), so a second server reaching the
same file through any path (a symlink, a hard link) is refused. After every commit the store checks
that the database and its -wal and -shm are still the files it opened; if one was removed or
replaced, it folds what it committed into the database it opened and refuses every later write.

A failed save fails one request, never others. Whatever goes wrong while writing a batch, every
change in it stays pending for the next flush. A value that cannot be saved (a row that will not
serialise) fails the requests that made it, and memory goes back to what is on disk: a managed
device or settings row is restored from its last committed row, a device or task never committed is
dropped (with the tasks on such a device); other changes in the batch are committed. A committed
task that cannot be written again cannot be restored, so the store then refuses every later write.

Loading checks everything and builds every backend before any is installed, so a bad file changes
nothing and is never written. A file whose tables or columns differ from the ones this version
writes, or a saved object with a key this version does not know, is refused at start (rewriting it
would drop what this version cannot read). A JSON state file of format 1 is converted once.
"""

import contextlib
import fcntl
import gc
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import models
from ._checks import MAX_TIMESTAMP, check_execution_transition
from ._identity import is_account_id, is_loadable_region
from ._moto import install_backend, state_manager
from ._shapes import SERVICE_MODEL, InvalidInput, compile_check
from .exceptions import SnowDeviceManagementError
from .models import (
    EXECUTION_MODEL,
    ManagedDevice,
    SnowDeviceManagementBackend,
    Task,
    check_device_document,
)
from .models.work import DEFAULT_EXECUTION_TRANSITION, execution_transition

FORMAT_VERSION = 2
LEGACY_JSON_VERSION = 1
SYNC_MODES = ("normal", "full")
_SQLITE_HEADER = b"SQLite format 3\x00"
_TABLES = ("backends", "devices", "tasks")
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE backends (account_id TEXT NOT NULL, region TEXT NOT NULL, saved TEXT NOT NULL,
                       PRIMARY KEY (account_id, region));
CREATE TABLE devices (account_id TEXT NOT NULL, region TEXT NOT NULL, managed_device_id TEXT NOT NULL,
                      saved TEXT NOT NULL, UNIQUE (account_id, region, managed_device_id));
CREATE TABLE tasks (account_id TEXT NOT NULL, region TEXT NOT NULL, task_id TEXT NOT NULL,
                    saved TEXT NOT NULL, UNIQUE (account_id, region, task_id));
"""
# Upserts keep a row's rowid, so rowid order stays creation order
_UPSERT = {
    "devices": "INSERT INTO devices VALUES (?, ?, ?, ?) "
    "ON CONFLICT (account_id, region, managed_device_id) DO UPDATE SET saved = excluded.saved",
    "tasks": "INSERT INTO tasks VALUES (?, ?, ?, ?) "
    "ON CONFLICT (account_id, region, task_id) DO UPDATE SET saved = excluded.saved",
    "backends": "INSERT INTO backends VALUES (?, ?, ?) "
    "ON CONFLICT (account_id, region) DO UPDATE SET saved = excluded.saved",
}
_DELETE_SETTINGS = "DELETE FROM backends WHERE account_id = ? AND region = ?"
_COMMITTED = {
    "backends": "SELECT saved FROM backends WHERE account_id = ? AND region = ?",
    "devices": "SELECT saved FROM devices WHERE account_id = ? AND region = ? AND managed_device_id = ?",
    "tasks": "SELECT saved FROM tasks WHERE account_id = ? AND region = ? AND task_id = ?",
}

# The keys each saved object has (what `saved()` and `saved_settings()` write); a test checks they match
SAVED_SETTINGS_KEYS = frozenset({"takesWorkBeforeCancel", "executionTimeout", "outcomeWeights"})
SAVED_DEVICE_KEYS = frozenset(
    {
        "device",
        "takesWorkBeforeCancel",
        "online",
        "outcomeWeights",
        "outcomeScript",
        "polls",
        "pacedFrom",
    }
)
# The fleet's own row (meta key "fleet"): the fleet clock's advance and the progression set for executions
SAVED_FLEET_KEYS = frozenset({"clockAdvanced", "progression"})
SAVED_TASK_KEYS = frozenset(
    {
        "taskId",
        "command",
        "description",
        "tags",
        "createdAt",
        "lastUpdatedAt",
        "completedAt",
        "canceled",
        "clientToken",
        "fingerprint",
        "executions",
    }
)
SAVED_EXECUTION_KEYS = frozenset({"managedDeviceId", "state", "startedAt", "lastUpdatedAt"})
# Keys older files hold that this version knows it may drop: a per-execution poll count no longer used
_RETIRED_EXECUTION_KEYS = frozenset({"tick"})
# Format 1 backends held their devices, tasks, tokens and clock in one entry; tasks repeated their targets
_LEGACY_BACKEND_KEYS = frozenset({"accountId", "region", "lastTime", "devices", "tasks", "clientTokens"})
_LEGACY_TASK_KEYS = frozenset({"targets"})

# An SQL statement and the rows it is run for
_Statement = tuple[str, list[tuple[str, ...]]]
# (account ID, region): one backend
_Key = tuple[str, str]
# Saved fields checked by the service model's own shapes
_check_task_fields = compile_check(SERVICE_MODEL.shape_for("DescribeTaskOutput"), strict=True)
_check_command = compile_check(SERVICE_MODEL.shape_for("Command"), strict=True)
_check_execution_fields = compile_check(SERVICE_MODEL.shape_for("DescribeExecutionOutput"), strict=True)
# A task has one execution per target, and CreateTask takes at most this many targets
_MAX_TARGETS = SERVICE_MODEL.shape_for("TargetList").metadata["max"]


class StateFileError(Exception):
    """A state location or file that cannot be used; the message is one line."""


class StateWriteError(Exception):
    """A change could not be written; the request that made it must not be acknowledged."""


# Reading: strict JSON, then the model's checks, then restore constructors


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"non-finite number {text}")
    return number


def _strict_json(text: str | bytes) -> Any:
    """JSON without NaN or infinities, which clients cannot read back."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise StateFileError(message)


def _expect_known_keys(saved: dict[str, Any], known: frozenset[str], where: str) -> None:
    # Rewriting the object would drop a key this version cannot read: refuse the file instead
    unknown = sorted(set(saved) - known)
    _expect(not unknown, f"{where}: saved keys this version does not know: {', '.join(map(repr, unknown))}")


def _checked_device(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict) and isinstance(saved.get("device"), dict), f"{where}: not a saved device")
    _expect_known_keys(saved, SAVED_DEVICE_KEYS, where)
    document = check_device_document(saved["device"])
    _expect(isinstance(document.get("managedDeviceId"), str), f"{where}: no managedDeviceId")
    _expect(isinstance(saved.get("takesWorkBeforeCancel", False), bool), f"{where}: takesWorkBeforeCancel")
    return {
        "device": document,
        "takesWorkBeforeCancel": saved.get("takesWorkBeforeCancel", False),
        **_checked_field_conditions(saved, where),
    }


def _checked_field_conditions(saved: dict[str, Any], where: str) -> dict[str, Any]:
    """A saved device's connectivity, outcome weights and pace through its queue."""
    _expect(isinstance(saved.get("online", True), bool), f"{where}: online")
    polls = saved.get("polls", 0)
    _expect(isinstance(polls, int) and not isinstance(polls, bool) and polls >= 0, f"{where}: polls")
    paced_from = saved.get("pacedFrom")
    _expect(
        paced_from is None
        or isinstance(paced_from, (int, float))
        and not isinstance(paced_from, bool)
        and math.isfinite(paced_from),
        f"{where}: pacedFrom",
    )
    conditions = {
        "online": saved.get("online", True),
        "outcomeWeights": models.check_outcome_weights(saved.get("outcomeWeights"), f"{where}.outcomeWeights"),
        "outcomeScript": models.check_outcome_script(saved.get("outcomeScript"), f"{where}.outcomeScript"),
        "polls": polls,
    }
    if paced_from is not None:
        conditions["pacedFrom"] = float(paced_from)
    return conditions


def _checked_task(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict), f"{where}: not a saved task")
    _expect_known_keys(saved, SAVED_TASK_KEYS, where)
    fields = {key: saved[key] for key in ("taskId", "createdAt", "lastUpdatedAt", "tags") if key in saved}
    fields.update((key, saved[key]) for key in ("completedAt", "description") if saved.get(key) is not None)
    checked = {**saved, **_check_task_fields(fields, where)}
    checked["command"] = _check_command(saved.get("command"), f"{where}.command")
    _expect(len(checked["command"]) == 1, f"{where}: a command has exactly one member")
    for key in ("taskId", "createdAt", "lastUpdatedAt"):
        _expect(key in checked, f"{where}: no {key}")
    _expect(isinstance(saved.get("canceled"), bool), f"{where}: canceled must be true or false")
    token, fingerprint = saved.get("clientToken"), saved.get("fingerprint")
    _expect(token is None or isinstance(token, str) and isinstance(fingerprint, str), f"{where}: clientToken")
    executions = saved.get("executions")
    _expect(isinstance(executions, list) and 0 < len(executions) <= _MAX_TARGETS, f"{where}: executions")
    checked["executions"] = [
        _checked_execution(execution, f"{where}.executions.{index}")
        for index, execution in enumerate(executions, start=1)
    ]
    return checked


def _checked_execution(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict), f"{where}: not a saved execution")
    _expect_known_keys(saved, SAVED_EXECUTION_KEYS | _RETIRED_EXECUTION_KEYS, where)
    fields = {key: value for key, value in saved.items() if key not in _RETIRED_EXECUTION_KEYS and value is not None}
    checked: dict[str, Any] = _check_execution_fields(fields, where)
    _expect("state" in checked and "managedDeviceId" in checked and "lastUpdatedAt" in checked, f"{where}: incomplete")
    return checked


def _checked_settings(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict), f"{where}: not saved settings")
    _expect_known_keys(saved, SAVED_SETTINGS_KEYS, where)
    _expect(isinstance(saved.get("takesWorkBeforeCancel", False), bool), f"{where}: takesWorkBeforeCancel")
    return {
        "takesWorkBeforeCancel": saved.get("takesWorkBeforeCancel", False),
        "executionTimeout": models.check_execution_timeout(saved.get("executionTimeout"), f"{where}.executionTimeout"),
        "outcomeWeights": models.check_outcome_weights(saved.get("outcomeWeights"), f"{where}.outcomeWeights"),
    }


def _distinct_targets(task: dict[str, Any]) -> bool:
    targets = [execution["managedDeviceId"] for execution in task["executions"]]
    return len(set(targets)) == len(targets)


def _new_backend(account_id: Any, region: Any) -> SnowDeviceManagementBackend:
    _expect(is_account_id(account_id), f"unknown account {account_id!r}")
    # Built directly: a region kept under MOTO_ALLOW_NONEXISTENT_REGION loads again without the variable
    _expect(is_loadable_region(region), f"unknown region {region!r}")
    return SnowDeviceManagementBackend(region, account_id)


class _Loaded:
    """Backends built from a file, not yet installed: keyed by (account, region), in file order."""

    def __init__(self) -> None:
        self.backends: dict[_Key, SnowDeviceManagementBackend] = {}
        self.devices = self.tasks = 0
        self.fleet: dict[str, Any] = dict(_FRESH_FLEET)

    def backend(self, account_id: Any, region: Any) -> SnowDeviceManagementBackend:
        key = (account_id, region)
        if key not in self.backends:
            self.backends[key] = _new_backend(account_id, region)
        return self.backends[key]

    def settings(self, account_id: Any, region: Any, saved: Any) -> None:
        backend = self.backend(account_id, region)
        _apply_settings(backend, _checked_settings(saved, f"settings of {account_id}/{region}"))

    def device(self, account_id: Any, region: Any, saved: Any) -> None:
        backend = self.backend(account_id, region)
        backend.restore_device(_checked_device(saved, f"a managed device of {account_id}/{region}"))
        self.devices += 1

    def task(self, account_id: Any, region: Any, saved: Any) -> None:
        backend = self.backend(account_id, region)
        task = _checked_task(saved, f"a task of {account_id}/{region}")
        _expect(
            all(execution["managedDeviceId"] in backend.devices for execution in task["executions"]),
            f"task {task['taskId']} names a managed device that is not saved",
        )
        _expect(_distinct_targets(task), f"task {task['taskId']} has two executions on one managed device")
        backend.restore_task(task)
        self.tasks += 1


def _apply_settings(backend: SnowDeviceManagementBackend, settings: dict[str, Any]) -> None:
    # Set as saved: loading (or undoing an unsaveable change) is not a change that moves work on
    backend.takes_work_before_cancel = settings["takesWorkBeforeCancel"]
    backend.execution_timeout = settings["executionTimeout"]
    backend.outcome_weights = settings["outcomeWeights"]


def _load_rows(loaded: _Loaded, rows: Iterable[tuple[Any, ...]], add: Callable[[Any, Any, Any], None]) -> None:
    for account_id, region, text in rows:
        _expect(isinstance(text, (str, bytes)), f"a row of {account_id}/{region} holds no JSON text")
        add(account_id, region, _strict_json(text))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _layout(connection: sqlite3.Connection) -> dict[str, Any]:
    """Every table's columns and unique keys: what this version's statements rely on."""
    layout = {}
    tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    for (name,) in tables:
        columns = [row[1:] for row in connection.execute(f"PRAGMA table_info({_quoted(name)})")]
        keys = sorted(
            (
                unique,
                origin,
                partial,
                tuple(row[2] for row in connection.execute(f"PRAGMA index_info({_quoted(index)})")),
            )
            for _, index, unique, origin, partial in connection.execute(
                f"PRAGMA index_list({_quoted(name)})"
            ).fetchall()
        )
        layout[name] = (columns, keys)
    return layout


@lru_cache(maxsize=1)
def _expected_layout() -> dict[str, Any]:
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(_SCHEMA)
        return _layout(connection)
    finally:
        connection.close()


def _check_layout(connection: sqlite3.Connection) -> None:
    found, expected = _layout(connection), _expected_layout()
    differences = [f"no table {name}" for name in expected if name not in found]
    differences += [f"a table {name} this version does not write" for name in found if name not in expected]
    differences += [
        f"table {name} has other columns or keys"
        for name in expected
        if name in found and found[name] != expected[name]
    ]
    _expect(not differences, f"its tables differ from the ones this version writes: {'; '.join(differences)}")


def _read_database(path: Path) -> _Loaded:
    """Everything saved in the database at `path`, read through a read-only connection."""
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)
    try:
        (check,) = connection.execute("PRAGMA quick_check").fetchone()
        _expect(check == "ok", f"damaged database: {check}")
        _check_layout(connection)
        version = dict(connection.execute("SELECT key, value FROM meta").fetchall()).get("format")
        _expect(version == str(FORMAT_VERSION), f"not a format {FORMAT_VERSION} moto-snowdevice state")
        loaded = _Loaded()
        select = "SELECT account_id, region, saved FROM {} ORDER BY rowid"
        _load_rows(loaded, connection.execute(select.format("backends")), loaded.settings)
        _load_rows(loaded, connection.execute(select.format("devices")), loaded.device)
        _load_rows(loaded, connection.execute(select.format("tasks")), loaded.task)
        fleet = connection.execute("SELECT value FROM meta WHERE key = 'fleet'").fetchone()
        if fleet is not None:
            loaded.fleet = _checked_fleet(_strict_json(fleet[0]))
        return loaded
    finally:
        connection.close()


def _read_legacy_json(path: Path) -> _Loaded:
    """A format 1 JSON state file (one document of every backend), as backends."""
    data = _strict_json(path.read_bytes())
    _expect(
        isinstance(data, dict) and data.get("version") == LEGACY_JSON_VERSION,
        f"not a version {LEGACY_JSON_VERSION} moto-snowdevice state",
    )
    _expect(isinstance(data.get("backends"), list), "no list of backends")
    loaded = _Loaded()
    for entry in data["backends"]:
        _expect(isinstance(entry, dict), "a backend that is not a JSON object")
        account_id, region = entry.get("accountId"), entry.get("region")
        _expect_known_keys(entry, SAVED_SETTINGS_KEYS | _LEGACY_BACKEND_KEYS, f"backend {account_id}/{region}")
        loaded.settings(account_id, region, {key: entry[key] for key in SAVED_SETTINGS_KEYS if key in entry})
        for device in entry["devices"]:
            loaded.device(account_id, region, device)
        tokens = {task_id: (token, fingerprint) for token, (fingerprint, task_id) in entry["clientTokens"].items()}
        for task in entry["tasks"]:
            _expect(isinstance(task, dict), f"a task of {account_id}/{region} that is not a JSON object")
            token, fingerprint = tokens.get(task["taskId"], (None, None))
            # A format 1 task repeated its targets, which its executions name
            kept = {key: value for key, value in task.items() if key not in _LEGACY_TASK_KEYS}
            loaded.task(account_id, region, {**kept, "clientToken": token, "fingerprint": fingerprint})
    return loaded


# Writing


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


# What a fresh backend's settings row would hold, built at import (before any store listens for changes)
_FRESH_SETTINGS = _json(SnowDeviceManagementBackend("us-east-1", "000000000000").saved_settings())

# The fleet's row: what the fleet clock was advanced, and the progression set for executions (None: the
# default); moto's state manager keeps the progression only in memory, so a restart would lose it
_FRESH_FLEET: dict[str, Any] = {"clockAdvanced": 0.0, "progression": None}
_FRESH_FLEET_ROW = _json(_FRESH_FLEET)
_UPSERT_FLEET = "INSERT INTO meta VALUES ('fleet', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
_DELETE_FLEET = "DELETE FROM meta WHERE key = 'fleet'"


def _fleet_now() -> dict[str, Any]:
    progression = execution_transition()
    return {
        "clockAdvanced": models.snowdevicemanagement_backends.clock.advanced,
        "progression": None if progression == DEFAULT_EXECUTION_TRANSITION else progression,
    }


def _fleet_statement(row: str) -> _Statement:
    return (_DELETE_FLEET, [()]) if row == _FRESH_FLEET_ROW else (_UPSERT_FLEET, [(row,)])


def _checked_fleet(saved: Any) -> dict[str, Any]:
    _expect(isinstance(saved, dict), "the fleet's row is not a JSON object")
    _expect_known_keys(saved, SAVED_FLEET_KEYS, "the fleet's row")
    advanced = saved.get("clockAdvanced", 0.0)
    _expect(
        isinstance(advanced, (int, float)) and not isinstance(advanced, bool) and 0 <= advanced <= MAX_TIMESTAMP,
        "the fleet's row: clockAdvanced must be a number of seconds from 0",
    )
    progression = saved.get("progression")
    return {
        "clockAdvanced": float(advanced),
        "progression": None if progression is None else check_execution_transition(progression),
    }


def _install_fleet(fleet: dict[str, Any]) -> None:
    """The fleet clock and the progression as saved: a restart restarts nobody's schedule."""
    models.snowdevicemanagement_backends.clock.advanced = fleet["clockAdvanced"]
    if fleet["progression"] is not None:
        state_manager.set_transition(EXECUTION_MODEL, fleet["progression"])


class _Ticket:
    """One thread's part in the store: whether its request changed anything, and why its save failed."""

    __slots__ = ("changed", "failure", "quiet")

    def __init__(self) -> None:
        self.changed = False
        self.failure: str | None = None
        # True while memory is put back to its committed rows: those assignments are not changes
        self.quiet = False


class _Unsaveable(Exception):
    """One object's row could not be made: (table, its ID) and why."""

    def __init__(self, table: str, resource_id: str, error: BaseException):
        super().__init__(table, resource_id)
        self.table, self.resource_id = table, resource_id
        self.reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")


def _row(table: str, resource_id: str, saved: Callable[[], Any]) -> str:
    try:
        return _json(saved())
    except Exception as error:  # whatever the object holds, only this object's save fails
        raise _Unsaveable(table, resource_id, error) from None


class _Changes:
    """What changed in one backend since the last write, and which threads' requests changed it."""

    def __init__(self, backend: SnowDeviceManagementBackend):
        self.backend = backend
        self.emptied = False
        self.settings = False
        self.devices: dict[str, ManagedDevice] = {}
        self.tasks: dict[str, Task] = {}
        self.noted_by: dict[tuple[str, str], set[_Ticket]] = {}

    def note(self, resource: Any, ticket: _Ticket) -> None:
        if resource is None:
            self.emptied = self.settings = True
            self.devices.clear()
            self.tasks.clear()
            self.noted_by.clear()
            return
        if isinstance(resource, Task):
            self.tasks[resource.task_id] = resource
            where = ("tasks", resource.task_id)
        elif isinstance(resource, ManagedDevice):
            self.devices[resource.managed_device_id] = resource
            where = ("devices", resource.managed_device_id)
        else:
            self.settings = True
            where = ("backends", "")
        self.noted_by.setdefault(where, set()).add(ticket)

    def absorb(self, later: "_Changes") -> "_Changes":
        """These changes followed by `later` ones, for a write that has to be tried again."""
        if later.emptied:
            return later
        self.settings |= later.settings
        self.devices.update(later.devices)
        self.tasks.update(later.tasks)
        for where, tickets in later.noted_by.items():
            self.noted_by.setdefault(where, set()).update(tickets)
        return self

    def forget(self, table: str, resource_id: str) -> set[_Ticket]:
        """Leave one object out of this write; the tickets of the requests that changed it."""
        if table == "backends":
            self.settings = False
        elif table == "devices":
            self.devices.pop(resource_id, None)
        else:
            self.tasks.pop(resource_id, None)
        return self.noted_by.pop((table, resource_id), set())

    def statements(self) -> list[_Statement]:
        """The SQL that writes these changes, taken under the backend's lock (a consistent view).

        Raises _Unsaveable for the first object whose row cannot be made.
        """
        backend = self.backend
        key = (backend.account_id, backend.region_name)
        # An object a reset has since dropped is not written back
        devices = [(i, d) for i, d in self.devices.items() if backend.devices.get(i) is d]
        tasks = [(i, t) for i, t in self.tasks.items() if backend.tasks.get(i) is t]
        statements: list[_Statement] = [
            (f"DELETE FROM {table} WHERE account_id = ? AND region = ?", [key]) for table in _TABLES if self.emptied
        ]
        if self.settings:
            settings = _row("backends", "", backend.saved_settings)
            if settings == _FRESH_SETTINGS:
                statements.append((_DELETE_SETTINGS, [key]))
            else:
                statements.append((_UPSERT["backends"], [(*key, settings)]))
        statements.append((_UPSERT["devices"], [(*key, i, _row("devices", i, d.saved)) for i, d in devices]))
        statements.append((_UPSERT["tasks"], [(*key, i, _row("tasks", i, t.saved)) for i, t in tasks]))
        return statements


def _commit(connection: sqlite3.Connection, statements: list[_Statement]) -> None:
    """Run `statements` as one transaction: all of them are written, or none."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in statements:
            if rows:
                connection.executemany(sql, rows)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _connect(path: Path, sync: str) -> sqlite3.Connection:
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={sync.upper()}")
    return connection


def _create(path: Path, sync: str) -> sqlite3.Connection:
    connection = _connect(path, sync)
    connection.executescript(_SCHEMA)
    connection.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT_VERSION),))
    return connection


# The files of one database as (st_dev, st_ino), None for a missing one: the database, its -wal, its -shm
_Files = tuple[tuple[int, int] | None, ...]
_FILE_NAMES = ("database", "-wal", "-shm")


def _files_at(path: Path) -> _Files:
    found: list[tuple[int, int] | None] = []
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        try:
            status = os.stat(name)
        except FileNotFoundError:
            found.append(None)
        else:
            found.append((status.st_dev, status.st_ino))
    return tuple(found)


# Undoing a change that cannot be saved: memory goes back to what is on disk.
# models has no step for this, so these set the fields its restore constructors set.


def _retag(backend: SnowDeviceManagementBackend, arn: str, tags: dict[str, str] | None) -> None:
    backend.tagger.delete_all_tags_for_resource(arn)
    if tags:
        backend.tagger.tag_resource(arn, [{"Key": key, "Value": value} for key, value in tags.items()])


def _restore_device(backend: SnowDeviceManagementBackend, device: ManagedDevice, committed: str) -> None:
    """The device as its committed row holds it; its queue and running work stay (tasks are saved apart)."""
    saved = _checked_device(_strict_json(committed), f"managed device {device.managed_device_id}")
    restored = ManagedDevice.restore(backend, saved)
    fields = (
        "document",
        "instances",
        "takes_work_before_cancel",
        "online",
        "outcome_weights",
        "outcome_script",
        "polls",
        "paced_from",
    )
    for field in fields:
        setattr(device, field, getattr(restored, field))
    _retag(backend, device.arn, saved["device"].get("tags"))


def _drop_device(backend: SnowDeviceManagementBackend, device: ManagedDevice) -> bool:
    """Forget a device that was never committed; False (nothing done) if a task names it."""
    if any(execution.device is device for task in backend.tasks.values() for execution in task.executions):
        return False
    backend.devices.pop(device.managed_device_id, None)
    if device in backend._device_order:
        backend._device_order.remove(device)
    _retag(backend, device.arn, None)
    return True


def _restore_settings(backend: SnowDeviceManagementBackend, committed: str | None) -> None:
    _apply_settings(backend, _checked_settings(_strict_json(committed or _FRESH_SETTINGS), "saved settings"))


class StateStore:
    """The database of one server's state, holding the lock on it while the server runs."""

    def __init__(self, path: Path, lock: int, connection: sqlite3.Connection, loaded: _Loaded | None):
        self.path = path
        self.loaded = loaded
        self._lock_file = lock
        self._connection = connection
        # A read makes SQLite open (and create) the -wal and -shm: from here on they are the ones in use
        connection.execute("SELECT count(*) FROM meta").fetchone()
        self._files = _files_at(path)
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[_Key, _Changes] = {}
        # Backends that have (or may have) rows: only their reset has to reach the file
        self._saved_keys: set[_Key] = set(loaded.backends) if loaded is not None else set()
        # The fleet's row as committed (compared at each write: see _fleet_now)
        self._fleet_row = _FRESH_FLEET_ROW
        # Why every write is refused from now on, once the file is no longer safe to write
        self._refusal: str | None = None
        self._threads = threading.local()

    @classmethod
    def open(cls, given: str | Path, sync: str = "normal") -> "StateStore":
        """Take the state file at `given` (through any symlink), read and check it; install nothing yet.

        Raises StateFileError, leaving the file as it was, when it cannot be used.
        """
        path = Path(os.path.realpath(given))
        lock = _take_lock(given, path)
        try:
            loaded = _read(given, path)
            if loaded is not None and not _is_database(path):
                lock = _convert(path, loaded, sync, lock)
            connection = _connect(path, sync) if loaded is not None else _create(path, sync)
            return cls(path, lock, connection, loaded)
        except sqlite3.Error as error:
            os.close(lock)
            raise StateFileError(f"{given}: cannot write state: {error}") from None
        except BaseException:
            os.close(lock)
            raise

    def install(self) -> None:
        """Make the loaded backends and fleet the running state, and write every later change through."""
        backends = models.snowdevicemanagement_backends
        if self.loaded is not None:
            for (account_id, region), backend in self.loaded.backends.items():
                install_backend(backends, account_id, region, backend)
            _install_fleet(self.loaded.fleet)
            self._fleet_row = _json(self.loaded.fleet)
        backends.changes.listener = self._note

    def _thread_ticket(self) -> _Ticket:
        ticket = getattr(self._threads, "ticket", None)
        if ticket is None:
            ticket = self._threads.ticket = _Ticket()
        return ticket

    def _note(self, backend: SnowDeviceManagementBackend, resource: Any) -> None:
        key = (backend.account_id, backend.region_name)
        ticket = self._thread_ticket()
        if ticket.quiet:
            return  # memory being put back to what is committed: nothing new to write
        with self._pending_lock:
            changes = self._pending.get(key)
            if resource is None and changes is None and key not in self._saved_keys:
                return  # a new, empty backend: nothing that a restart would not build again
            ticket.changed = True
            if changes is None:
                changes = self._pending[key] = _Changes(backend)
            elif changes.backend is not backend:
                # moto's reset drops its backends; a new one for the same account and region replaces it
                changes.backend = backend
            changes.note(resource, ticket)

    def flush(self, write_request: bool = True) -> None:
        """Commit every change noted so far, before the calling request is answered.

        A read whose thread changed nothing returns at once: no lock, no disk. Otherwise every pending
        change is written (other threads' too). If the write fails, the changes stay noted for the next
        flush, and StateWriteError is raised for a write request or one whose thread changed something.
        If this thread's own change could not be saved (and was undone), StateWriteError is raised too.
        """
        ticket = self._thread_ticket()
        mine = ticket.changed
        if not (mine or write_request or ticket.failure):
            return
        ticket.changed = False
        try:
            self._write_pending()
        except StateWriteError:
            ticket.failure = None
            if mine or write_request:
                raise
            return
        failure, ticket.failure = ticket.failure, None
        if failure is not None:
            raise StateWriteError(failure)

    def _write_pending(self) -> None:
        with self._write_lock:
            if self._refusal is not None:
                raise StateWriteError(self._refusal)
            with self._pending_lock:
                pending, self._pending = self._pending, {}
                # Before the commit: a reset of one of these backends from now on must reach the file
                self._saved_keys.update(pending)
            # The fleet's row is compared, not reported: moto's state manager holds the progression
            fleet_row = _json(_fleet_now())
            if not pending and fleet_row == self._fleet_row:
                return
            try:
                statements = [statement for changes in pending.values() for statement in self._statements(changes)]
                if fleet_row != self._fleet_row:
                    statements.append(_fleet_statement(fleet_row))
                _commit(self._connection, statements)
            except BaseException as error:
                self._note_again(pending)
                if not isinstance(error, Exception):
                    raise
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise StateWriteError(f"cannot write state to {self.path}: {reason}") from None
            self._fleet_row = fleet_row
            self._check_files()

    def _statements(self, changes: _Changes) -> list[_Statement]:
        """The statements for one backend's changes, leaving out (and undoing) what cannot be saved."""
        backend = changes.backend
        with backend.lock:
            # Each round leaves one object out, so this ends
            while True:
                try:
                    return changes.statements()
                except _Unsaveable as unsaveable:
                    self._undo(changes, unsaveable)

    def _undo(self, changes: _Changes, unsaveable: _Unsaveable) -> None:
        """Put memory back to the object's last committed row, and fail the requests that changed it."""
        backend, table, resource_id = changes.backend, unsaveable.table, unsaveable.resource_id
        what = {"backends": "the settings", "devices": f"managed device {resource_id}", "tasks": f"task {resource_id}"}[
            table
        ]
        message = f"cannot save {what} of {backend.account_id}/{backend.region_name}: {unsaveable.reason}"
        ticket = self._thread_ticket()
        ticket.quiet = True
        try:
            undone = self._put_back(backend, table, resource_id)
        except Exception:  # a committed row this store wrote should always read back
            undone = False
        finally:
            ticket.quiet = False
        failed = changes.forget(table, resource_id)
        if not undone:
            self._refuse(f"{message}; it cannot be undone, so every later write is refused")
            if table == "devices":
                # A task naming a device the file does not hold would make the file unloadable
                for task_id in [i for i, t in changes.tasks.items() if resource_id in t.targets]:
                    failed |= changes.forget("tasks", task_id)
        for ticket in failed:
            ticket.failure = message

    def _put_back(self, backend: SnowDeviceManagementBackend, table: str, resource_id: str) -> bool:
        """The object as its committed row holds it (dropped if it has none); False if it cannot be."""
        key = (backend.account_id, backend.region_name)
        arguments = key if table == "backends" else (*key, resource_id)
        committed = self._connection.execute(_COMMITTED[table], arguments).fetchone()
        if table == "backends":
            _restore_settings(backend, committed[0] if committed else None)
            return True
        if table == "devices" and committed is not None:
            _restore_device(backend, backend.devices[resource_id], committed[0])
            return True
        if table == "devices":
            return _drop_device(backend, backend.devices[resource_id])
        # models has no way back for a task: its executions sit in its devices' queues
        return False

    def _note_again(self, pending: dict[_Key, _Changes]) -> None:
        with self._pending_lock:
            for key, earlier in pending.items():
                later = self._pending.get(key)
                self._pending[key] = earlier if later is None else earlier.absorb(later)

    def _check_files(self) -> None:
        """Refuse every later write if the database or its journal at the path is not the one opened."""
        found = _files_at(self.path)
        if found == self._files:
            return
        changed = [name for name, now, then in zip(_FILE_NAMES, found, self._files, strict=True) if now != then]
        if found[0] == self._files[0]:
            # Only the journal went: fold what was committed into the database, which is still the file
            with contextlib.suppress(sqlite3.Error):
                self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._refuse(
            f"the state file {self.path} was removed or replaced while the server ran "
            f"({', '.join(changed)} not the one opened): writes are refused until the server is restarted"
        )
        assert self._refusal is not None
        raise StateWriteError(self._refusal)

    def _refuse(self, reason: str) -> None:
        if self._refusal is None:
            self._refusal = reason
            print(f"moto-snowdevice-server: {reason}", file=sys.stderr, flush=True)

    def reset(self) -> None:
        """Forget every saved row and every pending change: moto's reset emptied memory, so is the store."""
        with self._write_lock:
            if self._refusal is not None:
                raise StateWriteError(self._refusal)
            with self._pending_lock:
                self._pending = {}
                saved_keys, self._saved_keys = self._saved_keys, set()
            try:
                deletes: list[_Statement] = [(f"DELETE FROM {table}", [()]) for table in _TABLES]
                _commit(self._connection, [*deletes, (_DELETE_FLEET, [()])])
            except Exception as error:
                with self._pending_lock:
                    self._saved_keys |= saved_keys
                raise StateWriteError(f"cannot write state to {self.path}: {error}") from None
            # The fleet row is gone: a progression still set is written again with the next change
            self._fleet_row = _FRESH_FLEET_ROW
            self._check_files()

    def close(self) -> None:
        """Stop writing through and release the database and its lock."""
        changes = models.snowdevicemanagement_backends.changes
        if changes.listener == self._note:
            changes.listener = None
        self._connection.close()
        os.close(self._lock_file)


def _take_lock(given: str | Path, path: Path) -> int:
    """The state file itself (created empty if missing), held with flock for as long as this process runs.

    flock follows the file, not its name: any path to a file another server holds is refused.
    """
    if path.exists() and not path.is_file():
        raise StateFileError(f"{given}: not a regular file")
    if not path.parent.is_dir():
        raise StateFileError(f"{given}: {path.parent} is not a directory")
    try:
        lock = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise StateFileError(f"{given}: cannot write there: {error.strerror}") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise StateFileError(f"{given}: another moto-snowdevice-server is using this state file") from None
    opened, now = os.fstat(lock), os.stat(path)
    if (opened.st_dev, opened.st_ino) != (now.st_dev, now.st_ino):
        os.close(lock)
        raise StateFileError(f"{given}: the file was replaced while it was being opened")
    return lock


def _is_database(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def _read(given: str | Path, path: Path) -> _Loaded | None:
    """The backends saved at `path`, or None for a fresh state (no file, or an empty one)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    # Building many objects at once sets off full collections again and again: loading would grow faster than linearly
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read_database(path) if _is_database(path) else _read_legacy_json(path)
    except StateFileError as error:
        raise StateFileError(f"{given}: cannot load state: {error}") from None
    except SnowDeviceManagementError as invalid:
        raise StateFileError(f"{given}: cannot load state: {invalid.message}") from None
    except InvalidInput as invalid:
        raise StateFileError(f"{given}: cannot load state: {invalid}") from None
    except KeyError as missing:
        raise StateFileError(f"{given}: cannot load state: missing {missing}") from None
    except (sqlite3.Error, OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StateFileError(f"{given}: cannot load state: {reason}") from None
    finally:
        if collecting:
            gc.enable()


def write_database(path: Path, backends: Iterable[SnowDeviceManagementBackend], sync: str = "normal") -> None:
    """A new database at `path` holding these backends whole, its journal folded in."""
    connection = _create(path, sync)
    try:
        statements = []
        for backend in backends:
            changes = _Changes(backend)
            changes.settings = True
            changes.devices = dict(backend.devices)
            changes.tasks = dict(backend.tasks)
            statements.extend(changes.statements())
        _commit(connection, statements)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def _convert(path: Path, loaded: _Loaded, sync: str, lock: int) -> int:
    """Replace a format 1 JSON file by a database of the same state, keeping the JSON as FILE.v1.json.

    Returns the lock on the new file, taken before it replaces the old one (whose lock is released).
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    new_lock = None
    try:
        write_database(Path(temporary), loaded.backends.values(), sync)
        new_lock = os.open(temporary, os.O_RDWR | os.O_CLOEXEC)
        fcntl.flock(new_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shutil.copy2(path, f"{path}.v1.json")
        os.replace(temporary, path)
    except BaseException:
        if new_lock is not None:
            os.close(new_lock)
        raise
    finally:
        for leftover in (temporary, f"{temporary}-wal", f"{temporary}-shm"):
            Path(leftover).unlink(missing_ok=True)
    os.close(lock)
    return new_lock
