"""Smoke test of bench/broadcast_rate.py: it runs (small arguments) and prints its figures.

The figures themselves are not checked: benchmarks print, tests never time (see bench/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench.broadcast_rate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_broadcast_bench_runs_and_prints_its_figures() -> None:
    # --quick is 300 trainers at 30/s, about 10 s of sending alone; half of them keeps this
    # smoke run short while exercising everything the full run does.
    out = run_bench("--quick", "--trainers", "150")
    assert "machine: nproc=" in out
    assert "broadcast: 149 of 149 announcements" in out and "; finished" in out
    assert "steady rate:" in out and "of the configured 30/s" in out
    assert "/next -> item panel: p50" in out
    assert "tap -> answer: p50" in out
