"""State that survives the server process (`--state FILE`): an SQLite database, written through.

Every change is committed (SQLite, WAL journal) before the server answers the request that made it:
one row per managed device and per task, rewritten when that object changes, so a write costs the
same however large the store is. A lock file beside the database (`FILE.lock`, flock) keeps a second
server off it. Loading checks everything and builds every backend before any is installed, so a bad
file changes nothing and is never written. A JSON state file of format 1 is converted once.
"""

import fcntl
import gc
import json
import math
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import models
from ._shapes import SERVICE_MODEL, InvalidInput, compile_check
from .exceptions import SnowDeviceManagementError
from .models import (
    ManagedDevice,
    SnowDeviceManagementBackend,
    Task,
    check_device_document,
    snowdevicemanagement_backends,
)

FORMAT_VERSION = 2
LEGACY_JSON_VERSION = 1
SYNC_MODES = ("normal", "full")
_SQLITE_HEADER = b"SQLite format 3\x00"
_ACCOUNT_ID = re.compile(r"\d{12}")
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

# An SQL statement and the rows it is run for
_Statement = tuple[str, list[tuple[str, ...]]]
# Saved fields checked by the service model's own shapes
_check_task_fields = compile_check(SERVICE_MODEL.shape_for("DescribeTaskOutput"), strict=True)
_check_command = compile_check(SERVICE_MODEL.shape_for("Command"), strict=True)
_check_execution_fields = compile_check(SERVICE_MODEL.shape_for("DescribeExecutionOutput"), strict=True)
# A task has one execution per target, and CreateTask takes at most this many targets
_MAX_TARGETS = SERVICE_MODEL.operation_model("CreateTask").input_shape.members["targets"].metadata["max"]


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


def _checked_device(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict) and isinstance(saved.get("device"), dict), f"{where}: not a saved device")
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
        or isinstance(paced_from, (int, float)) and not isinstance(paced_from, bool) and math.isfinite(paced_from),
        f"{where}: pacedFrom",
    )
    conditions = {
        "online": saved.get("online", True),
        "outcomeWeights": models.check_outcome_weights(saved.get("outcomeWeights"), f"{where}.outcomeWeights"),
        "polls": polls,
    }
    if paced_from is not None:
        conditions["pacedFrom"] = float(paced_from)
    return conditions


def _checked_task(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict), f"{where}: not a saved task")
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
    checked["executions"] = [_checked_execution(execution, f"{where}.executions.{index}")
                             for index, execution in enumerate(executions, start=1)]
    return checked


def _checked_execution(saved: Any, where: str) -> dict[str, Any]:
    _expect(isinstance(saved, dict), f"{where}: not a saved execution")
    # Files written before devices counted polls hold a per-execution "tick": no longer used
    fields = {key: value for key, value in saved.items() if key != "tick" and value is not None}
    checked = _check_execution_fields(fields, where)
    _expect("state" in checked and "managedDeviceId" in checked and "lastUpdatedAt" in checked, f"{where}: incomplete")
    return checked


def _distinct_targets(task: dict[str, Any]) -> bool:
    targets = [execution["managedDeviceId"] for execution in task["executions"]]
    return len(set(targets)) == len(targets)


def _new_backend(account_id: Any, region: Any) -> SnowDeviceManagementBackend:
    _expect(isinstance(account_id, str) and bool(_ACCOUNT_ID.fullmatch(account_id)), f"unknown account {account_id!r}")
    _expect(isinstance(region, str) and region in snowdevicemanagement_backends[account_id], f"unknown region {region!r}")
    return SnowDeviceManagementBackend(region, account_id)


class _Loaded:
    """Backends built from a file, not yet installed: keyed by (account, region), in file order."""

    def __init__(self) -> None:
        self.backends: dict[tuple[str, str], SnowDeviceManagementBackend] = {}
        self.devices = self.tasks = 0

    def backend(self, account_id: Any, region: Any) -> SnowDeviceManagementBackend:
        key = (account_id, region)
        if key not in self.backends:
            self.backends[key] = _new_backend(account_id, region)
        return self.backends[key]

    def settings(self, account_id: Any, region: Any, saved: Any) -> None:
        where = f"settings of {account_id}/{region}"
        _expect(isinstance(saved, dict) and isinstance(saved.get("takesWorkBeforeCancel", False), bool),
                f"{where}: takesWorkBeforeCancel")
        backend = self.backend(account_id, region)
        backend.set_cancel_race(saved.get("takesWorkBeforeCancel", False))
        timeout = models.check_execution_timeout(saved.get("executionTimeout"), f"{where}.executionTimeout")
        backend.set_execution_timeout(timeout)
        weights = models.check_outcome_weights(saved.get("outcomeWeights"), f"{where}.outcomeWeights")
        backend.set_outcome_weights(weights, None)

    def device(self, account_id: Any, region: Any, saved: Any) -> None:
        backend = self.backend(account_id, region)
        backend.restore_device(_checked_device(saved, f"a managed device of {account_id}/{region}"))
        self.devices += 1

    def task(self, account_id: Any, region: Any, saved: Any) -> None:
        backend = self.backend(account_id, region)
        task = _checked_task(saved, f"a task of {account_id}/{region}")
        _expect(all(execution["managedDeviceId"] in backend.devices for execution in task["executions"]),
                f"task {task['taskId']} names a managed device that is not saved")
        _expect(_distinct_targets(task), f"task {task['taskId']} has two executions on one managed device")
        backend.restore_task(task)
        self.tasks += 1


