"""Robustness: generated input for every operation, malformed HTTP, random and concurrent call sequences.

In-process (boto3 under mock_aws) and over HTTP against the mock server: no answer is a 5xx, every error
is one the operation documents in botocore's model and comes as JSON with a message, input the model
forbids is refused with ValidationException, and the tasks stay consistent whatever order calls come in.
"""

import http.client
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
import botocore.session
import pytest
import requests
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.moto_api import state_manager

import moto_snowdevice
from moto_snowdevice._checks import MAX_TIMES
from moto_snowdevice.exceptions import SnowDeviceManagementError
from moto_snowdevice.models import EC2_INSTANCE, snowdevicemanagement_backends

SERVICE = "snow-device-management"
REGION = "us-east-1"
DUMMY_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
CONTROL = f"/moto-api/{SERVICE}"
EXECUTION_MODEL = f"{SERVICE}::execution"
# moto's manual progression with the largest count: no run reports a device's work that often, so a check of
# the whole state reads it at one moment (the documented way to look without moving work)
HOLD_STILL = {"progression": "manual", "times": MAX_TIMES}
MODEL = botocore.session.get_session().get_service_model(SERVICE)
OPERATIONS = sorted(MODEL.operation_names)
DOCUMENTED_ERRORS = {
    name: frozenset(shape.name for shape in MODEL.operation_model(name).error_shapes) for name in OPERATIONS
}
URI_MEMBERS = {
    name: [
        member_name
        for member_name, member in MODEL.operation_model(name).input_shape.members.items()
        if member.serialization.get("location") == "uri"
    ]
    for name in OPERATIONS
}
ERROR_STATUS = {shape.name: shape.metadata["error"]["httpStatusCode"] for shape in MODEL.error_shapes}
TASK_STATES = frozenset(MODEL.shape_for("TaskState").enum)
EXECUTION_STATES = tuple(MODEL.shape_for("ExecutionState").enum)
# Work not yet over: a task is IN_PROGRESS exactly while one of its executions is in one of these
UNFINISHED_EXECUTION_STATES = frozenset({"QUEUED", "IN_PROGRESS"})
COMMANDS = tuple(MODEL.shape_for("Command").members)
# What the service answers when a path names no operation at all (an empty path label, say)
NO_OPERATION = "UnknownOperationException"
# Signed for the service but never sent through botocore, so any path, method and body can be tried
SIGNED_HEADER = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/"
    "snow-device-management/aws4_request, SignedHeaders=host, Signature=0"
}
IN_PROCESS_URL = f"https://{SERVICE}.{REGION}.amazonaws.com"

SEED_DEVICE = "smd-robustnessseed01"
SEED_JOB = "JID2bf11d5a-ea1e-414a-b5b1-3bf7e6a6e111"
SEED_INSTANCE = "s.i-84fa8a27d3e15e111"
SEED_DOCUMENT = {
    "managedDeviceId": SEED_DEVICE,
    "associatedWithJob": SEED_JOB,
    "instances": [{"instanceId": SEED_INSTANCE}],
}

FUZZ_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SEQUENCE_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# Where the mock runs: in this process under mock_aws, or as the server in a process of its own


def make_client(endpoint_url: str | None = None) -> Any:
    """A client that skips botocore's own checks and never retries, so every answer of the mock shows."""
    config = Config(parameter_validation=False, retries={"total_max_attempts": 1})
    return boto3.client(SERVICE, region_name=REGION, endpoint_url=endpoint_url, config=config, **DUMMY_KEYS)


class InProcessMock:
    """The mock inside this process; the caller holds mock_aws open. One client for all its examples."""

    url: str | None = None

    def __init__(self) -> None:
        self.client = make_client(self.url)
        self.recorder = CallRecorder(self.client)
        self.refs: dict[str, str] | None = None

    def reset(self) -> None:
        snowdevicemanagement_backends.reset()
        self.refs = None

    def add_device(self, document: dict[str, Any] | None = None) -> str:
        return moto_snowdevice.add_device(document)

    def advance(self, task_id: str, managed_device_id: str, state: str) -> bool:
        try:
            moto_snowdevice.advance_execution(task_id, managed_device_id, state)
        except SnowDeviceManagementError:
            return False
        return True

    def set_transition(self, transition: dict[str, Any] | None) -> None:
        """Set moto's progression for this service's executions; None removes it."""
        if transition is None:
            state_manager.unset_transition(EXECUTION_MODEL)
        else:
            state_manager.set_transition(EXECUTION_MODEL, transition)


