"""README's section on async clients runs as written: its Python blocks need aiobotocore, so they run here."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = re.compile(r"^## Async clients.*?(?=^## )", re.M | re.S)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def _blocks() -> list[str]:
    section = SECTION.search(README.read_text())
    assert section, "README has no section on async clients"
    return PYTHON_BLOCK.findall(section.group(0))


def test_the_section_shows_a_script_and_a_test() -> None:
    blocks = _blocks()
    assert [("def test_" in block) for block in blocks] == [False, True]


@pytest.mark.parametrize("index", [0, 1])
def test_each_python_block_of_the_section_runs_as_written(pytester: pytest.Pytester, index: int) -> None:
    block = _blocks()[index]
    if "def test_" in block:
        pytester.makepyfile(test_readme_block=block)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=strict")
        result.assert_outcomes(passed=block.count("def test_"))
    else:
        done = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
