"""The module the `pytest11` entry point loads: the plugin's fixtures and hooks, at the weight of pytest.

The definitions, typed, are in `moto_snowdevice/pytest_plugin.py` (import them from there). This
module runs that file as its own code without importing the `moto_snowdevice` package, whose import
registers the service with moto: so loading the plugin imports neither moto, boto3, botocore nor the
package, and a pytest run that uses none of the fixtures pays next to nothing for them.
"""

import importlib.util
from pathlib import Path


def _definitions() -> Path:
    """The plugin's file, found where `moto_snowdevice` is installed, without importing the package."""
    package = importlib.util.find_spec("moto_snowdevice")
    if package is None or not package.submodule_search_locations:
        raise ImportError("the moto_snowdevice package is not installed")
    for location in package.submodule_search_locations:
        candidate = Path(location) / "pytest_plugin.py"
        if candidate.is_file():
            return candidate
    raise ImportError(f"moto_snowdevice has no pytest_plugin.py in {list(package.submodule_search_locations)}")


_PLUGIN = _definitions()
exec(compile(_PLUGIN.read_text(encoding="utf-8"), str(_PLUGIN), "exec"))  # noqa: S102 - the package's own file
