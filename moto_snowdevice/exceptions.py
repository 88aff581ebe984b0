"""The documented errors of Snow Device Management; their HTTP status comes from the service model."""

import json
import random
import re

from moto.core.exceptions import ServiceException

from ._shapes import ERROR_STATUS, SERVICE_MODEL, SERVICE_NAME

REQUEST_ID_HEADER = "x-amzn-RequestId"
# A JSON answer as moto's responses give one: status, headers, body
JsonAnswer = tuple[int, dict[str, str], str]


# Request IDs' own random source, seeded from the OS once: never moto's seeded one
_REQUEST_IDS = random.Random()


def new_request_id() -> str:
    """A request's own ID, as AWS sends one with every response: a random (version 4) UUID.

    Not moto's gen_amzn_requestid_long: it draws from moto's seeded source, so answering a request
    would change the IDs of the tasks and devices made after /moto-api/seed. Formatted by hand: half
    the cost of str(uuid.uuid4()), on every response.
    """
    digits = f"{_REQUEST_IDS.getrandbits(128):032x}"
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def json_headers() -> dict[str, str]:
    """The headers of every JSON answer: its content type and a fresh request ID."""
    return {"Content-Type": "application/json", REQUEST_ID_HEADER: new_request_id()}


def json_error(status: int, message: str, code: str | None = None) -> JsonAnswer:
    """The one JSON error answer, {"message": ...}: with x-amzn-ErrorType when the error has a name."""
    headers = json_headers()
    if code is not None:
        headers["x-amzn-ErrorType"] = code
    return status, headers, json.dumps({"message": message})


def _described(error: str) -> str:
    """The model's one-line description of an error, e.g. "The request was denied due to ..."."""
    return re.sub(r"<[^>]+>", "", SERVICE_MODEL.shape_for(error).documentation).strip()


class SnowDeviceManagementError(ServiceException):
    """One documented error: `code` is the error's name in the model, `status` its HTTP status."""

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]


class ValidationException(SnowDeviceManagementError):
    code = "ValidationException"
    message = _described(code)


class ResourceNotFoundException(SnowDeviceManagementError):
    code = "ResourceNotFoundException"
    message = _described(code)


class AccessDeniedException(SnowDeviceManagementError):
    code = "AccessDeniedException"
    message = _described(code)


class ThrottlingException(SnowDeviceManagementError):
    code = "ThrottlingException"
    # AWS's own words for throttling, across its services
    message = "Rate exceeded"


class InternalServerException(SnowDeviceManagementError):
    code = "InternalServerException"
    message = _described(code)


class ServiceQuotaExceededException(SnowDeviceManagementError):
    code = "ServiceQuotaExceededException"
    message = _described(code)


# An injected AccessDeniedException reads like IAM's implicit deny of the call
_DENIED = (
    "User: arn:aws:iam::{account_id}:user/moto is not authorized to perform: {action} "
    "because no identity-based policy allows the {action} action"
)


def fault_message(error: type[SnowDeviceManagementError], operation: str, account_id: str) -> str:
    """The message an injected `error` carries when the test gives none."""
    if error is AccessDeniedException:
        return _DENIED.format(account_id=account_id, action=f"{SERVICE_NAME}:{operation}")
    return error.message


class _CommonError(SnowDeviceManagementError):
    """An error every AWS service answers, which the service model does not list; its status is its own."""

    http_status = 403

    @property
    def status(self) -> int:
        return self.http_status


class MissingAuthenticationTokenException(_CommonError):
    code = "MissingAuthenticationTokenException"
    message = "Missing Authentication Token"


class IncompleteSignatureException(_CommonError):
    code = "IncompleteSignatureException"
    message = (
        "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
        "and an X-Amz-Date header"
    )
