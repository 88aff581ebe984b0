"""The one place where this package relies on moto's (and botocore's) undocumented internals.

moto has no plugin interface, so adding a service means reaching into it. Every such reach is here,
each with what it relies on, the moto versions it was verified on, and what a user would see if moto
changed it. Other modules use only moto's service API (`BackendDict`, `BaseBackend`, `BaseModel`,
`BaseResponse`, `ServiceException`, `mock_aws`, `DEFAULT_ACCOUNT_ID`, `TaggingService`, moto's
`camelcase_to_underscores`) and this module.

Importing it checks every internal it needs: a moto that lacks one stops `import moto_snowdevice`
at once with `UnsupportedMoto`, naming the installed moto and the supported range. The one reach
into aiobotocore (for its clients in-process) waits until aiobotocore is imported, and never breaks
that import.
"""

import functools
import importlib
import importlib.util
import os
import re
import string
import sys
from collections.abc import Callable, Iterator, Mapping
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.metadata import version
from types import ModuleType
from typing import Any, TypeVar

# moto's documented name; moto.core re-exports it without `as`, which mypy --strict reads as private
from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.responses import BaseResponse

SUPPORTED_MOTO = ">=5.1.2,<6"
MOTO_VERSION = version("moto")


class UnsupportedMoto(ImportError):
    """The installed moto lacks an internal this package relies on."""


def _require(what: str, find: Callable[[], Any]) -> Any:
    try:
        return find()
    except (ImportError, AttributeError, TypeError, KeyError) as error:
        raise UnsupportedMoto(
            f"moto-snowdevice cannot run on the installed moto {MOTO_VERSION}: {what} is missing or "
            f"changed ({error}). Supported: moto{SUPPORTED_MOTO}."
        ) from None


def _attribute(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind):
        raise TypeError(f"a {type(value).__name__}, not a {kind.__name__}")
    return value


def _has(owner: Any, *names: str) -> Any:
    for name in names:
        getattr(owner, name)
    return owner


# moto's service error class, which this package's errors derive from (5.1.2 - 5.2.5; absent in 5.1.1).
_require("moto.core.exceptions.ServiceException", lambda: _attribute("moto.core.exceptions", "ServiceException"))


# --- Routing ---------------------------------------------------------------------------------------


# moto.backends.get_backend(name) imports `moto.<name>` and reads `<name>_backends` from it (5.1.2 -
# 5.2.5). Changed: every call of the service would answer moto's 404 "Not yet implemented".
def alias_backend_module(backend_name: str, module: Any) -> None:
    sys.modules.setdefault(f"moto.{backend_name}", module)


# moto scans backend_index.backend_url_patterns, a list of (backend name, compiled host regex), to find
# the service of a URL, in-process and in server mode (5.1.2 - 5.2.5). Changed: as above.
_backend_url_patterns: list[Any] = _require(
    "moto.backend_index.backend_url_patterns",
    lambda: _typed(_attribute("moto.backend_index", "backend_url_patterns"), list),
)


def route_service_urls(backend_name: str, url_base: str) -> None:
    # First in the list, so moto's URL scan finds this service at once
    _backend_url_patterns.insert(0, (backend_name, re.compile(url_base)))


# moto's /moto-api/ routes are the dict moto.moto_api._internal.urls.url_paths, read when its app is
# built (5.1.2 - 5.2.5). Changed: the /moto-api/snow-device-management/ endpoints would answer 404.
_moto_api_url_paths: dict[str, Any] = _require(
    "moto.moto_api._internal.urls.url_paths",
    lambda: _typed(_attribute("moto.moto_api._internal.urls", "url_paths"), dict),
)


def add_moto_api_routes(routes: dict[str, Any]) -> None:
    _moto_api_url_paths.update(routes)


# --- The in-process fast path ----------------------------------------------------------------------

