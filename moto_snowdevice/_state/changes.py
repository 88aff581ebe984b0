"""Pending changes: what changed in each backend since the last write, and which requests changed it."""

from collections.abc import Callable
from typing import Any

from ..models import ManagedDevice, SnowDeviceManagementBackend, Task
from .database import _DELETE_BACKEND, _DELETE_SETTINGS, _FRESH_SETTINGS, _TABLES, _UPSERT, _json, _Statement


class _Ticket:
    """One thread's part in the store: whether its request changed anything, and why its save failed."""

    __slots__ = ("changed", "failure", "quiet", "last_noted", "noted_in")

    def __init__(self) -> None:
        self.changed = False
        self.failure: str | None = None
        # True while memory is put back to its committed rows: those assignments are not changes
        self.quiet = False
        # The object this thread's request noted last, and the store's generation of pending changes
        # it went into: an object assigned field after field is noted once
        self.last_noted: Any = None
        self.noted_in = -1


class _Unsaveable(Exception):
    """One object's row could not be made: (table, its ID) and why."""

    def __init__(self, table: str, resource_id: str, error: BaseException):
        super().__init__(table, resource_id)
        self.table, self.resource_id = table, resource_id
        self.reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")


def _row(table: str, resource_id: str, saved: Callable[[], Any]) -> str:
    try:
        return _json(saved())
    except Exception as error:  # whatever the object holds, only this object's save fails
        raise _Unsaveable(table, resource_id, error) from None


class _Changes:
    """What changed in one backend since the last write, and which threads' requests changed it."""

    def __init__(self, backend: SnowDeviceManagementBackend):
        self.backend = backend
        self.emptied = False
        self.settings = False
        self.devices: dict[str, ManagedDevice] = {}
        self.tasks: dict[str, Task] = {}
        self.noted_by: dict[tuple[str, str], set[_Ticket]] = {}

    def note(self, resource: Any, ticket: _Ticket) -> None:
        if resource is None:
            self.emptied = self.settings = True
            self.devices.clear()
            self.tasks.clear()
            self.noted_by.clear()
            return
        if isinstance(resource, Task):
            self.tasks[resource.task_id] = resource
            where = ("tasks", resource.task_id)
        elif isinstance(resource, ManagedDevice):
            self.devices[resource.managed_device_id] = resource
            where = ("devices", resource.managed_device_id)
        else:
            self.settings = True
            where = ("backends", "")
        self.noted_by.setdefault(where, set()).add(ticket)

    def absorb(self, later: "_Changes") -> "_Changes":
        """These changes followed by `later` ones, for a write that has to be tried again."""
        if later.emptied:
            return later
        self.settings |= later.settings
        self.devices.update(later.devices)
        self.tasks.update(later.tasks)
        for where, tickets in later.noted_by.items():
            self.noted_by.setdefault(where, set()).update(tickets)
        return self

    def forget(self, table: str, resource_id: str) -> set[_Ticket]:
        """Leave one object out of this write; the tickets of the requests that changed it."""
        if table == "backends":
            self.settings = False
        elif table == "devices":
            self.devices.pop(resource_id, None)
        else:
            self.tasks.pop(resource_id, None)
        return self.noted_by.pop((table, resource_id), set())

    def statements(self) -> list[_Statement]:
        """The SQL that writes these changes, taken under the backend's lock (a consistent view).

        Raises _Unsaveable for the first object whose row cannot be made.
        """
        backend = self.backend
        key = (backend.account_id, backend.region_name)
        # An object a reset has since dropped is not written back
        devices = [(i, d) for i, d in self.devices.items() if backend.devices.get(i) is d]
        tasks = [(i, t) for i, t in self.tasks.items() if backend.tasks.get(i) is t]
        statements: list[_Statement] = [(_DELETE_BACKEND[table], [key]) for table in _TABLES if self.emptied]
        if self.settings:
            settings = _row("backends", "", backend.saved_settings)
            if settings == _FRESH_SETTINGS:
                statements.append((_DELETE_SETTINGS, [key]))
            else:
                statements.append((_UPSERT["backends"], [(*key, settings)]))
        if devices:
            statements.append((_UPSERT["devices"], [(*key, i, _row("devices", i, d.saved)) for i, d in devices]))
        if tasks:
            statements.append((_UPSERT["tasks"], [(*key, i, _row("tasks", i, t.saved)) for i, t in tasks]))
        return statements
