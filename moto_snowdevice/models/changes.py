"""How every change of a model reaches `--state`: by construction, never by a call placed after a change.

A kept model (a managed device, a task and its executions, a backend's settings) reports itself each
time one of its fields is assigned, through the change feed of the BackendDict that holds it; a field
holding a container is replaced, never changed in place, so that no change escapes the report.
The store (`_state.StateStore`) listens on the feed and commits what was reported before the request
that made it is answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from . import SnowDeviceManagementBackend

# Called, under the backend's lock, with a backend and what changed in it: a Task, a ManagedDevice, the
# backend itself (its settings), or None when the backend starts empty
ChangeListener = Callable[["SnowDeviceManagementBackend", Any], None]


class ChangeFeed:
    """Where the models of one BackendDict report their changes; None listening: nothing is kept."""

    __slots__ = ("_listener",)

    def __init__(self) -> None:
        self._listener: ChangeListener | None = None

    @property
    def listener(self) -> ChangeListener | None:
        return self._listener

    @listener.setter
    def listener(self, listener: ChangeListener | None) -> None:
        self._listener = listener
        # With nobody listening (no --state), an assignment costs no report at all
        Kept.reporting = listener is not None

    def report(self, backend: SnowDeviceManagementBackend, resource: Any) -> None:
        listener = self._listener
        if listener is not None:
            listener(backend, resource)


class Kept:
    """A model `--state` keeps: assigning any field not in `_UNKEPT` reports the object it is saved in."""

    # Fields rebuilt on restore from other saved fields (a device's queue, its running work)
    _UNKEPT: frozenset[str] = frozenset()
    # Whether a store listens on a change feed (set by ChangeFeed.listener)
    reporting: ClassVar[bool] = False

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if Kept.reporting and name not in self._UNKEPT:
            self._report()

    def _report(self) -> None:
        raise NotImplementedError