class ServerMock(InProcessMock):
    """The mock server of the session, seeded and controlled through moto's API."""

    def __init__(self, url: str):
        self.url = url
        super().__init__()

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()
        self.refs = None

    def add_device(self, document: dict[str, Any] | None = None) -> str:
        response = requests.post(f"{self.url}{CONTROL}/devices", json={"device": document or {}}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["managedDeviceId"]

    def advance(self, task_id: str, managed_device_id: str, state: str) -> bool:
        body = {"taskId": task_id, "managedDeviceId": managed_device_id, "state": state}
        response = requests.post(f"{self.url}{CONTROL}/advance-execution", json=body, timeout=30)
        assert response.status_code in (200, 400), response.text
        return response.status_code == 200

    def set_transition(self, transition: dict[str, Any] | None) -> None:
        if transition is None:
            route, body = "unset-transition", {"model_name": EXECUTION_MODEL}
        else:
            route, body = "set-transition", {"model_name": EXECUTION_MODEL, "transition": transition}
        response = requests.post(f"{self.url}/moto-api/state-manager/{route}", json=body, timeout=30)
        # moto's state manager answers both routes with 201
        assert response.status_code == 201, response.text


@contextmanager
def held_still(mock: InProcessMock) -> Iterator[None]:
    """While the block runs, no read moves work: the block sees the whole state at one moment."""
    mock.set_transition(HOLD_STILL)
    try:
        yield
    finally:
        mock.set_transition(None)


class CallRecorder:
    """Whether a call left the client, and the raw answer it got, seen through botocore's events."""

    def __init__(self, client: Any):
        self.sent = False
        self.answer: dict[str, Any] | None = None
        client.meta.events.register_first(f"before-send.{SERVICE}", self._before_send)
        client.meta.events.register(f"before-parse.{SERVICE}", self._before_parse)

    def start(self) -> None:
        self.sent = False
        self.answer = None

    def _before_send(self, **kwargs: Any) -> None:
        self.sent = True

    def _before_parse(self, response_dict: dict[str, Any], **kwargs: Any) -> None:
        self.answer = response_dict


@pytest.fixture(params=["in-process", "server"])
def mock(request: pytest.FixtureRequest) -> Iterator[InProcessMock]:
    if request.param == "server":
        yield ServerMock(request.getfixturevalue("sdm_server"))
    else:
        with mock_aws():
            yield InProcessMock()


@pytest.fixture
def server(sdm_server: str) -> ServerMock:
    return ServerMock(sdm_server)


# Helpers


def error_of(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def all_pages(call: Callable[..., dict[str, Any]], key: str, **params: Any) -> list[Any]:
    """Every item of a paginated listing, following nextToken to the end."""
    items: list[Any] = []
    for _ in range(10_000):
        page = call(**params)
        items.extend(page[key])
        token = page.get("nextToken")
        if token is None:
            return items
        params["nextToken"] = token
    raise AssertionError(f"{key} never stopped paginating")


class WireResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def send_raw(
    url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> WireResponse:
    """One request with exactly this path and body (http.client leaves the path as it is given)."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={**SIGNED_HEADER, **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        return WireResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        connection.close()


def assert_json_error(response: WireResponse, allowed: frozenset[str] | set[str] | None = None) -> str:
    """A 4xx answer in the service's error form: JSON content, a message, the error named in a header."""
    assert 400 <= response.status < 500, (response.status, response.body[:300])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str), body
    code = response.headers.get("x-amzn-errortype")
    assert code, response.headers
    if allowed is not None:
        assert code in allowed, (code, body)
    if code in ERROR_STATUS:
        assert response.status == ERROR_STATUS[code], (code, response.status)
    return code


def assert_still_serving(url: str) -> None:
    response = send_raw(url, "GET", "/tasks")
    assert response.status == 200, response.body[:300]
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json()["tasks"], list)


# Generated input, from the service model's shapes


@dataclass(frozen=True)
class Ref:
    """Stands for an identifier that exists, resolved once the example's resources are seeded."""

    name: str


# Which existing resource a member (or a list's items) may name, so generated calls also reach real ones
REFERENCES = {
    "taskId": ("task_id",),
    "managedDeviceId": ("device_id",),
    "targets": ("device_id",),
    "resourceArn": ("task_arn", "device_arn"),
    "jobId": ("job_id",),
    "instanceIds": ("instance_id",),
}
# Values a member takes that the model does not spell out as an enum
KNOWN_VALUES = {"type": (EC2_INSTANCE,)}

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(),
    st.text(max_size=8),
)
ANY_JSON = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
SURROGATES = st.lists(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]), min_size=1, max_size=3
).map("".join)
# Text that is no integer on the wire, some of which Python's int() would still read as one
NOT_PLAIN_DIGITS = st.one_of(st.text(max_size=8), st.sampled_from(["1_0", " 5", "5 ", "0x10"]))


def values_for(shape: Any, name: str, extra: bool) -> st.SearchStrategy[Any]:
    """Valid, boundary and invalid values for one shape: wrong JSON types always among them.

    `extra` adds members a structure does not have (botocore's serializer cannot send those).
    """
    build = _VALUE_CHOICES.get(shape.type_name)
    choices = build(shape, name, extra) if build is not None else []
    choices.append(ANY_JSON)
    return st.one_of(choices)


def _string_values(shape: Any, name: str, extra: bool) -> list[st.SearchStrategy[Any]]:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    choices: list[st.SearchStrategy[Any]] = [
        st.text(min_size=1, max_size=80 if high is None else min(high + 2, 80)),
        SURROGATES,
    ]
    lengths = {0, 1}
    if low is not None:
        lengths |= {max(low - 1, 0), low}
    if high is not None:
        lengths |= {high, high + 1}
    characters = st.sampled_from(["a", "Z", "é", "\x00", "/", "%", "\U0001f600", " "])
    choices.append(st.tuples(characters, st.sampled_from(sorted(lengths))).map(lambda pair: pair[0] * pair[1]))
    if shape.enum:
        choices.append(st.sampled_from(shape.enum))
        choices.append(st.sampled_from(shape.enum).map(lambda value: value.lower() + "_UNKNOWN"))
    if "pattern" in meta:
        pattern = st.from_regex(f"(?:{meta['pattern']})", fullmatch=True)
        if high is not None:
            pattern = pattern.map(lambda value: value[:high])
        choices.append(pattern)
    if name in REFERENCES:
        references = st.sampled_from([Ref(ref) for ref in REFERENCES[name]])
        choices.extend([references, references])
    if name in KNOWN_VALUES:
        choices.append(st.sampled_from(KNOWN_VALUES[name]))
    return choices


def _number_values(shape: Any, name: str, extra: bool) -> list[st.SearchStrategy[Any]]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    edges = {0, -1, 2**31, 2**63, -(2**63)}
    if low is not None:
        edges |= {low - 1, low}
    if high is not None:
        edges |= {high, high + 1}
    return [st.integers(min_value=low, max_value=high), st.sampled_from(sorted(edges)), NOT_PLAIN_DIGITS, st.floats()]


def _list_values(shape: Any, name: str, extra: bool) -> list[st.SearchStrategy[Any]]:
    return [st.lists(values_for(shape.member, name, extra), max_size=12)]


