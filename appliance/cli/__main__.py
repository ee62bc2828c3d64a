"""`python -m appliance.cli`: the `hearth` command, where it is not installed as a script."""
from __future__ import annotations

import sys

from appliance.cli.main import main

sys.exit(main())
