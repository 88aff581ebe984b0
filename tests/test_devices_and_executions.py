"""Managed devices, fleet seeding and task executions of Snow Device Management through boto3:
device documents, DescribeDevice, ListDevices, ListDeviceResources, DescribeDeviceEc2Instances,
load_fleet and its HTTP twins, executions and their state machine, command effects on devices,
CancelTask against running work, and the documented cancel race."""

import ipaddress
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice import models
from moto_snowdevice.exceptions import ResourceNotFoundException, ValidationException

from helpers import Clock, device_arn, refused

SERVICE = "snow-device-management"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
OTHER_ACCOUNT = "111111111111"
EXECUTION_MODEL = "snow-device-management::execution"
MOTO_API = "http://motoapi.amazonaws.com/moto-api/snow-device-management"
REBOOT = {"reboot": {}}
UNLOCK = {"unlock": {}}
EC2_INSTANCE = "AWS::EC2::Instance"
UNKNOWN_DEVICE = "smd-aaaaaaaaaaaaaaaa"
UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa"
SAMPLE_EAST = ["smd-fictbgr3rbcjeqa5", "smd-fictq7k2m9x4wp3n"]
SAMPLE_WEST = ["smd-fictz5c8h1r6tv2d"]

SetTransition = Callable[[dict[str, Any]], None]

INSTANCE_A = {
    "instanceId": "s.i-84fa8a27d3e15e111",
    "imageId": "s.ami-03f976c3cadaa6111",
    "instanceType": "snc1.medium",
    "state": {"code": 16, "name": "RUNNING"},
}
INSTANCE_B = {
    "instanceId": "s.i-0b6f9d2c8a7e4f222",
    "imageId": "s.ami-03f976c3cadaa6111",
    "instanceType": "snc1.small",
    "state": {"code": 80, "name": "STOPPED"},
}
INSTANCE_C = {"instanceId": "s.i-5e7a1c3b9d2f4e333", "state": {"code": 0, "name": "PENDING"}}


# Helpers


def client(region: str = REGION) -> Any:
    return boto3.client(SERVICE, region_name=region)


def device_ids(sdm: Any, **params: Any) -> list[str]:
    return [device["managedDeviceId"] for device in sdm.list_devices(**params)["devices"]]


def new_task(sdm: Any, *devices: str, command: dict[str, Any] = REBOOT) -> str:
    return sdm.create_task(targets=list(devices), command=command)["taskId"]


def execution(sdm: Any, task_id: str, device_id: str) -> dict[str, Any]:
    """DescribeExecution without its response metadata; by default each call moves the execution one step."""
    described = sdm.describe_execution(taskId=task_id, managedDeviceId=device_id)
    described.pop("ResponseMetadata")
    return described


def held_task(sdm: Any, task_id: str) -> Any:
    """The task as the model holds it now, caught up to the clock: a look that reports no work, so moves nothing.

    Every read of the API reports work, which under the default progression moves it one step.
    """
    backend = models.snowdevicemanagement_backends[DEFAULT_ACCOUNT_ID][sdm.meta.region_name]
    task = backend.get_task(task_id)
    backend.catch_up([execution.device for execution in task.executions], backend._now())
    return task


def execution_states(sdm: Any, task_id: str, state: str | None = None) -> dict[str, str]:
    """Each target's execution state (those in `state`), looked at without moving anything."""
    executions = held_task(sdm, task_id).executions
    return {e.managed_device_id: e.state for e in executions if state is None or e.state == state}


def task_state(sdm: Any, task_id: str) -> str:
    """The task's state, looked at without moving anything."""
    return str(held_task(sdm, task_id).state)


