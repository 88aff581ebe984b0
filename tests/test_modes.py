"""One suite in every way moto runs it: the helpers and fixtures act where the clients go under
TEST_SERVER_MODE and TEST_PROXY_MODE, the proxy command, MOTO_ACCOUNT_ID as the default account,
request IDs on every response, and the plugin's names typed for mypy.

Each user suite here runs in a pytest process of its own, since moto reads TEST_SERVER_MODE once.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.moto_api import recorder

import moto_snowdevice
from moto_snowdevice import _moto
from moto_snowdevice.pytest_plugin import MockServerProcess

# Servers and pytest runs of its own, each naming its mode: the same in every mode of the outer run
pytestmark = pytest.mark.own_server

SERVICE = "snow-device-management"
ROOT = Path(__file__).resolve().parent.parent
OTHER_ACCOUNT = "333333333333"
UUID_LENGTH = 36

# A user's suite, written once for every mode: each helper and fixture, and nothing left behind
USER_SUITE = """
import os

import pytest
import requests
from botocore.exceptions import ClientError

import moto_snowdevice

ACCOUNT = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")


def ids(client):
    return sorted(device["managedDeviceId"] for device in client.list_devices()["devices"])


def test_the_fleet_is_where_the_client_looks(sdm_client, sdm_fleet):
    assert ids(sdm_client) and set(ids(sdm_client)) <= set(sdm_fleet)
    arn = sdm_client.describe_device(managedDeviceId=ids(sdm_client)[0])["managedDeviceArn"]
    assert f":{ACCOUNT}:" in arn


def test_the_next_test_gets_the_same_fleet_again(sdm_client, sdm_fleet):
    assert ids(sdm_client) and set(ids(sdm_client)) <= set(sdm_fleet)


def test_every_helper_acts_where_the_client_goes(sdm_client):
    device = moto_snowdevice.add_device(online=False)
    fleet = moto_snowdevice.load_fleet([{"device": {"tags": {"site": "harbor"}}}])
    task = sdm_client.create_task(targets=[device], command={"reboot": {}})["taskId"]
    moto_snowdevice.inject_fault("ListTasks", "AccessDeniedException")
    with pytest.raises(ClientError):
        sdm_client.list_tasks()
    moto_snowdevice.inject_fault("ListTasks", "AccessDeniedException")
    moto_snowdevice.clear_faults("ListTasks")
    moto_snowdevice.set_device_online(device, True)
    moto_snowdevice.set_execution_timeout(3600)
    moto_snowdevice.set_execution_outcomes({"SUCCEEDED": 1})
    moto_snowdevice.simulate_cancel_race(True, managed_device_id=fleet[0])
    moto_snowdevice.seed(7)

    assert moto_snowdevice.advance_execution(task, device, "SUCCEEDED") == "SUCCEEDED"
    assert sdm_client.describe_execution(taskId=task, managedDeviceId=device)["state"] == "SUCCEEDED"
    assert sdm_client.list_tasks()["tasks"][0]["taskId"] == task
    assert sorted([device, *fleet]) == ids(sdm_client)


def test_a_progression_set_in_one_test(sdm_client):
    url = os.environ.get("SDM_CONTROL_URL", "http://motoapi.amazonaws.com")
    transition = {"model_name": "snow-device-management::execution", "transition": {"progression": "immediate"}}
    requests.post(f"{url}/moto-api/state-manager/set-transition", json=transition, timeout=30).raise_for_status()


def test_is_gone_in_the_next(sdm_client):
    # Seen by what it does, in every mode and on every moto (moto 5.1's proxy answers no GET of its API):
    # under the default manual progression the first read takes one step; under the immediate one, all
    device = moto_snowdevice.add_device()
    task = sdm_client.create_task(targets=[device], command={"reboot": {}})["taskId"]
    assert sdm_client.describe_execution(taskId=task, managedDeviceId=device)["state"] == "IN_PROGRESS"
"""


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients made outside mock_aws (for the servers started here) sign with moto's usual test keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def run_user_suite(directory: Path, env: dict[str, str], source: str = USER_SUITE) -> subprocess.CompletedProcess[str]:
    (directory / "test_user_suite.py").write_text(source, encoding="utf-8")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEST_SERVER_MODE", "TEST_PROXY_MODE", "MOTO_PROXY", "SDM_MODE", "PYTEST_"))
    }
    environment.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **env})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(directory)],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[MockServerProcess]:
    with MockServerProcess() as running:
        yield running


@pytest.fixture(scope="module")
def proxy() -> Iterator[MockServerProcess]:
    with MockServerProcess("--proxy") as running:
        yield running


def proxied(proxy_url: str) -> dict[str, str]:
    """What a client process needs to go through moto's proxy."""
    return {"HTTPS_PROXY": proxy_url, "AWS_CA_BUNDLE": _moto.moto_proxy_ca_bundle()}