def _load_rows(loaded: _Loaded, rows: Iterable[tuple[Any, ...]], add: Callable[[Any, Any, Any], None]) -> None:
    for account_id, region, text in rows:
        _expect(isinstance(text, (str, bytes)), f"a row of {account_id}/{region} holds no JSON text")
        add(account_id, region, _strict_json(text))


def _read_database(path: Path) -> _Loaded:
    """Everything saved in the database at `path`, read through a read-only connection."""
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)
    try:
        (check,) = connection.execute("PRAGMA quick_check").fetchone()
        _expect(check == "ok", f"damaged database: {check}")
        version = dict(connection.execute("SELECT key, value FROM meta").fetchall()).get("format")
        _expect(version == str(FORMAT_VERSION), f"not a format {FORMAT_VERSION} moto-snowdevice state")
        loaded = _Loaded()
        select = "SELECT account_id, region, saved FROM {} ORDER BY rowid"
        _load_rows(loaded, connection.execute(select.format("backends")), loaded.settings)
        _load_rows(loaded, connection.execute(select.format("devices")), loaded.device)
        _load_rows(loaded, connection.execute(select.format("tasks")), loaded.task)
        return loaded
    finally:
        connection.close()


def _read_legacy_json(path: Path) -> _Loaded:
    """A format 1 JSON state file (one document of every backend), as backends."""
    data = _strict_json(path.read_bytes())
    _expect(isinstance(data, dict) and data.get("version") == LEGACY_JSON_VERSION,
            f"not a version {LEGACY_JSON_VERSION} moto-snowdevice state")
    _expect(isinstance(data.get("backends"), list), "no list of backends")
    loaded = _Loaded()
    for entry in data["backends"]:
        _expect(isinstance(entry, dict), "a backend that is not a JSON object")
        account_id, region = entry.get("accountId"), entry.get("region")
        loaded.settings(account_id, region, entry)
        for device in entry["devices"]:
            loaded.device(account_id, region, device)
        tokens = {task_id: (token, fingerprint) for token, (fingerprint, task_id) in entry["clientTokens"].items()}
        for task in entry["tasks"]:
            token, fingerprint = tokens.get(task["taskId"], (None, None))
            loaded.task(account_id, region, {**task, "clientToken": token, "fingerprint": fingerprint})
    return loaded


# Writing


def _rows(backend: SnowDeviceManagementBackend, resources: Iterable[Any]) -> list[tuple[str, ...]]:
    return [
        (backend.account_id, backend.region_name, key, json.dumps(resource.saved(), separators=(",", ":"), allow_nan=False))
        for key, resource in resources
    ]


class _Changes:
    """What changed in one backend since the last write."""

    def __init__(self, backend: SnowDeviceManagementBackend):
        self.backend = backend
        self.emptied = False
        self.settings = False
        self.devices: dict[str, ManagedDevice] = {}
        self.tasks: dict[str, Task] = {}

    def note(self, resource: Any) -> None:
        if resource is None:
            self.emptied = self.settings = True
            self.devices.clear()
            self.tasks.clear()
        elif isinstance(resource, Task):
            self.tasks[resource.task_id] = resource
        elif isinstance(resource, ManagedDevice):
            self.devices[resource.managed_device_id] = resource
        else:
            self.settings = True

    def absorb(self, later: "_Changes") -> "_Changes":
        """These changes followed by `later` ones, for a write that has to be tried again."""
        if later.emptied:
            return later
        self.settings |= later.settings
        self.devices.update(later.devices)
        self.tasks.update(later.tasks)
        return self

    def statements(self) -> list[_Statement]:
        """The SQL that writes these changes, taken under the backend's lock (a consistent view)."""
        backend = self.backend
        key = (backend.account_id, backend.region_name)
        with backend.lock:
            # An object a reset has since dropped is not written back
            devices = [(i, d) for i, d in self.devices.items() if backend.devices.get(i) is d]
            tasks = [(i, t) for i, t in self.tasks.items() if backend.tasks.get(i) is t]
            statements: list[_Statement] = [
                (f"DELETE FROM {table} WHERE account_id = ? AND region = ?", [key])
                for table in ("backends", "devices", "tasks")
                if self.emptied
            ]
            if self.settings:
                settings = json.dumps(backend.saved_settings(), separators=(",", ":"), allow_nan=False)
                statements.append((_UPSERT["backends"], [(*key, settings)]))
            statements.append((_UPSERT["devices"], _rows(backend, devices)))
            statements.append((_UPSERT["tasks"], _rows(backend, tasks)))
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


