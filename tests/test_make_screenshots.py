"""`make screenshots` is there and runs the script (the pictures themselves are made by hand:
running Chromium through the flows belongs in a manual command, not in every test run)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_screenshots_runs_the_script():
    result = subprocess.run(["make", "-n", "screenshots"], cwd=ROOT, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "scripts/screenshots.py" in result.stdout
