"""The change log beside the database (`FILE-changes`): where a change is kept before it is acknowledged.

A request's changes are appended as one record to a memory-mapped file. The copy into the mapping is
the write: the page cache holds it from that moment, so it survives the process being killed, as a
commit in SQLite's WAL with synchronous=NORMAL does, and it takes no system call, so the thread that
makes it keeps the GIL. The store folds the records into the database in batches, on a thread of its
own; at start, the records the database has not folded yet are folded before the database is read.

The file: a header (`_MAGIC`, the log's format, the token of the database it belongs to), then the
records, each `length (u32) | crc32 (u32) | sequence (u64) | payload`, then a zero length. The payload
is the JSON of the record's statements; the crc covers the sequence and the payload. Sequence numbers
follow each other by one, and the database's meta row `folded` holds the last one folded into it. A
torn record, one whose number does not follow, or the zero length ends the log.

The whole file is allocated when it is made, so that a change never needs the disk to have room.
"""

import json
import mmap
import os
import struct
import zlib
from pathlib import Path

from .database import _LOGGED_SQL, StateFileError, _Statement

_MAGIC = b"moto-snowdevice changes\n"
_LOG_FORMAT = 1
# The magic, the format and the token (ASCII, padded with zeros): the records start after it
_HEADER = struct.Struct(f"<{len(_MAGIC)}sI32s")
_RECORDS_AT = 64
_RECORD = struct.Struct("<IIQ")
_SEQUENCE = struct.Struct("<Q")
_END = b"\0" * _RECORD.size
# The file's size: at about 1 KiB a record, thousands of them between two restarts of the log
LOG_SIZE = 8 << 20

_PAYLOAD_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


class LogFull(Exception):
    """The record does not fit after the last one: fold every record, then restart the log."""


def log_path(path: Path) -> Path:
    return Path(f"{path}-changes")


def _crc(sequence: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(_SEQUENCE.pack(sequence)))


def read_log(path: Path) -> tuple[str, list[tuple[int, list[_Statement]]]]:
    """The token a log names and its records in order, ("", []) if there is no log at `path`.

    Raises StateFileError for a file that is not a change log or a record this version does not write.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "", []
    except OSError as error:
        raise StateFileError(f"{path}: cannot read: {error.strerror}") from None
    if not data:
        return "", []
    if len(data) < _RECORDS_AT or data[: len(_MAGIC)] != _MAGIC:
        raise StateFileError(f"{path}: not a moto-snowdevice change log")
    _, version, token = _HEADER.unpack_from(data)
    if version != _LOG_FORMAT:
        raise StateFileError(f"{path}: not a format {_LOG_FORMAT} change log")
    records: list[tuple[int, list[_Statement]]] = []
    view, at = memoryview(data), _RECORDS_AT
    while at + _RECORD.size <= len(data):
        length, crc, sequence = _RECORD.unpack_from(data, at)
        payload = view[at + _RECORD.size : at + _RECORD.size + length]
        if length == 0 or len(payload) < length or _crc(sequence, payload) != crc:
            break  # the end, or a record torn as it was written (never acknowledged)
        if records and sequence != records[-1][0] + 1:
            break  # a record left from before the log last started again
        records.append((sequence, _statements(path, sequence, bytes(payload))))
        at += _RECORD.size + length
    return token.rstrip(b"\0").decode("ascii", "replace"), records


def _statements(path: Path, sequence: int, payload: bytes) -> list[_Statement]:
    try:
        statements = json.loads(payload)
        checked = [(sql, [tuple(row) for row in rows]) for sql, rows in statements]
    except (ValueError, TypeError) as error:
        raise StateFileError(f"{path}: record {sequence} cannot be read: {error}") from None
    for sql, rows in checked:
        if sql not in _LOGGED_SQL or not all(all(isinstance(field, str) for field in row) for row in rows):
            raise StateFileError(f"{path}: record {sequence} holds a statement this version does not write")
    return checked


class ChangeLog:
    """The change log of one open database: records are appended under the store's write lock."""

    def __init__(self, path: Path, token: str, next_sequence: int, sync: str, size: int | None = None):
        """A new, empty log at `path` (any file there is emptied in place), allocated whole."""
        self.path = path
        self._sync = sync == "full"
        self._size = size = size or LOG_SIZE
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            # Emptied first: nothing of an earlier log is left to be read as a record
            os.ftruncate(descriptor, 0)
            os.ftruncate(descriptor, size)
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(descriptor, 0, size)
            self._map = mmap.mmap(descriptor, size)
        except OSError as error:
            raise StateFileError(f"{path}: cannot make the change log: {error.strerror}") from None
        finally:
            os.close(descriptor)
        self._map[:_RECORDS_AT] = _HEADER.pack(_MAGIC, _LOG_FORMAT, token.encode("ascii")).ljust(_RECORDS_AT, b"\0")
        self._next = next_sequence
        self._at = _RECORDS_AT
        self.restart()
        self._map.flush()

    def append(self, statements: list[_Statement]) -> int:
        """Write one record of `statements`; its sequence number. Raises LogFull when it does not fit."""
        payload = _PAYLOAD_JSON.encode(statements).encode()
        sequence, at = self._next, self._at
        end = at + _RECORD.size + len(payload)
        if end + _RECORD.size > self._size:
            raise LogFull(f"a record of {len(payload)} bytes after {at - _RECORDS_AT} bytes of records")
        # The zero length after it first, so that the record is whole before anything reads past it
        self._map[end : end + _RECORD.size] = _END
        self._map[at:end] = _RECORD.pack(len(payload), _crc(sequence, payload), sequence) + payload
        if self._sync:
            page = at - at % mmap.PAGESIZE
            self._map.flush(page, end + _RECORD.size - page)
        self._next, self._at = sequence + 1, end
        return sequence

    def restart(self) -> None:
        """Write the next record first in the file: every record before it is folded, and durably so."""
        self._at = _RECORDS_AT
        self._map[_RECORDS_AT : _RECORDS_AT + _RECORD.size] = _END
        if self._sync:
            self._map.flush(0, mmap.PAGESIZE)

    def close(self) -> None:
        self._map.close()
