"""Loading a state file: strict JSON, then the model's checks, then the models' restore constructors.

Everything is checked and every backend built before any is installed, so a bad file changes nothing.
"""

import gc
import json
import math
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import models
from .._checks import MAX_TIMESTAMP, check_execution_transition
from .._identity import is_account_id, is_loadable_region
from .._shapes import SERVICE_MODEL, InvalidInput, compile_check
from ..exceptions import SnowDeviceManagementError
from ..models import SnowDeviceManagementBackend, check_device_document
from .database import (
    _FORMATS_READ,
    _FRESH_FLEET,
    _LEGACY_BACKEND_KEYS,
    _LEGACY_TASK_KEYS,
    _RETIRED_EXECUTION_KEYS,
    FORMAT_VERSION,
    LEGACY_JSON_VERSION,
    SAVED_DEVICE_KEYS,
    SAVED_EXECUTION_KEYS,
    SAVED_FLEET_KEYS,
    SAVED_SETTINGS_KEYS,
    SAVED_TASK_KEYS,
    StateFileError,
    _check_layout,
    _expect,
    _is_database,
    _Key,
)

# Saved fields checked by the service model's own shapes
_check_task_fields = compile_check(SERVICE_MODEL.shape_for("DescribeTaskOutput"), strict=True)
_check_command = compile_check(SERVICE_MODEL.shape_for("Command"), strict=True)
_check_execution_fields = compile_check(SERVICE_MODEL.shape_for("DescribeExecutionOutput"), strict=True)
# A task has one execution per target, and CreateTask takes at most this many targets
_MAX_TARGETS = SERVICE_MODEL.shape_for("TargetList").metadata["max"]


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


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)


def _read_database(path: Path) -> _Loaded:
    """Everything saved in the database at `path`, read through a read-only connection."""
    connection = _read_only(path)
    try:
        (check,) = connection.execute("PRAGMA quick_check").fetchone()
        _expect(check == "ok", f"damaged database: {check}")
        _check_layout(connection)
        version = dict(connection.execute("SELECT key, value FROM meta").fetchall()).get("format")
        _expect(version in _FORMATS_READ, f"not a format {FORMAT_VERSION} moto-snowdevice state")
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
