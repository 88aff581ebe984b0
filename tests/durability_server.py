"""moto-snowdevice-server with one fault planted on purpose, for the durability checker to catch.

    python tests/durability_server.py --plant NAME --plant-log FILE [--every N] -- SERVER ARGUMENTS

Every planted fault acknowledges something it does not keep, every N-th time, and writes one line
per occurrence to the plant log (JSON), so a test can compare what the checker reports with what
was really lost:
- `unmade-create`: a CreateTask answered 200 with a task ID, never passed on (acknowledged, never made);
- `skipped-write`: a state write skipped silently, never reaching the change log (acknowledged, not durable);
- `dropped-tag`: a TagResource answered 200, never passed on (its tag change dropped);
- `dropped-connectivity`: taking a device offline answered 200, never passed on.
`none` plants nothing: the server as shipped. `--log-size BYTES` makes the state's change log that size;
`--no-fold` leaves every change in the log (the folding's thread does nothing; a full log is still
folded, as always, to start it again), for tests of what a start makes of a killed server's log.
"""

import argparse
import io
import json
import random
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from waitress.server import BaseWSGIServer

from moto_snowdevice import _command
from moto_snowdevice._state import changelog
from moto_snowdevice._state.folding import Folding

PLANTS = ("none", "unmade-create", "skipped-write", "dropped-tag", "dropped-connectivity")
_SIGNED_FOR_SERVICE = "/snow-device-management/aws4_request"
_CONTROL = "/moto-api/snow-device-management"
_REGION_IN_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/")
# IDs of tasks and managed devices, wherever they appear in what a skipped transaction held
_RESOURCE_ID = re.compile(r"\b(?:st|smd)-[a-z0-9]{16}\b")


class PlantLog:
    """One JSON line per planted fault, flushed at once: a kill -9 right after must not lose it."""

    def __init__(self, path: str):
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
        self._lock = threading.Lock()

    def write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()


class EveryNth:
    """True on every n-th call, counted across threads."""

    def __init__(self, every: int):
        self._every = every
        self._count = 0
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            self._count += 1
            return self._count % self._every == 0


def _is_service_request(environ: dict[str, Any], method: str, path: Callable[[str], bool]) -> bool:
    return (
        _SIGNED_FOR_SERVICE in environ.get("HTTP_AUTHORIZATION", "")
        and environ["REQUEST_METHOD"] == method
        and path(environ.get("PATH_INFO", ""))
    )


def _answer(start_response: Any, body: dict[str, Any]) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def unmade_create(application: Any, log: PlantLog, strikes: EveryNth) -> Any:
    """Some CreateTask requests are answered 200 with a fresh task ID and never reach the service."""

    def planted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if _is_service_request(environ, "POST", lambda path: path == "/task") and strikes():
            _read_body(environ)
            task_id = "st-" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=16))
            found = _REGION_IN_CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
            region = found.group(1) if found else "us-east-1"
            account = environ.get("HTTP_X_MOTO_ACCOUNT_ID", "123456789012")
            log.write({"taskId": task_id})
            arn = f"arn:aws:snow-device-management:{region}:{account}:task/{task_id}"
            return _answer(start_response, {"taskId": task_id, "taskArn": arn})
        return application(environ, start_response)

    return planted


def dropped_tag(application: Any, log: PlantLog, strikes: EveryNth) -> Any:
    """Some TagResource requests are answered 200 and never reach the service."""

    def planted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if _is_service_request(environ, "POST", lambda path: path.startswith("/tags/")) and strikes():
            tags = json.loads(_read_body(environ) or b"{}").get("tags", {})
            # The ARN arrives percent-encoded; PATH_INFO holds it decoded once already
            arn = unquote(environ["PATH_INFO"][len("/tags/") :])
            log.write({"resourceArn": arn, "tags": tags})
            return _answer(start_response, {})
        return application(environ, start_response)

    return planted


def dropped_connectivity(application: Any, log: PlantLog, strikes: EveryNth) -> Any:
    """Some POST /moto-api/snow-device-management/connectivity taking a device offline are answered 200
    and never reach the fleet (bringing one online again changes nothing one could miss)."""

    def planted(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ.get("PATH_INFO") == f"{_CONTROL}/connectivity":
            raw = _read_body(environ)
            # Passed on or not, the body is read here once; the application reads it again from a copy
            environ["wsgi.input"] = io.BytesIO(raw)
            body = json.loads(raw or b"{}")
            if body.get("online") is False and strikes():
                answered = {"managedDeviceId": body.get("managedDeviceId"), "online": False}
                log.write(answered)
                return _answer(start_response, answered)
        return application(environ, start_response)

    return planted


def plant_in_application(plant: Callable[[Any, PlantLog, EveryNth], Any], log: PlantLog, strikes: EveryNth) -> None:
    """Wrap whatever application the server hands to waitress, however the server is built.

    waitress (verified on 3.0.2) gives the application to BaseWSGIServer.__init__ whichever way a
    server is created; every request's task calls that server's `application`.
    """
    init = BaseWSGIServer.__init__

    def planted_init(server: BaseWSGIServer, application: Any, *arguments: Any, **settings: Any) -> None:
        init(server, plant(application, log, strikes), *arguments, **settings)

    BaseWSGIServer.__init__ = planted_init  # type: ignore[method-assign]


def skipped_write(log: PlantLog, strikes: EveryNth) -> None:
    """Some state writes are skipped silently; `Folding.append` is the one method that keeps them."""
    append = Folding.append

    def planted(folding: Folding, statements: Any) -> None:
        if strikes():
            log.write({"resourceIds": sorted(set(_RESOURCE_ID.findall(repr(statements))))})
            return
        append(folding, statements)

    Folding.append = planted  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="durability_server.py", allow_abbrev=False)
    parser.add_argument("--plant", choices=PLANTS, default="none")
    parser.add_argument("--plant-log", default="/dev/null")
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--log-size", type=int)
    parser.add_argument("--no-fold", action="store_true")
    args, server_arguments = parser.parse_known_args(argv)
    if args.log_size:
        changelog.LOG_SIZE = args.log_size
    if args.no_fold:
        Folding._run = lambda folding: None  # type: ignore[method-assign]
    log, strikes = PlantLog(args.plant_log), EveryNth(args.every)
    if args.plant == "unmade-create":
        plant_in_application(unmade_create, log, strikes)
    elif args.plant == "dropped-tag":
        plant_in_application(dropped_tag, log, strikes)
    elif args.plant == "dropped-connectivity":
        plant_in_application(dropped_connectivity, log, strikes)
    elif args.plant == "skipped-write":
        skipped_write(log, strikes)
    return _command.main([argument for argument in server_arguments if argument != "--"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