def _map_values(shape: Any, name: str, extra: bool) -> list[st.SearchStrategy[Any]]:
    return [st.dictionaries(st.text(max_size=20), values_for(shape.value, "value", extra), max_size=12)]


def _structure_values(shape: Any, name: str, extra: bool) -> list[st.SearchStrategy[Any]]:
    return [structures(shape, extra)]


def _boolean_values(shape: Any, name: str, extra: bool) -> list[st.SearchStrategy[Any]]:
    return [st.booleans()]


# The choices of each shape type beside any JSON; a type missing here (timestamp) gets any JSON only
_VALUE_CHOICES: dict[str, Callable[[Any, str, bool], list[st.SearchStrategy[Any]]]] = {
    "string": _string_values,
    "integer": _number_values,
    "long": _number_values,
    "list": _list_values,
    "map": _map_values,
    "structure": _structure_values,
    "boolean": _boolean_values,
}


MISSING = object()


def sometimes_missing(strategy: st.SearchStrategy[Any], one_in: int) -> st.SearchStrategy[Any]:
    """The strategy's values, or (one time in `one_in`) no value at all."""
    return st.integers(1, one_in).flatmap(lambda roll: st.just(MISSING) if roll == 1 else strategy)


def structures(shape: Any, extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Structures with optional members left out, required ones now and then missing, unknown ones added."""
    members = {
        name: sometimes_missing(values_for(member, name, extra), 8 if name in shape.required_members else 2)
        for name, member in shape.members.items()
    }
    not_a_member = st.text(min_size=1, max_size=10).filter(lambda key: key not in shape.members)
    unknown = st.dictionaries(not_a_member, ANY_JSON, max_size=2) if extra else st.just({})

    def build(parts: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
        known, additional = parts
        return {**additional, **{key: value for key, value in known.items() if value is not MISSING}}

    return st.tuples(st.fixed_dictionaries(members), unknown).map(build)


def valid_values_for(shape: Any, name: str) -> st.SearchStrategy[Any]:
    """Only values the model allows for the shape (and existing identifiers where the member names one)."""
    build = _VALID_VALUES.get(shape.type_name)
    if build is None:
        raise AssertionError(f"no strategy for {shape.type_name}")
    return build(shape, name)


def _valid_strings(shape: Any, name: str) -> st.SearchStrategy[Any]:
    meta = shape.metadata
    low, high = meta.get("min"), meta.get("max")
    if shape.enum:
        return st.sampled_from(shape.enum)
    if name in KNOWN_VALUES:
        return st.sampled_from(KNOWN_VALUES[name])
    if "pattern" in meta:
        strategy = st.from_regex(f"(?:{meta['pattern']})", fullmatch=True)
        if high is not None:
            strategy = strategy.map(lambda value: value[:high])
        strategy = strategy.filter(lambda value: len(value) >= (low or 0))
    else:
        strategy = st.text(min_size=low or 0, max_size=min(high or 40, 40))
    if name in REFERENCES:
        references = st.sampled_from([Ref(ref) for ref in REFERENCES[name]])
        return st.one_of(references, references, strategy)
    return strategy


def _valid_numbers(shape: Any, name: str) -> st.SearchStrategy[Any]:
    return st.integers(min_value=shape.metadata.get("min"), max_value=shape.metadata.get("max"))


def _valid_booleans(shape: Any, name: str) -> st.SearchStrategy[Any]:
    return st.booleans()


def _valid_lists(shape: Any, name: str) -> st.SearchStrategy[Any]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    return st.lists(valid_values_for(shape.member, name), min_size=low or 0, max_size=min(high or 12, 12))


def _valid_maps(shape: Any, name: str) -> st.SearchStrategy[Any]:
    return st.dictionaries(
        valid_values_for(shape.key, "key"),
        valid_values_for(shape.value, "value"),
        min_size=shape.metadata.get("min") or 0,
        max_size=5,
    )


def _valid_structures(shape: Any, name: str) -> st.SearchStrategy[Any]:
    members = {key: valid_values_for(member, key) for key, member in shape.members.items()}
    if shape.is_tagged_union:
        return st.sampled_from(sorted(members)).flatmap(
            lambda chosen: members[chosen].map(lambda value: {chosen: value})
        )
    required = {key: value for key, value in members.items() if key in shape.required_members}
    optional = {key: value for key, value in members.items() if key not in shape.required_members}
    return st.fixed_dictionaries(required, optional=optional)


_VALID_VALUES: dict[str, Callable[[Any, str], st.SearchStrategy[Any]]] = {
    "string": _valid_strings,
    "integer": _valid_numbers,
    "long": _valid_numbers,
    "boolean": _valid_booleans,
    "list": _valid_lists,
    "map": _valid_maps,
    "structure": _valid_structures,
}


def one_member_off(shape: Any, extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    """A valid input with one member given any value, or left out."""

    def spoil(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(sorted(shape.members)).flatmap(
            lambda name: st.one_of(st.just(MISSING), values_for(shape.members[name], name, extra)).map(
                lambda value: {key: item for key, item in {**valid, name: value}.items() if item is not MISSING}
            )
        )

    return valid_values_for(shape, "").flatmap(spoil)


def inputs(operation: str, extra: bool) -> st.SearchStrategy[dict[str, Any]]:
    """An operation's input: valid, valid but for one member, or anything the shapes allow and forbid."""
    shape = MODEL.operation_model(operation).input_shape
    return st.one_of(valid_values_for(shape, ""), one_member_off(shape, extra), structures(shape, extra))


# Inputs for botocore (only members the model has) and for the wire (unknown members too)
BOTO3_INPUTS = {name: inputs(name, extra=False) for name in OPERATIONS}
WIRE_INPUTS = {name: inputs(name, extra=True) for name in OPERATIONS}


def resolve(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, Ref):
        return refs[value.name]
    if isinstance(value, list):
        return [resolve(item, refs) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, refs) for key, item in value.items()}
    return value


