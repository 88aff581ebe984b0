"""Makes moto route snow-device-management to this package, in-process and in server mode."""

from threading import Lock

_lock = Lock()
_registered = False

BACKEND_NAME = "snowdevicemanagement"


def register() -> None:
    """Register the service with moto; calling it again changes nothing."""
    global _registered
    with _lock:
        if _registered:
            return
        from . import _clock, _control, _moto, models, urls
        from .responses import SnowDeviceManagementResponse

        _moto.alias_backend_module(BACKEND_NAME, models)
        _moto.route_service_urls(BACKEND_NAME, urls.url_bases[0])
        # Seeding and control endpoints beside moto's own /moto-api/ routes
        _moto.add_moto_api_routes(_control.ROUTES)
        _moto.add_moto_api_routes(_clock.ROUTES)
        # After the routes above, which must match first
        _moto.add_moto_api_routes(_control.CATCH_ALL_ROUTES)
        _moto.answer_botocore_requests(BACKEND_NAME, urls.url_bases[0], SnowDeviceManagementResponse.dispatch)
        # aiobotocore and aioboto3 clients of this service, in-process too
        _moto.answer_aiobotocore_requests(urls.url_bases[0])
        _registered = True
