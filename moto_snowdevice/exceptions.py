"""The documented errors of Snow Device Management; their HTTP status comes from the service model."""

from moto.core.exceptions import ServiceException

from ._shapes import ERROR_STATUS


class SnowDeviceManagementError(ServiceException):
    """One documented error: `code` is the error's name in the model, `status` its HTTP status."""

    @property
    def status(self) -> int:
        return ERROR_STATUS[self.code]


class ValidationException(SnowDeviceManagementError):
    code = "ValidationException"


class ResourceNotFoundException(SnowDeviceManagementError):
    code = "ResourceNotFoundException"


class AccessDeniedException(SnowDeviceManagementError):
    code = "AccessDeniedException"


class ThrottlingException(SnowDeviceManagementError):
    code = "ThrottlingException"
    message = "Rate exceeded"


class InternalServerException(SnowDeviceManagementError):
    code = "InternalServerException"
    message = "An internal error occurred"


class ServiceQuotaExceededException(SnowDeviceManagementError):
    code = "ServiceQuotaExceededException"
    message = "The service quota was exceeded"
