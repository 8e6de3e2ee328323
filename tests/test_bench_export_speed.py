"""Smoke test of bench/export_speed.py: it runs (small arguments) and prints its figures.

The figures themselves are not checked: benchmarks print, tests never time (see bench/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench.export_speed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_export_bench_runs_and_prints_its_figures() -> None:
    out = run_bench("--quick")
    assert "machine: nproc=" in out
    assert "outputs: 20,000 lines each" in out
    assert "export raw (20,000 judgments):" in out
    assert "sqlite3 JSON (20,000 rows):" in out
    assert "ratio export / sqlite3:" in out and "target <= 1.5x" in out
    assert "export peak RSS:" in out and "target < 200 MB" in out
