"""The change log beside a state database: a change is kept once appended, and a start folds what is left."""

import contextlib
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moto_snowdevice._state.changelog import ChangeLog, LogFull, log_path, read_log
from moto_snowdevice._state.database import _UPSERT
from moto_snowdevice._state.files import _gil_held_file_at, _os_file_at
from moto_snowdevice.pytest_plugin import MockServerProcess

from test_state import (
    SAMPLE_DEVICE,
    assert_one_line_refusal,
    client,
    kept,
    refused_start,
    saved_state,
    started,
)

# Servers of its own, started and stopped by the tests: the same in every moto test mode
pytestmark = pytest.mark.own_server

LAUNCHER = [sys.executable, str(Path(__file__).with_name("durability_server.py")), "-p", "0"]
ACCOUNT, REGION = "123456789012", "us-east-1"


def task_row(task_id: str) -> tuple[str, list[tuple[str, ...]]]:
    saved = {
        "taskId": task_id,
        "command": {"reboot": {}},
        "description": None,
        "tags": {},
        "createdAt": 1.0,
        "lastUpdatedAt": 1.0,
        "completedAt": None,
        "canceled": False,
        "clientToken": None,
        "fingerprint": None,
        "executions": [],
    }
    return _UPSERT["tasks"], [(ACCOUNT, REGION, task_id, json.dumps(saved))]


def log_meta(state_file: Path) -> tuple[str, int]:
    with contextlib.closing(sqlite3.connect(state_file)) as connection:
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    return meta["log"], int(meta.get("folded", "0"))


def written_log(state_file: Path, token: str, first: int, *records: list[tuple[str, list[tuple[str, ...]]]]) -> Path:
    log = ChangeLog(log_path(state_file), token, first, "normal")
    for statements in records:
        log.append(statements)
    log.close()
    return log_path(state_file)


@contextlib.contextmanager
def killed_unfolded_server(state_file: Path, log_size: int = 64 * 1024) -> Iterator[str]:
    """A server whose changes stay in its change log (folded only when the log is full), killed at the end."""
    arguments = ("--no-fold", "--log-size", str(log_size), "--", "--fleet", "sample", "--state", str(state_file))
    with started(*arguments, server=LAUNCHER) as (url, _, _):
        yield url


# The log itself