class StateStore:
    """The database of one server's state, holding the lock on it while the server runs."""

    def __init__(self, path: Path, lock: int, connection: sqlite3.Connection, loaded: _Loaded | None):
        self.path = path
        self.loaded = loaded
        self._lock_file = lock
        self._connection = connection
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Changes] = {}
        # Whether the current thread's request changed anything since its last flush
        self._thread = threading.local()

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
                _convert(path, loaded, sync)
            connection = _connect(path, sync) if loaded is not None else _create(path, sync)
        except sqlite3.Error as error:
            os.close(lock)
            raise StateFileError(f"{given}: cannot write state: {error}") from None
        except BaseException:
            os.close(lock)
            raise
        return cls(path, lock, connection, loaded)

    def install(self) -> None:
        """Make the loaded backends the running state, and write every later change through."""
        if self.loaded is not None:
            for (account_id, region), backend in self.loaded.backends.items():
                snowdevicemanagement_backends[account_id][region] = backend
        models.change_listener = self._note

    def _note(self, backend: SnowDeviceManagementBackend, resource: Any) -> None:
        self._thread.changed = True
        key = (backend.account_id, backend.region_name)
        with self._pending_lock:
            changes = self._pending.get(key)
            if changes is None:
                changes = self._pending[key] = _Changes(backend)
            elif changes.backend is not backend:
                # moto's reset drops its backends; a new one for the same account and region replaces it
                changes.backend = backend
            changes.note(resource)

    def flush(self, write_request: bool = True) -> None:
        """Commit every change noted so far, before the calling request is answered.

        If that fails, the changes stay noted (for the next flush to try again), and StateWriteError is
        raised for a write request or one whose thread changed something: a read that changed nothing
        goes on. (A write request that changed nothing, e.g. a repeated clientToken, may answer with
        what is not saved yet.)
        """
        mine, self._thread.changed = getattr(self._thread, "changed", False), False
        try:
            self._write_pending()
        except StateWriteError:
            if mine or write_request:
                raise

    def _write_pending(self) -> None:
        with self._write_lock:
            with self._pending_lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return
            try:
                statements = [statement for changes in pending.values() for statement in changes.statements()]
                _commit(self._connection, statements)
            except (sqlite3.Error, OSError) as error:
                self._note_again(pending)
                raise StateWriteError(f"cannot write state to {self.path}: {error}") from None

    def _note_again(self, pending: dict[tuple[str, str], _Changes]) -> None:
        with self._pending_lock:
            for key, earlier in pending.items():
                later = self._pending.get(key)
                self._pending[key] = earlier if later is None else earlier.absorb(later)

    def close(self) -> None:
        """Stop writing through and release the database and its lock."""
        if models.change_listener == self._note:
            models.change_listener = None
        self._connection.close()
        os.close(self._lock_file)


def _take_lock(given: str | Path, path: Path) -> int:
    """The lock file beside the state, held with flock for as long as this process runs."""
    if path.exists() and not path.is_file():
        raise StateFileError(f"{given}: not a regular file")
    if not path.parent.is_dir():
        raise StateFileError(f"{given}: {path.parent} is not a directory")
    try:
        if path.exists():
            os.close(os.open(path, os.O_RDWR))
        lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StateFileError(f"{given}: cannot write there: {error.strerror}") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise StateFileError(f"{given}: another moto-snowdevice-server is using this state file") from None
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


def _convert(path: Path, loaded: _Loaded, sync: str) -> None:
    """Replace a format 1 JSON file by a database of the same state, keeping the JSON as FILE.v1.json."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        write_database(Path(temporary), loaded.backends.values(), sync)
        shutil.copy2(path, f"{path}.v1.json")
        os.replace(temporary, path)
    finally:
        for leftover in (temporary, f"{temporary}-wal", f"{temporary}-shm"):
            Path(leftover).unlink(missing_ok=True)