def seed(mock: InProcessMock) -> dict[str, str]:
    """One device (with a job and an EC2 instance) and one task on it, once per mock; their names for Ref."""
    if mock.refs is None:
        client = mock.client
        device_id = mock.add_device(SEED_DOCUMENT)
        device_arn = client.describe_device(managedDeviceId=device_id)["managedDeviceArn"]
        task = client.create_task(targets=[device_id], command={"reboot": {}})
        mock.refs = {
            "device_id": device_id,
            "device_arn": device_arn,
            "task_id": task["taskId"],
            "task_arn": task["taskArn"],
            "job_id": SEED_JOB,
            "instance_id": SEED_INSTANCE,
        }
    return mock.refs


# The model's rules, read generically: what the service must refuse


VALID, INVALID = "valid", "invalid"
# An integer in a query string: plain decimal digits, as AWS reads them
PLAIN_INTEGER = re.compile(r"-?[0-9]+")


def _outside(number: int, meta: dict[str, Any]) -> bool:
    return ("min" in meta and number < meta["min"]) or ("max" in meta and number > meta["max"])


def breaks_model(shape: Any, value: Any) -> bool:
    """Whether a value (None meaning absent) breaks the shape's rules in the service model."""
    rule = _MODEL_RULES.get(shape.type_name)
    if rule is None:
        raise AssertionError(f"no rule for {shape.type_name}")
    return rule(shape, value)


def _string_breaks(shape: Any, value: Any) -> bool:
    meta = shape.metadata
    if not isinstance(value, str):
        return True
    return (
        _outside(len(value), meta)
        or bool(shape.enum and value not in shape.enum)
        or ("pattern" in meta and re.fullmatch(meta["pattern"], value) is None)
    )


def _number_breaks(shape: Any, value: Any) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or _outside(value, shape.metadata)


def _boolean_breaks(shape: Any, value: Any) -> bool:
    return not isinstance(value, bool)


def _list_breaks(shape: Any, value: Any) -> bool:
    return (
        not isinstance(value, list)
        or _outside(len(value), shape.metadata)
        or any(breaks_model(shape.member, item) for item in value)
    )


def _map_breaks(shape: Any, value: Any) -> bool:
    return (
        not isinstance(value, dict)
        or _outside(len(value), shape.metadata)
        or any(breaks_model(shape.key, key) or breaks_model(shape.value, item) for key, item in value.items())
    )


def _structure_breaks(shape: Any, value: Any) -> bool:
    if not isinstance(value, dict):
        return True
    # Members the shape does not have are ignored, as AWS ignores them
    present = {key: item for key, item in value.items() if key in shape.members and item is not None}
    if any(key not in present for key in shape.required_members):
        return True
    if shape.is_tagged_union and len(present) != 1:
        return True
    return any(breaks_model(shape.members[key], item) for key, item in present.items())


_MODEL_RULES: dict[str, Callable[[Any, Any], bool]] = {
    "string": _string_breaks,
    "integer": _number_breaks,
    "long": _number_breaks,
    "boolean": _boolean_breaks,
    "list": _list_breaks,
    "map": _map_breaks,
    "structure": _structure_breaks,
}


def _wire_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _encode(text: str) -> str:
    # Dots too, so no client or server takes a label for a '.' or '..' path segment
    return quote(text.encode("utf-8", "surrogatepass"), safe="").replace(".", "%2E")


def _has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


@dataclass
class WireRequest:
    method: str
    path: str
    body: bytes | None
    names_operation: bool
    verdict: str


def wire_request(operation: str, params: dict[str, Any]) -> WireRequest:
    """The HTTP request a rest-json client sends for these parameters, and what the model says of it."""
    model = MODEL.operation_model(operation)
    shape = model.input_shape
    path = model.http["requestUri"].split("?", 1)[0]
    query: list[tuple[str, str]] = []
    document: dict[str, Any] = {key: value for key, value in params.items() if key not in shape.members}
    seen: dict[str, Any] = {}
    verdict = VALID
    names_operation = True
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            text = _wire_text(params[name]) if name in params else ""
            names_operation = names_operation and text != ""
            if _has_surrogate(text):
                verdict = INVALID
            path = path.replace("{" + wire_name + "}", _encode(text))
            seen[name] = text
        elif location == "querystring":
            if _add_query_member(name, member.type_name, wire_name, params, query, seen):
                verdict = INVALID
        elif name in params:
            document[name] = params[name]
            seen[name] = params[name]
    if verdict != INVALID and breaks_model(shape, seen):
        verdict = INVALID
    body_members = [name for name, member in shape.members.items() if not member.serialization.get("location")]
    body = json.dumps(document).encode() if body_members else None
    if query:
        path += "?" + "&".join(f"{_encode(key)}={_encode(value)}" for key, value in query)
    return WireRequest(model.http["method"], path, body, names_operation, verdict)


def _add_query_member(
    name: str,
    type_name: str,
    wire_name: str,
    params: dict[str, Any],
    query: list[tuple[str, str]],
    seen: dict[str, Any],
) -> bool:
    """Adds a query-string member's texts to `query`, what the server reads of them to `seen`; whether
    one of them holds a surrogate (no UTF-8 can carry it)."""
    if name not in params:
        return False
    value = params[name]
    texts = [_wire_text(item) for item in (value if isinstance(value, list) else [value])]
    query.extend((wire_name, text) for text in texts)
    if texts:
        seen[name] = _query_reading(type_name, texts)
    return any(_has_surrogate(text) for text in texts)


def _query_reading(type_name: str, texts: list[str]) -> Any:
    if type_name == "list":
        return texts
    first = texts[0]
    if type_name in ("integer", "long"):
        # Text that is not an integer stays text, and so breaks the model
        return int(first) if PLAIN_INTEGER.fullmatch(first) else first
    # The first of repeated values counts
    return first


# 1. Generated input for every operation


