"""The service's rules, read once from botocore's service model.

Every constraint the mock enforces on input (required members, lengths, patterns, enums, ranges, list
sizes, unions) and every route it serves is compiled here at import, so a request only runs the
compiled checks for its own operation.
"""

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StringShape, StructureShape

from ._identity import is_account_id, is_served_region

SERVICE_NAME = "snow-device-management"
SERVICE_MODEL = botocore.session.get_session().get_service_model(SERVICE_NAME)

# HTTP status of each documented error, e.g. {"ValidationException": 400, ...}
ERROR_STATUS: dict[str, int] = {
    shape.name: shape.metadata["error"]["httpStatusCode"] for shape in SERVICE_MODEL.error_shapes
}


class InvalidInput(Exception):
    """A request that breaks a rule of the service model; the message names the field."""


# A compiled rule: returns the value (timestamps turned into epoch seconds) or raises InvalidInput
Check = Callable[[Any, str], Any]


def _describe(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
    except (RecursionError, ValueError):
        # A value nested deeper than the interpreter's stack allows is described, not dumped
        text = f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= 64 else text[:61] + "..."


def _fail(value: Any, field: str, constraint: str) -> NoReturn:
    raise InvalidInput(
        f"1 validation error detected: Value '{_describe(value)}' at '{field}' "
        f"failed to satisfy constraint: Member must {constraint}"
    )


def refuse_unknown_members(value: dict[str, Any], field: str, members: "Iterable[str]") -> None:
    """Raise InvalidInput naming the first key of `value` that is not one of `members`."""
    allowed = tuple(members)
    for name, member_value in value.items():
        if name not in allowed:
            _fail(member_value, _join(field, name), f"be one of the members: {', '.join(allowed)}")


def _length_check(shape: Shape, noun: str) -> Callable[[Any, str], None] | None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is None and high is None:
        return None

    def check(value: Any, field: str) -> None:
        if low is not None and len(value) < low:
            _fail(value, field, f"have {noun} greater than or equal to {low}")
        if high is not None and len(value) > high:
            _fail(value, field, f"have {noun} less than or equal to {high}")

    return check


def _string_check(shape: StringShape, strict: bool) -> Check:
    length = _length_check(shape, "length")
    enum = frozenset(shape.enum) if shape.enum else None
    pattern_text = shape.metadata.get("pattern")
    # AWS applies the model's patterns to the whole value
    pattern = re.compile(pattern_text) if pattern_text else None

    def check(value: Any, field: str) -> Any:
        if not isinstance(value, str):
            _fail(value, field, "be a string")
        if length is not None:
            length(value, field)
        if enum is not None and value not in enum:
            _fail(value, field, f"satisfy enum value set: [{', '.join(shape.enum)}]")
        if pattern is not None and not pattern.fullmatch(value):
            _fail(value, field, f"satisfy regular expression pattern: {pattern_text}")
        return value

    return check


# The range of the model's integer (32-bit) and long (64-bit) numbers, both signed, as the SDKs hold them
_NUMBER_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _number_check(shape: Shape, strict: bool) -> Check:
    smallest, largest = _NUMBER_RANGE[shape.type_name]
    low = max(shape.metadata.get("min", smallest), smallest)
    high = min(shape.metadata.get("max", largest), largest)

    def check(value: Any, field: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            _fail(value, field, "be an integer")
        if value < low:
            _fail(value, field, f"have value greater than or equal to {low}")
        if value > high:
            _fail(value, field, f"have value less than or equal to {high}")
        return value

    return check


def _list_check(shape: ListShape, strict: bool) -> Check:
    length = _length_check(shape, "length")
    member = compile_check(shape.member, strict)

    def check(value: Any, field: str) -> Any:
        if not isinstance(value, list):
            _fail(value, field, "be a list")
        if length is not None:
            length(value, field)
        return [member(item, f"{field}.{index + 1}.member") for index, item in enumerate(value)]

    return check


def _map_check(shape: MapShape, strict: bool) -> Check:
    length = _length_check(shape, "number of entries")
    key = compile_check(shape.key, strict)
    item = compile_check(shape.value, strict)

    def check(value: Any, field: str) -> Any:
        if not isinstance(value, dict):
            _fail(value, field, "be a map")
        if length is not None:
            length(value, field)
        return {key(name, f"{field}.key"): item(entry, f"{field}.{name}") for name, entry in value.items()}

    return check


def _structure_check(shape: StructureShape, strict: bool) -> Check:
    members = {name: compile_check(member, strict) for name, member in shape.members.items()}
    required = tuple(shape.required_members)
    is_union = shape.is_tagged_union

    def check(value: Any, field: str) -> Any:
        if not isinstance(value, dict):
            _fail(value, field, "be a structure")
        for name in required:
            if value.get(name) is None:
                _fail(None, _join(field, name), "not be null")
        checked: dict[str, Any] = {}
        for name, member_value in value.items():
            member_check = members.get(name)
            if member_check is None:
                if strict:
                    refuse_unknown_members({name: member_value}, field, members)
                # Unknown members of a request are ignored, as AWS does
                continue
            if member_value is not None:
                checked[name] = member_check(member_value, _join(field, name))
        if is_union and len(checked) != 1:
            _fail(value, field, f"have exactly one of these members set: {', '.join(members)}")
        return checked

    return check


def _join(field: str, name: str) -> str:
    return f"{field}.{name}" if field else name


def _boolean_check(shape: Shape, strict: bool) -> Check:
    def check(value: Any, field: str) -> Any:
        if not isinstance(value, bool):
            _fail(value, field, "be a boolean")
        return value

    return check


def _timestamp_check(shape: Shape, strict: bool) -> Check:
    def check(value: Any, field: str) -> Any:
        return epoch_seconds(value, field)

    return check


# The epoch seconds a datetime can hold: from the start of year 1 to the end of year 9999, in UTC
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc).timestamp()
_LATEST = datetime.max.replace(tzinfo=timezone.utc).timestamp()


def epoch_seconds(value: Any, field: str) -> float:
    """A timestamp given as epoch seconds, a datetime or an ISO 8601 text, in epoch seconds.

    Epoch seconds must be finite and name an instant a datetime can hold (years 1 to 9999): NaN, an
    infinity or a 400-digit integer is no timestamp.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Comparing is exact for integers of any size, and false for NaN
        if not _EARLIEST <= value <= _LATEST:
            _fail(value, field, f"be a timestamp between {_EARLIEST:.0f} and {_LATEST:.0f} epoch seconds")
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            _fail(value, field, "be a timestamp (epoch seconds or ISO 8601)")
    if isinstance(value, datetime):
        moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    _fail(value, field, "be a timestamp (epoch seconds or ISO 8601)")


_CHECK_BUILDERS: dict[str, Callable[[Any, bool], Check]] = {
    "string": _string_check,
    "integer": _number_check,
    "long": _number_check,
    "list": _list_check,
    "map": _map_check,
    "structure": _structure_check,
    "boolean": _boolean_check,
    "timestamp": _timestamp_check,
}


def compile_check(shape: Shape, strict: bool = False) -> Check:
    """A function that returns a value checked against the shape's rules, or raises InvalidInput.

    `strict` refuses members the shape does not have (for documents we are given, not requests).
    """
    return _CHECK_BUILDERS[shape.type_name](shape, strict)


class OperationRules:
    """How one operation is routed, read and checked; built once per operation."""

    def __init__(self, operation: OperationModel):
        self.name = operation.name
        self.method: str = operation.http["method"]
        self.request_uri: str = operation.http["requestUri"]
        self.path_regex = re.compile(_uri_to_regex(self.request_uri))
        input_shape = operation.input_shape
        self.uri_members: dict[str, str] = {}
        self.query_members: dict[str, tuple[str, str]] = {}
        self.body_members: tuple[str, ...] = ()
        body = []
        for name, member in input_shape.members.items() if input_shape else ():
            location = member.serialization.get("location")
            location_name = member.serialization.get("name", name)
            if location == "uri":
                self.uri_members[location_name] = name
            elif location == "querystring":
                self.query_members[location_name] = (name, member.type_name)
            else:
                body.append(name)
        self.body_members = tuple(body)
        self.check = compile_check(input_shape) if input_shape else None

    def parse(self, path_match: "re.Match[str]", query: str, body: bytes | str | None) -> dict[str, Any]:
        """The request's parameters by member name, checked against the model.

        The one reading of a request: IAM's resource and the handler's arguments both come from it.
        A member given twice (a singular query parameter, a JSON key) is refused, never read one way
        here and another way elsewhere; list members of the query string (tagKeys) repeat.
        """
        try:
            params = self._body_members(body)
            for location_name, value in path_match.groupdict().items():
                try:
                    params[self.uri_members[location_name]] = unquote(value, errors="strict")
                except UnicodeDecodeError:
                    _fail(value, location_name, "be percent-encoded UTF-8")
            if query and self.query_members:
                self._query_members(query, params)
            return self.check(params, "") if self.check is not None else params
        except RecursionError:
            raise InvalidInput("The request body is nested too deeply") from None

    def _body_members(self, body: bytes | str | None) -> dict[str, Any]:
        if not (self.body_members and body):
            return {}
        try:
            document = _read_json(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidInput(f"The request body is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise InvalidInput("The request body must be a JSON object")
        return {name: document[name] for name in self.body_members if name in document}

    def _query_members(self, query: str, params: dict[str, Any]) -> None:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise InvalidInput("The query string is not percent-encoded UTF-8") from None
        for key, value in pairs:
            target = self.query_members.get(key)
            if target is None:
                continue
            name, type_name = target
            if type_name == "list":
                params.setdefault(name, []).append(value)
            elif name in params:
                _fail(value, name, "be given once")
            else:
                params[name] = _from_query(value, type_name, name)


class _RepeatedKey(ValueError):
    """A JSON object that names one key twice; json.loads reports it as invalid JSON."""


def _object_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(f"the key {_describe(key)!r} is given more than once")
            seen.add(key)
    return document


# One decoder for every request body: json.loads builds a new one per call when given a hook
_BODY_DECODER = json.JSONDecoder(object_pairs_hook=_object_once)


def _read_json(body: bytes | str) -> Any:
    """json.loads(body, object_pairs_hook=_object_once), with the decoder built once."""
    if isinstance(body, str):
        if body.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", body, 0)
    else:
        # UTF-8, or the UTF-16 or UTF-32 that the first bytes show, as json.loads reads bytes
        body = body.decode(json.detect_encoding(body), "surrogatepass")
    return _BODY_DECODER.decode(body)


_INTEGER = re.compile(r"-?[0-9]+")


def _from_query(value: str, type_name: str, name: str) -> Any:
    # Plain decimal digits only: Python's int() would also take " 5" and "1_0"
    if type_name in ("integer", "long"):
        if not _INTEGER.fullmatch(value):
            _fail(value, name, "be an integer")
        return int(value)
    return value


def check_caller(account_id: object, region: object) -> None:
    """Raise InvalidInput unless the request's account and region are ones this service serves."""
    if not is_account_id(account_id):
        _fail(account_id, "accountId", "be an AWS account ID of twelve ASCII digits")
    if not is_served_region(region):
        _fail(region, "region", "be a region this service serves")


def _uri_to_regex(request_uri: str) -> str:
    path = request_uri.split("?", 1)[0]
    parts = []
    for segment in path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            label = segment[1:-1]
            if label.endswith("+"):
                parts.append(f"(?P<{label[:-1]}>.+)")
            else:
                parts.append(f"(?P<{label}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return "^" + "/".join(parts) + "$"


OPERATIONS: dict[str, OperationRules] = {
    name: OperationRules(SERVICE_MODEL.operation_model(name)) for name in SERVICE_MODEL.operation_names
}


def _routes_by_method() -> dict[str, tuple[OperationRules, ...]]:
    routes: dict[str, list[OperationRules]] = {}
    for rules in OPERATIONS.values():
        routes.setdefault(rules.method, []).append(rules)
    # Longer literal paths first, so /task/{taskId}/cancel wins over /task/{taskId}
    return {
        method: tuple(sorted(found, key=lambda r: len(r.request_uri), reverse=True)) for method, found in routes.items()
    }


ROUTES = _routes_by_method()


def find_operation(method: str, path: str) -> tuple[OperationRules, "re.Match[str]"] | None:
    """The operation a method and raw (still percent-encoded) path ask for."""
    for rules in ROUTES.get(method, ()):
        match = rules.path_regex.match(path)
        if match is not None:
            return rules, match
    return None


def path_exists(path: str) -> bool:
    """Whether any operation is served at this path, whatever the method."""
    return any(rules.path_regex.match(path) for found in ROUTES.values() for rules in found)


def raw_path(environ: dict[str, Any]) -> str:
    """A WSGI request's path as sent: the route regexes match it raw, where an ARN keeps its %2F."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    return urlsplit(raw).path if raw else quote(environ.get("PATH_INFO", ""))
