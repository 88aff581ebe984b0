"""moto's own features that touch a request, for this service: the recorder, mock_aws's core settings,
MOTO_ALLOW_NONEXISTENT_REGION, /moto-api/seed, reset, data.json and the state manager, in-process
and in server mode; and the seam's promise that nothing else in the package reaches into moto."""

import ast
import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from moto.core.botocore_stubber import MockRawResponse
from moto.core.exceptions import ServiceNotWhitelisted
from moto.moto_api import recorder
from moto.server import ThreadedMotoServer

import moto_snowdevice
from moto_snowdevice import _moto
from moto_snowdevice.pytest_plugin import MockServerProcess

from helpers import REGION, refused, task_arn

SERVICE = "snow-device-management"
BACKEND_NAME = "snowdevicemanagement"
MOTO_API = "http://motoapi.amazonaws.com/moto-api"
DUMMY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
REBOOT = {"reboot": {}}
EXECUTION_MODEL = "snow-device-management::execution"
PACKAGE = Path(moto_snowdevice.__file__).parent
# The checkout these tests are run from (PACKAGE may be an installed wheel in site-packages)
ROOT = Path(__file__).resolve().parent.parent


# Helpers


def post(url: str, **arguments: Any) -> requests.Response:
    response = requests.post(url, timeout=30, **arguments)
    # moto's API answers 200, or 201 for the state manager's changes
    assert response.status_code in (200, 201), response.text
    return response


def add_device(moto_api: str) -> str:
    """A device added through moto's API, so that a recording holds it too."""
    return post(f"{moto_api}/{SERVICE}/devices", json={"device": {"tags": {"site": "harbor"}}}).json()[
        "managedDeviceId"
    ]


def session_of_calls(sdm: Any, moto_api: str) -> None:
    """Two devices added over HTTP, a tagged task that started on one, a canceled task on the other."""
    first, second = add_device(moto_api), add_device(moto_api)
    started = sdm.create_task(targets=[first], command=REBOOT, tags={"team": "ops"})["taskId"]
    sdm.tag_resource(resourceArn=task_arn(started), tags={"ticket": "4711"})
    assert sdm.describe_execution(taskId=started, managedDeviceId=first)["state"] == "IN_PROGRESS"
    canceled = sdm.create_task(targets=[second], command={"unlock": {}})["taskId"]
    sdm.cancel_task(taskId=canceled)


def snapshot(sdm: Any) -> dict[str, Any]:
    """Every task with its state as first listed and as described, targets and tags, every execution's
    state, every device's tags.

    The listing is the first read, and it reports the work: each device with unfinished work takes one
    step, so the listed state tells how far the recorded calls took the work (a started task ends, a
    queued one starts).
    """
    tasks = {}
    for summary in sdm.list_tasks()["tasks"]:
        task = sdm.describe_task(taskId=summary["taskId"])
        executions = sdm.list_executions(taskId=summary["taskId"])["executions"]
        tasks[summary["taskId"]] = {
            "listed": summary["state"],
            "state": task["state"],
            "targets": task["targets"],
            "tags": task["tags"],
            "executions": {execution["managedDeviceId"]: execution["state"] for execution in executions},
        }
    devices = {device["managedDeviceId"]: device.get("tags") for device in sdm.list_devices()["devices"]}
    return {"tasks": tasks, "devices": devices}


def recorded_urls(recording: str) -> list[str]:
    return [json.loads(line)["url"] for line in recording.splitlines() if line.strip()]


def service_entries(recording: str) -> list[str]:
    return [url for url in recorded_urls(recording) if "/moto-api/" not in url]


def client_at(url: str) -> Any:
    return boto3.client(SERVICE, endpoint_url=url, region_name=REGION, **DUMMY_KEYS)