# Under mock_aws every botocore request reaches moto.core.models.botocore_stubber.process_request(
# request), which answers (status, headers, body) or None (5.1.2 - 5.2.5). From 5.2.4 it first
# rebuilds the request as a werkzeug Request, which costs more than this service's whole handling.
# Changed: the fast path would be bypassed (calls still answered, slower) or, if the method were
# renamed, the check below stops the import.
_botocore_stubber = _require(
    "moto.core.models.botocore_stubber.process_request",
    lambda: _has(_attribute("moto.core.models", "botocore_stubber"), "process_request"),
)
# mock_aws(config=...)'s passthrough and whitelist rules, as moto's stubber applies them (5.1.2 - 5.2.5).
# Changed: the import stops here.
_passthrough_service, _passthrough_url, _service_whitelisted = _require(
    "moto.core.config passthrough_service / passthrough_url / service_whitelisted",
    lambda: tuple(
        _attribute("moto.core.config", name)
        for name in ("passthrough_service", "passthrough_url", "service_whitelisted")
    ),
)
# moto's recorder: `_user_enabled` is true while recording (MOTO_ENABLE_RECORDING or start-recording),
# `_record_request(request)` logs a request in the form moto's stubber or server hands it (5.1.2 -
# 5.2.5). Changed: this service's requests would not be recorded, or recording would fail the call.
_recorder = _require(
    "moto.moto_api.recorder (_user_enabled, _record_request)",
    lambda: _has(_attribute("moto.moto_api", "recorder"), "_user_enabled", "_record_request"),
)


class SentHeaders(Mapping[str, str]):
    """A botocore request's headers as moto's stubber hands them on, each decoded when it is read.

    botocore sends its header values as bytes and adds Host only when it sends; moto's stubber decodes
    every value in place, and its request carries the URL's Host (5.1.2 - 5.2.5). Read through
    botocore's case-insensitive mapping, a call reads two or three of them, and moto's IAM check every
    one it signs; decoding only those leaves botocore's request as it was sent. A request sent with
    `requests` reaches the stubber with an email-style HTTPHeaders (5.2.5), read the same way, or as a
    werkzeug Request whose headers are used as they are (5.1.2).
    """

    __slots__ = ("_sent", "_host")

    def __init__(self, sent: Any, host: str):
        self._sent = sent
        self._host = host

    def __getitem__(self, name: str) -> str:
        # botocore's HeadersDict raises KeyError for a header it lacks; the HTTPHeaders (an email
        # Message) moto builds for a request sent with `requests` answers None
        value = self._sent.get(name)
        if value is None:
            if name.lower() == "host":
                return self._host
            raise KeyError(name)
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    def __iter__(self) -> Iterator[str]:
        # keys(): werkzeug's Headers, which moto 5.1 hands on, iterate as (name, value) pairs
        yield from self._sent.keys()
        if "host" not in self._sent:
            yield "host"

    def __len__(self) -> int:
        return sum(1 for _ in self)


def answer_botocore_requests(backend_name: str, url_base: str, dispatch: Callable[[Any, str, Any], Any]) -> None:
    """Answer botocore's requests for this service before moto's stubber rebuilds them.

    Only this service's routing is taken over, and only while the recorder is off: moto's current
    stubber still handles every other request, every passthrough and whitelist decision, every URL it
    rewrites to the AWS domain (ISO regions), and, while recording, this service's requests too, so
    the recorder gets them in the form the installed moto records.
    """
    service_url = re.compile(url_base + r"(?:\.cn)?/")
    moto_process_request = _botocore_stubber.process_request

    def process_request(request: Any) -> Any:
        url = request.url
        if (
            _recorder._user_enabled
            or not service_url.match(url)
            or _passthrough_service(backend_name)
            or not _service_whitelisted(backend_name)
            or _passthrough_url(url.split("?", 1)[0])
        ):
            return moto_process_request(request)
        if hasattr(request, "environ"):
            # A werkzeug Request (moto 5.1 rebuilds a request sent with `requests` as one): its headers
            # are decoded already, Host among them
            return dispatch(request, url, request.headers)
        # The URL matched scheme://host/: its host is the part between the second and third slash
        return dispatch(request, url, SentHeaders(request.headers, url.split("/", 3)[2]))

    # An instance attribute: BotocoreStubber.__call__ and process_prepared_request look it up on self
    _botocore_stubber.process_request = process_request


