"""Helpers the async test modules share; refused(), task_arn() and device_arn() come from tests/helpers.py."""

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from aiobotocore.config import AioConfig

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import REGION, device_arn, refused, task_arn  # noqa: E402

__all__ = ["NO_RETRY", "REBOOT", "REGION", "SERVICE", "device_arn", "optional", "refused", "task_arn"]

SERVICE = "snow-device-management"
REBOOT = {"reboot": {}}
# One attempt in all: only total_max_attempts 1 turns retrying off
NO_RETRY = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
# The packages a venv must have: .ci/run names them, so a missing one fails instead of skipping
REQUIRED = os.environ.get("SDM_ASYNC_REQUIRE", "").split()


def optional(name: str) -> ModuleType:
    """The module, or a skip of the calling test module when this venv lacks it (and does not require it)."""
    if name in REQUIRED:
        return importlib.import_module(name)
    return pytest.importorskip(name)