@pytest.fixture
def recorder_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """moto's in-process recorder writes its default file into the working directory: a temporary one."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "moto_recording"
    recorder.stop_recording()
    _moto.mock_random.seed()


@pytest.fixture
def recording_server(tmp_path: Path) -> Iterator[str]:
    """A mock server of its own, its recording file in a temporary directory."""
    with MockServerProcess(env={"MOTO_RECORDER_FILEPATH": str(tmp_path / "recording")}) as server:
        yield server.url


# The recorder, in-process


def in_process_calls(sdm: Any) -> None:
    """The session of calls on devices added from Python, which no recording holds."""
    first, second = moto_snowdevice.add_device(), moto_snowdevice.add_device({"tags": {"site": "harbor"}})
    started = sdm.create_task(targets=[first], command=REBOOT, tags={"team": "ops"})["taskId"]
    sdm.tag_resource(resourceArn=task_arn(started), tags={"ticket": "4711"})
    assert sdm.describe_execution(taskId=started, managedDeviceId=first)["state"] == "IN_PROGRESS"
    canceled = sdm.create_task(targets=[second], command={"unlock": {}})["taskId"]
    sdm.cancel_task(taskId=canceled)


@pytest.mark.decorator_mode
def test_the_recorder_records_this_services_calls_and_a_replay_restores_them_in_process(
    recorder_in: Path,
) -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        post(f"{MOTO_API}/seed?a=42")
        post(f"{MOTO_API}/recorder/reset-recording")
        post(f"{MOTO_API}/recorder/start-recording")
        in_process_calls(sdm)
        post(f"{MOTO_API}/recorder/stop-recording")
        recording = requests.get(f"{MOTO_API}/recorder/download-recording", timeout=30).text
        before = snapshot(sdm)

    # CreateTask twice, TagResource, DescribeExecution, CancelTask: the listing calls came after the stop
    assert len(service_entries(recording)) == 5
    assert all(url.startswith(f"https://{SERVICE}.{REGION}.amazonaws.com/") for url in service_entries(recording))
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        assert sdm.list_tasks()["tasks"] == []
        post(f"{MOTO_API}/seed?a=42")
        moto_snowdevice.add_device(), moto_snowdevice.add_device({"tags": {"site": "harbor"}})
        post(f"{MOTO_API}/recorder/upload-recording", data=recording)
        # In-process, moto's replay endpoint sends every request to its own host: replay from Python
        recorder.replay_recording()
        assert snapshot(sdm) == before
    # The recorded DescribeExecution started one task, so the listing's step ended it; the other was canceled
    assert {task["listed"] for task in before["tasks"].values()} == {"COMPLETED", "CANCELED"}


@pytest.mark.decorator_mode
def test_the_recorders_python_api_records_downloads_and_replays_this_service(recorder_in: Path) -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        _moto.mock_random.seed(3)
        device = moto_snowdevice.add_device()
        recorder.reset_recording()
        recorder.start_recording()
        task = sdm.create_task(targets=[device], command=REBOOT, tags={"team": "ops"})["taskId"]
        recorder.stop_recording()
        recording = recorder.download_recording()
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        _moto.mock_random.seed(3)
        assert moto_snowdevice.add_device() == device
        recorder.upload_recording(recording)
        recorder.replay_recording()
        assert sdm.describe_task(taskId=task)["tags"] == {"team": "ops"}
        assert sdm.list_executions(taskId=task)["executions"][0]["managedDeviceId"] == device


@pytest.mark.decorator_mode
def test_the_recorder_records_nothing_once_stopped_in_process(recorder_in: Path) -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        post(f"{MOTO_API}/recorder/reset-recording")
        post(f"{MOTO_API}/recorder/start-recording")
        sdm.list_tasks()
        post(f"{MOTO_API}/recorder/stop-recording")
        sdm.list_devices()
        recording = requests.get(f"{MOTO_API}/recorder/download-recording", timeout=30).text

    assert [url.split("amazonaws.com")[1] for url in service_entries(recording)] == ["/tasks"]


@pytest.mark.decorator_mode
def test_moto_enable_recording_records_this_services_calls_from_the_start(tmp_path: Path) -> None:
    # moto reads MOTO_ENABLE_RECORDING when it is imported, so the calls run in a fresh interpreter
    script = textwrap.dedent(
        """
        import boto3
        from moto import mock_aws
        import moto_snowdevice

        with mock_aws():
            sdm = boto3.client("snow-device-management", region_name="us-east-1")
            device = moto_snowdevice.add_device()
            task = sdm.create_task(targets=[device], command={"reboot": {}})["taskId"]
            print(sdm.describe_task(taskId=task)["state"])
        """
    )
    recording = tmp_path / "recording"
    env = {**os.environ, "MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": str(recording)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "IN_PROGRESS"
    entries = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [(entry["method"], entry["url"].split("amazonaws.com")[1].split("/")[1]) for entry in entries] == [
        ("POST", "task"),  # CreateTask
        ("POST", "task"),  # DescribeTask, POST /task/{taskId} in the service model
    ]
    body = base64.b64decode(entries[0]["body"]) if entries[0]["body_encoded"] else entries[0]["body"]
    assert json.loads(body)["command"] == REBOOT


# CreateUser, PutUserPolicy and CreateAccessKey: the calls before moto starts checking IAM
IAM_SETUP_CALLS = 3


@pytest.mark.decorator_mode
@set_initial_no_auth_action_count(IAM_SETUP_CALLS)
def test_iam_is_enforced_on_the_calls_the_recorder_records_in_process(recorder_in: Path, device: str) -> None:
    # While recording, moto's own routing rebuilds each request: signatures and policies must hold
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="operator")
    statements = [
        {"Effect": "Allow", "Action": "snow-device-management:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "snow-device-management:CancelTask", "Resource": "*"},
    ]
    iam.put_user_policy(
        UserName="operator",
        PolicyName="snow",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    recorder.reset_recording()
    recorder.start_recording()
    sdm = boto3.client(
        SERVICE, region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    forged = boto3.client(
        SERVICE, region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key="not-the-secret"
    )

    created = sdm.create_task(targets=[device], command=REBOOT, tags={"team": "ops"})
    sdm.untag_resource(resourceArn=created["taskArn"], tagKeys=["team"])
    assert sdm.describe_task(taskId=created["taskId"])["tags"] == {}
    with refused("AccessDeniedException", 403, "CancelTask"):
        sdm.cancel_task(taskId=created["taskId"])
    with refused("InvalidSignatureException", 403):
        forged.list_tasks()
    recorder.stop_recording()
    assert len(service_entries(recorder.download_recording())) == 5


# The recorder, in server mode


def test_the_server_records_this_services_calls_and_a_replay_after_reset_restores_them(
    recording_server: str,
) -> None:
    url, sdm = recording_server, client_at(recording_server)
    moto_api = f"{url}/moto-api"
    post(f"{moto_api}/seed?a=7")
    post(f"{moto_api}/recorder/reset-recording")
    post(f"{moto_api}/recorder/start-recording")
    session_of_calls(sdm, moto_api)
    post(f"{moto_api}/recorder/stop-recording")
    recording = requests.get(f"{moto_api}/recorder/download-recording", timeout=30).text
    before = snapshot(sdm)

    post(f"{moto_api}/reset")
    assert sdm.list_tasks()["tasks"] == [] and sdm.list_devices()["devices"] == []
    post(f"{moto_api}/seed?a=7")
    post(f"{moto_api}/recorder/upload-recording", data=recording)
    post(f"{moto_api}/recorder/replay-recording")

    assert len(service_entries(recording)) == 5
    assert snapshot(sdm) == before
    # The recorded DescribeExecution started one task, so the listing's step ended it; the other was canceled
    assert {task["listed"] for task in before["tasks"].values()} == {"COMPLETED", "CANCELED"}


def test_moto_enable_recording_records_the_servers_calls_from_the_start(tmp_path: Path) -> None:
    env = {"MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": str(tmp_path / "recording")}
    with MockServerProcess(env=env) as server:
        sdm = client_at(server.url)
        sdm.list_tasks()
        with refused("ResourceNotFoundException", 404):
            sdm.describe_task(taskId="st-aaaaaaaaaaaaaaaa")
        recording = requests.get(f"{server.url}/moto-api/recorder/download-recording", timeout=30).text

    assert [url.split(server.url)[1] for url in service_entries(recording)] == ["/tasks", "/task/st-aaaaaaaaaaaaaaaa"]


# mock_aws(config=...)'s core settings


def with_fallback(sdm: Any) -> Any:
    """The client answers 418 itself when no mock answered first: what passthrough would send."""

    def answer(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 418, {"Content-Type": "application/json"}, MockRawResponse(b"{}"))

    sdm.meta.events.register("before-send", answer)
    return sdm


@pytest.mark.decorator_mode
def test_a_passed_through_service_reaches_the_network_instead_of_the_mock() -> None:
    # moto's settings name a service by its backend name, as for every moto service
    with mock_aws(config={"core": {"passthrough": {"services": [BACKEND_NAME]}}}):
        sdm = with_fallback(boto3.client(SERVICE, region_name=REGION, config=Config(retries={"total_max_attempts": 1})))
        with refused("418", 418):
            sdm.list_tasks()
    with mock_aws():
        sdm = with_fallback(boto3.client(SERVICE, region_name=REGION))
        assert sdm.list_tasks()["tasks"] == []


@pytest.mark.decorator_mode
def test_a_passed_through_url_reaches_the_network_instead_of_the_mock() -> None:
    config = {"core": {"passthrough": {"urls": [rf"https://{SERVICE}\.us-west-2\.amazonaws\.com/.*"]}}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        passed = with_fallback(
            boto3.client(SERVICE, region_name="us-west-2", config=Config(retries={"total_max_attempts": 1}))
        )
        mocked = with_fallback(boto3.client(SERVICE, region_name=REGION))
        with refused("418", 418):
            passed.list_tasks()
        assert mocked.list_tasks()["tasks"] == []


@pytest.mark.decorator_mode
def test_a_service_left_out_of_the_whitelist_is_refused_by_moto() -> None:
    with mock_aws(config={"core": {"service_whitelist": ["s3"]}}):
        sdm = boto3.client(SERVICE, region_name=REGION)
        with pytest.raises(ServiceNotWhitelisted):
            sdm.list_tasks()
    with mock_aws(config={"core": {"service_whitelist": [BACKEND_NAME]}}):
        assert boto3.client(SERVICE, region_name=REGION).list_tasks()["tasks"] == []


def test_mock_credentials_off_keeps_the_callers_own_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOWNKEYOWNKEYOWN1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "own")
    with mock_aws(config={"core": {"mock_credentials": False}}):
        sdm = boto3.client(SERVICE, region_name=REGION)
        assert sdm._request_signer._credentials.access_key == "AKIAOWNKEYOWNKEYOWN1"
        assert sdm.list_tasks()["tasks"] == []


# Regions


@pytest.mark.decorator_mode
def test_an_unknown_region_is_refused_unless_moto_allows_nonexistent_regions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name="mars-north-1")
        with refused("ValidationException", 400, "mars-north-1"):
            sdm.list_tasks()
        monkeypatch.setenv("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        device = moto_snowdevice.add_device(region_name="mars-north-1")
        task = sdm.create_task(targets=[device], command=REBOOT)
        assert task["taskArn"].startswith("arn:aws:snow-device-management:mars-north-1:")


@pytest.mark.decorator_mode
def test_an_iso_region_host_reaches_the_service_through_motos_own_url_rewrite() -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name="us-iso-east-1")
        assert sdm.meta.endpoint_url == f"https://{SERVICE}.us-iso-east-1.c2s.ic.gov"
        device = moto_snowdevice.add_device(region_name="us-iso-east-1")
        task = sdm.create_task(targets=[device], command=REBOOT)
        assert task["taskArn"].startswith("arn:aws-iso:snow-device-management:us-iso-east-1:123456789012:task/")
        assert sdm.describe_task(taskId=task["taskId"])["targets"] == [device]


def test_the_server_allows_an_unknown_region_when_moto_allows_nonexistent_regions() -> None:
    with MockServerProcess(env={"MOTO_ALLOW_NONEXISTENT_REGION": "true"}) as server:
        sdm = boto3.client(SERVICE, endpoint_url=server.url, region_name="mars-north-1", **DUMMY_KEYS)
        assert sdm.list_tasks()["tasks"] == []
    with MockServerProcess() as server:
        sdm = boto3.client(SERVICE, endpoint_url=server.url, region_name="mars-north-1", **DUMMY_KEYS)
        with refused("ValidationException", 400, "mars-north-1"):
            sdm.list_tasks()


# /moto-api/seed, reset, data.json and the state manager


def ids_after_seed(moto_api: str, sdm: Any, seed: int) -> tuple[str, str, str]:
    post(f"{moto_api}/seed?a={seed}")
    device = add_device(moto_api)
    task = sdm.create_task(targets=[device], command=REBOOT)["taskId"]
    return device, task, sdm.describe_device(managedDeviceId=device)["associatedWithJob"]


@pytest.mark.decorator_mode
def test_the_same_seed_gives_the_same_device_and_task_ids_in_process(recorder_in: Path) -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        first = ids_after_seed(MOTO_API, sdm, 5)
        post(f"{MOTO_API}/reset")
        again = ids_after_seed(MOTO_API, sdm, 5)
        post(f"{MOTO_API}/reset")
        other = ids_after_seed(MOTO_API, sdm, 6)

    assert first == again
    assert other[0] != first[0] and other[1] != first[1]


def test_the_same_seed_gives_the_same_device_and_task_ids_on_the_server(sdm_server: str) -> None:
    moto_api, sdm = f"{sdm_server}/moto-api", client_at(sdm_server)
    first = ids_after_seed(moto_api, sdm, 5)
    post(f"{moto_api}/reset")
    again = ids_after_seed(moto_api, sdm, 5)
    post(f"{moto_api}/reset")
    other = ids_after_seed(moto_api, sdm, 6)

    assert first == again
    assert first[0].startswith("smd-") and first[1].startswith("st-")
    assert other[0] != first[0] and other[1] != first[1]


@pytest.mark.decorator_mode
def test_moto_reset_and_data_json_cover_this_service_in_process() -> None:
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        device = moto_snowdevice.add_device()
        task = sdm.create_task(targets=[device], command=REBOOT)["taskId"]
        data = requests.get(f"{MOTO_API}/data.json", timeout=30).json()[SERVICE]
        assert [item["task_id"] for item in data["Task"]] == [task]
        assert [item["managed_device_id"] for item in data["Execution"]] == [device]
        assert device in [item["managed_device_id"] for item in data["ManagedDevice"]]

        post(f"{MOTO_API}/reset")
        assert sdm.list_tasks()["tasks"] == [] and sdm.list_devices()["devices"] == []
        assert requests.get(f"{MOTO_API}/data.json", timeout=30).json()[SERVICE].get("Task", []) == []


@pytest.mark.decorator_mode
def test_the_state_manager_endpoints_set_get_and_unset_the_progression_in_process() -> None:
    transition = {"model_name": EXECUTION_MODEL, "transition": {"progression": "immediate"}}
    with mock_aws():
        sdm = boto3.client(SERVICE, region_name=REGION)
        device = moto_snowdevice.add_device()
        try:
            post(f"{MOTO_API}/state-manager/set-transition", data=json.dumps(transition))
            got = requests.get(f"{MOTO_API}/state-manager/get-transition?model_name={EXECUTION_MODEL}", timeout=30)
            assert got.json() == {"progression": "immediate"}
            task = sdm.create_task(targets=[device], command=REBOOT)["taskId"]
            assert sdm.describe_execution(taskId=task, managedDeviceId=device)["state"] == "SUCCEEDED"
        finally:
            post(f"{MOTO_API}/state-manager/unset-transition", data=json.dumps({"model_name": EXECUTION_MODEL}))
        got = requests.get(f"{MOTO_API}/state-manager/get-transition?model_name={EXECUTION_MODEL}", timeout=30)
        assert got.json() == {"progression": "manual", "times": 1}
        # The default again: each read moves the execution one step
        task = sdm.create_task(targets=[device], command=REBOOT)["taskId"]
        assert sdm.describe_execution(taskId=task, managedDeviceId=device)["state"] == "IN_PROGRESS"


def test_threaded_moto_server_records_this_services_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = "http://{}:{}".format(*server.get_host_and_port())
    try:
        post(f"{url}/moto-api/recorder/reset-recording")
        post(f"{url}/moto-api/recorder/start-recording")
        client_at(url).list_tasks()
        post(f"{url}/moto-api/recorder/stop-recording")
        recording = requests.get(f"{url}/moto-api/recorder/download-recording", timeout=30).text
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=30)
        server.stop()

    assert [entry.split(url)[1] for entry in service_entries(recording)] == ["/tasks"]


# The seam


def moto_imports(path: Path) -> list[str]:
    """Every `moto…`/`botocore…` module a file imports, with the names it takes from it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("moto", "botocore"):
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in ("moto", "botocore")]
    return found


