"""CORS in server mode: preflights and headers over raw HTTP, then a web page on another origin using
the AWS SDK for JavaScript v3 in headless Chromium."""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

import moto_snowdevice  # noqa: F401 - registers the service with moto, for ThreadedMotoServer
from moto_snowdevice.pytest_plugin import MockServerProcess

# A browser against servers the tests start: the same in every moto test mode
pytestmark = pytest.mark.own_server

SERVICE = "snow-device-management"
REGION = "us-east-1"
JS_DIR = Path(__file__).resolve().parent / "js"
PAGE_DIR = JS_DIR / "browser"
ORIGIN = "http://127.0.0.1:8000"
UNKNOWN_TASK = "st-aaaaaaaaaaaaaaaa"
SAMPLE_DEVICE = "smd-fictbgr3rbcjeqa5"
TASK_ARN = f"arn:aws:snow-device-management:{REGION}:{DEFAULT_ACCOUNT_ID}:task/{UNKNOWN_TASK}"
# What the JavaScript SDK v3 sends on every call, beside what it signs
JS_SDK_HEADERS = (
    "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-user-agent"
)
SDK_HEADERS = ("authorization", "content-type", "x-amz-date", "x-amz-content-sha256", "x-amz-user-agent")
SERVICE_MODEL = botocore.session.get_session().get_service_model(SERVICE)
# A value for each label of the model's paths; an ARN travels percent-encoded
LABEL_VALUES = {
    "taskId": UNKNOWN_TASK,
    "managedDeviceId": SAMPLE_DEVICE,
    "resourceArn": quote(TASK_ARN, safe=""),
}
ROUTES = {
    name: (
        SERVICE_MODEL.operation_model(name).http["method"],
        re.sub(
            r"\{(\w+)\}",
            lambda label: LABEL_VALUES[label.group(1)],
            SERVICE_MODEL.operation_model(name).http["requestUri"].split("?")[0],
        ),
    )
    for name in SERVICE_MODEL.operation_names
}


# Helpers


def preflight(url: str, method: str = "POST", **headers: str) -> requests.Response:
    """A browser's preflight: unsigned, from ORIGIN, asking for a method and the JS SDK's headers."""
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": JS_SDK_HEADERS,
    }
    return requests.options(url, headers={**asked, **headers}, timeout=30)


