"""The state file under hostile input: one bad request never loses others' data or poisons the file."""

import contextlib
import math
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from moto_snowdevice import _state
from moto_snowdevice._state import StateFileError, StateStore, StateWriteError
from moto_snowdevice._state.changelog import LogFull
from moto_snowdevice._state.database import _DELETE_BACKEND, _SCHEMA, _UPSERT, _merged
from moto_snowdevice._state.database import _commit as commit_statements
from moto_snowdevice.models import SnowDeviceManagementBackend, check_device_document, snowdevicemanagement_backends
from moto_snowdevice.pytest_plugin import MockServerProcess

from test_state import SAMPLE_DEVICE, assert_one_line_refusal, client, kept, refused_start, rewrite, saved_state

# Servers of its own, started and stopped by the tests: the same in every moto test mode
pytestmark = pytest.mark.own_server

ACCOUNT = "123456789012"
REGION = "us-east-1"
# Every wait on another thread is bounded: a thread still running after this is blocked for good
BOUND = 10.0


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(state_file: Path) -> Iterator[StateStore]:
    with mock_aws():
        opened = StateStore.open(state_file)
        opened.install()
        try:
            yield opened
        finally:
            opened.close()


def backend(account_id: str = ACCOUNT, region: str = REGION) -> SnowDeviceManagementBackend:
    return snowdevicemanagement_backends[account_id][region]


def rows(state_file: Path, table: str) -> list[tuple[Any, ...]]:
    with contextlib.closing(kept(state_file)) as connection:
        return connection.execute(f"SELECT account_id, region, saved FROM {table} ORDER BY rowid").fetchall()


def saved_task_ids(state_file: Path) -> set[str]:
    with contextlib.closing(kept(state_file)) as connection:
        return {row[0] for row in connection.execute("SELECT task_id FROM tasks")}


def new_task(on: SnowDeviceManagementBackend, device_id: str) -> str:
    return on.create_task([device_id], {"reboot": {}}, None, None, None).task_id


def planted(error: Exception) -> Any:
    """A commit that fails with `error` before it writes anything."""

    def commit(connection: sqlite3.Connection, statements: list[Any]) -> None:
        raise error

    return commit


