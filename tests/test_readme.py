"""README's examples run as written: every code block, in the order a reader meets it, next to the
Quick start's server with the sample fleet.

- ```bash / ```sh blocks run in bash (`set -euo pipefail`; curl fails on an HTTP error status) with the
  variables earlier blocks exported; a `#=> TEXT` comment says TEXT must appear in the output;
- ```python blocks that define `test_*` functions run under pytest, and each of those tests must pass;
  other Python blocks run as a script;
- ```json blocks must parse; a fleet (a list of {"device": ...} entries) is posted to the server.

The server block (`<!-- readme-test: server -->`) is started with MockServerProcess on a free port, and
`127.0.0.1:5000` / `localhost:5000` in every block become its address. A block that must not run carries
`<!-- readme-test: skip NAME — why -->` on the line before it; only the names in SKIPPED may.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from moto_snowdevice.pytest_plugin import MockServerProcess

README = Path(__file__).resolve().parent.parent / "README.md"
# The only blocks README may leave unrun: how many of each name, and why
SKIPPED = {
    "install": (1, "installs the environment this test runs in"),
    "test-command": (1, "runs this very test suite"),
    "async": (2, "need aiobotocore: tests_async/test_readme_async.py runs them in the async venvs"),
}
LANGUAGES = {"bash": "shell", "sh": "shell", "python": "python", "json": "json"}
# A fence at any indentation (inside a list item too), closed at the same indentation
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!-- readme-test: (?P<kind>skip|server)(?: (?P<name>[a-z-]+))?(?: — [^>]*)? -->\s*$")
EXPECTED_OUTPUT = re.compile(r"#=> (.+)$", re.M)
DEFAULT_ADDRESS = re.compile(r"(?:127\.0\.0\.1|localhost):5000\b")
TIMEOUT = 300
# Every AWS-looking request fails loudly on an error status, as `aws` does
SHELL_PRELUDE = 'set -euo pipefail\ncurl() { command curl --silent --show-error --fail-with-body "$@"; }\n'


@dataclass
class Block:
    line: int
    language: str
    code: str
    kind: str | None = None
    name: str | None = None

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.language} block)"


class BlockFailed(AssertionError):
    """A README block that did not run as written."""


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, with the marker on the line before each, if any."""
    found = []
    for fence in FENCE.finditer(text):
        line = text.count("\n", 0, fence.start()) + 1
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        found.append(
            Block(
                line=line,
                language=fence["info"].strip().split(" ")[0],
                code=textwrap.dedent(fence["code"]),
                kind=marker["kind"] if marker else None,
                name=marker["name"] if marker else None,
            )
        )
    return found


