"""The documented errors of Snow Device Management; their HTTP status comes from the service model."""

import re

from moto.core.exceptions import ServiceException

from ._shapes import ERROR_STATUS, SERVICE_MODEL, SERVICE_NAME


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
