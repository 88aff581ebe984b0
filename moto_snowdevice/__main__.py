"""`python -m moto_snowdevice`: the mock server (see `moto-snowdevice-server --help`)."""

import sys

from ._command import main

sys.exit(main())
