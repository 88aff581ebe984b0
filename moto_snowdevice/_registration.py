"""Makes moto route snow-device-management to this package, in-process and in server mode."""

import re
import sys
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
        import moto.backend_index as backend_index

        import moto.moto_api._internal.urls as moto_api_urls

        from . import _control, models, urls

        # moto.backends.get_backend("snowdevicemanagement") imports moto.snowdevicemanagement
        sys.modules.setdefault(f"moto.{BACKEND_NAME}", models)
        # First in the list, so moto's URL scan finds this service at once
        backend_index.backend_url_patterns.insert(
            0, (BACKEND_NAME, re.compile(urls.url_bases[0]))
        )
        # Seeding and control endpoints beside moto's own /moto-api/ routes
        moto_api_urls.url_paths.update(_control.ROUTES)
        _registered = True
