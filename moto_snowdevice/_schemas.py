"""JSON Schemas of the documented output shapes, generated from botocore's service model.

`moto-snowdevice-schemas DIR` writes one schema per operation (`<Operation>.json`) and one for the
error body (`error.json`); `--check` fails when the files in DIR differ from what the model says.
`check_responses()` (public, or `MOTO_SNOWDEVICE_CHECK_RESPONSES=1`) makes the response layer check
every response it sends against the same schemas, built from the model at run time.
"""

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape

from ._shapes import SERVICE_MODEL

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ERROR_SCHEMA = "error"


def _shape_schema(shape: Shape, definitions: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` to the shape's definition, adding the definition (and those it uses) on first sight."""
    if shape.name not in definitions:
        definitions[shape.name] = {}  # placeholder: a recursive shape refers to itself
        definitions[shape.name] = _definition(shape, definitions)
    return {"$ref": f"#/$defs/{shape.name}"}


def _definition(shape: Shape, definitions: dict[str, Any]) -> dict[str, Any]:
    build = _DEFINITION_BUILDERS.get(shape.type_name)
    if build is None:
        raise ValueError(f"No JSON Schema mapping for shape type {shape.type_name}")
    return build(shape, definitions)


def _structure_definition(shape: StructureShape, definitions: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: _shape_schema(member, definitions) for name, member in shape.members.items()},
        "additionalProperties": False,
    }
    if shape.required_members:
        schema["required"] = list(shape.required_members)
    if shape.is_tagged_union:
        schema["minProperties"] = schema["maxProperties"] = 1
    return schema


def _string_definition(shape: StringShape, definitions: dict[str, Any]) -> dict[str, Any]:
    meta = shape.metadata
    schema: dict[str, Any] = {"type": "string"}
    if shape.enum:
        schema["enum"] = list(shape.enum)
    if "pattern" in meta:
        # AWS applies a model pattern to the whole value
        schema["pattern"] = f"^(?:{meta['pattern']})$"
    _bounds(schema, meta, "minLength", "maxLength")
    return schema


def _integer_definition(shape: Shape, definitions: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    _bounds(schema, shape.metadata, "minimum", "maximum")
    return schema


def _float_definition(shape: Shape, definitions: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    _bounds(schema, shape.metadata, "minimum", "maximum")
    return schema


def _boolean_definition(shape: Shape, definitions: dict[str, Any]) -> dict[str, Any]:
    return {"type": "boolean"}


def _timestamp_definition(shape: Shape, definitions: dict[str, Any]) -> dict[str, Any]:
    # rest-json sends timestamps as epoch seconds
    return {"type": "number"}


def _list_definition(shape: ListShape, definitions: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": _shape_schema(shape.member, definitions)}
    _bounds(schema, shape.metadata, "minItems", "maxItems")
    return schema


def _map_definition(shape: MapShape, definitions: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "propertyNames": _shape_schema(shape.key, definitions),
        "additionalProperties": _shape_schema(shape.value, definitions),
    }
    _bounds(schema, shape.metadata, "minProperties", "maxProperties")
    return schema


# The JSON Schema of each shape type of the model; botocore builds the subclass that type names
_DEFINITION_BUILDERS: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "structure": _structure_definition,
    "string": _string_definition,
    "integer": _integer_definition,
    "long": _integer_definition,
    "float": _float_definition,
    "double": _float_definition,
    "boolean": _boolean_definition,
    "timestamp": _timestamp_definition,
    "list": _list_definition,
    "map": _map_definition,
}


def _bounds(schema: dict[str, Any], meta: dict[str, Any], low: str, high: str) -> None:
    if "min" in meta:
        schema[low] = meta["min"]
    if "max" in meta:
        schema[high] = meta["max"]


def output_schema(operation_name: str) -> dict[str, Any]:
    operation = SERVICE_MODEL.operation_model(operation_name)
    definitions: dict[str, Any] = {}
    schema: dict[str, Any] = {"$schema": DRAFT, "title": f"{operation_name} output"}
    if operation.output_shape is None:
        # Operations without an output answer an empty JSON object
        schema.update({"type": "object", "properties": {}, "additionalProperties": False})
    else:
        schema.update(_shape_schema(operation.output_shape, definitions))
    schema["$defs"] = definitions
    return schema


def error_schema() -> dict[str, Any]:
    """The body every documented error shares: a required `message` and nothing else."""
    members: dict[str, Any] = {}
    required: set[str] = set()
    for shape in SERVICE_MODEL.error_shapes:
        if not isinstance(shape, StructureShape):
            raise ValueError(f"The error shape {shape.name} is no structure")
        for name in shape.members:
            members[name] = {"type": "string"}
        required.update(shape.required_members)
    return {
        "$schema": DRAFT,
        "title": "error body",
        "type": "object",
        "properties": members,
        "required": sorted(required),
        "additionalProperties": False,
    }


def generate() -> dict[str, dict[str, Any]]:
    """Every schema by its name: the operations' outputs and the error body."""
    schemas = {name: output_schema(name) for name in SERVICE_MODEL.operation_names}
    schemas[ERROR_SCHEMA] = error_schema()
    return schemas


def _render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="moto-snowdevice-schemas",
        description="Write (or --check) the JSON Schemas of the service's output shapes.",
    )
    parser.add_argument("directory", nargs="?", default="schemas")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on drift")
    args = parser.parse_args(argv)
    directory = Path(args.directory)
    drifted = []
    for name, schema in generate().items():
        path = directory / f"{name}.json"
        text = _render(schema)
        if args.check:
            if not path.exists() or path.read_text() != text:
                drifted.append(str(path))
        else:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if drifted:
        print("out of date with the service model: " + ", ".join(drifted), file=sys.stderr)
        return 1
    return 0


# Names the environment variable's value may take to switch checking on at import
_TRUE = frozenset({"1", "true", "yes", "on"})
CHECK_RESPONSES_VARIABLE = "MOTO_SNOWDEVICE_CHECK_RESPONSES"


class ResponseMismatch(AssertionError):
    """A response of the mock that does not match its operation's documented shape."""


def _build_validators() -> dict[str, Any]:
    # Built from the service model, the same schemas `moto-snowdevice-schemas` writes
    return {name: jsonschema.Draft202012Validator(schema) for name, schema in generate().items()}


def from_environment() -> bool:
    """Whether MOTO_SNOWDEVICE_CHECK_RESPONSES asks for checking (1, true, yes or on)."""
    return os.environ.get(CHECK_RESPONSES_VARIABLE, "").strip().lower() in _TRUE


_validators: dict[str, Any] | None = _build_validators() if from_environment() else None


def check_responses(enabled: bool = True) -> None:
    """Check every response of the service against its operation's JSON Schema from now on.

    A response that does not match fails the call with `ResponseMismatch`, naming the operation and
    the mismatch (in server mode: a 500 JSON error saying so). `check_responses(False)` stops it.
    """
    global _validators
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True or False, not {enabled!r}")
    _validators = _build_validators() if enabled else None


def checking_responses() -> bool:
    return _validators is not None


def check_response(operation: str | None, status: int, body: Any) -> None:
    """Raise ResponseMismatch when checking is on and `body` breaks its schema."""
    validators = _validators
    if validators is None:
        return
    name = operation if status == 200 and operation else ERROR_SCHEMA
    errors = sorted(validators[name].iter_errors(body), key=str)
    if errors:
        what = f"{operation} response" if name != ERROR_SCHEMA else f"{operation or 'unrouted'} error ({status})"
        raise ResponseMismatch(f"{what} does not match the {name} schema at {errors[0].json_path}: {errors[0].message}")


if __name__ == "__main__":
    sys.exit(main())
