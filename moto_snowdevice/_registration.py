"""Makes moto route snow-device-management to this package, in-process and in server mode."""

import re
import sys
from threading import Lock
from typing import Any

_lock = Lock()
_registered = False

BACKEND_NAME = "snowdevicemanagement"


def register() -> None:
    """Register the service with moto; calling it again changes nothing."""
    global _registered
    with _lock:
        if _registered:
            return
        import moto.backend_index as backend_index

        import moto.moto_api._internal.urls as moto_api_urls

        from . import _aiobotocore, _control, models, urls

        # moto.backends.get_backend("snowdevicemanagement") imports moto.snowdevicemanagement
        sys.modules.setdefault(f"moto.{BACKEND_NAME}", models)
        # First in the list, so moto's URL scan finds this service at once
        backend_index.backend_url_patterns.insert(
            0, (BACKEND_NAME, re.compile(urls.url_bases[0]))
        )
        # Seeding and control endpoints beside moto's own /moto-api/ routes
        moto_api_urls.url_paths.update(_control.ROUTES)
        _answer_botocore_directly()
        # aiobotocore and aioboto3 clients of this service, in-process too
        _aiobotocore.answer_aiobotocore_requests(urls.url_bases[0])
        _registered = True


def _answer_botocore_directly() -> None:
    """Answer botocore's requests for this service before moto turns them into werkzeug Requests.

    Under mock_aws moto's stubber sees every botocore call; since moto 5.2.x it rebuilds each one as
    a werkzeug Request before routing it, which costs more than this service's whole handling. The
    stubber still decides whether a call is mocked at all (mock_aws active, moto's passthrough and
    whitelist settings); only the routing of this service's own requests is taken over.
    """
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.models import botocore_stubber
    from moto.moto_api import recorder

    from .responses import SnowDeviceManagementResponse
    from .urls import url_bases

    service_url = re.compile(url_bases[0] + r"(?:\.cn)?/")
    moto_process_request = botocore_stubber.process_request

    def process_request(request: Any) -> Any:
        if (
            not service_url.match(request.url)
            or passthrough_service(BACKEND_NAME)
            or not service_whitelisted(BACKEND_NAME)
            or passthrough_url(request.url.split("?", 1)[0])
        ):
            return moto_process_request(request)
        headers = request.headers
        for name, value in headers.items():
            if isinstance(value, bytes):
                headers[name] = value.decode("utf-8")
        recorder._record_request(request)
        return SnowDeviceManagementResponse.dispatch(request, request.url, headers)

    botocore_stubber.process_request = process_request  # type: ignore[method-assign]