def signed(method: str, url: str, body: str | None = None, **headers: str) -> requests.Response:
    """A request SigV4-signed for the service, with extra headers (Origin) as a browser adds them."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials("testing", "testing"), SERVICE, REGION).add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, headers=dict(prepared.headers), data=prepared.body, timeout=30)


def listed(response: requests.Response, header: str) -> set[str]:
    """The names a CORS header lists, lower-cased (header names are case-insensitive)."""
    return {name.strip().lower() for name in response.headers[header].split(",")}


# Preflights


@pytest.mark.parametrize("operation", sorted(ROUTES))
def test_a_preflight_for_each_operation_is_allowed(sdm_server: str, operation: str) -> None:
    method, path = ROUTES[operation]

    response = preflight(sdm_server + path, method)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Vary"] == "Origin"
    assert method.lower() in listed(response, "Access-Control-Allow-Methods")
    assert set(JS_SDK_HEADERS.split(",")) <= listed(response, "Access-Control-Allow-Headers")


def test_a_preflight_that_names_no_headers_still_allows_the_ones_sdks_send(sdm_server: str) -> None:
    response = requests.options(
        f"{sdm_server}/task", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}, timeout=30
    )

    assert response.status_code == 200
    assert set(SDK_HEADERS) <= listed(response, "Access-Control-Allow-Headers")
    assert {"delete", "get", "post"} <= listed(response, "Access-Control-Allow-Methods")


def test_a_preflight_echoes_whatever_headers_the_browser_asks_for(sdm_server: str) -> None:
    asked = {"Access-Control-Request-Headers": "X-Trace-Id, x-amz-meta-site"}

    response = preflight(f"{sdm_server}/tasks", "GET", **asked)

    assert response.status_code == 200
    assert {"x-trace-id", "x-amz-meta-site", *SDK_HEADERS} <= listed(response, "Access-Control-Allow-Headers")


def test_a_preflight_sent_to_the_service_host_name_is_answered_on_any_path(sdm_server: str) -> None:
    response = preflight(f"{sdm_server}/no/such/route", Host=f"{SERVICE}.{REGION}.amazonaws.com")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_preflight_for_a_path_the_service_does_not_serve_is_answered_as_moto_server_answers_it(
    sdm_server: str,
) -> None:
    moto_server = ThreadedMotoServer(port=0, verbose=False)
    moto_server.start()
    try:
        host, port = moto_server.get_host_and_port()
        from_moto = preflight(f"http://{host}:{port}/no/such/route")
    finally:
        moto_server.stop()

    response = preflight(f"{sdm_server}/no/such/route")

    assert response.status_code == from_moto.status_code
    origin = "Access-Control-Allow-Origin"
    assert response.headers.get(origin) == from_moto.headers.get(origin)


# Headers on the service's responses


def test_a_successful_response_allows_the_calling_origin_and_exposes_what_sdks_read(sdm_server: str) -> None:
    response = signed("GET", f"{sdm_server}/managed-devices", Origin=ORIGIN)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Vary"] == "Origin"
    assert {"x-amzn-errortype", "x-amzn-requestid"} <= listed(response, "Access-Control-Expose-Headers")


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("POST", f"/task/{UNKNOWN_TASK}", None, 404, "ResourceNotFoundException"),
        ("POST", "/task", json.dumps({"targets": [], "command": {"reboot": {}}}), 400, "ValidationException"),
        ("GET", "/no/such/route", None, 404, "UnknownOperationException"),
        ("PUT", "/task", None, 405, "UnknownOperationException"),
    ],
)
def test_an_error_response_allows_the_calling_origin_and_exposes_its_error_type(
    sdm_server: str, method: str, path: str, body: str | None, status: int, code: str
) -> None:
    response = signed(method, sdm_server + path, body, Origin=ORIGIN)

    assert response.status_code == status
    assert response.headers["x-amzn-ErrorType"] == code
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "x-amzn-errortype" in listed(response, "Access-Control-Expose-Headers")


def test_a_response_to_a_request_without_origin_allows_any_origin(sdm_server: str) -> None:
    response = signed("GET", f"{sdm_server}/tasks")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_moto_api_responses_keep_the_single_origin_header_moto_sends(sdm_server: str) -> None:
    response = requests.get(f"{sdm_server}/moto-api/data.json", headers={"Origin": ORIGIN}, timeout=30)

    assert response.status_code == 200
    assert response.raw.headers.getlist("Access-Control-Allow-Origin") == [ORIGIN]


def test_moto_disable_global_cors_switches_cors_off_for_the_service_too() -> None:
    with MockServerProcess(env={"MOTO_DISABLE_GLOBAL_CORS": "1"}) as server:
        answered = preflight(f"{server.url}/managed-devices", "GET")
        listed = signed("GET", f"{server.url}/managed-devices", Origin=ORIGIN)

    assert "Access-Control-Allow-Origin" not in answered.headers
    assert "Access-Control-Allow-Methods" not in answered.headers
    assert listed.status_code == 200
    assert "Access-Control-Allow-Origin" not in listed.headers


# A web page on another origin, with the AWS SDK for JavaScript v3, in headless Chromium


class PageSite:
    """The page, its bundle and a POST /report endpoint on a local origin of their own."""

    def __init__(self, bundle: bytes):
        self.reports: queue.Queue[dict[str, Any]] = queue.Queue()
        files = {
            "/": ("text/html", (PAGE_DIR / "index.html").read_bytes()),
            "/bundle.js": ("text/javascript", bundle),
        }
        reports = self.reports

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                content_type, body = files.get(self.path.split("?")[0], ("text/plain", b""))
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                reports.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if found is None:
        reason = "Chromium (Debian's `chromium` package) is needed for the browser test: apt-get install chromium"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def page_site(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageSite]:
    esbuild = JS_DIR / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.fail("esbuild is not installed: run `npm ci --prefix tests/js` first", pytrace=False)
    bundle = tmp_path_factory.mktemp("page") / "bundle.js"
    built = subprocess.run(
        [str(esbuild), "browser/page.mjs", "--bundle", "--format=esm", "--platform=browser",
         f"--outfile={bundle}", "--log-level=warning"],
        cwd=JS_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, f"esbuild failed:\n{built.stderr}"
    site = PageSite(bundle.read_bytes())
    yield site
    site.server.shutdown()
    site.server.server_close()


def open_page(chromium: str, site: PageSite, endpoint: str, profile: Path) -> dict[str, Any]:
    """Opens the page in headless Chromium against the endpoint; returns what the page reported."""
    url = site.url + "?" + urlencode({"endpoint": endpoint, "device": SAMPLE_DEVICE})
    log_path = profile.parent / "chromium.log"
    with open(log_path, "w") as log:
        browser = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--enable-logging=stderr", f"--user-data-dir={profile}", url],
            stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        try:
            return _wait_for_report(site, browser, log_path)
        finally:
            # The browser's renderer and helper processes share its new session's process group
            os.killpg(browser.pid, signal.SIGTERM)
            try:
                browser.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(browser.pid, signal.SIGKILL)
                browser.wait()


def _wait_for_report(site: PageSite, browser: "subprocess.Popen[bytes]", log_path: Path) -> dict[str, Any]:
    for _ in range(180):
        try:
            return site.reports.get(timeout=1)
        except queue.Empty:
            if browser.poll() is not None:
                break
    pytest.fail(f"the page reported nothing; Chromium's log:\n{log_path.read_text()[-4000:]}")


def test_a_web_page_on_another_origin_creates_lists_and_cancels_a_task_with_the_js_sdk(
    chromium: str, page_site: PageSite, tmp_path: Path
) -> None:
    with MockServerProcess("--fleet", "sample") as server:
        report = open_page(chromium, page_site, server.url, tmp_path / "profile")

    assert report.get("step") == "done", f"the page failed: {report}"
    assert SAMPLE_DEVICE in report["devices"]
    task_id = report["taskId"]
    assert re.fullmatch(r"st-[a-z0-9]{16}", task_id)
    assert report["taskArn"] == f"arn:aws:snow-device-management:{REGION}:{DEFAULT_ACCOUNT_ID}:task/{task_id}"
    assert report["canceled"] == task_id
    running_task_id = report["runningTaskId"]
    # The listing reports the second task's work: its device takes one step, QUEUED to IN_PROGRESS
    assert report["listed"] == [
        {"taskId": task_id, "state": "CANCELED"},
        {"taskId": running_task_id, "state": "IN_PROGRESS"},
    ]
    assert report["state"] == "CANCELED"
    # The SDK names the error from x-amzn-ErrorType, which the page may read only when it is exposed
    assert report["unknownTask"] == {"name": "ResourceNotFoundException", "status": 404}


def test_the_same_page_is_refused_by_the_browser_when_cors_is_switched_off(
    chromium: str, page_site: PageSite, tmp_path: Path
) -> None:
    with MockServerProcess("--fleet", "sample", env={"MOTO_DISABLE_GLOBAL_CORS": "1"}) as server:
        report = open_page(chromium, page_site, server.url, tmp_path / "profile")

    assert report["step"] == "ListDevices"
    assert report["failure"]["name"] == "TypeError"