# moto's documented service API, and botocore's public model classes
PUBLIC = {
    "moto.mock_aws",
    "moto.core.DEFAULT_ACCOUNT_ID",
    "moto.core.base_backend.BackendDict",
    "moto.core.base_backend.BaseBackend",
    "moto.core.common_models.BaseModel",
    "moto.core.exceptions.ServiceException",
    "moto.core.utils.camelcase_to_underscores",
    "moto.utilities.tagging_service.TaggingService",
    "botocore.session",
    "botocore.model.OperationModel",
    "botocore.model.Shape",
    "botocore.model.ListShape",
    "botocore.model.MapShape",
    "botocore.model.StringShape",
    "botocore.model.StructureShape",
}
MOTO_PRIVATE_NAMES = (
    "_internal",
    "backend_index",
    "url_paths.update",
    "botocore_stubber",
    "_record_request",
    "_user_enabled",
    "request_count",
    "INITIAL_NO_AUTH_ACTION_COUNT",
    "_authenticate_and_authorize",
    "mark_account_as_visited",
    "model_data",
    "werkzeug_app",
    "._status",
    "._tick",
    "_get_next_status",
    "BaseBackend.urls",
)


@pytest.mark.parametrize(
    "path",
    sorted(
        path
        for path in [*PACKAGE.rglob("*.py"), PACKAGE.parent / "_moto_snowdevice_pytest.py"]
        if path.name != "_moto.py"
    ),
    ids=lambda path: str(path.relative_to(PACKAGE.parent)),
)
def test_no_module_but_the_seam_reaches_into_moto(path: Path) -> None:
    assert [name for name in moto_imports(path) if name not in PUBLIC] == []
    text = path.read_text(encoding="utf-8")
    assert [name for name in MOTO_PRIVATE_NAMES if name in text] == []