def all_pages(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> list[list[Any]]:
    """The items of every page of a listing, following nextToken by hand; the last page has no token."""
    response = call(**params)
    pages = [response[key]]
    while "nextToken" in response:
        response = call(nextToken=response["nextToken"], **params)
        pages.append(response[key])
    return pages


@pytest.fixture
def transition() -> Iterator[SetTransition]:
    """Sets the executions' progression with moto's state manager; always restores the default."""

    def set_transition(config: dict[str, Any]) -> None:
        state_manager.set_transition(EXECUTION_MODEL, config)

    try:
        yield set_transition
    finally:
        state_manager.unset_transition(EXECUTION_MODEL)


@pytest.fixture
def other_device(aws: None) -> str:
    return moto_snowdevice.add_device()


@pytest.fixture
def device_with_instances(aws: None) -> str:
    return moto_snowdevice.add_device({"instances": [INSTANCE_A, INSTANCE_B, INSTANCE_C]})


# Devices: add_device


def test_a_device_added_without_a_document_gets_realistic_defaults(sdm: Any, device: str) -> None:
    described = sdm.describe_device(managedDeviceId=device)
    assert described["managedDeviceId"] == device
    assert described["managedDeviceArn"] == device_arn(device)
    assert described["deviceType"]
    assert described["deviceState"] == "LOCKED"
    assert described["associatedWithJob"].startswith("JID")
    assert isinstance(described["lastReachedOutAt"], datetime)
    assert isinstance(described["lastUpdatedAt"], datetime)
    capacities = described["deviceCapacities"]
    assert [capacity["name"] for capacity in capacities] == ["HDD Storage", "SSD Storage", "vCPU", "Memory", "GPU"]
    assert {capacity["unit"] for capacity in capacities} <= {"Byte", "Number"}
    interfaces = described["physicalNetworkInterfaces"]
    assert len(interfaces) >= 1
    assert interfaces[0]["physicalNetworkInterfaceId"].startswith("s.ni-")
    assert interfaces[0]["physicalConnectorType"] == "RJ45"
    assert interfaces[0]["ipAddressAssignment"] == "DHCP"
    assert described["software"]["installedVersion"]


def test_a_device_added_without_a_document_has_no_tags_and_no_resources(sdm: Any, device: str) -> None:
    assert sdm.describe_device(managedDeviceId=device)["tags"] == {}
    assert sdm.list_tags_for_resource(resourceArn=device_arn(device))["tags"] == {}
    assert sdm.list_device_resources(managedDeviceId=device)["resources"] == []


def test_the_keys_of_a_given_document_override_the_defaults(sdm: Any) -> None:
    device = moto_snowdevice.add_device(
        {
            "deviceType": "SBE1",
            "deviceState": "UNLOCKED",
            "tags": {"site": "harbor"},
            "associatedWithJob": "JID2bf11d5a-ea1e-414a-b5b1-3bf7e6a6e111",
            "instances": [INSTANCE_A],
        }
    )
    described = sdm.describe_device(managedDeviceId=device)
    assert described["deviceType"] == "SBE1"
    assert described["deviceState"] == "UNLOCKED"
    assert described["tags"] == {"site": "harbor"}
    assert described["associatedWithJob"] == "JID2bf11d5a-ea1e-414a-b5b1-3bf7e6a6e111"
    resources = sdm.list_device_resources(managedDeviceId=device)["resources"]
    assert [resource["id"] for resource in resources] == [INSTANCE_A["instanceId"]]


def test_a_device_keeps_the_managed_device_id_it_is_given(sdm: Any) -> None:
    device = moto_snowdevice.add_device({"managedDeviceId": "smd-fictbgr3rbcjeqa5"})
    assert device == "smd-fictbgr3rbcjeqa5"
    described = sdm.describe_device(managedDeviceId="smd-fictbgr3rbcjeqa5")
    assert described["managedDeviceArn"] == device_arn("smd-fictbgr3rbcjeqa5")


def test_adding_a_managed_device_id_twice_is_refused_and_keeps_the_first(sdm: Any) -> None:
    moto_snowdevice.add_device({"managedDeviceId": "smd-fictbgr3rbcjeqa5", "deviceType": "SNC1_HDD"})
    with pytest.raises(ValidationException):
        moto_snowdevice.add_device({"managedDeviceId": "smd-fictbgr3rbcjeqa5", "deviceType": "SBE1"})
    assert device_ids(sdm) == ["smd-fictbgr3rbcjeqa5"]
    assert sdm.describe_device(managedDeviceId="smd-fictbgr3rbcjeqa5")["deviceType"] == "SNC1_HDD"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"deviceState": "MELTED"}, "deviceState"),
        ({"deviceCapacities": {"name": "vCPU"}}, "deviceCapacities"),
        ({"colour": "orange"}, "colour"),
        ({"instances": [{"imageId": "s.ami-03f976c3cadaa6111"}]}, "instanceId"),
        ({"instances": [{"instanceId": "s.i-1", "state": {"name": "EXPLODED"}}]}, "name"),
    ],
    ids=["device-state", "capacities-not-a-list", "unknown-key", "instance-without-id", "instance-state"],
)
def test_add_device_refuses_an_invalid_document_naming_the_field_and_adds_nothing(
    sdm: Any, document: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationException) as caught:
        moto_snowdevice.add_device(document)
    assert field in caught.value.message
    assert sdm.list_devices()["devices"] == []


def test_an_unknown_key_in_a_device_document_is_refused_listing_every_allowed_member(sdm: Any) -> None:
    with pytest.raises(ValidationException) as caught:
        moto_snowdevice.add_device({"colour": "orange"})
    message = caught.value.message
    assert "device.colour" in message
    for member in ("deviceType", "deviceState", "tags", "instances"):
        assert member in message.split("one of the members:")[1]


# Devices: DescribeDevice


def test_describe_device_returns_the_document_it_was_given(sdm: Any) -> None:
    interface = {
        "physicalNetworkInterfaceId": "s.ni-530f866d526d4b111",
        "physicalConnectorType": "QSFP",
        "ipAddressAssignment": "STATIC",
        "ipAddress": "10.0.0.5",
        "netmask": "255.255.255.0",
        "defaultGateway": "10.0.0.1",
        "macAddress": "0c:29:3d:5e:4f:21",
    }
    capacities = [{"name": "vCPU", "unit": "Number", "total": 8, "used": 2, "available": 6}]
    software = {"installedVersion": "130", "installingVersion": "131", "installState": "INSTALLING"}
    device = moto_snowdevice.add_device(
        {
            "deviceType": "SNC1_SSD",
            "physicalNetworkInterfaces": [interface],
            "deviceCapacities": capacities,
            "software": software,
            "lastReachedOutAt": 1629760245,
        }
    )
    described = sdm.describe_device(managedDeviceId=device)
    assert described["deviceType"] == "SNC1_SSD"
    assert described["physicalNetworkInterfaces"] == [interface]
    assert described["deviceCapacities"] == capacities
    assert described["software"] == software
    assert described["lastReachedOutAt"].timestamp() == 1629760245


def test_describe_device_refuses_an_unknown_device(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_DEVICE):
        sdm.describe_device(managedDeviceId=UNKNOWN_DEVICE)


# Devices: ListDevices


def test_list_devices_returns_a_summary_of_each_device(sdm: Any) -> None:
    tagged = moto_snowdevice.add_device({"tags": {"site": "harbor"}, "associatedWithJob": "JID-harbor"})
    plain = moto_snowdevice.add_device()
    summaries = sdm.list_devices()["devices"]
    assert [summary["managedDeviceId"] for summary in summaries] == [tagged, plain]
    assert summaries[0] == {
        "managedDeviceId": tagged,
        "managedDeviceArn": device_arn(tagged),
        "associatedWithJob": "JID-harbor",
        "tags": {"site": "harbor"},
    }
    assert summaries[1]["managedDeviceArn"] == device_arn(plain)
    assert summaries[1]["associatedWithJob"].startswith("JID")


def test_list_devices_filters_by_job_id(sdm: Any) -> None:
    first = moto_snowdevice.add_device({"associatedWithJob": "JID-one"})
    moto_snowdevice.add_device({"associatedWithJob": "JID-two"})
    third = moto_snowdevice.add_device({"associatedWithJob": "JID-one"})
    assert device_ids(sdm, jobId="JID-one") == [first, third]
    assert device_ids(sdm, jobId="JID-none") == []