# --- aiobotocore clients ---------------------------------------------------------------------------

# Under mock_aws moto's botocore_stubber, a `before-send` handler that aiobotocore clients inherit from
# botocore's BUILTIN_HANDLERS, answers with a botocore AWSResponse over a
# moto.core.botocore_stubber.MockRawResponse (a BytesIO), and is `enabled` only while a mock_aws is
# active; aiobotocore then calls the module-level aiobotocore.endpoint.convert_to_response_dict(
# http_response, operation_model), which awaits `http_response.content` as an aiobotocore.awsrequest.
# AioAWSResponse gives it (its `raw` has an awaitable read()). Verified on aiobotocore 2.25.1, 3.9.2
# and 3.10.0 with moto 5.2.4 and 5.2.5, and under aiomoto 0.5.8's mock_aws, which wraps the same
# function and converts every answer first. Changed: async calls of this service under mock_aws fail
# as moto's own services do, with "TypeError: object bytes can't be used in 'await' expression"; a
# moto without the two names below stops the import; boto3 calls are not affected either way.
_mock_raw_response = _require(
    "moto.core.botocore_stubber.MockRawResponse",
    lambda: _has(_attribute("moto.core.botocore_stubber", "MockRawResponse"), "getvalue"),
)
_require("moto.core.models.botocore_stubber.enabled", lambda: _has(_botocore_stubber, "enabled"))
# The module whose response conversion is wrapped, as soon as it is imported
_AIOBOTOCORE_ENDPOINT = "aiobotocore.endpoint"


def answer_aiobotocore_requests(url_base: str) -> None:
    """Hand moto's answers for the service at `url_base` to aiobotocore as the AioAWSResponse it awaits.

    Only moto's answers, for this service's URLs, while a mock_aws is active, are rewrapped; every
    other response passes through unchanged. aiobotocore is not imported here: the wrap is put in
    place when aiobotocore.endpoint is imported (or at once, if it already is).
    """
    service_url = re.compile(url_base + r"(?:\.cn)?/")
    endpoint = sys.modules.get(_AIOBOTOCORE_ENDPOINT)
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
        # response-received event)
        return bytes(self._raw.getvalue())

    def close(self) -> None:
        self._raw.close()


