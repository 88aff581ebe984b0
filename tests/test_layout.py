"""The package's layout: split by concern, no module over about 400 lines.

The one exception is the seam, `_moto.py`: every reach into moto's internals lives there, in one module
by design, each with the versions it was verified on.
"""

from pathlib import Path

import pytest

import moto_snowdevice

# The package the tests import: the checkout's, or an installed wheel's
PACKAGE = Path(moto_snowdevice.__file__).resolve().parent
# "About 400": a module may run a little past it before it is split
MAX_LINES = 420
SEAM = PACKAGE / "_moto.py"


@pytest.mark.parametrize(
    "module",
    sorted(path for path in PACKAGE.rglob("*.py") if path != SEAM),
    ids=lambda path: str(path.relative_to(PACKAGE.parent)),
)
def test_no_module_of_the_package_is_over_about_400_lines(module: Path) -> None:
    lines = len(module.read_text(encoding="utf-8").splitlines())

    assert lines <= MAX_LINES, f"{module.name} has {lines} lines: split it by concern"


def test_the_models_are_a_package_with_the_backend_composed_in_its_init() -> None:
    models = PACKAGE / "models"

    assert not (PACKAGE / "models.py").exists()
    assert {"devices.py", "tasks.py", "executions.py", "work.py", "faults.py", "tags.py", "pagination.py"} <= {
        path.name for path in models.glob("*.py")
    }
    assert "class SnowDeviceManagementBackend(" in (models / "__init__.py").read_text(encoding="utf-8")
