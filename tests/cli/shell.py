"""The `hearth` command run as a shell runs it: the installed script, no HEARTH_* of ours."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

_SCRIPT = Path(sys.executable).parent / "hearth"
HEARTH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "appliance.cli"]


def hearth(*args: str | Path, stdin: str = "", data: Path | None = None,
           env: Mapping[str, str] | None = None, cwd: Path | None = None
           ) -> subprocess.CompletedProcess[str]:
    """Run the installed `hearth` command the way a user would (env: variables to add)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    environ.update(env or {})
    argv = [*HEARTH, *map(str, args)]
    if data is not None:
        argv += ["--data", str(data)]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120,
                          env=environ, cwd=cwd)
