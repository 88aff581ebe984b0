"""The store of one server's state: it listens for changes, logs them, and undoes what cannot be saved."""

import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import models
from .._moto import install_backend, state_manager
from ..models import EXECUTION_MODEL, ManagedDevice, SnowDeviceManagementBackend
from ..models.work import DEFAULT_EXECUTION_TRANSITION, execution_transition
from .changes import _Changes, _Ticket, _Unsaveable
from .database import (
    _DELETE_ALL,
    _DELETE_FLEET,
    _FRESH_FLEET_ROW,
    _FRESH_SETTINGS,
    _UPSERT_FLEET,
    StateFileError,
    StateWriteError,
    _connect,
    _create,
    _is_database,
    _json,
    _Key,
    _Statement,
)
from .files import _FILE_NAMES, _convert, _file_paths, _files_at, _take_lock
from .folding import Folding, fold_log_at_start
from .reading import _apply_settings, _checked_device, _checked_settings, _Loaded, _read, _strict_json


def _fleet(advanced: float, progression: dict[str, Any]) -> dict[str, Any]:
    return {
        "clockAdvanced": advanced,
        "progression": None if progression == DEFAULT_EXECUTION_TRANSITION else progression,
    }


def _fleet_statement(row: str) -> _Statement:
    return (_DELETE_FLEET, [()]) if row == _FRESH_FLEET_ROW else (_UPSERT_FLEET, [(row,)])


def _install_fleet(fleet: dict[str, Any]) -> None:
    """The fleet clock and the progression as saved: a restart restarts nobody's schedule."""
    models.snowdevicemanagement_backends.clock.advanced = fleet["clockAdvanced"]
    if fleet["progression"] is not None:
        state_manager.set_transition(EXECUTION_MODEL, fleet["progression"])


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

    def __init__(
        self, path: Path, lock: int, connection: sqlite3.Connection, loaded: _Loaded | None, sync: str = "normal"
    ):
        self.path = path
        self.loaded = loaded
        self._lock_file = lock
        self._connection = connection
        # Reading the log's token makes SQLite open (and create) the -wal and -shm: from here on they are
        # the ones in use. Every use of the connection from here on holds the folding's lock
        self._folding = Folding(path, connection, sync)
        self._file_paths = _file_paths(path)
        self._files = _files_at(self._file_paths)
        # Held while changes are taken and appended to the log; the folding's lock is taken after it
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[_Key, _Changes] = {}
        # Counts the times the pending changes were taken (to be written) or dropped
        self._generation = 0
        # Backends that have (or may have) rows: only their reset has to reach the file
        self._saved_keys: set[_Key] = set(loaded.backends) if loaded is not None else set()
        # The fleet's row as committed (compared at each write: see _fleet_row_now)
        self._fleet_row = _FRESH_FLEET_ROW
        # The fleet's row as last made, and what it was made from: the clock's advance and the progression
        self._fleet_made: tuple[float, Any, str] | None = None
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
            fold_log_at_start(given, path, sync)
            loaded = _read(given, path)
            if loaded is not None and not _is_database(path):
                lock = _convert(path, loaded, sync, lock)
            connection = _connect(path, sync) if loaded is not None else _create(path, sync)
            try:
                return cls(path, lock, connection, loaded, sync)
            except BaseException:
                connection.close()
                raise
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
        try:
            ticket: _Ticket = self._threads.ticket
        except AttributeError:
            ticket = self._threads.ticket = _Ticket()
        return ticket

    def _note(self, backend: SnowDeviceManagementBackend, resource: Any) -> None:
        ticket = self._thread_ticket()
        if ticket.quiet:
            return  # memory being put back to what is committed: nothing new to write
        if (
            resource is not None
            and ticket.changed
            and ticket.last_noted is resource
            and ticket.noted_in == self._generation
        ):
            # Noted by this thread's request, and not yet taken by a write: the write takes it as it is then
            return
        key = (backend.account_id, backend.region_name)
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
            if resource is None:
                self._generation += 1  # the backend was emptied: what was noted in it is gone
            changes.note(resource, ticket)
            ticket.last_noted, ticket.noted_in = resource, self._generation

    def flush(self, write_request: bool | Callable[[], bool] = True) -> None:
        """Keep every change noted so far (in the change log), before the calling request is answered.

        A read whose thread changed nothing returns at once: no lock, no disk. Otherwise every pending
        change is appended (other threads' too). If the write fails, the changes stay noted for the next
        flush, and StateWriteError is raised for a write request or one whose thread changed something.
        If this thread's own change could not be saved (and was undone), StateWriteError is raised too.
        `write_request` may be a function: it is asked only when this thread changed nothing.
        """
        ticket = self._thread_ticket()
        # Whether a failed write fails this request: it changed something, or it asks for a change
        if ticket.changed:
            write_matters = True
        else:
            write_matters = write_request() if callable(write_request) else write_request
            if not (write_matters or ticket.failure):
                return
        ticket.changed = False
        try:
            self._write_pending()
        except StateWriteError:
            ticket.failure = None
            if write_matters:
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
                self._generation += 1
                # Before the append: a reset of one of these backends from now on must reach the file
                self._saved_keys.update(pending)
            # The fleet's row is compared, not reported: moto's state manager holds the progression
            fleet_row = self._fleet_row_now()
            if not pending and fleet_row == self._fleet_row:
                return
            try:
                statements = [statement for changes in pending.values() for statement in self._statements(changes)]
                if fleet_row != self._fleet_row:
                    statements.append(_fleet_statement(fleet_row))
                if statements:
                    self._folding.append(statements)
            except BaseException as error:
                self._note_again(pending)
                if not isinstance(error, Exception):
                    raise
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise StateWriteError(f"cannot write state to {self.path}: {reason}") from None
            self._fleet_row = fleet_row
            self._check_files()

    def _fleet_row_now(self) -> str:
        """The fleet's row as it is now, made again only when the clock's advance or the progression moved.

        execution_transition() answers the same object while moto's transition stays the same.
        """
        advanced = models.snowdevicemanagement_backends.clock.advanced
        progression = execution_transition()
        made = self._fleet_made
        if made is not None and made[0] == advanced and made[1] is progression:
            return made[2]
        row = _json(_fleet(advanced, progression))
        self._fleet_made = (advanced, progression, row)
        return row

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
        committed = self._folding.kept_row(table, key if table == "backends" else (*key, resource_id))
        if table == "backends":
            _restore_settings(backend, committed)
            return True
        if table == "devices" and committed is not None:
            _restore_device(backend, backend.devices[resource_id], committed)
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
        found = _files_at(self._file_paths)
        if found == self._files:
            return
        changed = [name for name, now, then in zip(_FILE_NAMES, found, self._files, strict=True) if now != then]
        with contextlib.suppress(sqlite3.Error):
            self._folding.fold()  # every change the log holds, into the database opened
        if found[0] == self._files[0]:
            # Only a journal went: fold what was committed into the database, which is still the file
            with self._folding.lock, contextlib.suppress(sqlite3.Error):
                self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # The log's records are in the database that went: a restart starts from the one there now
            self._folding.log.restart()
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
                self._generation += 1
                saved_keys, self._saved_keys = self._saved_keys, set()
            try:
                deletes: list[_Statement] = [(delete, [()]) for delete in (*_DELETE_ALL.values(), _DELETE_FLEET)]
                self._folding.append(deletes)
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
        try:
            self._folding.close()
        finally:
            self._connection.close()
            os.close(self._lock_file)

    def fold(self) -> None:
        """Write every change acknowledged so far into the database (the store's thread does so within moments)."""
        self._folding.fold()