# 1. The same suite in every mode


def test_a_users_suite_passes_in_decorator_mode(tmp_path: Path) -> None:
    done = run_user_suite(tmp_path, {})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_a_users_suite_passes_unchanged_in_server_mode(tmp_path: Path, server: MockServerProcess) -> None:
    env = {"TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": server.url, "SDM_CONTROL_URL": server.url}

    done = run_user_suite(tmp_path, env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_a_users_suite_passes_unchanged_in_proxy_mode(tmp_path: Path, proxy: MockServerProcess) -> None:
    port = proxy.url.rsplit(":", 1)[1]
    env = {
        "TEST_PROXY_MODE": "true",
        "TEST_PROXY_MODE_ENDPOINT": proxy.url,
        "MOTO_PROXY_PORT": port,
        "SDM_CONTROL_URL": proxy.url,
    }

    done = run_user_suite(tmp_path, env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_in_server_mode_the_fixtures_seed_the_account_moto_account_id_names(tmp_path: Path) -> None:
    # moto's server reads MOTO_ACCOUNT_ID from its own environment for the clients' calls
    suite = USER_SUITE.split("\n\ndef test_every_helper")[0]
    with MockServerProcess(env={"MOTO_ACCOUNT_ID": OTHER_ACCOUNT}) as running:
        env = {"TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": running.url, "MOTO_ACCOUNT_ID": OTHER_ACCOUNT}

        done = run_user_suite(tmp_path, env, suite)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_server_side_routes_act_in_their_own_process_whatever_mode_its_environment_names() -> None:
    # A server started from a server-mode suite inherits TEST_SERVER_MODE pointing at itself
    env = {"TEST_SERVER_MODE": "true", "TEST_SERVER_MODE_ENDPOINT": "http://127.0.0.1:9"}

    with MockServerProcess("--fleet", "sample", env=env) as running:
        added = requests.post(f"{running.url}/moto-api/snow-device-management/devices", json={}, timeout=30)
        client = boto3.client(SERVICE, region_name="us-east-1", endpoint_url=running.url)
        listed = client.list_devices()["devices"]

    assert added.status_code == 200
    assert added.json()["managedDeviceId"] in [device["managedDeviceId"] for device in listed]


# 2. One control API, wherever the fleet lives


def test_a_helper_pointed_at_a_server_acts_there_and_not_in_process(server: MockServerProcess) -> None:
    requests.post(f"{server.url}/moto-api/reset", timeout=30).raise_for_status()
    with mock_aws():
        device = moto_snowdevice.add_device({"tags": {"site": "dock"}}, online=False, endpoint_url=server.url)
        in_process = boto3.client(SERVICE, region_name="us-east-1").list_devices()["devices"]
    remote = boto3.client(SERVICE, region_name="us-east-1", endpoint_url=server.url)

    assert in_process == []
    assert remote.describe_device(managedDeviceId=device)["tags"] == {"site": "dock"}


def test_a_helper_pointed_at_a_server_raises_its_400_as_validation_exception(server: MockServerProcess) -> None:
    with pytest.raises(moto_snowdevice.exceptions.ValidationException, match="online must be true or false"):
        moto_snowdevice.add_device(online="yes", endpoint_url=server.url)  # type: ignore[arg-type]


def test_a_helper_pointed_at_nothing_listening_raises_control_request_error() -> None:
    with pytest.raises(moto_snowdevice.ControlRequestError, match="127.0.0.1:9"):
        moto_snowdevice.add_device(endpoint_url="http://127.0.0.1:9")


def test_add_device_takes_online_false_and_the_device_takes_no_work(sdm: "boto3.client") -> None:
    device = moto_snowdevice.add_device(online=False)
    task = sdm.create_task(targets=[device], command={"reboot": {}})["taskId"]

    with pytest.raises(moto_snowdevice.exceptions.SnowDeviceManagementError):
        moto_snowdevice.advance_execution(task, device, "IN_PROGRESS")
    assert sdm.describe_execution(taskId=task, managedDeviceId=device)["state"] == "QUEUED"


def test_load_fleet_takes_a_list_of_entries_as_the_fleet_route_does(sdm: "boto3.client") -> None:
    devices = moto_snowdevice.load_fleet([{"device": {"tags": {"n": "1"}}}, {"device": {}, "online": False}])

    assert sorted(devices) == sorted(device["managedDeviceId"] for device in sdm.list_devices()["devices"])


def test_seed_gives_the_same_ids_as_the_seed_route(aws: None) -> None:
    moto_snowdevice.seed(11)
    by_python = moto_snowdevice.add_device()
    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=30)
    requests.post("http://motoapi.amazonaws.com/moto-api/seed?a=11", timeout=30)

    assert moto_snowdevice.add_device() == by_python


def test_seed_refuses_what_is_not_a_whole_number() -> None:
    with pytest.raises(moto_snowdevice.exceptions.ValidationException, match="seed must be a whole number"):
        moto_snowdevice.seed("7")  # type: ignore[arg-type]


SERVER_FIXTURES_SUITE = """
import boto3
import requests

import moto_snowdevice


def test_sdm_fleet_beside_sdm_server_seeds_that_server(sdm_server, sdm_fleet):
    client = boto3.client("snow-device-management", region_name="us-east-1", endpoint_url=sdm_server)
    assert sorted(d["managedDeviceId"] for d in client.list_devices()["devices"]) == sorted(
        d for d in sdm_fleet if d in {x["managedDeviceId"] for x in client.list_devices()["devices"]}
    ) != []


def test_a_progression_set_on_the_server(sdm_server):
    body = {"model_name": "snow-device-management::execution", "transition": {"progression": "immediate"}}
    requests.post(f"{sdm_server}/moto-api/state-manager/set-transition", json=body, timeout=30).raise_for_status()
    moto_snowdevice.inject_fault("ListTasks", "AccessDeniedException", endpoint_url=sdm_server)


def test_is_gone_with_the_fault_for_the_next_test(sdm_server):
    # moto reads the query undecoded: the model's name goes as it is spelled
    got = requests.get(
        f"{sdm_server}/moto-api/state-manager/get-transition?model_name=snow-device-management::execution", timeout=30
    )
    client = boto3.client("snow-device-management", region_name="us-east-1", endpoint_url=sdm_server)
    assert got.json() == {"progression": "manual", "times": 1}
    assert client.list_tasks()["tasks"] == []
"""


def test_sdm_fleet_beside_sdm_server_seeds_it_and_nothing_outlives_a_test(tmp_path: Path) -> None:
    done = run_user_suite(tmp_path, {}, SERVER_FIXTURES_SUITE)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


# 3. Proxy mode


def test_through_the_proxy_boto3_reaches_all_13_operations_and_the_control_routes(
    tmp_path: Path, proxy: MockServerProcess
) -> None:
    script = textwrap.dedent(
        f"""
        import json, urllib.request, boto3
        url = "{proxy.url}/moto-api/snow-device-management/devices"
        headers = {{"Content-Type": "application/json"}}
        request = urllib.request.Request(url, data=b"{{}}", method="POST", headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
        device = json.loads(opener.open(request).read())["managedDeviceId"]
        client = boto3.client("snow-device-management", region_name="us-east-1")
        task = client.create_task(targets=[device], command={{"reboot": {{}}}})
        arn = task["taskArn"]
        ids = [
            client.cancel_task(taskId=task["taskId"]),
            client.describe_task(taskId=task["taskId"]),
            client.list_tasks(),
            client.describe_execution(taskId=task["taskId"], managedDeviceId=device),
            client.list_executions(taskId=task["taskId"]),
            client.describe_device(managedDeviceId=device),
            client.list_devices(),
            client.list_device_resources(managedDeviceId=device),
            client.describe_device_ec2_instances(managedDeviceId=device, instanceIds=["s.i-1"]),
            client.tag_resource(resourceArn=arn, tags={{"a": "b"}}),
            client.list_tags_for_resource(resourceArn=arn),
            client.untag_resource(resourceArn=arn, tagKeys=["a"]),
            task,
        ]
        print(json.dumps([answer["ResponseMetadata"]["RequestId"] for answer in ids]))
        """
    )
    env = {**os.environ, **proxied(proxy.url), "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    request_ids = json.loads(done.stdout)
    assert len(request_ids) == 13 and len(set(request_ids)) == 13


def test_through_the_proxy_the_aws_cli_lists_devices(proxy: MockServerProcess, tmp_path: Path) -> None:
    aws = shutil.which("aws") or str(Path(sys.executable).parent / "aws")
    requests.post(f"{proxy.url}/moto-api/snow-device-management/devices", json={}, timeout=30).raise_for_status()
    env = {
        **os.environ,
        **proxied(proxy.url),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
    }

    done = subprocess.run(
        [aws, "snow-device-management", "list-devices", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["devices"]


def test_the_proxy_refuses_a_state_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "moto_snowdevice", "--proxy", "--state", str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "--state is not offered with --proxy" in done.stderr


# 4. MOTO_ACCOUNT_ID


def test_every_helper_defaults_to_moto_account_id_read_when_called(
    sdm: "boto3.client", monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    device = moto_snowdevice.add_device()
    (from_fleet,) = moto_snowdevice.load_fleet([{"device": {}}])
    moto_snowdevice.inject_fault("ListDevices", "AccessDeniedException")

    with pytest.raises(ClientError):
        sdm.list_devices()
    listed = sdm.list_devices()["devices"]
    assert sorted(d["managedDeviceId"] for d in listed) == sorted([device, from_fleet])
    assert all(f":{OTHER_ACCOUNT}:" in d["managedDeviceArn"] for d in listed)
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    assert sdm.list_devices()["devices"] == []


def test_the_seed_routes_default_to_moto_account_id(sdm: "boto3.client", monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)

    added = requests.post("http://motoapi.amazonaws.com/moto-api/snow-device-management/devices", json={}, timeout=30)

    assert f":{OTHER_ACCOUNT}:" in added.json()["managedDeviceArn"]
    assert [d["managedDeviceId"] for d in sdm.list_devices()["devices"]] == [added.json()["managedDeviceId"]]


def test_fleet_at_start_seeds_the_account_moto_account_id_names() -> None:
    with MockServerProcess("--fleet", "sample", env={"MOTO_ACCOUNT_ID": "444455556666"}) as running:
        # The client's account is the server's MOTO_ACCOUNT_ID too, as moto reads it first
        mine = boto3.client(SERVICE, region_name="us-east-1", endpoint_url=running.url).list_devices()

    assert mine["devices"] and all(":444455556666:" in d["managedDeviceArn"] for d in mine["devices"])


# 5. Request IDs


def request_id(answer: dict[str, object]) -> str:
    metadata = answer["ResponseMetadata"]
    assert isinstance(metadata, dict)
    return str(metadata["RequestId"])


def test_every_in_process_response_carries_a_request_id_of_its_own_errors_too(sdm: "boto3.client") -> None:
    device = moto_snowdevice.add_device()
    first = sdm.create_task(targets=[device], command={"reboot": {}}, clientToken="same")
    retry = sdm.create_task(targets=[device], command={"reboot": {}}, clientToken="same")
    with pytest.raises(ClientError) as missing:
        sdm.describe_task(taskId="st-aaaaaaaaaaaaaaaa")

    error = missing.value.response
    ids = {request_id(first), request_id(retry), request_id(error)}
    assert first["taskId"] == retry["taskId"]
    assert len(ids) == 3 and all(len(one) == UUID_LENGTH for one in ids)
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "ResourceNotFoundException"


def test_with_the_recorder_on_responses_still_carry_request_ids(
    sdm: "boto3.client", tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The recording goes to moto_recording in the working directory
    monkeypatch.chdir(tmp_path)
    recorder.start_recording()
    try:
        first, second = sdm.list_devices(), sdm.list_devices()
    finally:
        recorder.stop_recording()
        recorder.reset_recording()

    assert request_id(first) != request_id(second)
    assert len(request_id(first)) == UUID_LENGTH


def test_request_ids_leave_seeded_ids_unchanged(aws: None) -> None:
    client = boto3.client(SERVICE, region_name="us-east-1")
    moto_snowdevice.seed(5)
    quiet = [moto_snowdevice.add_device()]
    quiet.append(client.create_task(targets=[quiet[0]], command={"reboot": {}}))
    requests.post("http://motoapi.amazonaws.com/moto-api/reset", timeout=30)
    moto_snowdevice.seed(5)
    busy = [moto_snowdevice.add_device()]
    for _ in range(5):
        client.list_devices()
    busy.append(client.create_task(targets=[busy[0]], command={"reboot": {}}))

    assert busy[0] == quiet[0]
    assert busy[1]["taskId"] == quiet[1]["taskId"]


def test_the_servers_answers_and_refusals_carry_request_ids(server: MockServerProcess) -> None:
    client = boto3.client(SERVICE, region_name="us-east-1", endpoint_url=server.url)
    listed = client.list_devices()
    too_large = requests.post(
        f"{server.url}/task", data=b"x" * (1024 * 1024 + 10), headers=signed_for_service(), timeout=30
    )
    headers_too_large = raw_status_and_headers(server.url, "GET /tasks HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 70000)

    assert len(request_id(listed)) == UUID_LENGTH
    assert too_large.status_code == 413 and len(too_large.headers["x-amzn-RequestId"]) == UUID_LENGTH
    assert too_large.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"
    assert headers_too_large[0] == 431 and len(headers_too_large[1]["x-amzn-requestid"]) == UUID_LENGTH


def signed_for_service() -> dict[str, str]:
    return {"Authorization": "AWS4-HMAC-SHA256 Credential=k/20240101/us-east-1/snow-device-management/aws4_request"}


def raw_status_and_headers(url: str, head: str) -> tuple[int, dict[str, str]]:
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head.encode() + b"\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    lines = received.split(b"\r\n\r\n")[0].decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers


def test_the_control_routes_answer_with_request_ids(server: MockServerProcess) -> None:
    answer = urllib.request.urlopen(
        urllib.request.Request(f"{server.url}/moto-api/snow-device-management/devices", data=b"{}", method="POST"),
        timeout=30,
    )

    assert len(answer.headers["x-amzn-RequestId"]) == UUID_LENGTH


def test_the_javascript_sdk_shows_each_request_id(server: MockServerProcess) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "tests" / "js" / "node_modules").is_dir():
        pytest.fail("Node.js and `npm ci --prefix tests/js` are needed for the JavaScript SDK test", pytrace=False)

    done = subprocess.run(
        [node, "--test", "request-ids.test.mjs"],
        cwd=ROOT / "tests" / "js",
        env={**os.environ, "SDM_ENDPOINT": server.url},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 1" in done.stdout


# 6. Typed for users

# The checkout's package found through MYPYPATH (mypy cannot follow setuptools' editable finder), its
# own findings silenced as an installed package's are
AS_INSTALLED = ("--no-incremental", "--follow-imports=silent")

USER_TYPED_FILE = """
from collections.abc import Iterator

import pytest

import moto_snowdevice
from moto_snowdevice.pytest_plugin import MockServerProcess, SnowDeviceManagementClient, sdm_client


class FleetServer(MockServerProcess):
    def __init__(self) -> None:
        super().__init__("--fleet", "sample")

    def __enter__(self) -> "FleetServer":
        super().__enter__()
        return self


@pytest.fixture
def fleet_server() -> Iterator[str]:
    with FleetServer() as server:
        yield server.url


def test_devices(sdm_client: SnowDeviceManagementClient, sdm_fleet: list[str], fleet_server: str) -> None:
    device: str = moto_snowdevice.add_device(online=False, endpoint_url=fleet_server)
    moto_snowdevice.seed(3)
    moto_snowdevice.inject_fault("ListTasks", "ThrottlingException", count=2)
    listed = sdm_client.list_devices()["devices"]
    ids: list[str] = [entry["managedDeviceId"] for entry in listed]
    assert device not in ids and sdm_fleet


def test_the_fixture_function_is_typed() -> None:
    reveal = sdm_client
    assert callable(reveal)
"""


def test_mypy_strict_accepts_a_users_test_file_with_the_fixtures_helpers_and_a_server_subclass(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_typed.py").write_text(USER_TYPED_FILE, encoding="utf-8")

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            *AS_INSTALLED,
            "--cache-dir",
            str(tmp_path / "cache"),
            "test_typed.py",
        ],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_sees_the_client_type_of_sdm_client_as_boto3_stubs_client(tmp_path: Path) -> None:
    (tmp_path / "reveal.py").write_text(
        "from moto_snowdevice.pytest_plugin import SnowDeviceManagementClient\n"
        "def check(client: SnowDeviceManagementClient) -> None:\n"
        "    reveal_type(client)\n",
        encoding="utf-8",
    )

    done = subprocess.run(
        [sys.executable, "-m", "mypy", *AS_INSTALLED, "--cache-dir", str(tmp_path / "cache"), "reveal.py"],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert 'Revealed type is "mypy_boto3_snow_device_management.client.SnowDeviceManagementClient"' in done.stdout, (
        done.stdout + done.stderr
    )
