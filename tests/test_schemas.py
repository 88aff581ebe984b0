"""The committed schemas/ follow botocore's service model; users switch on checking responses against
the same schemas with check_responses(), MOTO_SNOWDEVICE_CHECK_RESPONSES=1 or --sdm-check-responses."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

import moto_snowdevice
from moto_snowdevice import _schemas
from moto_snowdevice._server import SnowDeviceManagementApplication
from moto_snowdevice.responses import SnowDeviceManagementResponse

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
CHECK_VARIABLE = "MOTO_SNOWDEVICE_CHECK_RESPONSES"
SIGNED_FOR_SERVICE = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0"
)


def test_committed_schemas_are_what_the_service_model_generates() -> None:
    committed = {path.stem: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}

    assert committed == _schemas.generate()


def test_the_drift_check_passes_on_the_committed_schemas() -> None:
    assert _schemas.main(["--check", str(SCHEMAS)]) == 0


def test_the_drift_check_fails_on_a_modified_schema(tmp_path: Path) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    schema = json.loads((copy / "CancelTask.json").read_text())
    schema["title"] = "edited by hand"
    (copy / "CancelTask.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")

    assert _schemas.main(["--check", str(copy)]) == 1


def test_the_drift_check_fails_when_a_schema_is_missing(tmp_path: Path) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    (copy / "error.json").unlink()

    assert _schemas.main(["--check", str(copy)]) == 1


def test_a_response_with_a_member_its_shape_lacks_is_a_mismatch() -> None:
    with pytest.raises(_schemas.ResponseMismatch, match="CancelTask"):
        _schemas.check_response("CancelTask", 200, {"taskId": "x", "extra": 1})


def test_an_error_body_without_a_message_is_a_mismatch() -> None:
    with pytest.raises(_schemas.ResponseMismatch, match="error"):
        _schemas.check_response("CancelTask", 404, {"Message": "not found"})


def test_the_state_names_the_mock_uses_are_the_models() -> None:
    from moto_snowdevice import models
    from moto_snowdevice._shapes import SERVICE_MODEL

    def enum(shape: str) -> set[str]:
        return set(SERVICE_MODEL.shape_for(shape).enum)

    assert {models.TASK_IN_PROGRESS, models.TASK_CANCELED, models.TASK_COMPLETED} == enum("TaskState")
    assert models.FINAL_EXECUTION_STATES | {models.QUEUED, models.IN_PROGRESS} == enum("ExecutionState")
    transitions = set(models.EXECUTION_TRANSITIONS)
    for targets in models.EXECUTION_TRANSITIONS.values():
        transitions |= targets
    assert transitions <= enum("ExecutionState")


# Response checking for users: check_responses(), MOTO_SNOWDEVICE_CHECK_RESPONSES, --sdm-check-responses

BROKEN_LIST_TASKS = {"tasks": [{"taskArn": "arn:aws:snow-device-management:us-east-1:123456789012:task/st-1"}]}


@pytest.fixture
def checking_restored() -> Iterator[None]:
    """Whatever a test switches, the suite's own checking is back on afterwards."""
    yield
    moto_snowdevice.check_responses(True)


@pytest.fixture
def broken_list_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """ListTasks answers a summary without its required taskId, as a bug in the mock would."""
    monkeypatch.setattr(SnowDeviceManagementResponse, "list_tasks", lambda self: BROKEN_LIST_TASKS)


def test_check_responses_and_its_error_are_public() -> None:
    assert {"check_responses", "ResponseMismatch"} <= set(moto_snowdevice.__all__)
    assert issubclass(moto_snowdevice.ResponseMismatch, AssertionError)


@pytest.mark.decorator_mode
def test_with_checking_on_a_response_that_breaks_its_schema_fails_the_call_naming_operation_and_mismatch(
    sdm: Any, broken_list_tasks: None, checking_restored: None
) -> None:
    moto_snowdevice.check_responses()
    with pytest.raises(moto_snowdevice.ResponseMismatch) as caught:
        sdm.list_tasks()
    message = str(caught.value)
    assert message.startswith("ListTasks response does not match the ListTasks schema")
    assert "$.tasks[0]" in message
    assert "'taskId' is a required property" in message


