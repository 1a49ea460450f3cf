"""The installed `citebot` console script, run as a user would: a fresh process in a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CITEBOT = Path(sys.executable).with_name("citebot")


def run_citebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed console script in cwd, with no CITEBOT_ settings from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    return subprocess.run(
        [str(CITEBOT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
