"""Where a helper acts: this process, or the server or proxy its clients go to, through the control routes."""

import json
import urllib.request
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from .. import _moto
from .._shapes import SERVICE_NAME, _describe
from ..exceptions import ValidationException
from .local import DEFAULT_REGION

API_PREFIX = f"/moto-api/{SERVICE_NAME}"


class ControlRequestError(RuntimeError):
    """A server or proxy could not be reached, or answered a control request with neither 200 nor 400."""


# Control requests go straight to the server: never through a proxy the environment names (HTTPS_PROXY)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Seconds a control request may take before it is reported as failed
CONTROL_TIMEOUT = 30


def _endpoint_for(endpoint_url: str | None) -> str | None:
    """The server a helper acts on: the one named, else where moto's test mode sends clients; None: here."""
    if endpoint_url is None:
        return _moto.mock_endpoint()
    if not isinstance(endpoint_url, str) or urlsplit(endpoint_url).scheme not in ("http", "https"):
        raise ValidationException(f"endpoint_url must be an http:// or https:// URL, not {_describe(endpoint_url)}")
    return endpoint_url.rstrip("/")


def _body_for(account_id: str | None, region_name: str | None, **fields: Any) -> dict[str, Any]:
    """A control route's body naming this process's default account (its MOTO_ACCOUNT_ID, not the server's)."""
    return {
        "accountId": _moto.default_account_id() if account_id is None else account_id,
        "region": DEFAULT_REGION if region_name is None else region_name,
        **fields,
    }


def call_control_route(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    """Send one control request (`path` under the server's root) and return its JSON answer.

    A 400 raises ValidationException with the server's message, as the helper in-process would.
    """
    try:
        # NaN and the infinities as Python writes them: the route refuses them naming the field, as in-process
        data = None if body is None else json.dumps(body).encode()
    except (TypeError, ValueError) as error:
        raise ValidationException(f"the request body cannot be sent as JSON: {error}") from None
    url = f"{endpoint}{path}"
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=CONTROL_TIMEOUT) as response:
            answer = response.read()
    except HTTPError as error:
        message = _message_of(error.read())
        if error.code == 400:
            raise ValidationException(message) from None
        raise ControlRequestError(f"{method} {url} answered {error.code}: {message}") from None
    except (URLError, OSError) as error:
        raise ControlRequestError(f"{method} {url} failed: {getattr(error, 'reason', error)}") from None
    return json.loads(answer) if answer.strip() else {}


def _message_of(payload: bytes) -> str:
    try:
        message = json.loads(payload).get("message")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) else payload.decode("utf-8", "replace")[:500]


def _route(endpoint: str, route: str, body: Any, method: str = "POST") -> Any:
    return call_control_route(endpoint, method, f"{API_PREFIX}/{route}", body)