def test_the_seam_names_the_installed_moto_and_the_range_when_an_internal_is_missing() -> None:
    with pytest.raises(_moto.UnsupportedMoto) as missing:
        _moto._require("moto.no_such_thing", lambda: _moto._attribute("moto", "no_such_thing"))
    message = str(missing.value)
    assert f"installed moto {_moto.MOTO_VERSION}" in message
    assert f"moto{_moto.SUPPORTED_MOTO}" in message and "moto.no_such_thing" in message


def test_the_seam_declares_the_range_setup_cfg_and_ci_install() -> None:
    requirements = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    assert f"moto[server,proxy]{_moto.SUPPORTED_MOTO}\n" in requirements
    lowest = _moto.SUPPORTED_MOTO.split(",")[0].removeprefix(">=")
    assert f"LOWEST_MOTO={lowest}\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_importing_the_package_fails_at_once_on_a_moto_without_the_stubber(tmp_path: Path) -> None:
    # A stand-in for a moto release that moved the stubber: the import stops, naming versions
    script = textwrap.dedent(
        """
        import moto.core.models
        del moto.core.models.botocore_stubber
        import moto_snowdevice
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("moto_snowdevice._moto.UnsupportedMoto: moto-snowdevice cannot run on the installed moto ")
    assert "botocore_stubber" in last and f"Supported: moto{_moto.SUPPORTED_MOTO}" in last


# The pytest plugin's weight


def test_loading_the_pytest_plugin_imports_neither_moto_boto3_nor_botocore(tmp_path: Path) -> None:
    # A run of its own, outside this suite (whose conftest imports moto)
    (tmp_path / "test_light.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_the_plugin_is_loaded_without_moto(request):
                assert request.config.pluginmanager.has_plugin("moto_snowdevice")
                loaded = {name.split(".")[0] for name in sys.modules}
                assert sorted(loaded & {"moto", "boto3", "botocore", "moto_snowdevice", "requests"}) == []
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_light.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
