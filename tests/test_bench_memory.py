"""Smoke test of bench/memory.py: its --quick run works and prints its figures.

No size or timing is asserted: the figures themselves are for people to read (see the script).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_quick_run_exits_0_and_prints_idle_and_active_rss() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^machine: nproc=\d+ .*Python 3\.", result.stdout, re.M), output
    assert re.search(r"^  run 1: idle [\d.]+ MB; active [\d.]+ MB", result.stdout, re.M), output
    assert re.search(r"^RESULT idle RSS: [\d.]+ MB \(target", result.stdout, re.M), output
    assert re.search(
        r"^RESULT active RSS with \d+ trainers: [\d.]+ MB median, peak [\d.]+ MB",
        result.stdout,
        re.M,
    ), output
    assert "Traceback" not in output