def test_records_read_back_in_order_and_a_torn_one_ends_the_log(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    path = written_log(state_file, "a" * 32, 5, [task_row("st-0000000000000001")], [task_row("st-0000000000000002")])
    token, records = read_log(path)
    assert token == "a" * 32
    assert [(sequence, statements[0][1][0][2]) for sequence, statements in records] == [
        (5, "st-0000000000000001"),
        (6, "st-0000000000000002"),
    ]

    data = bytearray(path.read_bytes())
    data[data.index(b"st-0000000000000002")] ^= 1  # a byte of the second record, as a kill mid-copy leaves it
    path.write_bytes(bytes(data))

    assert [sequence for sequence, _ in read_log(path)[1]] == [5]


def test_a_record_larger_than_the_whole_log_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    log = ChangeLog(tmp_path / "state.db-changes", "a" * 32, 1, "normal", size=4096)
    try:
        with pytest.raises(LogFull):
            log.append([(_UPSERT["tasks"], [(ACCOUNT, REGION, "st-0000000000000001", "x" * 5000)])])
        assert read_log(tmp_path / "state.db-changes")[1] == []
    finally:
        log.close()


def test_the_file_check_without_releasing_the_gil_agrees_with_os_stat(tmp_path: Path) -> None:
    file_at = _gil_held_file_at()
    if not sys.platform.startswith("linux"):
        assert file_at is None
        return
    assert file_at is not None
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    for name in ("file", "link", "missing", "."):
        assert file_at(str(tmp_path / name)) == _os_file_at(str(tmp_path / name)), name
    assert file_at(str(tmp_path / "missing")) is None


# What a start makes of a killed server's log


def test_a_killed_servers_changes_are_all_kept_though_its_log_started_again_many_times(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with killed_unfolded_server(state_file, log_size=16 * 1024) as url:
        sdm = client(url)
        acknowledged = [sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"] for _ in range(150)]
    # About 30 records fit: the log started again several times, and its last records were never folded
    _, folded = log_meta(state_file)
    assert read_log(log_path(state_file))[1], "the killed server's last changes were all folded"
    assert folded > 0

    with MockServerProcess("--state", str(state_file)) as process:
        stored = {
            task["taskId"]
            for page in client(process.url).get_paginator("list_tasks").paginate()
            for task in page["tasks"]
        }

    assert stored == set(acknowledged)
    # The start folded the log into the database, and made it anew, empty
    assert read_log(log_path(state_file))[1] == []


def test_a_clean_stop_folds_every_change_and_leaves_an_empty_log(tmp_path: Path) -> None:
    state_file = saved_state(tmp_path)

    assert read_log(log_path(state_file))[1] == []
    with contextlib.closing(sqlite3.connect(state_file)) as connection:
        assert connection.execute("SELECT count(*) FROM tasks").fetchone() == (1,)


@pytest.fixture
def killed_with_changes(tmp_path: Path) -> Path:
    """A state file whose server was killed with changes in its log that the database does not hold."""
    state_file = tmp_path / "state.db"
    with killed_unfolded_server(state_file) as url:
        client(url).create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})
    assert read_log(log_path(state_file))[1]
    with (
        contextlib.closing(kept(state_file)) as connection,
        contextlib.closing(sqlite3.connect(state_file)) as database,
    ):
        assert connection.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
        assert database.execute("SELECT count(*) FROM tasks").fetchone() == (0,)
    return state_file


def file_contents(state_file: Path) -> tuple[bytes, bytes]:
    """The database and its change log (a read-only look at a WAL database may make its -shm)."""
    return state_file.read_bytes(), log_path(state_file).read_bytes()


def test_a_log_beside_another_database_stops_the_start_and_both_are_left_as_they_were(
    killed_with_changes: Path, tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    other = saved_state(tmp_path / "other")
    killed_with_changes.write_bytes(other.read_bytes())
    before = file_contents(killed_with_changes)

    assert_one_line_refusal(refused_start("--state", str(killed_with_changes)), "state.db-changes", "another database")
    assert file_contents(killed_with_changes) == before


def test_a_log_whose_database_is_gone_stops_the_start(killed_with_changes: Path) -> None:
    for name in ("", "-wal", "-shm"):
        Path(f"{killed_with_changes}{name}").unlink(missing_ok=True)

    assert_one_line_refusal(refused_start("--state", str(killed_with_changes)), "state.db-changes", "not there")


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ("a-gap", "starts at change"),
        ("a-statement-this-version-does-not-write", "a statement this version does not write"),
        ("not-a-log", "not a moto-snowdevice change log"),
    ],
)
def test_a_log_this_version_did_not_write_stops_the_start_and_the_database_is_left_as_it_was(
    tmp_path: Path, how: str, why: str
) -> None:
    state_file = saved_state(tmp_path)
    token, folded = log_meta(state_file)
    if how == "a-gap":
        written_log(state_file, token, folded + 2, [task_row("st-0000000000000001")])
    elif how == "not-a-log":
        log_path(state_file).write_bytes(b"not a log\n" * 100)
    else:
        written_log(state_file, token, folded + 1, [("DROP TABLE tasks", [()])])
    before = file_contents(state_file)

    finished = refused_start("--state", str(state_file))

    assert_one_line_refusal(finished, "state.db-changes", why)
    assert file_contents(state_file) == before


def test_a_log_of_records_already_folded_changes_nothing_at_start(tmp_path: Path) -> None:
    state_file = saved_state(tmp_path)
    token, folded = log_meta(state_file)
    # A record the database already holds (its number is not past `folded`): not applied again
    written_log(state_file, token, folded, [task_row("st-0000000000000001")])

    with MockServerProcess("--state", str(state_file)) as process:
        tasks = client(process.url).list_tasks()["tasks"]

    assert "st-0000000000000001" not in {task["taskId"] for task in tasks}
    assert len(tasks) == 1


def test_a_format_2_database_loads_and_is_format_3_with_a_log_of_its_own_from_then_on(tmp_path: Path) -> None:
    state_file = saved_state(tmp_path)
    with contextlib.closing(sqlite3.connect(state_file)) as connection, connection:
        # As the releases before the change log wrote it
        connection.execute("DELETE FROM meta WHERE key IN ('log', 'folded')")
        connection.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
    log_path(state_file).unlink()

    with MockServerProcess("--state", str(state_file)) as process:
        sdm = client(process.url)
        assert len(sdm.list_tasks()["tasks"]) == 1
        sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})

    with contextlib.closing(sqlite3.connect(state_file)) as connection:
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        assert connection.execute("SELECT count(*) FROM tasks").fetchone() == (2,)
    assert meta["format"] == "3"
    assert len(meta["log"]) == 32
    assert read_log(log_path(state_file)) == (meta["log"], [])
