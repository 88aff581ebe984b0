"""`python -m moto_snowdevice`: the mock server (see `moto-snowdevice-server --help`)."""

import sys

from ._server import main

sys.exit(main())
