"""The installed `citebot` console script, run as a user would: a fresh process in a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CITEBOT = Path(sys.executable).with_name("citebot")
# The one setting the tests pass on: a model-backed test runs at each precision in turn.
PRECISION = "CITEBOT_EMBEDDING__PRECISION"


def run_citebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed console script in cwd, with no CITEBOT_ settings but the precision."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_") or k == PRECISION}
    return subprocess.run(
        [str(CITEBOT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