def _wrap_response_conversion(endpoint: ModuleType, service_url: re.Pattern[str]) -> None:
    convert = getattr(endpoint, "convert_to_response_dict", None)
    if convert is None or getattr(convert, "answers_snow_device_management", False):
        return
    try:
        from aiobotocore.awsrequest import AioAWSResponse
    except ImportError:
        # A changed aiobotocore must never break importing aiobotocore itself
        return

    async def convert_to_response_dict(http_response: Any, operation_model: Any) -> Any:
        if (
            isinstance(http_response.raw, _mock_raw_response)
            and not isinstance(http_response, AioAWSResponse)
            and _botocore_stubber.enabled
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
        if fullname != _AIOBOTOCORE_ENDPOINT:
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


# --- Server mode -----------------------------------------------------------------------------------

# moto's WSGI application of every service: DomainDispatcherApplication(create_backend_app) is what
# moto_server serves (5.1.2 - 5.2.5). Changed: the import stops here.
_dispatcher_application, _create_backend_app = _require(
    "moto.moto_server.werkzeug_app DomainDispatcherApplication / create_backend_app",
    lambda: (
        _attribute("moto.moto_server.werkzeug_app", "DomainDispatcherApplication"),
        _attribute("moto.moto_server.werkzeug_app", "create_backend_app"),
    ),
)


def moto_wsgi_application() -> Any:
    """A WSGI application serving every moto service, as moto_server does."""
    return _dispatcher_application(_create_backend_app)


def _server_request_factory() -> Callable[[dict[str, Any]], Any]:
    # moto's Flask app builds each request with its request_class and hands it to the recorder:
    # BackendRequest, a moto Request whose raw_path and raw_url the recorder reads (5.2.4 - 5.2.5), or
    # Flask's Request, whose url the recorder reads (5.1.2 - 5.2.3). Changed: recording in server
    # mode would fail this service's calls.
    werkzeug_app = importlib.import_module("moto.moto_server.werkzeug_app")
    request_class = getattr(werkzeug_app, "BackendRequest", None)
    if request_class is not None:
        return request_class  # type: ignore[no-any-return]
    from flask import Request

    class UndecodedUrlRequest(Request):
        """Flask's Request, its `url` as it arrived: decoded, an ARN's %2F would not replay."""

        @property
        def url(self) -> str:
            raw = self.environ.get("RAW_URI", "")
            return f"{self.host_url.rstrip('/')}{raw}" if raw.startswith("/") else raw or super().url

    return UndecodedUrlRequest


_server_request = _require("moto's server request class", _server_request_factory)


def record_server_request(environ: dict[str, Any]) -> None:
    """Log a request this package answers in server mode as moto's own app would, if recording."""
    if not _recorder._user_enabled:
        return
    # moto reads the undecoded path from RAW_URI, which cheroot calls REQUEST_URI
    if "RAW_URI" not in environ and "REQUEST_URI" in environ:
        environ["RAW_URI"] = environ["REQUEST_URI"]
    _recorder._record_request(_server_request(environ))


# --- IAM -------------------------------------------------------------------------------------------


# moto enforces IAM once ActionAuthenticatorMixin.request_count reaches settings.
# INITIAL_NO_AUTH_ACTION_COUNT (set_initial_no_auth_action_count moves both) (5.1.2 - 5.2.5).
# Changed: the import stops here.
def _authenticator_class() -> Any:
    try:
        return _has(_attribute("moto.core.authorization", "ActionAuthenticatorMixin"), "request_count")
    except ModuleNotFoundError:
        # Before moto.core.authorization existed (5.1.2 - 5.1.16) the mixin lived in moto.core.responses
        return _has(_attribute("moto.core.responses", "ActionAuthenticatorMixin"), "request_count")


_authenticator = _require("ActionAuthenticatorMixin.request_count", _authenticator_class)
_settings = _require(
    "moto.settings.INITIAL_NO_AUTH_ACTION_COUNT",
    lambda: _has(_attribute("moto", "settings"), "INITIAL_NO_AUTH_ACTION_COUNT"),
)
# IAM's record of the access keys and accounts seen, which moto's services update on every call
# (5.1.2 - 5.2.5). Changed: the import stops here.
_mark_account_as_visited = _require(
    "moto.iam.models.mark_account_as_visited", lambda: _attribute("moto.iam.models", "mark_account_as_visited")
)
# The IAM and STS backends of every account, BackendDicts keyed by account and then partition; an
# access key is known to moto only inside the account's backend of its partition (5.1.2 - 5.2.5).
# Changed: the import stops here.
_iam_backends, _sts_backends = _require(
    "moto.iam.models.iam_backends / moto.sts.models.sts_backends",
    lambda: (
        _typed(_attribute("moto.iam.models", "iam_backends"), dict),
        _typed(_attribute("moto.sts.models", "sts_backends"), dict),
    ),
)
# The error moto's IAM check raises for an access key no account knows (5.1.2 - 5.2.5). Changed: the
# import stops here.
_invalid_client_token = _require(
    "moto.core.exceptions.InvalidClientTokenIdError",
    lambda: _attribute("moto.core.exceptions", "InvalidClientTokenIdError"),
)
# The partition of a region ("aws", "aws-cn", "aws-us-gov", ...), as BaseBackend.partition names it in
# every ARN: get_partition(region) is what moto's services import, not documented for users (5.1.2 -
# 5.2.5). Changed: the import stops here.
_get_partition: Callable[[str], str] = _require(
    "moto.utilities.utils.get_partition", lambda: _attribute("moto.utilities.utils", "get_partition")
)


@functools.lru_cache(maxsize=1024)
def partition_of(region: str) -> str:
    """moto's get_partition(region): the same region always has the same partition, read once."""
    return _get_partition(region)


_require(
    "BaseResponse._authenticate_and_authorize_normal_action",
    lambda: _has(BaseResponse, "_authenticate_and_authorize_normal_action", "get_current_account"),
)


def iam_enforced() -> bool:
    """Whether moto's IAM check is on for the next call."""
    return _authenticator.request_count >= _settings.INITIAL_NO_AUTH_ACTION_COUNT  # type: ignore[no-any-return]


class ServiceResponse(BaseResponse):
    """moto's BaseResponse, fed a request the way its IAM check reads one.

    moto's check signs `method`, `raw_path` (5.2.4 - 5.2.5; `uri`'s path in 5.1.2 - 5.2.3) plus
    `uri`'s query, `headers`, `data` (a bodiless request's payload) and the body, `raw_body` (5.1.19 -
    5.2.5) or `body` (5.1.2 - 5.1.18), and names the action with `_get_action()`. Changed: signed
    calls would answer InvalidSignatureException or AccessDenied.
    """

    operation = ""

    def take_request(self, method: str, uri: str, path: str, headers: Any) -> None:
        """Set what moto's check reads of a request; the caller sets `raw_body` once it has read it."""
        self.uri = uri
        self.path = self.raw_path = path
        self.method = method
        self.headers = headers
        self.querystring: dict[str, Any] = {}
        # A bodiless request signed an empty payload, which moto's check reads from `data`
        self.data: Any = {}

    def _get_action(self) -> str:
        return self.operation

    def check_signature(self) -> None:
        """Before moto's IAM check reads the request: refuse one it cannot read. Nothing to refuse here."""

    def authorize(self, resource: str | Callable[[], str], service: str) -> None:
        """moto's IAM check of this call on `resource`, then IAM's bookkeeping of the caller.

        `resource` may be a function: it is asked only while IAM is enforced, the one time the check
        reads it. Whether IAM is enforced is read once per call, so the check and the count agree.

        Neither makes an IAM or STS backend for an account that has none: such an account cannot know
        the caller's access key, so moto's check would only build the backends (each with IAM's
        managed policies) to refuse the key, and its bookkeeping to find nothing to mark. Each one
        built is also scanned by every later call that names no account (moto's
        get_account_id_from), which made every call slower in proportion to the accounts ever named.
        """
        self.body = self.raw_body  # what moto up to 5.1.18 reads
        account = self.current_account
        if iam_enforced():
            self.check_signature()
            if not _has_credentials_store(account):
                raise _invalid_client_token()
            self._authenticate_and_authorize_normal_action(resource() if callable(resource) else resource)
        else:
            # All moto's check does before IAM is enforced: count the call (5.1.2 - 5.2.5)
            _authenticator.request_count += 1
        iam_account = dict.get(_iam_backends, account)
        if iam_account is None:
            return
        # moto's mark_account_as_visited changes nothing for a key its account's backend does not hold
        iam = dict.get(iam_account, partition_of(self.region))
        if iam is not None and self.get_access_key() in iam.access_keys:
            _mark_account_as_visited(
                account_id=account,
                access_key=self.get_access_key(),
                service=service,
                region=self.region,
            )

    def get_current_account(self) -> str:
        """moto's BaseResponse.get_current_account (5.1.2 - 5.2.5), without making IAM backends.

        The same rules in the same order: MOTO_ACCOUNT_ID, then the x-moto-account-id header, then
        the first account whose IAM backend of any partition holds the access key (moto's
        get_account_id_from, which makes each account's backend of every partition to look), else
        the default account. Changed: a call would name another account than moto's services do.
        """
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        named: str | None = self.headers.get("x-moto-account-id")
        if named is not None:
            return named
        # Only backends that hold keys can know this one; with none, the key is not even read
        holders = [
            (account_id, iam)
            for account_id, account in list(dict.items(_iam_backends))
            for iam in list(dict.values(account))
            if iam.access_keys
        ]
        if holders:
            access_key = self.get_access_key()
            for account_id, iam in holders:
                if access_key in iam.access_keys:
                    return str(account_id)
        return str(DEFAULT_ACCOUNT_ID)


def _has_credentials_store(account: str) -> bool:
    """Whether IAM or STS has a backend for the account, without making one (moto's lookup would)."""
    return dict.__contains__(_iam_backends, account) or dict.__contains__(_sts_backends, account)


# --- Models, state manager, seeding ----------------------------------------------------------------

# moto's seedable random source: /moto-api/seed and mock_random.seed() make IDs repeatable
# (5.1.2 - 5.2.5). Changed: the import stops here.
mock_random = _require(
    "moto.moto_api._internal.mock_random",
    lambda: _has(
        _attribute("moto.moto_api._internal", "mock_random"), "get_random_string", "get_random_hex", "uuid4", "random"
    ),
)

# moto's get_random_string(length, lower_case=True) is `length` random.choice draws from its pool of
# ASCII letters and digits, lower-cased (5.1.2 - 5.2.5); random.choice of a 62-letter pool is
# getrandbits(6), drawn again while 62 or more, on Python 3.10 - 3.13. The same draws taken straight
# from getrandbits give the same string from the same state at a fraction of the cost. They are
# checked against moto's own at import, on sources of its class seeded apart from mock_random.
# Changed: IDs are drawn with moto's get_random_string (the same IDs, drawn more slowly).
_POOL = (string.ascii_letters + string.digits).lower()


def _draw_lower_string(source: Any, length: int) -> str:
    getrandbits = source.getrandbits
    drawn = []
    for _ in range(length):
        index = getrandbits(6)
        while index >= 62:
            index = getrandbits(6)
        drawn.append(_POOL[index])
    return "".join(drawn)


def _draws_as_moto() -> bool:
    source_class = type(mock_random)
    for seed in (0, 1, 7, 2**32 + 5, "snow"):
        theirs, ours = source_class(seed), source_class(seed)
        for length in (1, 16, 40):
            if theirs.get_random_string(length=length, lower_case=True) != _draw_lower_string(ours, length):
                return False
    return True


if _draws_as_moto():

    def random_lower_string(length: int) -> str:
        """mock_random.get_random_string(length=length, lower_case=True), drawn the same way, faster."""
        return _draw_lower_string(mock_random, length)

else:

    def random_lower_string(length: int) -> str:
        """mock_random.get_random_string(length=length, lower_case=True)."""
        drawn: str = mock_random.get_random_string(length=length, lower_case=True)
        return drawn


# moto's state manager (set_transition and its /moto-api/state-manager/ endpoints); services register
# their default transition with register_default_transition, and devices read the progression with
# get_transition on every look (5.1.2 - 5.2.5). Changed: the import stops.
state_manager = _require(
    "moto.moto_api.state_manager.register_default_transition",
    lambda: _has(_attribute("moto.moto_api", "state_manager"), "register_default_transition", "get_transition"),
)
# moto's set-transition route ("{0}/moto-api/state-manager/set-transition" in url_paths, answering 201)
# stores any JSON it is given through state_manager.set_transition(model_name, transition), which is
# also the Python API (5.1.2 - 5.2.5). The package checks its own model's transitions there, as they
# are set; moto's route has no error answer of its own, so the route is wrapped to answer the refusal
# as a JSON 400. Changed: a bad transition would be stored again, and read as the default.
_SET_TRANSITION_ROUTE = "{0}/moto-api/state-manager/set-transition"
_require(
    "moto's state-manager set-transition route",
    lambda: (_moto_api_url_paths[_SET_TRANSITION_ROUTE], _has(state_manager, "set_transition", "unset_transition")),
)


def check_transitions_of(model_name: str, check: Callable[[Any], Any], refusal: type[Exception]) -> None:
    """Run `check` on every transition set for `model_name`, from Python or over HTTP, before it is kept.

    `check` raises `refusal` (whose `message`, or text, names the field) to refuse: Python callers get
    it, and the HTTP route answers 400 {"message"}.
    """
    moto_set_transition = state_manager.set_transition
    if getattr(moto_set_transition, "checks", None) == model_name:
        return

    def set_transition(name: str, transition: Any) -> None:
        if name == model_name:
            check(transition)
        moto_set_transition(name, transition)

    set_transition.checks = model_name  # type: ignore[attr-defined]
    # An instance attribute: moto's route and its Python callers look the method up on the instance
    state_manager.set_transition = set_transition
    moto_route = _moto_api_url_paths[_SET_TRANSITION_ROUTE]

    def set_transition_route(request: Any, full_url: str, headers: Any) -> Any:
        try:
            return moto_route(request, full_url, headers)
        except refusal as refused:
            # Imported here: the package's errors derive from a moto class this module checks first
            from .exceptions import json_error

            return json_error(400, getattr(refused, "message", None) or str(refused))

    _moto_api_url_paths[_SET_TRANSITION_ROUTE] = set_transition_route


# moto files every model instance under model_data[service][model] for /moto-api/data.json, keyed by
# the second part of the model's module name (5.1.2 - 5.2.5). Changed: data.json would not list ours.
_model_data: dict[str, Any] = _require(
    "moto.core.model_instances.model_data", lambda: _attribute("moto.core.model_instances", "model_data")
)


def file_models_under(service_name: str, module_part: str) -> None:
    """List this package's models in /moto-api/data.json under the service's name."""
    _model_data[service_name].update(_model_data.pop(module_part, {}))


# --- moto's test modes: where the clients go, and the default account ------------------------------

# moto's settings: TEST_SERVER_MODE (read once, when moto.settings is imported), is_test_proxy_mode()
# (read at each call), and the endpoints its mock_aws resets in those modes, test_server_mode_endpoint()
# (TEST_SERVER_MODE_ENDPOINT) and test_proxy_mode_endpoint() (TEST_PROXY_MODE_ENDPOINT), each read at
# each call (5.1.2 - 5.2.5). Changed: the import stops here.
_require(
    "moto.settings TEST_SERVER_MODE / is_test_proxy_mode / test_server_mode_endpoint / test_proxy_mode_endpoint",
    lambda: _has(
        _settings, "TEST_SERVER_MODE", "is_test_proxy_mode", "test_server_mode_endpoint", "test_proxy_mode_endpoint"
    ),
)


def mock_endpoint() -> str | None:
    """The server (TEST_SERVER_MODE) or proxy (TEST_PROXY_MODE) whose state moto's mock_aws resets and
    this process's clients reach, as moto's own settings name it; None in decorator mode."""
    if _settings.TEST_SERVER_MODE:
        return str(_settings.test_server_mode_endpoint())
    if _settings.is_test_proxy_mode():
        return str(_settings.test_proxy_mode_endpoint())
    return None


def test_server_endpoint() -> str | None:
    """TEST_SERVER_MODE's server (TEST_SERVER_MODE_ENDPOINT, else localhost:MOTO_PORT); None in other modes."""
    return str(_settings.test_server_mode_endpoint()) if _settings.TEST_SERVER_MODE else None


def default_account_id() -> str:
    """The account a call names when it names none: MOTO_ACCOUNT_ID whenever it is set, else moto's default.

    A copy of the first rule of moto's BaseResponse.get_current_account (5.1.2 - 5.2.5), read at each
    call as moto reads it. Changed: helpers would seed an account the service calls no longer reach.
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    return DEFAULT_ACCOUNT_ID


# --- moto's proxy ----------------------------------------------------------------------------------

# moto_proxy is moto.proxy.main(argv), taking -H/--host and -p/--port, serving every service whose
# routes are registered in its own process until SIGINT or SIGTERM (5.1.2 - 5.2.5); its CA is
# moto.moto_proxy.proxy3.CertificateCreator.cacert. Imported only when a proxy is run: it starts
# with openssl checks. Changed: `moto-snowdevice-server --proxy` fails with UnsupportedMoto.
_require("moto.proxy", lambda: _typed(importlib.util.find_spec("moto.proxy"), ModuleSpec))


def run_moto_proxy(host: str, port: int) -> None:
    """moto's proxy, in this process (where this service is registered), until a signal stops it."""
    proxy_main = _require("moto.proxy.main", lambda: _attribute("moto.proxy", "main"))
    proxy_main(["--host", host, "--port", str(port)])


def moto_proxy_ca_bundle() -> str:
    """The file of the CA moto's proxy signs its certificates with (AWS_CA_BUNDLE for its clients)."""
    creator = _require(
        "moto.moto_proxy.proxy3.CertificateCreator.cacert",
        lambda: _has(_attribute("moto.moto_proxy.proxy3", "CertificateCreator"), "cacert"),
    )
    return str(creator.cacert)


# --- Seeding ---------------------------------------------------------------------------------------


def seed_random(seed: int) -> None:
    """What moto's /moto-api/seed?a=SEED does: seed moto's random source (IDs, drawn outcomes)."""
    mock_random.seed(seed)


# --- BackendDict ------------------------------------------------------------------------------------

_require("moto.core.base_backend.BackendDict (reset, _instances)", lambda: _has(BackendDict, "reset", "_instances"))
_Backend = TypeVar("_Backend", bound=BaseBackend)


class ResetAwareBackendDict(BackendDict[_Backend]):
    """moto's BackendDict, told when moto's reset empties it.

    moto's reset (BackendDict.reset: /moto-api/reset, mock_aws starting and stopping) resets each region
    backend of every BackendDict in BackendDict._instances — those that made a backend since the last
    reset — then calls clear() on each one and empties the list (5.1.2 - 5.2.5). Changed: what a subclass
    forgets in `on_reset` (the fleet clock's advance) would outlive a reset; tests/test_fleet_clock.py
    catches it.
    """

    def on_reset(self) -> None:
        """What the dict forgets with moto's reset, beside its backends."""

    def watch_reset(self) -> None:
        """Make moto's next reset reach this dict, though it made no backend since the last one."""
        instances = BackendDict._instances  # type: ignore[misc]
        # By identity: two empty BackendDicts compare equal
        if not any(watched is self for watched in instances):
            instances.append(self)

    def clear(self) -> None:
        super().clear()
        self.on_reset()


def existing_backend(backends: Any, account_id: str, region_name: str) -> Any:
    """The backend already made for an account and region, or None, without making one or taking a lock.

    A BackendDict is a dict of account IDs to AccountSpecificBackend, itself a dict of regions to backends,
    both filled on first lookup under moto's lock (5.1.2 - 5.2.5). Changed: every call would take the
    lookup's lock (slower, same answers), since the caller then falls back to the locked lookup.
    """
    account = dict.get(backends, account_id)
    return None if account is None else dict.get(account, region_name)


def install_backend(backends: Any, account_id: str, region_name: str, backend: Any) -> None:
    """Serve `backend` (restored from a state file) for an account and region of `backends`.

    Assigning into the account's AccountSpecificBackend is what moto's own lookup does once it has built
    a backend (5.1.2 - 5.2.5). Changed: a restored backend would not be served, and --state would start
    empty; tests/test_state.py catches it.
    """
    backends[account_id][region_name] = backend
