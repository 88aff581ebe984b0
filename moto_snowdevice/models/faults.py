"""Injected faults: documented errors an operation answers on demand."""

from __future__ import annotations

from .._moto import mock_random
from ..exceptions import SnowDeviceManagementError
from .core import BackendCore


class Fault:
    """A documented error an operation answers on demand: for the next `count` calls, or by chance."""

    def __init__(
        self,
        operation: str,
        error: type[SnowDeviceManagementError],
        count: int | None,
        probability: float | None,
        message: str,
    ):
        self.operation = operation
        self.error = error
        self.message = message
        self.probability = probability
        # Without a probability a fault strikes `count` times (1 by default); with one, until cleared
        self.remaining = count if count is not None else (None if probability is not None else 1)

    def strikes(self) -> bool:
        if self.probability is not None and mock_random.random() >= self.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


class FaultBackend(BackendCore):
    """A backend's injected faults."""

    def inject_fault(self, fault: Fault) -> None:
        self.faults.setdefault(fault.operation, []).append(fault)

    def clear_faults(self, operation: str | None = None) -> None:
        if operation is None:
            self.faults.clear()
        else:
            self.faults.pop(operation, None)

    def raise_injected_fault(self, operation: str) -> None:
        """Fail this call of `operation` if an injected fault says so, before anything changes."""
        faults = self.faults.get(operation)
        if not faults:
            return
        for fault in list(faults):
            if fault.strikes():
                if fault.remaining == 0:
                    faults.remove(fault)
                raise fault.error(fault.message)