def in_thread(work: Any) -> tuple[threading.Thread, list[BaseException]]:
    """`work` started in another thread (a request of its own); the errors it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


# Identity before state: an empty backend is never persisted, a reset leaves the store empty


def test_a_backend_that_only_came_into_being_leaves_no_row(store: StateStore, state_file: Path) -> None:
    backend("111122223333").list_tasks(None, None, None)

    store.flush()

    assert rows(state_file, "backends") == []


def test_settings_set_back_to_a_fresh_backends_leave_no_settings_row(store: StateStore, state_file: Path) -> None:
    backend().set_cancel_race(True)
    store.flush()
    assert len(rows(state_file, "backends")) == 1

    backend().set_cancel_race(False)
    store.flush()

    assert rows(state_file, "backends") == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.booleans(), st.sampled_from([None, 5.0, 30.0])), min_size=1, max_size=5))
def test_a_settings_row_exists_exactly_while_the_settings_differ_from_a_fresh_backends(
    tmp_path: Path, changes: list[tuple[bool, float | None]]
) -> None:
    path = tmp_path / f"state-{os.urandom(6).hex()}.db"
    with mock_aws():
        opened = StateStore.open(path)
        opened.install()
        try:
            for cancel_race, timeout in changes:
                backend().set_cancel_race(cancel_race)
                backend().set_execution_timeout(timeout)
                opened.flush()
                assert bool(rows(path, "backends")) == (cancel_race or timeout is not None)
        finally:
            opened.close()


def test_a_moto_reset_followed_by_the_stores_reset_leaves_the_file_empty(store: StateStore, state_file: Path) -> None:
    device = backend().add_device({}).managed_device_id
    new_task(backend(), device)
    backend("111122223333").set_cancel_race(True)
    store.flush()
    backend().add_device({})  # pending, not yet written

    snowdevicemanagement_backends.reset()
    store.reset()
    store.flush()

    assert [rows(state_file, table) for table in ("backends", "devices", "tasks")] == [[], [], []]


def test_ten_thousand_probing_accounts_leave_no_rows_and_do_not_grow_a_later_write(
    store: StateStore, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = backend().add_device({}).managed_device_id
    store.flush()
    appended: list[list[Any]] = []
    append = store._folding.log.append
    monkeypatch.setattr(
        store._folding.log, "append", lambda statements: (appended.append(statements), append(statements))[1]
    )
    new_task(backend(), device)
    store.flush()

    for number in range(10_000):
        backend(f"{number:012d}").list_tasks(None, None, None)
    store.flush(write_request=False)
    new_task(backend(), device)
    store.flush()

    assert len(rows(state_file, "backends")) == 0
    assert len(appended) == 2
    # The second write is the new task's row alone: nothing for the accounts that were only probed
    assert [(sql.split()[2], len(written)) for sql, written in appended[1]] == [("tasks", 1)]


def test_a_region_kept_under_allow_nonexistent_region_loads_again_without_the_variable(
    state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOTO_ALLOW_NONEXISTENT_REGION", raising=False)
    with mock_aws():
        far = SnowDeviceManagementBackend("zz-north-9", ACCOUNT)
        device = far.add_device(check_device_document({"managedDeviceId": SAMPLE_DEVICE}))
        _state.write_database(state_file, [far])

        opened = StateStore.open(state_file)
        opened.close()

    assert opened.loaded is not None
    assert list(opened.loaded.backends[(ACCOUNT, "zz-north-9")].devices) == [device.managed_device_id]


@pytest.mark.parametrize(
    "account_id", ["١٢٣٤٥٦٧٨٩٠١٢", "1" * 5000, "foo"], ids=["arabic-indic-digits", "5000-digits", "foo"]
)
def test_a_saved_account_that_is_not_twelve_ascii_digits_stops_the_load(state_file: Path, account_id: str) -> None:
    with mock_aws():
        odd = SnowDeviceManagementBackend(REGION, account_id)
        odd.add_device({})
        _state.write_database(state_file, [odd])

        with pytest.raises(StateFileError, match="unknown account"):
            StateStore.open(state_file)


# A write is one record of the change log; the database takes records in batches, one transaction each


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["tasks", "devices", "delete"]),
            st.lists(st.tuples(st.sampled_from(["t1", "t2", "t3"]), st.text(max_size=3)), min_size=1, max_size=4),
        ),
        max_size=8,
    )
)
def test_statements_merged_into_multi_row_ones_write_what_they_write_row_by_row(
    writes: list[tuple[str, list[tuple[str, str]]]],
) -> None:
    statements: list[Any] = []
    for table, rows in writes:
        if table == "delete":
            statements.append((_DELETE_BACKEND["tasks"], [(ACCOUNT, REGION)]))
        else:
            statements.append((_UPSERT[table], [(ACCOUNT, REGION, key, value) for key, value in rows]))

    def written(merged: bool) -> list[Any]:
        with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as connection:
            connection.executescript(_SCHEMA)
            commit_statements(connection, _merged(statements) if merged else statements)
            return [
                connection.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in ("tasks", "devices")
            ]

    assert written(merged=True) == written(merged=False)


def test_a_write_runs_no_sql_and_a_fold_is_one_transaction_of_every_record_since_the_last(
    store: StateStore, state_file: Path
) -> None:
    traced: list[str] = []
    store.fold()
    store._connection.set_trace_callback(traced.append)
    try:
        # The store's thread folds within moments: held off here, so that the batch is known
        with store._folding.lock:
            device = backend().add_device({}).managed_device_id
            # The first task on an idle device changes the device too (its pace): two rows
            new_task(backend(), device)
            store.flush()
            # A second task queues behind the first: its own row alone
            new_task(backend(), device)
            store.flush()
            before_fold = list(traced)
        store.fold()
    finally:
        store._connection.set_trace_callback(None)

    assert before_fold == []
    assert [statement.split()[:3] for statement in traced] == [
        ["BEGIN", "IMMEDIATE"],
        ["INSERT", "INTO", "devices"],
        ["INSERT", "INTO", "tasks"],
        ["INSERT", "INTO", "meta"],
        ["COMMIT"],
    ]
    # The two tasks' rows in one statement: SQLite runs it in one step
    assert traced[2].count("'st-") == 2
    assert not store._connection.in_transaction
    assert len(saved_task_ids(state_file)) == 2
    assert len(rows(state_file, "devices")) == 1


# A failed save fails one request, never others


def test_a_device_that_cannot_be_saved_fails_only_its_request_and_goes_back_to_its_committed_row(
    store: StateStore, state_file: Path
) -> None:
    device, other_device = backend().add_device({}), backend().add_device({})
    store.flush()
    committed_document = dict(device.document)
    # Another request's change, not yet written, on another device (queuing work changes a device's pace)
    task_id = new_task(backend(), other_device.managed_device_id)

    def unsaveable_change() -> None:
        device.touch(backend()._now(), lastReachedOutAt=math.nan)
        store.flush()

    thread, errors = in_thread(unsaveable_change)
    thread.join(BOUND)
    store.flush()

    assert [type(error) for error in errors] == [StateWriteError]
    assert f"managed device {device.managed_device_id}" in str(errors[0])
    assert task_id in saved_task_ids(state_file)
    assert device.document["lastUpdatedAt"] == committed_document["lastUpdatedAt"]
    assert "lastReachedOutAt" not in device.document or not math.isnan(device.document["lastReachedOutAt"])


def test_a_device_that_cannot_be_saved_goes_back_to_its_logged_row_while_the_database_refuses_writes(
    store: StateStore, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_state, "_commit", planted(OSError("database or disk is full")))
    device = backend().add_device({})
    device.touch(backend()._now(), lastReachedOutAt=1.0)
    store.flush()  # kept in the log alone: the database takes nothing
    device.touch(backend()._now(), lastReachedOutAt=math.nan)

    with pytest.raises(StateWriteError, match=f"cannot save managed device {device.managed_device_id}"):
        store.flush()
    assert device.document["lastReachedOutAt"] == 1.0
    # Put back from what the log keeps: nothing had to be written, so later writes are not refused
    task_id = new_task(backend(), device.managed_device_id)
    store.flush()
    monkeypatch.undo()
    store.fold()

    assert task_id in saved_task_ids(state_file)
    assert '"lastReachedOutAt":1.0' in rows(state_file, "devices")[0][2]


def _holding_itself() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


@pytest.mark.parametrize("unsaveable", [math.inf, _holding_itself()], ids=["infinity", "a-list-holding-itself"])
def test_a_device_never_committed_that_cannot_be_saved_is_dropped(
    store: StateStore, state_file: Path, unsaveable: Any
) -> None:
    device = backend().add_device({})
    device.touch(backend()._now(), lastReachedOutAt=unsaveable)

    with pytest.raises(StateWriteError, match="cannot save managed device"):
        store.flush()

    assert device.managed_device_id not in backend().devices
    assert rows(state_file, "devices") == []
    store.flush()  # nothing left pending that fails again


def test_a_fold_the_database_refuses_keeps_every_record_for_the_next_fold(
    store: StateStore, state_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commit = _state._commit
    monkeypatch.setattr(_state, "_commit", planted(RuntimeError("planted")))
    device = backend().add_device({}).managed_device_id

    store.flush()  # acknowledged: the change log holds it
    with pytest.raises(RuntimeError, match="planted"):
        store.fold()
    with contextlib.closing(sqlite3.connect(state_file)) as database:
        assert database.execute("SELECT count(*) FROM devices").fetchone() == (0,)
    monkeypatch.setattr(_state, "_commit", commit)
    store.fold()

    with contextlib.closing(sqlite3.connect(state_file)) as database:
        saved = database.execute("SELECT saved FROM devices").fetchall()
    assert len(saved) == 1 and device in saved[0][0]


def test_a_change_the_full_log_cannot_take_fails_its_request_and_is_written_by_the_next_flush(
    store: StateStore, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = backend().add_device({}).managed_device_id
    store.flush()
    task_id = new_task(backend(), device)  # this thread's change
    commit, append = _state._commit, store._folding.log.append

    def full(statements: Any) -> int:
        raise LogFull("planted")

    # The log is full, and the database refuses the fold that would make room
    monkeypatch.setattr(store._folding.log, "append", full)
    monkeypatch.setattr(_state, "_commit", planted(ValueError("planted")))
    thread, errors = in_thread(store.flush)  # another write request takes the batch, and fails
    thread.join(BOUND)
    assert task_id not in saved_task_ids(state_file)
    monkeypatch.setattr(_state, "_commit", commit)
    monkeypatch.setattr(store._folding.log, "append", append)
    store.flush()

    assert [type(error) for error in errors] == [StateWriteError]
    assert task_id in saved_task_ids(state_file)


# The state file is the file


@pytest.mark.parametrize("link", ["hard-link", "symlink"])
def test_a_second_server_on_another_path_to_a_running_servers_file_is_refused(tmp_path: Path, link: str) -> None:
    state_file, other = tmp_path / "state.db", tmp_path / "other-name.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        (os.link if link == "hard-link" else os.symlink)(state_file, other)

        finished = refused_start("--state", str(other))

        assert_one_line_refusal(finished, "another moto-snowdevice-server")
        assert client(process.url).list_devices()["devices"]


def test_writes_are_refused_once_the_wal_is_deleted_and_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    state_file = tmp_path / "state.db"
    with MockServerProcess("--fleet", "sample", "--state", str(state_file)) as process:
        sdm = client(process.url)
        acknowledged = [sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})["taskId"] for _ in range(5)]
        for journal in ("-wal", "-shm", "-changes"):
            os.unlink(f"{state_file}{journal}")

        refusals = []
        for _ in range(2):
            with pytest.raises(sdm.exceptions.InternalServerException) as refused:
                sdm.create_task(targets=[SAMPLE_DEVICE], command={"reboot": {}})
            refusals.append(refused.value.response["Error"]["Message"])
        process.stop(signal.SIGKILL)

    assert all("removed or replaced" in message for message in refusals)
    with MockServerProcess("--state", str(state_file)) as process:
        stored = {task["taskId"] for task in client(process.url).list_tasks()["tasks"]}
    assert set(acknowledged) <= stored


def test_writes_are_refused_for_good_once_the_file_is_replaced(
    store: StateStore, state_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = backend().add_device({}).managed_device_id
    store.flush()
    replacement = tmp_path / "replacement.db"
    _state.write_database(replacement, [])
    os.replace(replacement, state_file)

    for _ in range(2):
        new_task(backend(), device)
        with pytest.raises(StateWriteError, match="removed or replaced"):
            store.flush()

    assert capsys.readouterr().err.count("removed or replaced") == 1


@pytest.mark.parametrize("how", ["extra-column", "extra-table", "missing-table"])
def test_a_file_whose_tables_differ_stops_the_start_with_one_line_and_is_left_byte_identical(
    tmp_path: Path, how: str
) -> None:
    state_file = saved_state(tmp_path)
    rewrite(
        state_file,
        {
            "extra-column": "ALTER TABLE tasks ADD COLUMN note TEXT",
            "extra-table": "CREATE TABLE notes (note TEXT)",
            "missing-table": "DROP TABLE backends",
        }[how],
    )
    content = state_file.read_bytes()

    assert_one_line_refusal(refused_start("--state", str(state_file)), str(state_file), "tables differ")

    assert state_file.read_bytes() == content


@pytest.mark.parametrize(
    ("table", "old", "new"),
    [
        ("devices", '"polls":', '"firmware":"x","polls":'),
        ("tasks", '"canceled":', '"priority":1,"canceled":'),
        ("tasks", '"state":', '"retries":2,"state":'),
    ],
    ids=["device-key", "task-key", "execution-key"],
)
def test_a_saved_key_this_version_does_not_know_stops_the_start_rather_than_being_dropped(
    tmp_path: Path, table: str, old: str, new: str
) -> None:
    state_file = saved_state(tmp_path)
    rewrite(state_file, f"UPDATE {table} SET saved = replace(saved, ?, ?)", old, new)
    content = state_file.read_bytes()

    assert_one_line_refusal(refused_start("--state", str(state_file)), "does not know")

    assert state_file.read_bytes() == content


def test_the_known_saved_keys_are_the_ones_this_version_writes() -> None:
    with mock_aws():
        here = backend()
        device = here.add_device({})
        task = here.tasks[new_task(here, device.managed_device_id)]

        assert set(device.saved()) == _state.SAVED_DEVICE_KEYS
        assert set(task.saved()) == _state.SAVED_TASK_KEYS
        assert set(task.executions[0].saved()) == _state.SAVED_EXECUTION_KEYS
        assert set(here.saved_settings()) == _state.SAVED_SETTINGS_KEYS


# Requests that change nothing never wait for the write lock or the disk


def test_reads_and_writes_return_while_the_database_is_blocked_and_every_write_reaches_it_after(
    store: StateStore, state_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = backend().add_device({}).managed_device_id
    store.flush()
    entered, release = threading.Event(), threading.Event()
    commit = _state._commit

    def blocked_commit(connection: sqlite3.Connection, statements: list[Any]) -> None:
        entered.set()
        release.wait(BOUND)
        commit(connection, statements)

    monkeypatch.setattr(_state, "_commit", blocked_commit)
    written: list[str] = []

    def write() -> None:
        written.append(new_task(backend(), device))
        store.flush()

    def read() -> None:
        backend("111122223333").list_tasks(None, None, None)  # a new, empty backend is no change
        store.flush(write_request=False)

    first, first_errors = in_thread(write)
    assert entered.wait(BOUND)  # the store's thread is folding the first write, and waits for the disk
    first.join(BOUND)
    second, second_errors = in_thread(write)
    second.join(BOUND)
    reader, read_errors = in_thread(read)
    reader.join(BOUND)
    finished = [not thread.is_alive() for thread in (first, second, reader)]
    with contextlib.closing(sqlite3.connect(state_file)) as database:
        in_database = {row[0] for row in database.execute("SELECT task_id FROM tasks")}
    release.set()
    store.fold()

    assert finished == [True, True, True]
    assert first_errors == second_errors == read_errors == []
    assert in_database == set()  # acknowledged from the change log alone
    assert set(written) <= saved_task_ids(state_file)
    with contextlib.closing(sqlite3.connect(state_file)) as database:
        assert {row[0] for row in database.execute("SELECT task_id FROM tasks")} == set(written)
