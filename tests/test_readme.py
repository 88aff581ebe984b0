"""README's and docs/'s examples run as written: every code block, in the order a reader meets it,
next to the Quick start's server with the sample fleet. README runs from its top; each page of docs/
runs after README's Quick start (its server, on a fresh start, and its exports), as a reader who
followed the Quick start would run it.

- ```bash / ```sh blocks run in bash (`set -euo pipefail`; curl fails on an HTTP error status) with the
  variables earlier blocks exported; a `#=> TEXT` comment says the block prints a line (stdout and
  stderr together) that reads exactly TEXT, trailing whitespace aside, where `…` stands for any run of
  characters;
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
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from moto_snowdevice.pytest_plugin import MockServerProcess

# README's commands run as written, with servers of their own: the same in every moto test mode
pytestmark = pytest.mark.own_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# The only blocks README and each page of docs/ may leave unrun: how many of each name, and why
SKIPPED = {
    "README.md": {
        "install": (2, "install the environment this test runs in (the package, the JavaScript SDK)"),
        "test-command": (1, "runs this very test suite"),
    },
    "docs/pytest-plugin.md": {
        "mode-commands": (3, "run a whole test suite in server or proxy mode; .ci/modes runs this project's own"),
    },
    "docs/server-mode.md": {
        "proxy": (1, "starts a second server in the background; tests/test_modes.py drives the proxy"),
        "account-server": (1, "a second server that runs until stopped; tests/test_modes.py starts it"),
    },
    "docs/async-clients.md": {
        "async": (2, "need aiobotocore: tests_async/test_readme_async.py runs them in the async venvs"),
    },
}
LANGUAGES = {"bash": "shell", "sh": "shell", "python": "python", "json": "json"}
# A fence at any indentation (inside a list item too), closed at the same indentation
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<code>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!-- readme-test: (?P<kind>skip|server)(?: (?P<name>[a-z-]+))?(?: — [^>]*)? -->\s*$")
EXPECTED_OUTPUT = re.compile(r"#=> (.+)$", re.M)
ANY_TEXT = "…"
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
    document: str = "README.md"

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line} ({self.language} block)"


class BlockFailed(AssertionError):
    """A README block that did not run as written."""


def prints_line(output: str, expected: str) -> bool:
    """Whether output has a line that reads exactly `expected` (trailing whitespace aside), `…` standing
    for any run of characters."""
    pattern = ".*".join(re.escape(part) for part in expected.rstrip().split(ANY_TEXT))
    return any(re.fullmatch(pattern, line.rstrip()) for line in output.splitlines())


def blocks(text: str, document: str = "README.md") -> list[Block]:
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
                document=document,
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
        # One stream, as a terminal shows it: what `#=>` lines are checked against
        done = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
        )
        output = done.stdout
        if done.returncode != 0:
            raise BlockFailed(f"{block.where} exited {done.returncode}:\n{output}")
        return output

    def shell(self, block: Block, code: str) -> None:
        output = self._run(block, ["bash", "-c", SHELL_PRELUDE + code])
        for expected in EXPECTED_OUTPUT.findall(code):
            if not prints_line(output, expected):
                raise BlockFailed(f"{block.where}: expected a line reading {expected.rstrip()!r}:\n{output}")
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


def run_readme(text: str, workdir: Path, before: Iterable[Block] = (), document: str = "README.md") -> int:
    """Run every block of a Markdown text in order, after the blocks `before`; returns how many of the
    text's blocks ran."""
    ran = 0
    with ExitStack() as stack:
        reader = Reader(workdir, stack)
        for block in before:
            reader.run(block)
        for block in blocks(text, document):
            reader.run(block)
            ran += block.kind != "skip"
    return ran


def quick_start(readme: list[Block]) -> list[Block]:
    """README's Quick start as a reader leaves it: the server block and the shell block after it."""
    server = next(index for index, block in enumerate(readme) if block.kind == "server")
    return readme[server : server + 2]