@pytest.mark.parametrize("count", [5, 4], ids=["partial-last-page", "full-last-page"])
def test_list_devices_pages_through_every_device_exactly_once(sdm: Any, count: int) -> None:
    added = [moto_snowdevice.add_device() for _ in range(count)]
    pages = all_pages(sdm.list_devices, "devices", maxResults=2)
    assert [len(page) for page in pages] == [2] * (count // 2) + ([1] if count % 2 else [])
    assert [summary["managedDeviceId"] for page in pages for summary in page] == added


def test_list_devices_pages_through_a_job_filter(sdm: Any) -> None:
    wanted = []
    for number in range(5):
        job = "JID-wanted" if number % 2 == 0 else "JID-other"
        device = moto_snowdevice.add_device({"associatedWithJob": job})
        if job == "JID-wanted":
            wanted.append(device)
    pages = all_pages(sdm.list_devices, "devices", maxResults=1, jobId="JID-wanted")
    assert [summary["managedDeviceId"] for page in pages for summary in page] == wanted
    assert all(len(page) == 1 for page in pages)


@pytest.mark.parametrize("token", ["abc", "AAAA", "////", "bm90LWEtdG9rZW4="])
def test_list_devices_refuses_a_malformed_next_token(sdm: Any, device: str, token: str) -> None:
    with refused("ValidationException", 400, "nextToken"):
        sdm.list_devices(nextToken=token)


def test_list_devices_refuses_a_token_issued_in_another_region(sdm: Any) -> None:
    for _ in range(2):
        moto_snowdevice.add_device(region_name=OTHER_REGION)
        moto_snowdevice.add_device()
    token = client(OTHER_REGION).list_devices(maxResults=1)["nextToken"]
    with refused("ValidationException", 400, "nextToken"):
        sdm.list_devices(maxResults=1, nextToken=token)


def test_list_devices_refuses_a_token_issued_for_another_job_filter(sdm: Any) -> None:
    for _ in range(3):
        moto_snowdevice.add_device({"associatedWithJob": "JID-one"})
    token = sdm.list_devices(maxResults=1, jobId="JID-one")["nextToken"]
    with refused("ValidationException", 400, "nextToken"):
        sdm.list_devices(maxResults=1, nextToken=token)


def test_list_devices_refuses_a_token_issued_by_list_tasks(sdm: Any, device: str) -> None:
    for _ in range(2):
        new_task(sdm, device)
    token = sdm.list_tasks(maxResults=1)["nextToken"]
    moto_snowdevice.add_device()
    with refused("ValidationException", 400, "nextToken"):
        sdm.list_devices(maxResults=1, nextToken=token)


# Devices: ListDeviceResources


def test_list_device_resources_lists_each_instance_as_an_ec2_instance(sdm: Any, device_with_instances: str) -> None:
    resources = sdm.list_device_resources(managedDeviceId=device_with_instances)["resources"]
    ids = [INSTANCE_A["instanceId"], INSTANCE_B["instanceId"], INSTANCE_C["instanceId"]]
    assert [resource["id"] for resource in resources] == ids
    for resource in resources:
        assert resource["resourceType"] == EC2_INSTANCE
        assert resource["arn"].startswith(f"arn:aws:ec2:{REGION}:{DEFAULT_ACCOUNT_ID}:instance/")
        assert resource["arn"].endswith("/" + resource["id"])


def test_list_device_resources_of_type_ec2_instance_returns_the_instances(sdm: Any, device_with_instances: str) -> None:
    resources = sdm.list_device_resources(managedDeviceId=device_with_instances, type=EC2_INSTANCE)
    assert len(resources["resources"]) == 3


@pytest.mark.parametrize("resource_type", ["AWS::EC2::Volume", "AWS::S3::Bucket"])
def test_list_device_resources_of_another_type_returns_none(
    sdm: Any, device_with_instances: str, resource_type: str
) -> None:
    resources = sdm.list_device_resources(managedDeviceId=device_with_instances, type=resource_type)
    assert resources["resources"] == []
    assert "nextToken" not in resources


def test_list_device_resources_pages_through_every_instance_exactly_once(sdm: Any, device_with_instances: str) -> None:
    pages = all_pages(sdm.list_device_resources, "resources", managedDeviceId=device_with_instances, maxResults=2)
    assert [len(page) for page in pages] == [2, 1]
    assert [resource["id"] for page in pages for resource in page] == [
        INSTANCE_A["instanceId"],
        INSTANCE_B["instanceId"],
        INSTANCE_C["instanceId"],
    ]


def test_list_device_resources_refuses_a_token_issued_for_another_device(sdm: Any, device_with_instances: str) -> None:
    other = moto_snowdevice.add_device({"instances": [INSTANCE_A, INSTANCE_B]})
    token = sdm.list_device_resources(managedDeviceId=device_with_instances, maxResults=1)["nextToken"]
    with refused("ValidationException", 400, "nextToken"):
        sdm.list_device_resources(managedDeviceId=other, maxResults=1, nextToken=token)


def test_list_device_resources_refuses_an_unknown_device(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_DEVICE):
        sdm.list_device_resources(managedDeviceId=UNKNOWN_DEVICE)


# Devices: DescribeDeviceEc2Instances


def test_describe_device_ec2_instances_returns_the_requested_instances_in_request_order(
    sdm: Any, device_with_instances: str
) -> None:
    requested = [INSTANCE_C["instanceId"], INSTANCE_A["instanceId"]]
    found = sdm.describe_device_ec2_instances(managedDeviceId=device_with_instances, instanceIds=requested)["instances"]
    assert [summary["instance"]["instanceId"] for summary in found] == requested
    assert found[1]["instance"]["imageId"] == INSTANCE_A["imageId"]
    assert found[1]["instance"]["state"] == INSTANCE_A["state"]
    for summary in found:
        assert set(summary) == {"instance", "lastUpdatedAt"}
        assert isinstance(summary["lastUpdatedAt"], datetime)


def test_describe_device_ec2_instances_leaves_out_unknown_instance_ids(sdm: Any, device_with_instances: str) -> None:
    found = sdm.describe_device_ec2_instances(
        managedDeviceId=device_with_instances,
        instanceIds=["s.i-00000000000000000", INSTANCE_B["instanceId"], "s.i-11111111111111111"],
    )["instances"]
    assert [summary["instance"]["instanceId"] for summary in found] == [INSTANCE_B["instanceId"]]


def test_describe_device_ec2_instances_refuses_an_unknown_device(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_DEVICE):
        sdm.describe_device_ec2_instances(managedDeviceId=UNKNOWN_DEVICE, instanceIds=[INSTANCE_A["instanceId"]])


# Seeding: load_fleet


def test_load_fleet_sample_adds_the_packaged_fleet_in_both_regions(sdm: Any) -> None:
    added = moto_snowdevice.load_fleet("sample")
    assert added == SAMPLE_EAST + SAMPLE_WEST
    assert device_ids(sdm) == SAMPLE_EAST
    assert device_ids(client("us-west-2")) == SAMPLE_WEST


def test_devices_of_the_sample_fleet_report_their_instances(sdm: Any) -> None:
    moto_snowdevice.load_fleet("sample")
    east = sdm.list_device_resources(managedDeviceId=SAMPLE_EAST[0])["resources"]
    assert [resource["id"] for resource in east] == ["s.i-84fa8a27d3e15e111", "s.i-0b6f9d2c8a7e4f222"]
    west = client("us-west-2").list_device_resources(managedDeviceId=SAMPLE_WEST[0])["resources"]
    assert [resource["id"] for resource in west] == ["s.i-5e7a1c3b9d2f4e333"]


def sample_instance(sdm: Any) -> dict[str, Any]:
    """The sample fleet's first instance, as DescribeDeviceEc2Instances reports it."""
    moto_snowdevice.load_fleet("sample")
    found = sdm.describe_device_ec2_instances(managedDeviceId=SAMPLE_EAST[0], instanceIds=["s.i-84fa8a27d3e15e111"])[
        "instances"
    ]
    return found[0]["instance"]


def test_instances_of_the_sample_fleet_keep_their_nested_details(sdm: Any) -> None:
    instance = sample_instance(sdm)
    assert instance["cpuOptions"] == {"coreCount": 1, "threadsPerCore": 2}
    assert instance["securityGroups"] == [{"groupId": "s.sg-890b5a8ddea8ad111", "groupName": "default"}]
    ebs = instance["blockDeviceMappings"][0]["ebs"]
    assert ebs["volumeId"].startswith("s.vol-")
    assert ebs["attachTime"].timestamp() == 1629760245


def test_the_sample_fleets_instance_has_a_private_private_address_and_a_public_public_one(sdm: Any) -> None:
    instance = sample_instance(sdm)
    assert ipaddress.ip_address(instance["privateIpAddress"]).is_private
    assert ipaddress.ip_address(instance["publicIpAddress"]).is_global


def test_load_fleet_reads_a_json_file_given_by_path(sdm: Any, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        json.dumps(
            [
                {"device": {"managedDeviceId": "smd-first", "deviceType": "SBE1"}},
                {"region": OTHER_REGION, "device": {"managedDeviceId": "smd-second"}},
            ]
        )
    )
    assert moto_snowdevice.load_fleet(fleet) == ["smd-first", "smd-second"]
    assert sdm.describe_device(managedDeviceId="smd-first")["deviceType"] == "SBE1"
    assert device_ids(client(OTHER_REGION)) == ["smd-second"]


def test_load_fleet_with_one_bad_entry_adds_nothing_at_all(sdm: Any, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.json"
    fleet.write_text(
        json.dumps(
            [
                {"device": {"managedDeviceId": "smd-first"}},
                {"region": OTHER_REGION, "device": {"managedDeviceId": "smd-second"}},
                {"device": {"managedDeviceId": "smd-third", "deviceState": "MELTED"}},
            ]
        )
    )
    with pytest.raises(ValidationException) as caught:
        moto_snowdevice.load_fleet(fleet)
    assert "deviceState" in caught.value.message
    assert device_ids(sdm) == []
    assert device_ids(client(OTHER_REGION)) == []


def test_load_fleet_refuses_a_file_that_is_not_json(aws: None, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.json"
    fleet.write_text("devices: [smd-first]")
    with pytest.raises(ValidationException, match="JSON"):
        moto_snowdevice.load_fleet(fleet)


def test_load_fleet_refuses_a_name_that_is_no_file_and_no_packaged_fleet(aws: None) -> None:
    with pytest.raises(ValidationException, match="no-such-fleet"):
        moto_snowdevice.load_fleet("no-such-fleet")


# Seeding: HTTP twins on moto's API


@pytest.mark.decorator_mode
def test_posting_a_device_adds_it_only_in_the_given_account_and_region(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = requests.post(
        f"{MOTO_API}/devices",
        json={"device": {"deviceType": "SBE1"}, "region": OTHER_REGION, "accountId": OTHER_ACCOUNT},
    )
    assert response.status_code == 200
    body = response.json()
    device = body["managedDeviceId"]
    assert body["managedDeviceArn"] == device_arn(device, OTHER_REGION, OTHER_ACCOUNT)

    with refused("ResourceNotFoundException", 404):
        client(OTHER_REGION).describe_device(managedDeviceId=device)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    assert client(OTHER_REGION).describe_device(managedDeviceId=device)["deviceType"] == "SBE1"
    assert device_ids(client(OTHER_REGION)) == [device]
    with refused("ResourceNotFoundException", 404):
        client(REGION).describe_device(managedDeviceId=device)


@pytest.mark.decorator_mode
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "JSON"),
        (json.dumps([{"device": {}}]), "object"),
        (json.dumps({"device": {"deviceState": "MELTED"}}), "deviceState"),
        (json.dumps({"device": {}, "accountId": "abc"}), "accountId"),
    ],
    ids=["invalid-json", "a-list", "bad-device-state", "bad-account-id"],
)
def test_posting_a_bad_device_body_is_refused_with_400_and_a_json_message(sdm: Any, body: str, words: str) -> None:
    response = requests.post(f"{MOTO_API}/devices", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert device_ids(sdm) == []


@pytest.mark.decorator_mode
@pytest.mark.parametrize("endpoint", ["devices", "fleet", "advance-execution", "cancel-race"])
def test_the_seeding_and_control_endpoints_answer_405_to_get(aws: None, endpoint: str) -> None:
    response = requests.get(f"{MOTO_API}/{endpoint}")
    assert response.status_code == 405
    assert "GET" in response.json()["message"]


@pytest.mark.decorator_mode
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
@pytest.mark.parametrize("path", ["", "/", "/no-such-endpoint", "/faults/extra", "/devices/1/2"])
def test_any_other_path_under_the_control_prefix_answers_404_json_naming_the_endpoints(
    aws: None, method: str, path: str
) -> None:
    response = requests.request(method, f"{MOTO_API}{path}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    message = response.json()["message"]
    assert method in message and "devices" in message and "faults" in message


@pytest.mark.decorator_mode
def test_a_wrong_method_on_a_control_endpoint_says_which_methods_it_allows(aws: None) -> None:
    response = requests.put(f"{MOTO_API}/faults")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, DELETE"
    assert response.json() == {"message": "use POST or DELETE, not PUT"}


@pytest.mark.decorator_mode
def test_posting_a_fleet_adds_every_entry(sdm: Any) -> None:
    response = requests.post(
        f"{MOTO_API}/fleet",
        json=[
            {"device": {"managedDeviceId": "smd-first"}},
            {"region": OTHER_REGION, "device": {"managedDeviceId": "smd-second"}},
        ],
    )
    assert response.status_code == 200
    assert response.json() == {"managedDeviceIds": ["smd-first", "smd-second"]}
    assert device_ids(sdm) == ["smd-first"]
    assert device_ids(client(OTHER_REGION)) == ["smd-second"]


@pytest.mark.decorator_mode
def test_posting_a_fleet_with_one_bad_entry_adds_nothing(sdm: Any) -> None:
    response = requests.post(
        f"{MOTO_API}/fleet",
        json=[{"device": {"managedDeviceId": "smd-first"}}, {"device": {"colour": "orange"}}],
    )
    assert response.status_code == 400
    assert "colour" in response.json()["message"]
    assert device_ids(sdm) == []


# Executions


@pytest.mark.decorator_mode
def test_each_target_gets_one_queued_execution(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device, other_device)

    assert execution_states(sdm, task) == {device: "QUEUED", other_device: "QUEUED"}
    summaries = sdm.list_executions(taskId=task)["executions"]
    assert [summary["managedDeviceId"] for summary in summaries] == [device, other_device]
    assert len({summary["executionId"] for summary in summaries}) == 2
    assert {summary["taskId"] for summary in summaries} == {task}
    # Listing them reported both devices' work: each took its one step
    assert [summary["state"] for summary in summaries] == ["IN_PROGRESS", "IN_PROGRESS"]


@pytest.mark.decorator_mode
def test_a_queued_execution_has_no_started_at(sdm: Any, device: str, transition: SetTransition) -> None:
    transition({"progression": "manual", "times": 2})
    task = new_task(sdm, device)
    described = execution(sdm, task, device)
    assert described["state"] == "QUEUED"
    assert described["executionId"]
    assert described["taskId"] == task
    assert described["managedDeviceId"] == device
    assert "startedAt" not in described


def test_describe_execution_refuses_a_device_the_task_does_not_target(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device)
    with refused("ResourceNotFoundException", 404, other_device):
        execution(sdm, task, other_device)


def test_describe_execution_refuses_an_unknown_task(sdm: Any, device: str) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_TASK):
        execution(sdm, UNKNOWN_TASK, device)


def test_list_executions_requires_a_task_id(raw_sdm: Any) -> None:
    with refused("ValidationException", 400, "taskId"):
        raw_sdm.list_executions()


def test_list_executions_refuses_an_unknown_task(sdm: Any) -> None:
    with refused("ResourceNotFoundException", 404, UNKNOWN_TASK):
        sdm.list_executions(taskId=UNKNOWN_TASK)


@pytest.mark.decorator_mode
def test_list_executions_filters_by_state(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device, other_device)
    moto_snowdevice.advance_execution(task, other_device, "IN_PROGRESS")
    assert execution_states(sdm, task, state="QUEUED") == {device: "QUEUED"}
    assert execution_states(sdm, task, state="IN_PROGRESS") == {other_device: "IN_PROGRESS"}
    assert execution_states(sdm, task, state="SUCCEEDED") == {}


def test_list_executions_pages_through_every_execution_exactly_once(sdm: Any) -> None:
    devices = [moto_snowdevice.add_device() for _ in range(3)]
    task = new_task(sdm, *devices)
    pages = all_pages(sdm.list_executions, "executions", taskId=task, maxResults=2)
    assert [len(page) for page in pages] == [2, 1]
    assert [summary["managedDeviceId"] for page in pages for summary in page] == devices


# Executions: progression


def test_each_describe_execution_moves_the_execution_one_step_by_default(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    first = execution(sdm, task, device)
    assert first["state"] == "IN_PROGRESS"
    assert isinstance(first["startedAt"], datetime)
    second = execution(sdm, task, device)
    assert second["state"] == "SUCCEEDED"
    assert second["startedAt"] == first["startedAt"]
    assert second["lastUpdatedAt"] > first["lastUpdatedAt"]


@pytest.mark.decorator_mode
def test_a_task_is_completed_once_its_execution_succeeded(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    execution(sdm, task, device)
    assert task_state(sdm, task) == "IN_PROGRESS"
    execution(sdm, task, device)
    described = sdm.describe_task(taskId=task)
    assert described["state"] == "COMPLETED"
    assert described["completedAt"] >= described["createdAt"]


@pytest.mark.decorator_mode
def test_a_freshly_created_task_can_always_be_canceled(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    # Calls that report no execution move nothing under the default progression
    for _ in range(3):
        sdm.describe_device(managedDeviceId=device)
        sdm.list_devices()
        sdm.tag_resource(resourceArn=device_arn(device), tags={"site": "north"})
        sdm.list_tags_for_resource(resourceArn=device_arn(device))
        new_task(sdm, device)
        assert execution_states(sdm, task) == {device: "QUEUED"}
    assert sdm.cancel_task(taskId=task)["taskId"] == task
    assert task_state(sdm, task) == "CANCELED"
    assert execution_states(sdm, task) == {device: "CANCELED"}


@pytest.mark.decorator_mode
def test_with_immediate_progression_a_task_is_completed_right_after_creation(
    sdm: Any, device: str, transition: SetTransition
) -> None:
    transition({"progression": "immediate"})
    task = new_task(sdm, device)
    described = sdm.describe_task(taskId=task)
    assert described["state"] == "COMPLETED"
    assert "completedAt" in described
    assert execution_states(sdm, task) == {device: "SUCCEEDED"}


@pytest.mark.decorator_mode
def test_with_manual_progression_twice_each_step_takes_two_describes(
    sdm: Any, device: str, transition: SetTransition
) -> None:
    transition({"progression": "manual", "times": 2})
    task = new_task(sdm, device)
    states = [execution(sdm, task, device)["state"] for _ in range(4)]
    assert states == ["QUEUED", "IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]
    assert task_state(sdm, task) == "COMPLETED"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    stand_in = Clock()
    monkeypatch.setattr(models.core, "time", stand_in)
    return stand_in


@pytest.mark.decorator_mode
def test_with_time_progression_an_execution_moves_one_step_each_period(
    sdm: Any, device: str, transition: SetTransition, clock: Clock
) -> None:
    transition({"progression": "time", "seconds": 60})
    task = new_task(sdm, device)

    states = [execution_states(sdm, task)[device]]
    clock.current += 30
    states.append(execution_states(sdm, task)[device])
    clock.current += 31
    states.append(execution_states(sdm, task)[device])
    clock.current += 61
    states.append(execution_states(sdm, task)[device])

    assert states == ["QUEUED", "QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    assert task_state(sdm, task) == "COMPLETED"


@pytest.mark.decorator_mode
def test_with_time_progression_a_device_catches_up_on_every_period_that_passed_unobserved(
    sdm: Any, device: str, transition: SetTransition, clock: Clock
) -> None:
    transition({"progression": "time", "seconds": 60})
    created = clock.current
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    clock.current += 200

    assert execution_states(sdm, second) == {device: "IN_PROGRESS"}
    assert execution_states(sdm, first) == {device: "SUCCEEDED"}
    ended = execution(sdm, first, device)
    # Each step happened when its period ended, not when it was observed
    assert ended["startedAt"].timestamp() == pytest.approx(created + 60, abs=0.01)
    assert ended["lastUpdatedAt"].timestamp() == pytest.approx(created + 120, abs=0.01)
    assert execution(sdm, second, device)["startedAt"].timestamp() == pytest.approx(created + 180, abs=0.01)


@pytest.mark.decorator_mode
def test_with_immediate_progression_tasks_queued_on_one_device_all_complete(
    sdm: Any, device: str, transition: SetTransition
) -> None:
    transition({"progression": "immediate"})
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    assert task_state(sdm, second) == "COMPLETED"
    assert task_state(sdm, first) == "COMPLETED"
    assert execution_states(sdm, first) == {device: "SUCCEEDED"}
    assert execution_states(sdm, second) == {device: "SUCCEEDED"}


# Executions: one task at a time on a device


@pytest.mark.decorator_mode
def test_a_second_task_on_a_device_stays_queued_while_the_first_runs(sdm: Any, device: str) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    assert execution(sdm, first, device)["state"] == "IN_PROGRESS"
    for _ in range(3):
        waiting = execution_states(sdm, second)
        assert waiting == {device: "QUEUED"}
    assert execution_states(sdm, first) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_polling_the_second_task_works_through_the_first_one_step_per_poll(sdm: Any, device: str) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)

    states = []
    for _ in range(4):
        polled = execution(sdm, second, device)
        states.append((execution_states(sdm, first)[device], polled["state"]))

    assert states == [
        ("IN_PROGRESS", "QUEUED"),
        ("SUCCEEDED", "QUEUED"),
        ("SUCCEEDED", "IN_PROGRESS"),
        ("SUCCEEDED", "SUCCEEDED"),
    ]
    assert task_state(sdm, first) == task_state(sdm, second) == "COMPLETED"


@pytest.mark.decorator_mode
def test_a_second_task_on_a_device_starts_with_its_first_describe_after_the_first_ended(sdm: Any, device: str) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    assert execution(sdm, first, device)["state"] == "IN_PROGRESS"
    assert execution(sdm, second, device)["state"] == "QUEUED"
    assert execution(sdm, first, device)["state"] == "SUCCEEDED"
    started = execution(sdm, second, device)
    assert started["state"] == "IN_PROGRESS"
    assert "startedAt" in started
    assert execution(sdm, second, device)["state"] == "SUCCEEDED"
    assert task_state(sdm, second) == "COMPLETED"


@pytest.mark.decorator_mode
def test_polling_a_queued_execution_while_its_device_is_busy_finishes_the_busy_work_first(
    sdm: Any, device: str
) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    moto_snowdevice.advance_execution(first, device, "IN_PROGRESS")
    assert execution(sdm, second, device)["state"] == "QUEUED"
    assert execution_states(sdm, first) == {device: "SUCCEEDED"}
    # The poll went to the work ahead, so the second task has not started and can still be canceled
    sdm.cancel_task(taskId=second)
    assert task_state(sdm, second) == "CANCELED"


@pytest.mark.decorator_mode
def test_a_task_queued_behind_another_does_not_start_before_it(sdm: Any, device: str) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    assert execution(sdm, second, device)["state"] == "QUEUED"
    assert execution_states(sdm, first) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_describing_finished_work_does_not_start_the_next_task(sdm: Any, device: str) -> None:
    first = new_task(sdm, device)
    execution(sdm, first, device)
    execution(sdm, first, device)
    second = new_task(sdm, device)
    for _ in range(3):
        assert execution(sdm, first, device)["state"] == "SUCCEEDED"
    assert execution_states(sdm, second) == {device: "QUEUED"}
    sdm.cancel_task(taskId=second)
    assert task_state(sdm, second) == "CANCELED"


# Executions: advance_execution


@pytest.mark.decorator_mode
def test_advance_execution_moves_an_execution_through_its_states_and_returns_each(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    assert moto_snowdevice.advance_execution(task, device, "IN_PROGRESS") == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "IN_PROGRESS"}
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert moto_snowdevice.advance_execution(task, device, "SUCCEEDED") == "SUCCEEDED"
    assert execution_states(sdm, task) == {device: "SUCCEEDED"}
    assert task_state(sdm, task) == "COMPLETED"


@pytest.mark.parametrize(
    "steps",
    [
        ["IN_PROGRESS", "FAILED"],
        ["IN_PROGRESS", "TIMED_OUT"],
        ["FAILED"],
        ["TIMED_OUT"],
        ["REJECTED"],
    ],
    ids=lambda steps: "-".join(steps),
)
@pytest.mark.decorator_mode
def test_advance_execution_ends_an_execution_with_any_outcome_and_completes_the_task(
    sdm: Any, device: str, steps: list[str]
) -> None:
    task = new_task(sdm, device)
    for state in steps:
        assert moto_snowdevice.advance_execution(task, device, state) == state
    assert execution_states(sdm, task) == {device: steps[-1]}
    described = sdm.describe_task(taskId=task)
    assert described["state"] == "COMPLETED"
    assert "completedAt" in described


@pytest.mark.decorator_mode
def test_a_task_is_completed_only_once_every_execution_ended(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device, other_device)
    moto_snowdevice.advance_execution(task, device, "REJECTED")
    assert task_state(sdm, task) == "IN_PROGRESS"
    moto_snowdevice.advance_execution(task, other_device, "IN_PROGRESS")
    moto_snowdevice.advance_execution(task, other_device, "FAILED")
    assert task_state(sdm, task) == "COMPLETED"


@pytest.mark.decorator_mode
@pytest.mark.parametrize("final", ["SUCCEEDED", "FAILED", "TIMED_OUT", "REJECTED"])
@pytest.mark.parametrize("target", ["QUEUED", "IN_PROGRESS", "SUCCEEDED", "CANCELED"])
def test_advance_execution_refuses_to_leave_a_final_state_and_changes_nothing(
    sdm: Any, device: str, final: str, target: str
) -> None:
    task = new_task(sdm, device)
    moto_snowdevice.advance_execution(task, device, final)
    before = execution(sdm, task, device)
    with pytest.raises(ValidationException):
        moto_snowdevice.advance_execution(task, device, target)
    assert execution(sdm, task, device) == before
    assert task_state(sdm, task) == "COMPLETED"


@pytest.mark.decorator_mode
def test_advance_execution_refuses_to_go_back_from_in_progress_to_queued(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    moto_snowdevice.advance_execution(task, device, "IN_PROGRESS")
    with pytest.raises(ValidationException, match="QUEUED"):
        moto_snowdevice.advance_execution(task, device, "QUEUED")
    assert execution_states(sdm, task) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
@pytest.mark.parametrize("state", ["IN_PROGRESS", "SUCCEEDED", "FAILED"])
def test_advance_execution_refuses_to_start_work_on_a_busy_device(sdm: Any, device: str, state: str) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    moto_snowdevice.advance_execution(first, device, "IN_PROGRESS")
    with pytest.raises(ValidationException, match=first):
        moto_snowdevice.advance_execution(second, device, state)
    assert execution_states(sdm, second) == {device: "QUEUED"}
    assert execution_states(sdm, first) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_advance_execution_refuses_an_unknown_task(aws: None, device: str) -> None:
    with pytest.raises(ResourceNotFoundException):
        moto_snowdevice.advance_execution(UNKNOWN_TASK, device, "IN_PROGRESS")


@pytest.mark.decorator_mode
def test_advance_execution_refuses_a_device_the_task_does_not_target(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device)
    with pytest.raises(ResourceNotFoundException):
        moto_snowdevice.advance_execution(task, other_device, "IN_PROGRESS")
    with pytest.raises(ResourceNotFoundException):
        moto_snowdevice.advance_execution(task, UNKNOWN_DEVICE, "IN_PROGRESS")


@pytest.mark.decorator_mode
def test_advance_execution_refuses_an_unknown_state_name(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    with pytest.raises(ValidationException, match="DONE"):
        moto_snowdevice.advance_execution(task, device, "DONE")
    assert execution_states(sdm, task) == {device: "QUEUED"}


@pytest.mark.decorator_mode
def test_the_advance_execution_endpoint_answers_the_new_state(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    body = {"taskId": task, "managedDeviceId": device}
    response = requests.post(f"{MOTO_API}/advance-execution", json={**body, "state": "IN_PROGRESS"})
    assert response.status_code == 200
    assert response.json()["state"] == "IN_PROGRESS"
    response = requests.post(f"{MOTO_API}/advance-execution", json={**body, "state": "SUCCEEDED"})
    assert response.status_code == 200
    assert response.json()["state"] == "SUCCEEDED"
    assert task_state(sdm, task) == "COMPLETED"


@pytest.mark.decorator_mode
def test_the_advance_execution_endpoint_refuses_an_impossible_transition_with_400(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    moto_snowdevice.advance_execution(task, device, "SUCCEEDED")
    response = requests.post(
        f"{MOTO_API}/advance-execution",
        json={"taskId": task, "managedDeviceId": device, "state": "IN_PROGRESS"},
    )
    assert response.status_code == 400
    assert "SUCCEEDED" in response.json()["message"]
    assert execution_states(sdm, task) == {device: "SUCCEEDED"}


# Command effects on the device


def test_a_successful_unlock_moves_the_device_from_locked_through_unlocking_to_unlocked(sdm: Any, device: str) -> None:
    assert sdm.describe_device(managedDeviceId=device)["deviceState"] == "LOCKED"
    task = new_task(sdm, device, command=UNLOCK)
    assert execution(sdm, task, device)["state"] == "IN_PROGRESS"
    assert sdm.describe_device(managedDeviceId=device)["deviceState"] == "UNLOCKING"
    assert execution(sdm, task, device)["state"] == "SUCCEEDED"
    assert sdm.describe_device(managedDeviceId=device)["deviceState"] == "UNLOCKED"


@pytest.mark.parametrize("outcome", ["FAILED", "TIMED_OUT"])
def test_an_unlock_that_does_not_succeed_returns_the_device_to_locked(sdm: Any, device: str, outcome: str) -> None:
    task = new_task(sdm, device, command=UNLOCK)
    moto_snowdevice.advance_execution(task, device, "IN_PROGRESS")
    assert sdm.describe_device(managedDeviceId=device)["deviceState"] == "UNLOCKING"
    moto_snowdevice.advance_execution(task, device, outcome)
    assert sdm.describe_device(managedDeviceId=device)["deviceState"] == "LOCKED"


def test_a_queued_unlock_that_is_canceled_leaves_the_device_locked(sdm: Any, device: str) -> None:
    task = new_task(sdm, device, command=UNLOCK)
    sdm.cancel_task(taskId=task)
    assert sdm.describe_device(managedDeviceId=device)["deviceState"] == "LOCKED"


def test_a_successful_reboot_moves_last_reached_out_at_forward(sdm: Any, device: str) -> None:
    before = sdm.describe_device(managedDeviceId=device)["lastReachedOutAt"]
    task = new_task(sdm, device, command=REBOOT)
    execution(sdm, task, device)
    execution(sdm, task, device)
    assert sdm.describe_device(managedDeviceId=device)["lastReachedOutAt"] > before


def test_a_failed_reboot_leaves_last_reached_out_at_alone(sdm: Any, device: str) -> None:
    before = sdm.describe_device(managedDeviceId=device)["lastReachedOutAt"]
    task = new_task(sdm, device, command=REBOOT)
    moto_snowdevice.advance_execution(task, device, "IN_PROGRESS")
    moto_snowdevice.advance_execution(task, device, "FAILED")
    assert sdm.describe_device(managedDeviceId=device)["lastReachedOutAt"] == before


@pytest.mark.parametrize("command", [UNLOCK, REBOOT], ids=["unlock", "reboot"])
def test_the_device_last_updated_at_moves_with_every_change(sdm: Any, device: str, command: dict[str, Any]) -> None:
    created = sdm.describe_device(managedDeviceId=device)["lastUpdatedAt"]
    task = new_task(sdm, device, command=command)
    execution(sdm, task, device)
    started = sdm.describe_device(managedDeviceId=device)["lastUpdatedAt"]
    execution(sdm, task, device)
    ended = sdm.describe_device(managedDeviceId=device)["lastUpdatedAt"]
    assert created < started < ended


# CancelTask against running work


@pytest.mark.decorator_mode
def test_cancel_is_refused_once_the_execution_started(sdm: Any, device: str) -> None:
    task = new_task(sdm, device)
    execution(sdm, task, device)
    with refused("ValidationException", 400, "IN_PROGRESS"):
        sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_cancel_of_a_task_with_one_started_target_cancels_nothing(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device, other_device)
    moto_snowdevice.advance_execution(task, other_device, "IN_PROGRESS")
    with refused("ValidationException", 400, "IN_PROGRESS"):
        sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "QUEUED", other_device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_cancel_moves_every_queued_execution_to_canceled(sdm: Any, device: str, other_device: str) -> None:
    task = new_task(sdm, device, other_device)
    sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "CANCELED"
    assert execution_states(sdm, task) == {device: "CANCELED", other_device: "CANCELED"}
    assert execution(sdm, task, device)["state"] == "CANCELED"


def test_a_canceled_task_frees_the_device_for_the_next_task(sdm: Any, device: str) -> None:
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    sdm.cancel_task(taskId=first)
    assert execution(sdm, second, device)["state"] == "IN_PROGRESS"


# The documented cancel race


@pytest.mark.decorator_mode
def test_with_the_race_on_cancel_answers_200_but_the_execution_runs_on(sdm: Any, device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    task = new_task(sdm, device)
    response = sdm.cancel_task(taskId=task)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["taskId"] == task
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_a_raced_task_completes_when_its_execution_succeeds(sdm: Any, device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    task = new_task(sdm, device)
    sdm.cancel_task(taskId=task)
    moto_snowdevice.advance_execution(task, device, "SUCCEEDED")
    assert task_state(sdm, task) == "COMPLETED"
    assert execution_states(sdm, task) == {device: "SUCCEEDED"}


@pytest.mark.decorator_mode
def test_the_race_on_one_device_spares_no_other_device(sdm: Any, device: str, other_device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    task = new_task(sdm, other_device)
    sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "CANCELED"
    assert execution_states(sdm, task) == {other_device: "CANCELED"}


@pytest.mark.decorator_mode
def test_the_race_on_one_target_keeps_that_task_from_being_canceled(sdm: Any, device: str, other_device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    task = new_task(sdm, device, other_device)
    sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "IN_PROGRESS", other_device: "CANCELED"}


@pytest.mark.decorator_mode
def test_the_race_can_be_turned_on_for_every_device_of_a_backend(sdm: Any, device: str, other_device: str) -> None:
    moto_snowdevice.simulate_cancel_race()
    task = new_task(sdm, device, other_device)
    sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "IN_PROGRESS", other_device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_the_race_turned_off_again_lets_cancel_work(sdm: Any, device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    moto_snowdevice.simulate_cancel_race(False, managed_device_id=device)
    task = new_task(sdm, device)
    sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "CANCELED"


@pytest.mark.decorator_mode
def test_with_the_race_on_a_busy_device_the_later_queued_execution_is_canceled(sdm: Any, device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    moto_snowdevice.advance_execution(first, device, "IN_PROGRESS")
    sdm.cancel_task(taskId=second)
    assert task_state(sdm, second) == "CANCELED"
    assert execution_states(sdm, second) == {device: "CANCELED"}
    assert execution_states(sdm, first) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_the_race_does_not_let_a_device_skip_the_queue(sdm: Any, device: str) -> None:
    moto_snowdevice.simulate_cancel_race(managed_device_id=device)
    first = new_task(sdm, device)
    second = new_task(sdm, device)
    sdm.cancel_task(taskId=second)
    assert execution_states(sdm, second) == {device: "CANCELED"}
    assert execution_states(sdm, first) == {device: "QUEUED"}


@pytest.mark.decorator_mode
def test_the_cancel_race_endpoint_turns_the_race_on_for_a_device(sdm: Any, device: str) -> None:
    response = requests.post(f"{MOTO_API}/cancel-race", json={"enabled": True, "managedDeviceId": device})
    assert response.status_code == 200
    task = new_task(sdm, device)
    sdm.cancel_task(taskId=task)
    assert task_state(sdm, task) == "IN_PROGRESS"
    assert execution_states(sdm, task) == {device: "IN_PROGRESS"}


@pytest.mark.decorator_mode
def test_the_cancel_race_endpoint_refuses_an_unknown_device_with_400(aws: None) -> None:
    response = requests.post(f"{MOTO_API}/cancel-race", json={"enabled": True, "managedDeviceId": UNKNOWN_DEVICE})
    assert response.status_code == 400
    assert UNKNOWN_DEVICE in response.json()["message"]
