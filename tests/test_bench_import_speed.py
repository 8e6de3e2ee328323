"""Smoke test of bench/import_speed.py: it runs (small arguments) and prints its figures.

The figures themselves are not checked: benchmarks print, tests never time (see bench/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench.import_speed", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_import_bench_runs_and_prints_its_figures() -> None:
    out = run_bench("--quick")
    assert "machine: nproc=" in out
    assert "import wall time (20,000 items):" in out
    assert "import rate:" in out and "items/s" in out and "target 50,000 items/s" in out
    assert "peak RSS:" in out and "importing 2,000" in out
    assert "RSS during the import" in out and "bytes per item stored" in out
    assert "phases in-process" in out and "validating scan alone" in out
    assert "inserts alone" in out and "the whole import" in out