def documents() -> dict[str, list[Block]]:
    """README and every page of docs/, by their path from the clone's root."""
    paths = [README, *sorted(DOCS.glob("*.md"))]
    return {
        str(path.relative_to(ROOT)): blocks(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
        for path in paths
    }


DOC_PAGES = sorted(str(path.relative_to(ROOT)) for path in DOCS.glob("*.md"))


@pytest.fixture
def readme_blocks() -> Iterator[list[Block]]:
    yield blocks(README.read_text(encoding="utf-8"))


def unrun(document: str) -> int:
    return sum(count for count, _ in SKIPPED.get(document, {}).values())


def test_every_readme_example_runs_as_written_in_order(tmp_path: Path, readme_blocks: list[Block]) -> None:
    ran = run_readme(README.read_text(encoding="utf-8"), tmp_path)
    assert ran == len(readme_blocks) - unrun("README.md")


@pytest.mark.parametrize("page", DOC_PAGES)
def test_every_example_of_a_docs_page_runs_as_written_after_the_quick_start(
    tmp_path: Path, readme_blocks: list[Block], page: str
) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    ran = run_readme(text, tmp_path, before=quick_start(readme_blocks), document=page)
    assert ran == len(blocks(text)) - unrun(page)


def test_readme_and_docs_leave_only_the_named_blocks_unrun() -> None:
    skipped = {
        document: Counter(block.name for block in found if block.kind == "skip")
        for document, found in documents().items()
    }
    expected = {
        document: Counter({name: count for name, (count, _) in SKIPPED.get(document, {}).items()})
        for document in skipped
    }
    assert skipped == expected


def test_readme_starts_the_quick_start_server_with_the_sample_fleet_before_anything_talks_to_it(
    readme_blocks: list[Block],
) -> None:
    servers = [block for block in readme_blocks if block.kind == "server"]
    assert [shlex.split(block.code) for block in servers] == [["moto-snowdevice-server", "--fleet", "sample"]]
    first_use = next(block for block in readme_blocks if DEFAULT_ADDRESS.search(block.code))
    assert servers[0].line < first_use.line


def test_only_readme_starts_a_server() -> None:
    servers = [block.where for found in documents().values() for block in found if block.kind == "server"]
    assert [where.split(":")[0] for where in servers] == ["README.md"]


def test_every_block_of_readme_and_docs_is_in_a_language_the_test_runs() -> None:
    unknown = [
        block.where
        for found in documents().values()
        for block in found
        if block.kind is None and block.language not in LANGUAGES
    ]
    assert unknown == []


def test_readme_links_every_page_of_docs() -> None:
    text = README.read_text(encoding="utf-8")
    assert [page for page in DOC_PAGES if f"]({page})" not in text] == []


def test_readme_states_the_output_rule_before_its_first_use() -> None:
    text = README.read_text(encoding="utf-8")
    assert "`#=> TEXT` after a command means" in text
    assert text.index("`#=> TEXT` after a command means") < text.index("\n```bash")


# The `#=>` rule, exactly as README states it


# Text that can stand on one output line: no line breaks, no `…`
LINE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Zl", "Zp"), blacklist_characters=ANY_TEXT), max_size=30
)
WORD = st.text(alphabet="ab-.*", min_size=1, max_size=8)


@given(LINE_TEXT)
def test_an_output_line_that_reads_exactly_the_text_satisfies_it(line: str) -> None:
    assert prints_line(f"before\n{line}\nafter\n", line)


@given(WORD, WORD, st.booleans())
def test_an_output_line_that_holds_more_than_the_text_does_not_satisfy_it(
    expected: str, extra: str, extra_first: bool
) -> None:
    line = extra + expected if extra_first else expected + extra

    assert not prints_line(f"{line}\n", expected)


@given(WORD, LINE_TEXT, WORD)
def test_an_ellipsis_stands_for_any_run_of_characters(head: str, middle: str, tail: str) -> None:
    assert prints_line(f"{head}{middle}{tail}\n", f"{head}{ANY_TEXT}{tail}")


@pytest.mark.parametrize(
    ("output", "expected", "satisfied"),
    [
        ("mountain-relay\trelay-2\n", "relay-2", False),
        ("CANCELED  \r\n", "CANCELED", True),
        ('{"taskId": "st-ficthmqoc2pht111"}\n', '{"taskId": "st-…"}', True),
        ('{"taskId": "st-1"} trailing\n', '{"taskId": "st-…"}', False),
        ("a\nb\n", "a\nb", False),
        ("x.y\n", "x.y", True),
        ("xzy\n", "x.y", False),
    ],
    ids=["substring", "trailing-whitespace", "any-text", "more-after", "one-line-only", "dot-literal", "no-regex"],
)
def test_the_output_rule_matches_whole_lines_with_an_ellipsis_for_any_text(
    output: str, expected: str, satisfied: bool
) -> None:
    assert prints_line(output, expected) is satisfied


# The runner fails where README would fail a reader


@pytest.mark.parametrize(
    ("markdown", "words"),
    [
        ("```bash\nfalse\n```\n", "exited 1"),
        ("```bash\necho hello   #=> goodbye\n```\n", "goodbye"),
        ("```bash\necho hello harbor   #=> hello\n```\n", "a line reading 'hello'"),
        ("```python\ndef test_sums():\n    assert 1 + 1 == 3\n```\n", "test_sums"),
        ("```python\nraise SystemExit('broken example')\n```\n", "broken example"),
        ('```json\n{"a": 1,}\n```\n', "not valid JSON"),
        ("```bash\ncurl http://127.0.0.1:5000/\n```\n", "before README starts it"),
        ("```text\nanything\n```\n", "not a language"),
    ],
    ids=[
        "shell-fails",
        "output-missing",
        "output-only-contained",
        "test-fails",
        "script-fails",
        "bad-json",
        "no-server",
        "unknown-language",
    ],
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
