"""Folding the change log into the database: records appended as requests are answered, folded in batches.

A request's changes are kept once they are in the change log (changelog.py); the folding's thread
then writes them into the database, a batch of records in one transaction that also records the last
one folded. At start, what a killed server's log holds beyond that is folded before the file is read.
"""

import contextlib
import sqlite3
import sys
import threading
import time
from pathlib import Path

from .. import _state
from .changelog import ChangeLog, LogFull, log_path, read_log
from .database import (
    _COMMITTED,
    _DELETE_ALL,
    _DELETE_BACKEND,
    _UPSERT,
    _UPSERT_META,
    StateFileError,
    _check_layout,
    _connect,
    _is_database,
    _log_meta,
    _merged,
    _start_log,
    _Statement,
)
from .reading import _read_only

# What _row_in answers for a statement that does not touch the row
_UNTOUCHED = object()


def _row_in(sql: str, rows: list[tuple[str, ...]], table: str, key: tuple[str, ...]) -> object:
    """The saved text a statement leaves in one row of `table` (None: it deletes it), or _UNTOUCHED."""
    if sql == _UPSERT[table]:
        for row in reversed(rows):
            if row[: len(key)] == key:
                return row[-1]
        return _UNTOUCHED
    if sql == _DELETE_ALL[table]:
        return None
    if sql == _DELETE_BACKEND[table] and key[:2] in rows:
        return None
    return _UNTOUCHED


# How long the store's thread lets records gather before it folds them, and waits after a failed fold
_FOLD_DELAY = 0.025
_FOLD_RETRY = 0.5


def fold_log_at_start(given: str | Path, path: Path, sync: str) -> None:
    """Fold into the database the records of its change log that it has not folded (the server was killed).

    Raises StateFileError, writing nothing, for a log that is not this database's or has a gap.
    """
    where = log_path(path)
    token, records = read_log(where)
    if not records:
        return
    if not _is_database(path):
        raise StateFileError(
            f"{given}: {where.name} holds changes of a database that is not there; remove it to start without them"
        )
    try:
        with contextlib.closing(_read_only(path)) as reading:
            _check_layout(reading)
            mine, folded = _log_meta(reading)
    except StateFileError as error:
        raise StateFileError(f"{given}: cannot load state: {error}") from None
    if mine != token:
        raise StateFileError(f"{given}: {where.name} is the change log of another database; remove it to start")
    if records[0][0] > folded + 1:
        raise StateFileError(
            f"{given}: {where.name} starts at change {records[0][0]}, but the database holds changes up to {folded}"
        )
    statements = [statement for sequence, batch in records if sequence > folded for statement in batch]
    if not statements:
        return
    with contextlib.closing(_connect(path, sync)) as connection:
        connection.execute("PRAGMA synchronous=FULL")
        _state._commit(connection, _merged([*statements, (_UPSERT_META, [("folded", str(records[-1][0]))])]))


class Folding:
    """The records of one store's change log on their way into its database."""

    def __init__(self, path: Path, connection: sqlite3.Connection, sync: str):
        token, folded = _start_log(connection)
        self.log = ChangeLog(log_path(path), token, folded + 1, sync)
        self._database = path
        self._connection = connection
        self._sync = sync
        # Held while records are folded, and by every other use of the connection
        self.lock = threading.Lock()
        # The statements appended and not yet folded, in order, and the number of the last record appended
        self._unfolded_lock = threading.Lock()
        self._unfolded: list[_Statement] = []
        self._appended = folded
        self._wake = threading.Event()
        self._idle = True
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="state-fold", daemon=True)
        self._thread.start()

    def append(self, statements: list[_Statement]) -> None:
        """Keep `statements` in the change log: once this returns they survive the process, and are folded.

        Called under the store's write lock, so records are appended one at a time, in order.
        """
        try:
            sequence = self.log.append(statements)
        except LogFull:
            # Every record folded, and synced, before the log starts again at its beginning
            self.fold(durable=True)
            self.log.restart()
            sequence = self.log.append(statements)
        with self._unfolded_lock:
            self._unfolded.extend(statements)
            self._appended = sequence
            if self._idle:
                self._idle = False
                self._wake.set()

    def fold(self, durable: bool = False) -> None:
        """Write every record appended so far into the database; the store's thread does so within moments.

        `durable`: synced to the disk as well, whatever --state-sync says, so that the log may start
        again. Raises sqlite3.Error (the records stay to be folded) if the database cannot be written.
        """
        with self.lock:
            with self._unfolded_lock:
                batch, upto, self._unfolded = self._unfolded, self._appended, []
            if not batch and not durable:
                return
            statements = _merged([*batch, (_UPSERT_META, [("folded", str(upto))])])
            synced = durable and self._sync != "full"
            try:
                if synced:
                    self._connection.execute("PRAGMA synchronous=FULL")
                try:
                    _state._commit(self._connection, statements)
                finally:
                    if synced:
                        self._connection.execute(f"PRAGMA synchronous={self._sync.upper()}")
            except BaseException:
                with self._unfolded_lock:
                    self._unfolded[:0] = batch
                raise

    def kept_row(self, table: str, key: tuple[str, ...]) -> str | None:
        """The saved text of one row as the log and the database keep it; None if there is no such row.

        `key` is (account, region) in "backends", (account, region, ID) in the others. Needs no write:
        the records not folded yet are read from memory, the latest first.
        """
        with self.lock:
            with self._unfolded_lock:
                unfolded = list(self._unfolded)
            for sql, rows in reversed(unfolded):
                found = _row_in(sql, rows, table, key)
                if found is not _UNTOUCHED:
                    return found  # type: ignore[return-value]
            committed = self._connection.execute(_COMMITTED[table], key).fetchone()
        return None if committed is None else str(committed[0])

    def _run(self) -> None:
        """The folding's thread: folds what was appended, a batch at a time, until the store closes."""
        failing = False
        while True:
            self._wake.wait()
            if self._closing:
                return
            time.sleep(_FOLD_DELAY)
            try:
                self.fold()
            except Exception as error:  # the records stay in the log, and in the list to fold: tried again
                if not failing:
                    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                    print(
                        f"moto-snowdevice-server: cannot fold changes into {self._database} (they are kept in "
                        f"{self.log.path.name}, and tried again): {reason}",
                        file=sys.stderr,
                        flush=True,
                    )
                failing = True
                time.sleep(_FOLD_RETRY)
                continue
            failing = False
            with self._unfolded_lock:
                # Not once closing: close() sets _closing before it wakes this thread
                if not self._unfolded and not self._closing:
                    self._idle = True
                    self._wake.clear()

    def close(self) -> None:
        """Stop the thread and fold what is left; a clean stop leaves an empty log."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        try:
            self.fold(durable=True)
            self.log.restart()
        except sqlite3.Error as error:
            reason = f"changes stay in {self.log.path} for the next start: {error}"
            print(f"moto-snowdevice-server: {reason}", file=sys.stderr)
        finally:
            self.log.close()
