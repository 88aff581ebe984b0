"""What the fleet's property tests share: the calls they make, drawn by hypothesis, and whole snapshots.

A program is a list of calls that change state (`Change`), written in terms of positions (the n-th
device, the n-th task) so that one program runs the same in any backend. Reads (`Read`) are drawn
apart from it: two runs of one program may interleave different reads at different points.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from hypothesis import strategies as st

from moto_snowdevice.exceptions import SnowDeviceManagementError

# Managed device IDs in the documentation's shape (smd- and 16 lower-case letters or digits)
DEVICE_IDS = tuple(f"smd-fict{number:012d}" for number in range(1, 5))
TASK_STATES = ("IN_PROGRESS", "CANCELED", "COMPLETED")
EXECUTION_STATES = ("QUEUED", "IN_PROGRESS", "CANCELED", "FAILED", "SUCCEEDED", "REJECTED", "TIMED_OUT")
FINAL_EXECUTION_STATES = frozenset({"CANCELED", "FAILED", "SUCCEEDED", "REJECTED", "TIMED_OUT"})
OUTCOMES = ("SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT")
# Pages of one, two, or the service's default: a listing's look-ahead differs with each
PAGE_SIZES = (1, 2, None)


@dataclass(frozen=True)
class Change:
    """One call that changes state: `name` and its arguments, in positions (see `arguments`)."""

    name: str
    arguments: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Read:
    """One read: `name` (an operation) and positions of the task or device it names, a filter, a page size."""

    name: str
    task: int = 0
    device: int = 0
    state: str | None = None
    page_size: int | None = None


positions = st.integers(min_value=0, max_value=9)
targets = st.lists(st.integers(min_value=0, max_value=len(DEVICE_IDS) - 1), min_size=1, max_size=3, unique=True)
weights = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(OUTCOMES), st.integers(min_value=0, max_value=3), min_size=1).filter(
        lambda drawn: sum(drawn.values()) > 0
    ),
)
scripts = st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=3)
maybe_device = st.one_of(st.none(), st.integers(min_value=0, max_value=len(DEVICE_IDS) - 1))
tags = st.dictionaries(st.sampled_from(("rack", "site", "owner")), st.sampled_from(("1", "2", "")), min_size=1)


def changes(*, ticks: st.SearchStrategy[float] | None, fleet_clock: bool = False) -> st.SearchStrategy[Change]:
    """Calls that change state (and moves of the clock, when `ticks` or `fleet_clock` allow them)."""
    options = [
        st.builds(lambda t, c: Change("create_task", (tuple(t), c)), targets, st.sampled_from(("reboot", "unlock"))),
        st.builds(lambda t, c: Change("create_task", (tuple(t), c)), targets, st.sampled_from(("reboot", "unlock"))),
        st.builds(lambda t: Change("cancel_task", (t,)), positions),
        st.builds(
            lambda t, d, s: Change("advance_execution", (t, d, s)),
            positions,
            positions,
            st.sampled_from(("IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "CANCELED")),
        ),
        st.builds(lambda d, o: Change("set_device_online", (d, o)), st.integers(0, len(DEVICE_IDS) - 1), st.booleans()),
        st.builds(lambda s: Change("set_execution_timeout", (s,)), st.sampled_from((None, 60, 100, 300))),
        st.builds(lambda w, d: Change("set_execution_outcomes", (w, d)), weights, maybe_device),
        st.builds(lambda e, d: Change("simulate_cancel_race", (e, d)), st.booleans(), maybe_device),
        st.builds(lambda d, t: Change("tag_device", (d, t)), st.integers(0, len(DEVICE_IDS) - 1), tags),
        st.builds(lambda t, g: Change("tag_task", (t, g)), positions, tags),
    ]
    if ticks is not None:
        options += [st.builds(lambda s: Change("tick", (s,)), ticks)] * 2
    if fleet_clock:
        options += [st.builds(lambda s: Change("advance_clock", (s,)), st.sampled_from((0, 1, 30, 60, 100, 250)))] * 2
    return st.one_of(options)


def reads(*, moving: bool = True) -> st.SearchStrategy[Read]:
    """Reads; without `moving`, only those that never move work under the manual progression."""
    still = [
        st.builds(lambda d: Read("describe_device", device=d), positions),
        st.builds(lambda p: Read("list_devices", page_size=p), st.sampled_from(PAGE_SIZES)),
        st.builds(lambda d: Read("list_device_resources", device=d), positions),
        st.builds(lambda d: Read("list_tags_for_resource", device=d), positions),
    ]
    work = [
        st.builds(lambda t: Read("describe_task", task=t), positions),
        st.builds(
            lambda s, p: Read("list_tasks", state=s, page_size=p),
            st.sampled_from((None, *TASK_STATES)),
            st.sampled_from(PAGE_SIZES),
        ),
        st.builds(lambda t, d: Read("describe_execution", task=t, device=d), positions, positions),
        st.builds(
            lambda t, s, p: Read("list_executions", task=t, state=s, page_size=p),
            positions,
            st.sampled_from((None, *EXECUTION_STATES)),
            st.sampled_from(PAGE_SIZES),
        ),
    ]
    return st.one_of(still + work if moving else still)


def answer(call: Callable[[], Any]) -> Any:
    """What a call answered, without the request's own metadata; a refusal as its error code."""
    try:
        result = call()
    except ClientError as error:
        return ("error", error.response["Error"]["Code"])
    except SnowDeviceManagementError as error:
        return ("error", type(error).__name__)
    if isinstance(result, dict):
        result = {key: value for key, value in result.items() if key != "ResponseMetadata"}
    return result


