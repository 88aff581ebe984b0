"""Handles incoming snow-device-management requests, invokes the backend, returns rest-json responses."""

import json
import re
import sys
from typing import Any
from urllib.parse import urlsplit

from moto.core.utils import camelcase_to_underscores
from werkzeug.exceptions import HTTPException

from . import _schemas
from ._moto import ServiceResponse, existing_backend
from ._shapes import (
    OPERATIONS,
    SERVICE_NAME,
    InvalidInput,
    OperationRules,
    check_caller,
    find_operation,
    path_exists,
    raw_path,
)
from .exceptions import (
    AccessDeniedException,
    IncompleteSignatureException,
    InternalServerException,
    JsonAnswer,
    MissingAuthenticationTokenException,
    SnowDeviceManagementError,
    ValidationException,
    json_error,
    json_headers,
)
from .models import (
    SnowDeviceManagementBackend,
    Task,
    arn_prefix,
    snowdevicemanagement_backends,
)

# No request of this service needs more; larger bodies are refused before they are read as JSON
MAX_BODY_BYTES = 1024 * 1024
# moto's IAM errors and the names rest-json services give them
_IAM_ERRORS = {
    "AccessDenied": AccessDeniedException.code,
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "InvalidClientTokenId": "UnrecognizedClientException",
}


Answer = JsonAnswer


def _error(code: str, status: int, message: str, operation: str | None) -> Answer:
    _schemas.check_response(operation, status, {"message": message})
    return json_error(status, message, code)


def _server_error(message: str) -> Answer:
    """A 500 the service's model documents: InternalServerException, and a line on stderr."""
    print(f"moto-snowdevice: {message}", file=sys.stderr, flush=True)
    return json_error(500, message, InternalServerException.code)


def _mismatch_answer(mismatch: _schemas.ResponseMismatch) -> Answer:
    """A server's response that broke its schema: a 500 naming the mismatch."""
    return _server_error(f"response mismatch: {mismatch}")


# One encoder for every answer: json.dumps builds a new one per call when given any option
_STRICT_JSON = json.JSONEncoder(allow_nan=False)


def _success(operation: str, result: dict[str, Any]) -> Answer:
    _schemas.check_response(operation, 200, result)
    try:
        # NaN and the infinities are no JSON: boto3 and the JavaScript SDK could not read the answer
        body = _STRICT_JSON.encode(result)
    except ValueError:
        return _server_error(f"response mismatch: {operation}'s answer holds a number JSON cannot carry")
    return 200, json_headers(), body


