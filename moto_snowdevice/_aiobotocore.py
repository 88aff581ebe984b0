"""aiobotocore (and so aioboto3) clients of this service, answered in-process under mock_aws.

One block of reaches into aiobotocore's and moto's private internals, with what it relies on, the
versions verified, and what a user would see if they changed.
"""

import re
import sys
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

# The module whose response conversion is wrapped, as soon as it is imported
_ENDPOINT_MODULE = "aiobotocore.endpoint"


# --- aiobotocore clients ---------------------------------------------------------------------------

# Under mock_aws moto's botocore_stubber, a `before-send` handler that aiobotocore clients inherit from
# botocore's BUILTIN_HANDLERS, answers with a botocore AWSResponse over a
# moto.core.botocore_stubber.MockRawResponse; aiobotocore then calls the module-level
# aiobotocore.endpoint.convert_to_response_dict(http_response, operation_model), which awaits
# `http_response.content` as an aiobotocore.awsrequest.AioAWSResponse gives it (its `raw` has an
# awaitable read()). Verified on aiobotocore 2.25.1, 3.9.2 and 3.10.0 with moto 5.2.4 and 5.2.5, and
# under aiomoto 0.5.8's mock_aws, which wraps the same function and converts every answer first.
# Changed: async calls of this service under mock_aws fail as moto's own services do, with
# "TypeError: object bytes can't be used in 'await' expression"; boto3 calls are not affected.
def answer_aiobotocore_requests(url_base: str) -> None:
    """Hand moto's answers for the service at `url_base` to aiobotocore as the AioAWSResponse it awaits.

    Only moto's answers, for this service's URLs, while a mock_aws is active, are rewrapped; every
    other response passes through unchanged. aiobotocore is not imported here: the wrap is put in
    place when aiobotocore.endpoint is imported (or at once, if it already is).
    """
    service_url = re.compile(url_base + r"(?:\.cn)?/")
    endpoint = sys.modules.get(_ENDPOINT_MODULE)
    if endpoint is not None:
        _wrap_response_conversion(endpoint, service_url)
    elif not any(isinstance(finder, _WrapOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WrapOnImport(service_url))


class _AwaitableRaw:
    """moto's in-memory response body, read with `await` as aiobotocore reads an aiohttp body."""

    def __init__(self, raw: Any):
        self._raw = raw

    async def read(self) -> bytes:
        # The whole body every time: aiobotocore converts one answer twice (to parse it, and for the
        # response-received event), and a MockRawResponse is a BytesIO
        return bytes(self._raw.getvalue())

    def close(self) -> None:
        self._raw.close()


def _wrap_response_conversion(endpoint: ModuleType, service_url: re.Pattern[str]) -> None:
    convert = getattr(endpoint, "convert_to_response_dict", None)
    if convert is None or getattr(convert, "answers_snow_device_management", False):
        return
    try:
        from aiobotocore.awsrequest import AioAWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.models import botocore_stubber
    except ImportError:
        # A changed aiobotocore or moto must never break importing aiobotocore itself
        return

    async def convert_to_response_dict(http_response: Any, operation_model: Any) -> Any:
        if (
            isinstance(http_response.raw, MockRawResponse)
            and not isinstance(http_response, AioAWSResponse)
            and botocore_stubber.enabled
            and service_url.match(http_response.url)
        ):
            http_response = AioAWSResponse(
                http_response.url,
                http_response.status_code,
                http_response.headers,
                _AwaitableRaw(http_response.raw),
            )
        return await convert(http_response, operation_model)

    convert_to_response_dict.answers_snow_device_management = True  # type: ignore[attr-defined]
    endpoint.convert_to_response_dict = convert_to_response_dict  # type: ignore[attr-defined]


class _WrapOnImport(MetaPathFinder):
    """Finds aiobotocore.endpoint through the other finders and wraps it once it has loaded."""

    def __init__(self, service_url: re.Pattern[str]):
        self.service_url = service_url

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> ModuleSpec | None:
        if fullname != _ENDPOINT_MODULE:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _WrappingLoader(spec.loader, self)
                return spec  # type: ignore[no-any-return]
        return None


class _WrappingLoader(Loader):
    """The real loader of aiobotocore.endpoint, then the wrap; anything else goes to the real one."""

    def __init__(self, loader: Any, finder: _WrapOnImport):
        self._loader = loader
        self._finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _wrap_response_conversion(module, self._finder.service_url)
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
