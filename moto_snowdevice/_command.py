"""`moto-snowdevice-server` / `python -m moto_snowdevice`: the mock server's command.

It takes moto_server's -H/--host and -p/--port, plus --fleet FILE|NAME to seed devices at start,
--state FILE to keep the state across restarts, --proxy for moto's proxy with this service, and
--stop-on-stdin-eof to end with the process that started it.
"""

import argparse
import os
import signal
import sys
import threading
from typing import Any

from waitress.server import BaseWSGIServer

from . import _moto, _schemas, _state
from ._control import add_fleet_in_process, read_fleet
from ._server import make_mock_server
from .exceptions import SnowDeviceManagementError


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="moto-snowdevice-server",
        description="Serve every moto service and AWS Snow Device Management at one address.",
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="host to bind (default 127.0.0.1)")
    parser.add_argument(
        "-p",
        "--port",
        type=int,
        help="port to listen on (default MOTO_PORT or 5000; with --proxy, MOTO_PROXY_PORT or 5005; 0 picks a free one)",
    )
    parser.add_argument(
        "--proxy",
        action="store_true",
        help="run moto's proxy (as moto_proxy does) with this service: clients set HTTPS_PROXY to it and "
        "AWS_CA_BUNDLE to moto's CA; not with --state",
    )
    parser.add_argument("--fleet", help="fleet file, or the name of a packaged fleet (sample), to seed a fresh state")
    parser.add_argument(
        "--state",
        help="state file (SQLite): loaded at start, every acknowledged change written before it is answered",
    )
    parser.add_argument(
        "--state-sync",
        choices=_state.SYNC_MODES,
        default="normal",
        help="normal: survives the process dying; full: also a power loss (an fsync per change)",
    )
    parser.add_argument(
        "--stop-on-stdin-eof",
        action="store_true",
        help="stop when standard input ends: given a pipe, the server ends with the process that started it",
    )
    return parser.parse_args(argv)


def _stop(signum: int, frame: Any) -> None:
    # A second signal while shutting down must not interrupt it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


def _stop_at_end_of_stdin() -> None:
    """Stop as SIGTERM does once standard input ends (its writer ended, however it ended)."""

    def watch() -> None:
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except (OSError, ValueError, AttributeError):
            pass  # no readable standard input: treated as its end
        # The main thread's handler (_stop) ends the server, within waitress's loop timeout
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _open_state(args: argparse.Namespace) -> _state.StateStore:
    store = _state.StateStore.open(args.state, args.state_sync)
    loaded = store.loaded
    if loaded is None:
        print(f"started fresh state in {args.state} (no saved state there)", flush=True)
    else:
        print(
            f"loaded state from {args.state}: {loaded.tasks} tasks and {loaded.devices} managed devices "
            f"in {len(loaded.backends)} account/region backends",
            flush=True,
        )
    store.install()
    return store


def _seed(fleet: str, store: _state.StateStore | None) -> None:
    # In this process, whatever test mode its environment names; entries without an account go to MOTO_ACCOUNT_ID
    devices = add_fleet_in_process(read_fleet(fleet))
    if store is not None:
        store.flush()
    print(f"seeded {len(devices)} managed devices from {fleet}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.proxy:
        return _proxy(args)
    if args.port is None:
        args.port = int(os.environ.get("MOTO_PORT", 5000))
    store = None
    try:
        if args.state:
            store = _open_state(args)
        # A restored state already holds the fleet it was seeded with
        if args.fleet and (store is None or store.loaded is None or not store.loaded.backends):
            _seed(args.fleet, store)
        server = make_mock_server(args.host, args.port, store)
    except (_state.StateFileError, _state.StateWriteError) as error:
        print(f"moto-snowdevice-server: {error}", file=sys.stderr)
        return 2
    except SnowDeviceManagementError as error:
        print(f"moto-snowdevice-server: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"moto-snowdevice-server: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        if _schemas.checking_responses():
            print("checking every response against its operation's JSON Schema", flush=True)
        return _serve(server, args)
    finally:
        if store is not None:
            store.close()


def _proxy(args: argparse.Namespace) -> int:
    """moto's proxy with this service: every moto service and this one, for clients using HTTPS_PROXY."""
    if args.state:
        print("moto-snowdevice-server: --state is not offered with --proxy", file=sys.stderr)
        return 2
    port = int(os.environ.get("MOTO_PROXY_PORT", 5005)) if args.port is None else args.port
    if args.fleet:
        try:
            _seed(args.fleet, None)
        except SnowDeviceManagementError as error:
            print(f"moto-snowdevice-server: {error.message}", file=sys.stderr)
            return 2
    if args.stop_on_stdin_eof:
        _stop_at_end_of_stdin()
    print(f"moto-snowdevice-server: moto's proxy; its CA for AWS_CA_BUNDLE: {_moto.moto_proxy_ca_bundle()}", flush=True)
    try:
        # moto's proxy prints "Serving HTTP Proxy on HOST:PORT ..." once it listens, and stops on SIGTERM
        _moto.run_moto_proxy(args.host, port)
    except OSError as error:
        print(f"moto-snowdevice-server: cannot listen on {args.host}:{port}: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def _serve(server: BaseWSGIServer, args: argparse.Namespace) -> int:
    host, port = server.effective_host, server.effective_port  # type: ignore[attr-defined]
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    if args.stop_on_stdin_eof:
        _stop_at_end_of_stdin()
    print(f"moto-snowdevice-server listening on http://{host}:{port}", flush=True)
    try:
        # waitress stops its loop and its worker threads on SystemExit (the signal handlers above)
        server.run()
    finally:
        server.close()
    return 0