class SnowDeviceManagementResponse(ServiceResponse):
    """One thin method per operation: read the parameters, call the backend, shape the result."""

    def __init__(self) -> None:
        super().__init__(service_name=SERVICE_NAME)
        self.params: dict[str, Any] = {}

    backend: SnowDeviceManagementBackend

    @classmethod
    def dispatch(cls, request: Any, full_url: str, headers: Any) -> Answer:
        try:
            return cls()._serve(request, full_url, headers)
        except _schemas.ResponseMismatch as mismatch:
            if not hasattr(request, "environ"):
                raise  # in-process: the caller's test fails with it
            return _mismatch_answer(mismatch)

    def _serve(self, request: Any, full_url: str, headers: Any) -> Answer:
        url = urlsplit(full_url)
        path = _raw_path(request, url.path)
        method = request.method
        found = find_operation(method, path)
        if found is None:
            if path_exists(path):
                return _error("UnknownOperationException", 405, f"Method {method} is not allowed on {path}", None)
            return _error("UnknownOperationException", 404, f"No operation is served at {method} {path}", None)
        rules, match = found
        self.operation = rules.name
        if "host" not in headers and not hasattr(request, "environ"):
            # botocore adds Host only when it sends; moto's IAM check needs it to verify signatures
            headers["host"] = url.netloc
        uri = f"{url.scheme}://{url.netloc}{path}" + (f"?{url.query}" if url.query else "")
        self.take_request(method, uri, path, headers)
        self.region = self.get_region_from_url(request, full_url)
        self.current_account = self.get_current_account()
        try:
            return self._answer(rules, match, url.query, _body(request))
        except InvalidInput as invalid:
            return _error(ValidationException.code, 400, str(invalid), rules.name)
        except SnowDeviceManagementError as error:
            return _error(error.code, error.status, error.message, rules.name)
        except HTTPException as denied:
            # moto's IAM errors, in this service's rest-json form
            name = getattr(denied, "error_type", "AccessDenied")
            code = _IAM_ERRORS.get(name, name)
            message = getattr(denied, "message", None) or str(denied.description)
            return _error(code, denied.code or 403, message, rules.name)

    def _answer(self, rules: OperationRules, match: "re.Match[str]", query: str, body: bytes | str | None) -> Answer:
        """Identity, one parse, authorisation, and only then the backend: in that order.

        Nothing a request names makes state before it is known to be well formed and allowed, so a
        refused or malformed request leaves no backend (nor IAM backend) behind.
        """
        check_caller(self.current_account, self.region)
        self.raw_body = body
        if body and len(body) > MAX_BODY_BYTES:
            return _error(
                "RequestEntityTooLargeException", 413, f"The request body is larger than {MAX_BODY_BYTES} bytes", None
            )
        params = self._parse(rules, match, query)
        # moto's check reads the resource only while IAM is enforced
        self.authorize(lambda: self._resource(params), SERVICE_NAME)
        try:
            self.backend = _backend(self.current_account, self.region)
        except KeyError:
            # moto refuses regions it does not know unless MOTO_ALLOW_NONEXISTENT_REGION is set
            return _error(ValidationException.code, 400, f"Unknown region: {self.region}", rules.name)
        with self.backend.lock:
            self.backend.raise_injected_fault(rules.name)
            self.params = params
            result = getattr(self, _HANDLERS[rules.name])()
        return _success(rules.name, result)

    def _parse(self, rules: OperationRules, match: "re.Match[str]", query: str) -> dict[str, Any]:
        """The request's one reading; a request that cannot be read is still authenticated first.

        It is checked as a call on every resource ("*"): only a caller allowed the action on every
        resource learns why the request is malformed; any other gets moto's authentication error or
        AccessDenied, so a caller allowed on some resources learns nothing of others. With IAM off,
        moto's check only counts the call, as it counts every other.
        """
        try:
            return rules.parse(match, query, self.raw_body)
        except InvalidInput:
            self.authorize("*", SERVICE_NAME)
            raise

    def get_access_key(self) -> str:
        # moto reads the key from the Authorization header for the account and again for IAM
        key = self.__dict__.get("access_key")
        if key is None:
            key = self.access_key = super().get_access_key()
        return key

    def get_region_from_url(self, request: Any, full_url: str) -> str:
        # moto's order (the host, the User-Agent, the credential scope), stopping at the first found
        found = self.region_regex.search(full_url)
        if found is None:
            found = self.region_from_useragent_regex.search(self.headers.get("User-Agent", ""))
        if found is not None:
            return found.group(1)
        scope: list[str] = self.headers.get("Authorization", "").split(",")[0].split("/")
        if len(scope) > 2 and "AWS4" in scope[0]:
            return scope[2]
        return self.default_region

    def check_signature(self) -> None:
        """A request moto's IAM check cannot read (it would fail with a 500) is refused first."""
        _require_signature(self.headers)

    def _resource(self, params: dict[str, Any]) -> str:
        """The task or device ARN the parsed request acts on, IAM's resource; "*" for listings."""
        if "resourceArn" in params:
            return str(params["resourceArn"])
        if "taskId" in params:
            return f"{arn_prefix(self.current_account, self.region)}task/{params['taskId']}"
        if "managedDeviceId" in params:
            return f"{arn_prefix(self.current_account, self.region)}managed-device/{params['managedDeviceId']}"
        return "*"

    # Tasks

    def create_task(self) -> dict[str, Any]:
        params = self.params
        task = self.backend.create_task(
            targets=params["targets"],
            command=params["command"],
            description=params.get("description"),
            tags=params.get("tags"),
            client_token=params.get("clientToken"),
        )
        return {"taskId": task.task_id, "taskArn": task.arn}

    def cancel_task(self) -> dict[str, Any]:
        task = self.backend.cancel_task(self.params["taskId"])
        return {"taskId": task.task_id}

    def describe_task(self) -> dict[str, Any]:
        backend = self.backend
        task = backend.describe_task(self.params["taskId"])
        return _present(
            {
                "taskId": task.task_id,
                "taskArn": task.arn,
                "targets": task.targets,
                "state": task.state,
                "createdAt": task.created_at,
                "lastUpdatedAt": task.last_updated_at,
                "completedAt": task.completed_at,
                "description": task.description,
                "tags": backend.tags_of(task.arn),
            }
        )

    def list_tasks(self) -> dict[str, Any]:
        params = self.params
        backend = self.backend
        tasks, next_token = backend.list_tasks(
            state=params.get("state"),
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
        )
        return _present({"tasks": [_task_summary(backend, task) for task in tasks], "nextToken": next_token})

    # Executions

    def describe_execution(self) -> dict[str, Any]:
        execution = self.backend.describe_execution(self.params["taskId"], self.params["managedDeviceId"])
        return _present(
            {
                "executionId": execution.execution_id,
                "taskId": execution.task.task_id,
                "managedDeviceId": execution.managed_device_id,
                "state": execution.state,
                "startedAt": execution.started_at,
                "lastUpdatedAt": execution.last_updated_at,
            }
        )

    def list_executions(self) -> dict[str, Any]:
        params = self.params
        executions, next_token = self.backend.list_executions(
            task_id=params["taskId"],
            state=params.get("state"),
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
        )
        summaries = [
            {
                "executionId": execution.execution_id,
                "taskId": execution.task.task_id,
                "managedDeviceId": execution.managed_device_id,
                "state": execution.state,
            }
            for execution in executions
        ]
        return _present({"executions": summaries, "nextToken": next_token})

    # Managed devices

    def describe_device(self) -> dict[str, Any]:
        backend = self.backend
        device = backend.describe_device(self.params["managedDeviceId"])
        return {
            **device.document,
            "managedDeviceId": device.managed_device_id,
            "managedDeviceArn": device.managed_device_arn,
            "tags": backend.tags_of(device.arn),
        }

    def list_devices(self) -> dict[str, Any]:
        params = self.params
        backend = self.backend
        devices, next_token = backend.list_devices(
            job_id=params.get("jobId"),
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
        )
        summaries = [
            _present(
                {
                    "managedDeviceId": device.managed_device_id,
                    "managedDeviceArn": device.managed_device_arn,
                    "associatedWithJob": device.associated_with_job,
                    "tags": backend.tags_of(device.arn),
                }
            )
            for device in devices
        ]
        return _present({"devices": summaries, "nextToken": next_token})

    def list_device_resources(self) -> dict[str, Any]:
        params = self.params
        resources, next_token = self.backend.list_device_resources(
            managed_device_id=params["managedDeviceId"],
            resource_type=params.get("type"),
            max_results=params.get("maxResults"),
            next_token=params.get("nextToken"),
        )
        return _present({"resources": resources, "nextToken": next_token})

    def describe_device_ec2_instances(self) -> dict[str, Any]:
        device, instances = self.backend.describe_device_ec2_instances(
            self.params["managedDeviceId"], self.params["instanceIds"]
        )
        updated = device.document.get("lastUpdatedAt")
        return {"instances": [_present({"instance": instance, "lastUpdatedAt": updated}) for instance in instances]}

    # Tags

    def tag_resource(self) -> dict[str, Any]:
        self.backend.tag_resource(self.params["resourceArn"], self.params["tags"])
        return {}

    def untag_resource(self) -> dict[str, Any]:
        self.backend.untag_resource(self.params["resourceArn"], self.params["tagKeys"])
        return {}

    def list_tags_for_resource(self) -> dict[str, Any]:
        return {"tags": self.backend.list_tags_for_resource(self.params["resourceArn"])}


