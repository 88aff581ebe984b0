"""The state file itself: its lock, the identity of its files, a new database written whole, conversion."""

import ctypes
import errno
import fcntl
import os
import shutil
import struct
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import _state
from ..models import SnowDeviceManagementBackend
from .changes import _Changes
from .database import StateFileError, _create
from .reading import _Loaded

# The files of one database as (st_dev, st_ino), None for a missing one: the database, its -wal, its
# -shm and its change log
_Files = tuple[tuple[int, int] | None, ...]
_FILE_NAMES = ("database", "-wal", "-shm", "-changes")


def _file_paths(path: Path) -> tuple[str, ...]:
    """The paths of a database's files, in _FILE_NAMES's order."""
    return (str(path), f"{path}-wal", f"{path}-shm", f"{path}-changes")


def _os_file_at(name: str) -> tuple[int, int] | None:
    try:
        status = os.stat(name)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _gil_held_file_at() -> Callable[[str], tuple[int, int] | None] | None:
    """Linux's statx called with the GIL held, or None where it cannot be.

    os.stat lets other threads run while it waits; each such handover between a server's worker
    threads costs far more than the call, and a write makes four. A local file's status is quick.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        statx = ctypes.PyDLL(None, use_errno=True).statx
    except (OSError, AttributeError):
        return None
    statx.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    statx.restype = ctypes.c_int
    # struct statx (linux/stat.h), the same on every architecture: stx_ino at 32, stx_dev_major/minor at 136
    buffer = ctypes.create_string_buffer(256)
    at_fdcwd, statx_ino = -100, 0x100
    fields = struct.Struct("<Q")
    device = struct.Struct("<II")

    def file_at(name: str) -> tuple[int, int] | None:
        if statx(at_fdcwd, os.fsencode(name), 0, statx_ino, buffer) != 0:
            if ctypes.get_errno() == errno.ENOENT:
                return None
            return _os_file_at(name)
        (inode,) = fields.unpack_from(buffer, 32)
        major, minor = device.unpack_from(buffer, 136)
        return os.makedev(major, minor), inode

    # Trusted only if it agrees with os.stat on a file that is surely there
    return file_at if file_at(os.__file__) == _os_file_at(os.__file__) else None


_file_at = _gil_held_file_at() or _os_file_at


def _files_at(paths: tuple[str, ...]) -> _Files:
    return tuple(_file_at(name) for name in paths)


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
        _state._commit(connection, statements)
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