class Reader:
    """A reader working through README in one terminal: one working directory, one environment."""

    def __init__(self, workdir: Path, stack: ExitStack):
        self.workdir = workdir
        self.stack = stack
        self.server_url: str | None = None
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        # Never the developer's own AWS profile, whatever ~/.aws holds
        self.env["AWS_CONFIG_FILE"] = str(workdir / "no-aws-config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = str(workdir / "no-aws-credentials")

    def run(self, block: Block) -> None:
        if block.kind == "skip":
            return
        if block.kind == "server":
            self.start_server(block)
            return
        language = LANGUAGES.get(block.language)
        if language is None:
            raise BlockFailed(f"{block.where}: not a language this test runs (bash, sh, python, json)")
        code = self.at_server(block)
        if language == "shell":
            self.shell(block, code)
        elif language == "python":
            self.python(block, code)
        else:
            self.json(block, code)

    def start_server(self, block: Block) -> None:
        command = shlex.split(block.code)
        if not command or command[0] != "moto-snowdevice-server":
            raise BlockFailed(f"{block.where}: a server block holds one moto-snowdevice-server command")
        server = self.stack.enter_context(MockServerProcess(*command[1:], env=self.env))
        self.server_url = server.url

    def at_server(self, block: Block) -> str:
        if not DEFAULT_ADDRESS.search(block.code):
            return block.code
        if self.server_url is None:
            raise BlockFailed(f"{block.where}: talks to the server before README starts it")
        return DEFAULT_ADDRESS.sub(self.server_url.removeprefix("http://"), block.code)

    def _run(self, block: Block, command: list[str]) -> str:
        done = subprocess.run(
            command, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=TIMEOUT
        )
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise BlockFailed(f"{block.where} exited {done.returncode}:\n{output}")
        return output

    def shell(self, block: Block, code: str) -> None:
        output = self._run(block, ["bash", "-c", SHELL_PRELUDE + code])
        for expected in EXPECTED_OUTPUT.findall(code):
            if expected.strip() not in output:
                raise BlockFailed(f"{block.where}: expected {expected.strip()!r} in the output:\n{output}")
        for line in code.splitlines():
            if line.startswith("export "):
                words = shlex.split(line, comments=True)[1:]
                self.env.update(word.split("=", 1) for word in words if "=" in word)

    def python(self, block: Block, code: str) -> None:
        tests = re.findall(r"^def (test_\w+)\(", code, re.M)
        if not tests:
            script = self.workdir / f"readme_{block.line}.py"
            script.write_text(code)
            self._run(block, [sys.executable, str(script)])
            return
        module = self.workdir / f"test_readme_{block.line}.py"
        module.write_text(code)
        output = self._run(block, [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", module.name])
        for test in tests:
            if f"PASSED {module.name}::{test}" not in output:
                raise BlockFailed(f"{block.where}: {test} did not pass:\n{output}")

    def json(self, block: Block, code: str) -> None:
        try:
            document = json.loads(code)
        except ValueError as error:
            raise BlockFailed(f"{block.where}: not valid JSON: {error}") from None
        is_fleet = isinstance(document, list) and all(
            isinstance(entry, dict) and "device" in entry for entry in document
        )
        if not is_fleet:
            return
        if self.server_url is None:
            raise BlockFailed(f"{block.where}: a fleet before README starts the server")
        posted = requests.post(f"{self.server_url}/moto-api/snow-device-management/fleet", json=document, timeout=30)
        if posted.status_code != 200:
            raise BlockFailed(f"{block.where}: the server refused the fleet: {posted.status_code} {posted.text}")


def run_readme(text: str, workdir: Path) -> int:
    """Run every block of a README text in order; returns how many ran."""
    ran = 0
    with ExitStack() as stack:
        reader = Reader(workdir, stack)
        for block in blocks(text):
            reader.run(block)
            ran += block.kind != "skip"
    return ran


@pytest.fixture
def readme_blocks() -> Iterator[list[Block]]:
    yield blocks(README.read_text(encoding="utf-8"))


def test_every_readme_example_runs_as_written_in_order(tmp_path: Path, readme_blocks: list[Block]) -> None:
    ran = run_readme(README.read_text(encoding="utf-8"), tmp_path)
    assert ran == len(readme_blocks) - sum(count for count, _ in SKIPPED.values())


def test_readme_leaves_only_the_named_blocks_unrun(readme_blocks: list[Block]) -> None:
    skipped = Counter(block.name for block in readme_blocks if block.kind == "skip")
    assert skipped == {name: count for name, (count, _) in SKIPPED.items()}


def test_readme_starts_the_quick_start_server_with_the_sample_fleet_before_anything_talks_to_it(
    readme_blocks: list[Block],
) -> None:
    servers = [block for block in readme_blocks if block.kind == "server"]
    assert [shlex.split(block.code) for block in servers] == [["moto-snowdevice-server", "--fleet", "sample"]]
    first_use = next(block for block in readme_blocks if DEFAULT_ADDRESS.search(block.code))
    assert servers[0].line < first_use.line


def test_every_readme_block_is_in_a_language_the_test_runs(readme_blocks: list[Block]) -> None:
    unknown = [block.where for block in readme_blocks if block.kind is None and block.language not in LANGUAGES]
    assert unknown == []


# The runner fails where README would fail a reader


@pytest.mark.parametrize(
    ("markdown", "words"),
    [
        ("```bash\nfalse\n```\n", "exited 1"),
        ("```bash\necho hello   #=> goodbye\n```\n", "goodbye"),
        ("```python\ndef test_sums():\n    assert 1 + 1 == 3\n```\n", "test_sums"),
        ("```python\nraise SystemExit('broken example')\n```\n", "broken example"),
        ("```json\n{\"a\": 1,}\n```\n", "not valid JSON"),
        ("```bash\ncurl http://127.0.0.1:5000/\n```\n", "before README starts it"),
        ("```text\nanything\n```\n", "not a language"),
    ],
    ids=["shell-fails", "output-missing", "test-fails", "script-fails", "bad-json", "no-server", "unknown-language"],
)
def test_the_runner_fails_on_a_block_that_does_not_run_as_written(tmp_path: Path, markdown: str, words: str) -> None:
    with pytest.raises(BlockFailed, match=re.escape(words)):
        run_readme(markdown, tmp_path)


def test_the_runner_refuses_a_fleet_the_server_refuses(tmp_path: Path) -> None:
    markdown = (
        "<!-- readme-test: server -->\n```bash\nmoto-snowdevice-server --fleet sample\n```\n"
        '```json\n[{"device": {"managedDeviceId": "smd-fictbgr3rbcjeqa5"}}]\n```\n'
    )
    with pytest.raises(BlockFailed, match="already exists"):
        run_readme(markdown, tmp_path)


def test_the_runner_finds_a_block_inside_a_list_item() -> None:
    markdown = "1. A step:\n\n   ```bash\n   echo step\n   ```\n"
    assert [(block.language, block.code) for block in blocks(markdown)] == [("bash", "echo step\n")]


def test_the_runner_carries_exports_from_one_block_to_the_next(tmp_path: Path) -> None:
    markdown = '```bash\nexport GREETING="hello harbor"\n```\n```bash\necho "$GREETING"   #=> hello harbor\n```\n'
    assert run_readme(markdown, tmp_path) == 2