def pages(call: Callable[..., dict[str, Any]], key: str, page_size: int | None, **parameters: Any) -> list[Any]:
    """Every item of a listing, page by page (at most 100 pages: more is a failure, not a hang)."""
    items: list[Any] = []
    token: str | None = None
    for _ in range(100):
        given = dict(parameters)
        if page_size is not None:
            given["maxResults"] = page_size
        if token is not None:
            given["nextToken"] = token
        page = call(**given)
        items.extend(page[key])
        token = page.get("nextToken")
        if token is None:
            return items
    raise AssertionError(f"{key} did not end within 100 pages")


class Fleet:
    """The tasks and devices a run knows, in creation order, and the reads and snapshots over a client."""

    def __init__(self, client: Any, device_ids: list[str]) -> None:
        self.client = client
        self.device_ids = device_ids
        self.task_ids: list[str] = []
        self.targets: dict[str, list[str]] = {}

    def task(self, position: int) -> str | None:
        return self.task_ids[position % len(self.task_ids)] if self.task_ids else None

    def device(self, position: int) -> str:
        return self.device_ids[position % len(self.device_ids)]

    def read(self, read: Read) -> Any:
        """The answer to one read, with its task and device positions taken modulo what the run knows."""
        client, task_id, device_id = self.client, self.task(read.task), self.device(read.device)
        if read.name == "describe_device":
            return answer(lambda: client.describe_device(managedDeviceId=device_id))
        if read.name == "list_devices":
            return answer(lambda: pages(client.list_devices, "devices", read.page_size))
        if read.name == "list_device_resources":
            return answer(lambda: pages(client.list_device_resources, "resources", None, managedDeviceId=device_id))
        if read.name == "list_tasks":
            filters = {"state": read.state} if read.state else {}
            return answer(lambda: pages(client.list_tasks, "tasks", read.page_size, **filters))
        if read.name == "list_tags_for_resource":
            arn = str(client.describe_device(managedDeviceId=device_id)["managedDeviceArn"])
            return answer(lambda: client.list_tags_for_resource(resourceArn=arn))
        if task_id is None:
            return None
        if read.name == "describe_task":
            return answer(lambda: client.describe_task(taskId=task_id))
        if read.name == "describe_execution":
            target = self.targets[task_id][read.device % len(self.targets[task_id])]
            return answer(lambda: client.describe_execution(taskId=task_id, managedDeviceId=target))
        filters = {"state": read.state} if read.state else {}
        return answer(lambda: pages(client.list_executions, "executions", read.page_size, taskId=task_id, **filters))

    def executions(self) -> Iterator[tuple[str, str]]:
        for task_id in self.task_ids:
            for device_id in self.targets[task_id]:
                yield task_id, device_id

    def snapshot(self) -> dict[str, Any]:
        """Every Describe*/List* answer about every task, execution and device the run knows."""
        client = self.client
        tasks = {task_id: answer(lambda t=task_id: client.describe_task(taskId=t)) for task_id in self.task_ids}
        arns = [task["taskArn"] for task in tasks.values() if isinstance(task, dict)]
        devices = {
            device_id: answer(lambda d=device_id: client.describe_device(managedDeviceId=d))
            for device_id in self.device_ids
        }
        arns += [device["managedDeviceArn"] for device in devices.values() if isinstance(device, dict)]
        return {
            "tasks": tasks,
            "listTasks": {
                state: pages(client.list_tasks, "tasks", None, **({"state": state} if state else {}))
                for state in (None, *TASK_STATES)
            },
            "executions": {
                f"{task_id} {device_id}": answer(
                    lambda t=task_id, d=device_id: client.describe_execution(taskId=t, managedDeviceId=d)
                )
                for task_id, device_id in self.executions()
            },
            "listExecutions": {
                task_id: pages(client.list_executions, "executions", None, taskId=task_id) for task_id in self.task_ids
            },
            "devices": devices,
            "listDevices": pages(client.list_devices, "devices", None),
            "resources": {
                device_id: answer(
                    lambda d=device_id: pages(client.list_device_resources, "resources", None, managedDeviceId=d)
                )
                for device_id in self.device_ids
            },
            "tags": {arn: answer(lambda a=arn: client.list_tags_for_resource(resourceArn=a)) for arn in arns},
        }
