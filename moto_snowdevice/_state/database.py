"""What the state database holds: its tables, the keys of each saved row, and how statements are committed.

A saved row is compared with a fresh one (`_FRESH_SETTINGS`, `_FRESH_FLEET_ROW`) so that only what differs
from a fresh start is kept; a file's tables are checked against the ones this version writes.
"""

import json
import secrets
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..models import SnowDeviceManagementBackend

FORMAT_VERSION = 3
# Format 2 files are the same tables without a change log: they load, and are format 3 from then on
_FORMATS_READ = ("2", "3")
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
# An emptied backend's rows, and every row (moto's reset)
_DELETE_BACKEND = {table: f"DELETE FROM {table} WHERE account_id = ? AND region = ?" for table in _TABLES}
# A backend's settings row (the one row of its backends table)
_DELETE_SETTINGS = _DELETE_BACKEND["backends"]
_DELETE_ALL = {table: f"DELETE FROM {table}" for table in _TABLES}
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


class StateFileError(Exception):
    """A state location or file that cannot be used; the message is one line."""


class StateWriteError(Exception):
    """A change could not be written; the request that made it must not be acknowledged."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise StateFileError(message)


# One encoder for every row written: compact, and no NaN or infinity, which could not be read back.
# Rows are made of fresh dicts and lists; one that held itself would end in RecursionError, failing its save
_ROW_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False)


def _json(value: Any) -> str:
    return _ROW_JSON.encode(value)


# What a fresh backend's settings row would hold, built at import (before any store listens for changes)
_FRESH_SETTINGS = _json(SnowDeviceManagementBackend("us-east-1", "000000000000").saved_settings())

# The fleet's row: what the fleet clock was advanced, and the progression set for executions (None: the
# default); moto's state manager keeps the progression only in memory, so a restart would lose it
_FRESH_FLEET: dict[str, Any] = {"clockAdvanced": 0.0, "progression": None}
_FRESH_FLEET_ROW = _json(_FRESH_FLEET)
_UPSERT_FLEET = "INSERT INTO meta VALUES ('fleet', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
_DELETE_FLEET = "DELETE FROM meta WHERE key = 'fleet'"
# The change log's bookkeeping in meta: the token a log names ("log") and the last record folded ("folded")
_UPSERT_META = "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
# Every statement a change log record may hold: what a write makes, and nothing else
_LOGGED_SQL = frozenset(
    {*_UPSERT.values(), *_DELETE_BACKEND.values(), *_DELETE_ALL.values(), _UPSERT_FLEET, _DELETE_FLEET}
)


# The row of each upsert, and how many rows one multi-row statement takes (4 or 3 variables each)
_UPSERT_ROW = {sql: "(" + ", ".join("?" * sql.count("?")) + ")" for sql in _UPSERT.values()}
_MERGED_ROWS = 500


@lru_cache(maxsize=64)
def _multi_row(sql: str, rows: int) -> str:
    row = _UPSERT_ROW[sql]
    return sql.replace(f" VALUES {row}", " VALUES " + ", ".join([row] * rows), 1)


def _merged(statements: list[_Statement]) -> list[_Statement]:
    """The same statements, each run of one upsert as multi-row statements, in order.

    SQLite runs a statement in one step, and Python's sqlite3 lets other threads run during each step:
    a batch of records folded row by row would hand the GIL to a server's workers once a row. Rows of
    one upsert with the same key are written in order, so the last one is kept, as row by row.
    """
    runs: list[tuple[str, list[tuple[str, ...]]]] = []
    for sql, rows in statements:
        if not rows:
            continue
        if runs and runs[-1][0] == sql and sql in _UPSERT_ROW:
            runs[-1][1].extend(rows)
        else:
            runs.append((sql, list(rows)))
    merged: list[_Statement] = []
    for sql, rows in runs:
        if sql not in _UPSERT_ROW or len(rows) == 1:
            merged.append((sql, rows))
            continue
        for start in range(0, len(rows), _MERGED_ROWS):
            chunk = rows[start : start + _MERGED_ROWS]
            merged.append((_multi_row(sql, len(chunk)), [tuple(field for row in chunk for field in row)]))
    return merged


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


def _log_meta(connection: sqlite3.Connection) -> tuple[str, int]:
    """The token of this database's change log and the last record folded into it (0: none yet)."""
    meta = dict(connection.execute("SELECT key, value FROM meta WHERE key IN ('log', 'folded')").fetchall())
    return meta.get("log", ""), int(meta.get("folded", "0"))


def _start_log(connection: sqlite3.Connection) -> tuple[str, int]:
    """The token and the last folded record, a token made first if the database has none (format 2)."""
    token, folded = _log_meta(connection)
    if not token:
        token = secrets.token_hex(16)
        _commit(
            connection,
            [(_UPSERT_META, [("log", token), ("format", str(FORMAT_VERSION))])],
        )
    return token, folded


def _is_database(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


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
