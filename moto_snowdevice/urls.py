"""snow-device-management base URL and paths: one regex per route of the service model."""

from ._shapes import OPERATIONS
from .responses import SnowDeviceManagementResponse

url_bases = [
    r"https?://snow-device-management\.(.+)\.amazonaws\.com",
]

url_paths = {
    "{0}" + rules.path_regex.pattern.lstrip("^"): SnowDeviceManagementResponse.dispatch for rules in OPERATIONS.values()
}
# Anything else on the service's host still gets a JSON error from the service, never moto's HTML page
# (a named group: moto up to 5.1.21 turns a bare "/.*" into a literal Flask route that matches nothing)
url_paths["{0}/(?P<route>.*)"] = SnowDeviceManagementResponse.dispatch