@pytest.mark.decorator_mode
@pytest.mark.parametrize("operation", OPERATIONS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_generated_input_through_boto3_gets_a_documented_answer(
    mock: InProcessMock, operation: str, data: st.DataObject
) -> None:
    call = getattr(mock.client, xform_name(operation))
    params = resolve(data.draw(BOTO3_INPUTS[operation]), seed(mock))
    recorder = mock.recorder
    recorder.start()
    try:
        call(**params)
    except ClientError as error:
        code, status = error_of(error)
        names_operation = all(_wire_text(params.get(name, "")) != "" for name in URI_MEMBERS[operation])
        allowed = DOCUMENTED_ERRORS[operation] if names_operation else {NO_OPERATION}
        assert code in allowed, (code, status, error.response["Error"].get("Message"))
        assert status < 500
    except Exception:
        if recorder.sent:
            raise  # the mock failed, not botocore's serializer
        return  # botocore could not build this request (e.g. a list given for a structure)
    answer = recorder.answer
    assert answer is not None
    assert answer["status_code"] < 500, answer["body"][:300]
    assert answer["headers"].get("content-type", "").startswith("application/json"), answer["headers"]
    body = json.loads(answer["body"])
    assert isinstance(body, dict)
    if answer["status_code"] >= 400:
        assert isinstance(body.get("message"), str), body


@pytest.mark.parametrize("operation", OPERATIONS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_generated_input_over_http_is_refused_exactly_when_the_model_forbids_it(
    server: ServerMock, operation: str, data: st.DataObject
) -> None:
    request = wire_request(operation, resolve(data.draw(WIRE_INPUTS[operation]), seed(server)))
    response = send_raw(server.url, request.method, request.path, request.body)
    assert response.status < 500, (request, response.status, response.body[:300])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict)
    if not request.names_operation:
        assert response.status == 404, (request, body)
        assert_json_error(response, {NO_OPERATION})
    elif request.verdict == INVALID:
        assert response.status == 400, (request, response.status, body)
        assert_json_error(response, {"ValidationException"})
    elif response.status >= 400:
        assert_json_error(response, DOCUMENTED_ERRORS[operation])
    else:
        assert response.status == 200


# State under random sequences of calls

CREATE = st.tuples(
    st.just("create"),
    st.lists(st.integers(0, 2), min_size=1, max_size=4),
    st.sampled_from(COMMANDS),
    st.sampled_from([None, "token-a", "token-b"]),
)
POLL = st.tuples(st.just("poll"), st.integers(0, 40), st.integers(0, 2))
ADVANCE = st.tuples(st.just("advance"), st.integers(0, 40), st.integers(0, 2), st.sampled_from(EXECUTION_STATES))
ACTION_KINDS = {
    "create": CREATE,
    "cancel": st.tuples(st.just("cancel"), st.integers(0, 40)),
    "describe": st.tuples(st.just("describe"), st.integers(0, 40)),
    "poll": POLL,
    "advance": ADVANCE,
    "list": st.tuples(st.just("list"), st.sampled_from([None, *sorted(TASK_STATES)]), st.integers(1, 5)),
    "unknown": st.tuples(st.just("unknown"), st.sampled_from(["cancel", "describe"])),
}
# Repeated names weigh more: tasks get created, and their executions moved on, often enough
ACTIONS = st.sampled_from(
    ["create"] * 4 + ["cancel"] * 2 + ["poll"] * 3 + ["advance"] * 2 + ["describe", "list", "unknown"]
).flatmap(ACTION_KINDS.__getitem__)


class TaskLedger:
    """What the calls so far say must be true of the tasks."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.canceled: set[str] = set()
        self.ended: dict[str, str] = {}  # a task once seen CANCELED or COMPLETED stays so
        self.tokens: dict[str, tuple[Any, str]] = {}

    def saw(self, task_id: str, state: str) -> None:
        assert state in TASK_STATES, state
        if task_id in self.canceled:
            assert state == "CANCELED", (task_id, state)
        if task_id in self.ended:
            assert state == self.ended[task_id], (task_id, self.ended[task_id], state)
        elif state != "IN_PROGRESS":
            self.ended[task_id] = state


def check_task(client: Any, ledger: TaskLedger, task_id: str, devices: set[str]) -> list[dict[str, Any]]:
    """The task's executions agree with its state; returns the executions."""
    executions = all_pages(client.list_executions, "executions", taskId=task_id, maxResults=2)
    task = client.describe_task(taskId=task_id)
    state = task["state"]
    ledger.saw(task_id, state)
    execution_states = [execution["state"] for execution in executions]
    assert all(value in EXECUTION_STATES for value in execution_states), execution_states
    assert {execution["managedDeviceId"] for execution in executions} == set(task["targets"])
    assert set(task["targets"]) <= devices
    assert len({execution["executionId"] for execution in executions}) == len(executions)
    if state == "CANCELED":
        assert set(execution_states) == {"CANCELED"}, (task_id, execution_states)
    elif state == "COMPLETED":
        assert not UNFINISHED_EXECUTION_STATES & set(execution_states), (task_id, execution_states)
        assert "completedAt" in task
    else:
        assert UNFINISHED_EXECUTION_STATES & set(execution_states), (task_id, execution_states)
        assert "completedAt" not in task
    return executions


def check_all_tasks(client: Any, ledger: TaskLedger, devices: set[str], page_size: int) -> None:
    listed = [task["taskId"] for task in all_pages(client.list_tasks, "tasks", maxResults=page_size)]
    assert len(listed) == len(set(listed)), "a task is listed twice"
    assert sorted(listed) == sorted(ledger.created)
    running_on: dict[str, list[str]] = {}
    for task_id in ledger.created:
        for execution in check_task(client, ledger, task_id, devices):
            if execution["state"] == "IN_PROGRESS":
                running_on.setdefault(execution["managedDeviceId"], []).append(task_id)
    assert all(len(tasks) == 1 for tasks in running_on.values()), running_on
    by_state: dict[str, set[str]] = {}
    for state in TASK_STATES:
        ids = [task["taskId"] for task in all_pages(client.list_tasks, "tasks", state=state, maxResults=page_size)]
        assert len(ids) == len(set(ids))
        by_state[state] = set(ids)
        for task_id in ids:
            ledger.saw(task_id, state)
    assert sum(len(ids) for ids in by_state.values()) == len(ledger.created)
    assert set().union(*by_state.values()) == set(ledger.created)


@dataclass
class SequenceRun:
    """One random sequence of calls: the mock, its client, the devices and what the calls said so far."""

    mock: InProcessMock
    client: Any
    devices: list[str]
    ledger: TaskLedger

    def saw_state_of(self, task_id: str) -> None:
        self.ledger.saw(task_id, self.client.describe_task(taskId=task_id)["state"])

    def target_of(self, task_id: str, index: int) -> str:
        targets: list[str] = self.client.describe_task(taskId=task_id)["targets"]
        return targets[index % len(targets)]


def create_step(run: SequenceRun, action: tuple[Any, ...]) -> None:
    _, indexes, command, token = action
    ledger = run.ledger
    targets = [run.devices[index] for index in indexes]
    params: dict[str, Any] = {"targets": targets, "command": {command: {}}}
    if token is not None:
        params["clientToken"] = token
    fingerprint = (tuple(targets), command)
    try:
        created = run.client.create_task(**params)["taskId"]
    except ClientError as error:
        assert error_of(error) == ("ValidationException", 400)
        assert token in ledger.tokens and ledger.tokens[token][0] != fingerprint
        return
    if token is not None and token in ledger.tokens:
        assert ledger.tokens[token] == (fingerprint, created), "a repeated clientToken made another task"
    else:
        assert created not in ledger.created
        ledger.created.append(created)
        if token is not None:
            ledger.tokens[token] = (fingerprint, created)


def cancel_step(run: SequenceRun, task_id: str, action: tuple[Any, ...]) -> None:
    ledger = run.ledger
    try:
        assert run.client.cancel_task(taskId=task_id)["taskId"] == task_id
    except ClientError as error:
        assert error_of(error) == ("ValidationException", 400)
    else:
        assert task_id not in ledger.canceled, "a canceled task was canceled again"
        assert ledger.ended.get(task_id, "CANCELED") == "CANCELED"
        ledger.canceled.add(task_id)
        ledger.ended.setdefault(task_id, "CANCELED")
    run.saw_state_of(task_id)


def describe_step(run: SequenceRun, task_id: str, action: tuple[Any, ...]) -> None:
    run.saw_state_of(task_id)


def poll_step(run: SequenceRun, task_id: str, action: tuple[Any, ...]) -> None:
    execution = run.client.describe_execution(taskId=task_id, managedDeviceId=run.target_of(task_id, action[2]))
    assert execution["state"] in EXECUTION_STATES
    if task_id in run.ledger.canceled:
        assert execution["state"] == "CANCELED"


def advance_step(run: SequenceRun, task_id: str, action: tuple[Any, ...]) -> None:
    run.mock.advance(task_id, run.target_of(task_id, action[2]), action[3])
    run.saw_state_of(task_id)


def list_step(run: SequenceRun, action: tuple[Any, ...]) -> None:
    _, state, max_results = action
    params = {"maxResults": max_results} if state is None else {"maxResults": max_results, "state": state}
    listed = all_pages(run.client.list_tasks, "tasks", **params)
    ids = [task["taskId"] for task in listed]
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(run.ledger.created)
    if state is None:
        assert sorted(ids) == sorted(run.ledger.created)
    for task in listed:
        if state is not None:
            # A filtered answer keeps to its filter, also after the step its call takes
            assert task["state"] == state, (state, task)
            # Picked as IN_PROGRESS, so not yet ended as the call arrived
            assert state != "IN_PROGRESS" or task["taskId"] not in run.ledger.ended, (state, task)
        run.ledger.saw(task["taskId"], task["state"])


def unknown_step(run: SequenceRun, action: tuple[Any, ...]) -> None:
    with pytest.raises(ClientError) as raised:
        getattr(run.client, f"{action[1]}_task")(taskId="st-doesnotexist0000")
    assert error_of(raised.value) == ("ResourceNotFoundException", 404)


# Each kind of action: those on a task get one of the tasks created so far, or are skipped while there is none
STEPS: dict[str, Callable[[SequenceRun, tuple[Any, ...]], None]] = {
    "create": create_step,
    "list": list_step,
    "unknown": unknown_step,
}
TASK_STEPS: dict[str, Callable[[SequenceRun, str, tuple[Any, ...]], None]] = {
    "cancel": cancel_step,
    "describe": describe_step,
    "poll": poll_step,
    "advance": advance_step,
}


@pytest.mark.decorator_mode
@SEQUENCE_SETTINGS
@given(actions=st.lists(ACTIONS, min_size=10, max_size=30), page_size=st.integers(1, 4))
def test_tasks_stay_consistent_under_any_sequence_of_calls(
    mock: InProcessMock, actions: list[tuple[Any, ...]], page_size: int
) -> None:
    mock.reset()
    run = SequenceRun(mock, mock.client, [mock.add_device() for _ in range(3)], TaskLedger())
    for action in actions:
        kind = action[0]
        if kind not in TASK_STEPS:
            STEPS[kind](run, action)
        elif run.ledger.created:
            TASK_STEPS[kind](run, run.ledger.created[action[1] % len(run.ledger.created)], action)
    with held_still(mock):
        check_all_tasks(run.client, run.ledger, set(run.devices), page_size)


# 2. Malformed HTTP against the server

NESTED = b"[" * 100_000 + b"]" * 100_000
MALFORMED = [
    pytest.param("POST", "/task", b'{"targets": [', 400, id="invalid JSON"),
    pytest.param("POST", "/task", b'{"targets": "x", "command": 5}', 400, id="wrong JSON types"),
    pytest.param("POST", "/task", b'[{"targets": ["x"], "command": {"reboot": {}}}]', 400, id="a JSON list"),
    pytest.param("POST", "/task", b"null", 400, id="JSON null"),
    pytest.param("POST", "/task", b'"text"', 400, id="a JSON string"),
    pytest.param("POST", "/task", b"", 400, id="no body"),
    pytest.param("POST", "/task", b'{"targets": ["\xff\xfe"], "command": {"reboot": {}}}', 400, id="non-UTF-8 body"),
    pytest.param("POST", "/task", b"\xff\xfe\x00{\x00}", 400, id="binary body"),
    # Bodies over the limit are refused before they are sent: tests/test_server_limits.py
    pytest.param("POST", "/tags/x", b"{" * 10, 400, id="invalid JSON on tags"),
    pytest.param("POST", "/task/%ZZ", None, 404, id="bad percent-encoding"),
    pytest.param("POST", "/task/%ff%fe", None, 400, id="percent-encoded non-UTF-8"),
    pytest.param("POST", "/task/%ff%fe/cancel", None, 400, id="percent-encoded non-UTF-8 on cancel"),
    pytest.param("POST", "/task/%ZZ/execution/%E0%A4", None, 400, id="truncated UTF-8 sequence"),
    pytest.param("GET", "/tags/%E0%A4%A", None, 400, id="truncated escape in an ARN"),
    pytest.param("GET", "/tasks?maxResults=abc", None, 400, id="maxResults not a number"),
    pytest.param("GET", "/tasks?maxResults=%ff", None, 400, id="maxResults not UTF-8"),
    pytest.param("GET", "/tasks?maxResults=", None, 400, id="maxResults empty"),
    pytest.param("GET", "/tasks?maxResults=0", None, 400, id="maxResults below range"),
    pytest.param("GET", "/tasks?maxResults=101", None, 400, id="maxResults above range"),
    pytest.param("GET", "/tasks?maxResults=1.5", None, 400, id="maxResults fractional"),
    pytest.param("GET", "/tasks?maxResults=99999999999999999999999999", None, 400, id="maxResults huge"),
    pytest.param("GET", "/tasks?state=QUEUED", None, 400, id="unknown task state"),
    pytest.param("GET", "/tasks?nextToken=%21%21%21", None, 400, id="nextToken off its pattern"),
    pytest.param("GET", "/tasks?nextToken=QUJD", None, 400, id="nextToken never issued"),
    pytest.param("GET", "/executions", None, 400, id="ListExecutions without taskId"),
    pytest.param("DELETE", "/tags/x", None, 400, id="UntagResource without tagKeys"),
    pytest.param("GET", "/nope", None, 404, id="unknown path"),
    pytest.param("GET", "/", None, 404, id="root"),
    pytest.param("GET", "/tasks/", None, 404, id="trailing slash"),
    pytest.param("POST", "/task//cancel", None, 404, id="empty path label"),
    pytest.param("PUT", "/task", b"{}", 405, id="PUT on CreateTask's path"),
    pytest.param("POST", "/tasks", b"{}", 405, id="POST on ListTasks' path"),
    pytest.param("DELETE", "/task/st-x", None, 405, id="DELETE on a task"),
    pytest.param("PATCH", "/managed-devices", b"{}", 405, id="PATCH"),
    pytest.param("OPTIONS", "/tasks", None, 405, id="OPTIONS"),
    pytest.param("BREW", "/tasks", None, 405, id="an unknown method"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), MALFORMED)
def test_a_malformed_request_gets_a_json_4xx_and_the_server_serves_on(
    sdm_server_url: str, method: str, path: str, body: bytes | None, status: int
) -> None:
    response = send_raw(sdm_server_url, method, path, body)
    assert response.status == status, response.body[:300]
    assert_json_error(response)
    assert_still_serving(sdm_server_url)


def test_a_request_signed_for_an_unknown_region_gets_a_json_4xx(sdm_server_url: str) -> None:
    header = {"Authorization": SIGNED_HEADER["Authorization"].replace("us-east-1", "xx-nowhere-9")}
    response = send_raw(sdm_server_url, "GET", "/tasks", headers=header)
    assert response.status == 400
    assert assert_json_error(response) == "ValidationException"
    assert_still_serving(sdm_server_url)


@pytest.mark.parametrize("value", ["1_0", "%205", "5%20"])
def test_max_results_that_is_not_a_plain_integer_is_refused(sdm_server_url: str, value: str) -> None:
    # Python's int() reads "1_0" as 10 and " 5" as 5; no AWS service reads them as integers
    response = send_raw(sdm_server_url, "GET", f"/tasks?maxResults={value}")
    assert response.status == 400, response.body[:300]
    assert assert_json_error(response) == "ValidationException"


def test_a_deeply_nested_json_body_gets_a_json_400_from_the_server(sdm_server_url: str) -> None:
    body = b'{"targets": ["x"], "command": {"reboot": {}}, "tags": ' + NESTED + b"}"
    response = send_raw(sdm_server_url, "POST", "/task", body)
    assert response.status == 400, (response.status, response.headers, response.body[:300])
    assert assert_json_error(response) == "ValidationException"
    assert_still_serving(sdm_server_url)


@pytest.mark.decorator_mode
def test_a_deeply_nested_json_body_gets_a_json_400_in_process() -> None:
    with mock_aws():
        body = b'{"targets": ["x"], "command": {"reboot": {}}, "description": ' + NESTED + b"}"
        response = requests.post(f"{IN_PROCESS_URL}/task", data=body, headers=SIGNED_HEADER, timeout=30)
        assert response.status_code == 400, response.text[:300]
        assert response.headers["x-amzn-ErrorType"] == "ValidationException"
        assert isinstance(response.json()["message"], str)


def test_a_chunked_request_body_is_read_like_any_other(sdm_server: str) -> None:
    device_id = ServerMock(sdm_server).add_device()
    body = json.dumps({"targets": [device_id], "command": {"reboot": {}}}).encode()
    address = urlsplit(sdm_server)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        # http.client frames an iterable body with Transfer-Encoding: chunked and no Content-Length
        chunks = iter([body[:10], body[10:]])
        connection.request("POST", "/task", body=chunks, headers=SIGNED_HEADER, encode_chunked=True)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    assert response.status == 200, payload[:300]
    task_id = json.loads(payload)["taskId"]
    tasks = make_client(sdm_server).list_tasks()["tasks"]
    assert [task["taskId"] for task in tasks] == [task_id]


# 3. Concurrent clients


THREADS = 16
CALLS_PER_THREAD = 30


class ConcurrentRun:
    """Many clients creating, canceling, describing and listing tasks at once on a few devices."""

    def __init__(self, clients: list[Any], devices: list[str]):
        self.clients = clients
        self.devices = devices
        self.lock = threading.Lock()
        self.created: list[str] = []
        self.canceled: set[str] = set()
        # Every thread starts its calls at the same moment
        self.start = threading.Barrier(THREADS)

    def known_task(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.created) if self.created else None

    def worker(self, number: int) -> list[str]:
        client = self.clients[number]
        rng = random.Random(number)
        mine: list[str] = []
        self.start.wait(timeout=60)
        for _ in range(CALLS_PER_THREAD):
            roll = rng.random()
            if roll < 0.35 or not self.created:
                targets = rng.sample(self.devices, rng.randint(1, 3))
                task_id = client.create_task(targets=targets, command={rng.choice(COMMANDS): {}})["taskId"]
                mine.append(task_id)
                with self.lock:
                    self.created.append(task_id)
                continue
            task_id = self.known_task(rng)
            assert task_id is not None
            if roll < 0.55:
                try:
                    assert client.cancel_task(taskId=task_id)["taskId"] == task_id
                except ClientError as error:
                    # Already canceled, running or done: never missing, never a server error
                    assert error_of(error) == ("ValidationException", 400), error.response
                else:
                    with self.lock:
                        self.canceled.add(task_id)
                    assert client.describe_task(taskId=task_id)["state"] == "CANCELED"
            elif roll < 0.75:
                self.describe(client, task_id)
            elif roll < 0.85:
                targets = client.describe_task(taskId=task_id)["targets"]
                execution = client.describe_execution(taskId=task_id, managedDeviceId=rng.choice(targets))
                assert execution["state"] in EXECUTION_STATES
                assert execution["taskId"] == task_id
            else:
                listed = [task["taskId"] for task in all_pages(client.list_tasks, "tasks", maxResults=7)]
                assert len(listed) == len(set(listed)), "a listing walk returned a task twice"
                # A client sees the tasks it created before it started listing
                assert set(mine) <= set(listed)
        return mine

    def describe(self, client: Any, task_id: str) -> None:
        """One DescribeTask, then the executions: a state once read never goes back on itself."""
        task = client.describe_task(taskId=task_id)
        state = task["state"]
        assert task["taskId"] == task_id
        assert state in TASK_STATES, state
        assert set(task["targets"]) <= set(self.devices)
        assert task["lastUpdatedAt"] >= task["createdAt"]
        assert ("completedAt" in task) == (state == "COMPLETED"), task
        executions = all_pages(client.list_executions, "executions", taskId=task_id)
        execution_states = {execution["state"] for execution in executions}
        assert {execution["managedDeviceId"] for execution in executions} == set(task["targets"])
        if state == "CANCELED":
            assert execution_states == {"CANCELED"}, (task_id, execution_states)
        if state == "COMPLETED":
            assert not execution_states & UNFINISHED_EXECUTION_STATES, (task_id, execution_states)
        if execution_states == {"CANCELED"}:
            # Only CancelTask cancels executions here, and it cancels the task with them
            assert client.describe_task(taskId=task_id)["state"] == "CANCELED"

    def run(self) -> None:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(self.worker, number) for number in range(THREADS)]
            per_thread = [future.result() for future in futures]
        created = [task_id for tasks in per_thread for task_id in tasks]
        assert len(created) == len(set(created)), "two CreateTask calls answered the same taskId"
        assert sorted(created) == sorted(self.created)

    def check_final_state(self, mock: InProcessMock) -> None:
        """The whole state, read at one moment."""
        with held_still(mock):
            self._check_state_now()

    def _check_state_now(self) -> None:
        client = self.clients[0]
        listed = [task["taskId"] for task in all_pages(client.list_tasks, "tasks", maxResults=9)]
        assert len(listed) == len(set(listed)), "a task is listed twice"
        assert len(listed) == len(self.created)
        assert set(listed) == set(self.created)
        ledger = TaskLedger()
        ledger.created = list(self.created)
        ledger.canceled = set(self.canceled)
        check_all_tasks(client, ledger, set(self.devices), 9)


def test_concurrent_clients_against_the_server_lose_and_tear_nothing(sdm_server: str) -> None:
    server = ServerMock(sdm_server)
    devices = [server.add_device() for _ in range(4)]
    clients = [make_client(sdm_server) for _ in range(THREADS)]
    run = ConcurrentRun(clients, devices)
    run.run()
    run.check_final_state(server)
    assert run.canceled, "no CancelTask succeeded: the run did not exercise cancellation"


@pytest.mark.decorator_mode
def test_concurrent_clients_in_process_lose_and_tear_nothing() -> None:
    with mock_aws():
        devices = [moto_snowdevice.add_device() for _ in range(4)]
        # boto3 client creation is not thread-safe: every thread's client is made here
        clients = [make_client() for _ in range(THREADS)]
        run = ConcurrentRun(clients, devices)
        run.run()
        run.check_final_state(InProcessMock())
        assert run.canceled, "no CancelTask succeeded: the run did not exercise cancellation"
