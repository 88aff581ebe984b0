"""docs/async-clients.md runs as written: its Python blocks need aiobotocore, so they run here.

tests/test_readme.py leaves exactly these blocks unrun (each is marked `<!-- readme-test: skip async — why -->`
on the line before it); this module runs them, in the async venvs.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PAGE = Path(__file__).resolve().parent.parent / "docs" / "async-clients.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
# The marker the main README test skips a block by, on the line before the block
SKIP_ASYNC = re.compile(r"<!-- readme-test: skip async(?: — [^>]*)? -->\s*$")


def _marked_blocks() -> list[tuple[bool, str]]:
    """Each Python block of the page, and whether the line before it marks it as one to run here."""
    text = PAGE.read_text()
    found = []
    for block in PYTHON_BLOCK.finditer(text):
        before = text[: block.start()].rstrip("\n").rsplit("\n", 1)[-1]
        found.append((SKIP_ASYNC.search(before) is not None, block.group(1)))
    return found


def _blocks() -> list[str]:
    return [code for marked, code in _marked_blocks() if marked]


def test_every_python_block_of_the_page_is_marked_to_run_here() -> None:
    assert [marked for marked, _ in _marked_blocks()] == [True, True]


def test_the_page_shows_a_script_and_a_test() -> None:
    assert [("def test_" in block) for block in _blocks()] == [False, True]


@pytest.mark.parametrize("index", [0, 1])
def test_each_python_block_of_the_page_runs_as_written(pytester: pytest.Pytester, index: int) -> None:
    block = _blocks()[index]
    if "def test_" in block:
        pytester.makepyfile(test_readme_block=block)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=strict")
        result.assert_outcomes(passed=block.count("def test_"))
    else:
        done = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