def _task_summary(backend: SnowDeviceManagementBackend, task: Task) -> dict[str, Any]:
    arn = task.arn
    return {"taskId": task.task_id, "taskArn": arn, "state": task.state, "tags": backend.tags_of(arn)}


def _present(result: dict[str, Any]) -> dict[str, Any]:
    """The result without its absent (None) members, as AWS leaves them out."""
    return {key: value for key, value in result.items() if value is not None}


def _backend(account_id: str, region_name: str) -> SnowDeviceManagementBackend:
    # The backend of a known account and region, without BackendDict's per-lookup locking
    backend: SnowDeviceManagementBackend | None = existing_backend(
        snowdevicemanagement_backends, account_id, region_name
    )
    if backend is not None:
        return backend
    return snowdevicemanagement_backends[account_id][region_name]


# A SigV4 Authorization header: moto's check reads the credential scope's key, date, region and service
_SIGNATURE = re.compile(r"AWS4-HMAC-SHA256 Credential=[^/,]+(?:/[^/,]+){4},.*SignedHeaders=.+Signature=", re.DOTALL)


def _require_signature(headers: Any) -> None:
    authorization = headers.get("Authorization")
    if not authorization:
        raise MissingAuthenticationTokenException()
    if not _SIGNATURE.match(authorization) or not headers.get("X-Amz-Date"):
        raise IncompleteSignatureException()


def _raw_path(request: Any, path: str) -> str:
    # Behind a WSGI server the path arrives decoded; the raw URI keeps an ARN's %2F intact
    environ = getattr(request, "environ", None)
    return raw_path(environ) if environ is not None else path


def _body(request: Any) -> bytes | str | None:
    body: bytes | str | None = request.get_data() if hasattr(request, "get_data") else request.body
    return body


_HANDLERS = {name: camelcase_to_underscores(name) for name in OPERATIONS}
