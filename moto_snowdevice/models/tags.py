"""Tags of tasks and managed devices, kept by moto's TaggingService under their ARNs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._checks import check_tags
from ..exceptions import ResourceNotFoundException, ValidationException
from .core import BackendCore

if TYPE_CHECKING:
    from .devices import ManagedDevice
    from .tasks import Task

_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<kind>task|managed-device)/(?P<id>[^/]+)"
)


class TagBackend(BackendCore):
    """A backend's tagging operations."""

    def _resource(self, resource_arn: str) -> Task | ManagedDevice:
        match = _ARN.fullmatch(resource_arn)
        if match is None:
            raise ValidationException(f"Invalid resourceArn: {resource_arn}")
        kind, resource_id = match["kind"], match["id"]
        resources: dict[str, Task] | dict[str, ManagedDevice] = self.tasks if kind == "task" else self.devices
        resource = resources.get(resource_id)
        if resource is None or resource.arn != resource_arn:
            raise ResourceNotFoundException(f"Resource {resource_arn} not found")
        return resource

    def _resource_arn(self, resource_arn: str) -> str:
        return self._resource(resource_arn).arn

    def tag_resource(self, resource_arn: str, tags: dict[str, str]) -> None:
        resource = self._resource(resource_arn)
        check_tags(tags, self.tags_of(resource.arn))
        self.tag(resource, tags)

    def untag_resource(self, resource_arn: str, tag_keys: Iterable[str]) -> None:
        resource = self._resource(resource_arn)
        self.untag(resource, list(tag_keys))

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, str]:
        return self.tags_of(self._resource_arn(resource_arn))
