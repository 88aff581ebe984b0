"""The committed schemas/ follow botocore's service model, and responses are checked against them."""

import json
import shutil
from pathlib import Path

import pytest

from moto_snowdevice import _schemas

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


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
