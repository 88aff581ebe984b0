"""State that survives the server process (`--state FILE`): an SQLite database and its change log.

Every change is kept before the server answers the request that made it: appended as one record to
the change log beside the database (`FILE-changes`, memory-mapped: the copy into the page cache is the
write), then folded into the database (SQLite, WAL journal) in batches by the store's own thread. At
start, what a killed server's log holds beyond the last record folded is folded first. The database
holds one row per managed device and per task, rewritten when that object changes, so a write costs
the same however large the store is. Only what differs from a fresh start is kept: a backend that
merely came into being (a read in a new account or region) leaves no row, a backend's settings row
exists only while they differ from a fresh backend's, and `reset()` (moto's reset) empties the store.

The lock follows the file, not its name: the server holds flock on the database file itself (SQLite
uses POSIX fcntl locks, which on Linux are independent of flock), so a second server reaching the
same file through any path (a symlink, a hard link) is refused. After every write the store checks
that the database, its -wal, -shm and change log are still the files it opened; if one was removed or
replaced, it folds what it holds into the database it opened and refuses every later write.

A failed save fails one request, never others. A change that cannot reach the log (a full log whose
records the database cannot take) stays pending for the next flush. A value that cannot be saved (a
row that will not serialise) fails the requests that made it, and memory goes back to what is on
disk: a managed device or settings row is restored from its last committed row, a device or task
never committed is dropped (with the tasks on such a device); other changes in the batch are kept. A
committed task that cannot be written again cannot be restored, so the store then refuses every
later write.

Loading checks everything and builds every backend before any is installed, so a bad file changes
nothing and is never written (beyond folding a killed server's log). A file whose tables or columns
differ from the ones this version writes, or a saved object with a key this version does not know, is
refused at start (rewriting it would drop what this version cannot read). A JSON state file of format
1 is converted once.

One module per concern: `database` (tables, saved keys, the commit of one transaction), `reading`
(strict JSON, the checks of saved rows, loading), `changes` (what is pending per backend), `changelog`
(the log's file and records), `folding` (records into the database, at start and while running),
`files` (the lock, the identity of the files, a database written whole, conversion) and `store`
(StateStore).
"""

# Every commit looks `_commit` up here when it runs, so that replacing it here reaches every writer
from .database import (
    FORMAT_VERSION,
    LEGACY_JSON_VERSION,
    SAVED_DEVICE_KEYS,
    SAVED_EXECUTION_KEYS,
    SAVED_FLEET_KEYS,
    SAVED_SETTINGS_KEYS,
    SAVED_TASK_KEYS,
    SYNC_MODES,
    StateFileError,
    StateWriteError,
    _commit,
)
from .files import write_database
from .store import StateStore

__all__ = [
    "FORMAT_VERSION",
    "LEGACY_JSON_VERSION",
    "SAVED_DEVICE_KEYS",
    "SAVED_EXECUTION_KEYS",
    "SAVED_FLEET_KEYS",
    "SAVED_SETTINGS_KEYS",
    "SAVED_TASK_KEYS",
    "SYNC_MODES",
    "StateFileError",
    "StateStore",
    "StateWriteError",
    "_commit",
    "write_database",
]
