"""Smoke test of bench/review_throughput.py: its --quick run works and prints its figures.

No timing is asserted: the figures themselves are for people to read (see the script).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_quick_run_exits_0_and_prints_reviews_per_second_for_both_bots() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.review_throughput", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^machine: nproc=\d+ .*Python 3\.", result.stdout, re.M), output
    assert re.search(r"^  run 1: bare +\S+ reviews/s .*bot CPU", result.stdout, re.M), output
    assert re.search(r"^  run 1: nilai +\S+ reviews/s .*bot CPU", result.stdout, re.M), output
    assert re.search(r"^  latency nilai .*tap->answerCallbackQuery p50", result.stdout, re.M)
    assert re.search(
        r"^RESULT unthrottled: nilai \S+ reviews/s, bare \S+ reviews/s .*ratio \S+",
        result.stdout,
        re.M,
    ), output
    assert "Traceback" not in output