@pytest.mark.decorator_mode
def test_with_checking_off_the_same_response_reaches_the_client(
    sdm: Any, broken_list_tasks: None, checking_restored: None
) -> None:
    moto_snowdevice.check_responses(False)
    assert sdm.list_tasks()["tasks"] == BROKEN_LIST_TASKS["tasks"]


def test_check_responses_refuses_anything_but_a_boolean(checking_restored: None) -> None:
    with pytest.raises(TypeError, match="enabled"):
        moto_snowdevice.check_responses("yes")  # type: ignore[arg-type]
    assert _schemas.checking_responses()


def test_a_server_answers_a_response_that_breaks_its_schema_with_a_json_500_and_a_stderr_line(
    broken_list_tasks: None, checking_restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    moto_snowdevice.check_responses()
    client = Client(SnowDeviceManagementApplication())
    response = client.get("/tasks", headers={"Authorization": SIGNED_FOR_SERVICE})
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-amzn-ErrorType"] == "InternalServerException"
    message = response.get_json()["message"]
    assert message.startswith("response mismatch: ")
    assert "ListTasks response does not match" in message and "'taskId' is a required property" in message
    assert f"moto-snowdevice: {message}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "on"), [("1", True), ("true", True), ("YES", True), ("0", False), ("", False), (None, False)]
)
def test_the_environment_variable_switches_checking_on_at_import(tmp_path: Path, value: str | None, on: bool) -> None:
    env = {key: item for key, item in os.environ.items() if key != CHECK_VARIABLE}
    if value is not None:
        env[CHECK_VARIABLE] = value
    probe = "import moto_snowdevice._schemas as s; print(s.checking_responses())"
    # Away from the clone: the schemas come from the service model, not from schemas/
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == str(on), result.stderr


def test_a_server_started_with_the_environment_variable_says_it_checks_responses(tmp_path: Path) -> None:
    env = {**os.environ, CHECK_VARIABLE: "1", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto_snowdevice", "--port", "0"], env=env, stdout=subprocess.PIPE, text=True
    )
    lines = []
    try:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line.strip())
            if "listening on" in line:
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()  # type: ignore[union-attr]
    assert "checking every response against its operation's JSON Schema" in lines


PLUGIN_TEST = """
import os

import pytest

import moto_snowdevice
from moto_snowdevice.responses import SnowDeviceManagementResponse


def test_servers_started_from_the_tests_check_too():
    assert os.environ.get("MOTO_SNOWDEVICE_CHECK_RESPONSES") == "1"


def test_a_broken_response_fails_the_call(sdm_client, monkeypatch):
    monkeypatch.setattr(SnowDeviceManagementResponse, "list_tasks", lambda self: {"tasks": [{}]})
    with pytest.raises(moto_snowdevice.ResponseMismatch, match="ListTasks"):
        sdm_client.list_tasks()
"""


@pytest.mark.decorator_mode
@pytest.mark.parametrize(("options", "passed", "failed"), [(["--sdm-check-responses"], 2, 0), ([], 0, 2)])
def test_the_pytest_option_switches_checking_on_for_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, options: list[str], passed: int, failed: int
) -> None:
    monkeypatch.delenv(CHECK_VARIABLE, raising=False)
    pytester.makepyfile(test_checked=PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    result.assert_outcomes(passed=passed, failed=failed)


def test_this_suite_runs_with_response_checking_on() -> None:
    # setup.cfg's addopts give --sdm-check-responses; without it the suite would check nothing
    assert _schemas.checking_responses()
    assert os.environ[CHECK_VARIABLE] == "1"


@pytest.mark.decorator_mode
def test_the_option_works_when_a_conftest_also_names_the_plugin_module(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CHECK_VARIABLE, raising=False)
    pytester.makeconftest('pytest_plugins = ["moto_snowdevice.pytest_plugin"]')
    pytester.makepyfile(test_checked=PLUGIN_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--sdm-check-responses")
    result.assert_outcomes(passed=2)
