"""Smoke runs of every script in bench/: each runs with small arguments and prints its figures.

The figures themselves are not checked: benchmarks print, tests never time (see bench/).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    assert re.search(r"^machine: nproc=\d+ ", result.stdout, re.M), output
    return result.stdout


def test_the_review_throughput_bench_compares_both_bots() -> None:
    out = run_bench("review_throughput", "--quick")
    assert re.search(r"^  run 1: bare +\S+ reviews/s .*bot CPU", out, re.M), out
    assert re.search(r"^  run 1: nilai +\S+ reviews/s .*bot CPU", out, re.M), out
    assert re.search(r"^  latency nilai .*tap->answerCallbackQuery p50", out, re.M), out
    assert re.search(r"^RESULT reviews: nilai \S+ reviews/s, bare \S+ reviews/s .*ratio", out, re.M)
    assert re.search(r"^RESULT cpu: bot CPU per review nilai \S+ ms, bare \S+ ms", out, re.M)


def test_the_memory_bench_prints_idle_and_active_rss() -> None:
    out = run_bench("memory", "--quick")
    assert re.search(r"^  run 1: idle [\d.]+ MB; active [\d.]+ MB", out, re.M), out
    assert re.search(r"^RESULT idle RSS: [\d.]+ MB \(target", out, re.M), out
    assert re.search(r"^RESULT active RSS with \d+ trainers: [\d.]+ MB median, peak", out, re.M)


def test_the_import_bench_prints_rate_memory_and_phases() -> None:
    out = run_bench("import_speed", "--quick")
    assert "import wall time (20,000 items):" in out
    assert "import rate:" in out and "target 50,000 items/s" in out
    assert "peak RSS:" in out and "bytes per item stored" in out
    assert "validating scan alone" in out and "inserts alone" in out


def test_the_export_bench_compares_with_sqlite3() -> None:
    out = run_bench("export_speed", "--quick", "--judgments", "6000")
    assert "outputs: 6,000 lines each" in out
    assert "export raw (6,000 judgments):" in out and "sqlite3 JSON (6,000 rows):" in out
    assert "ratio export / sqlite3:" in out and "target <= 1.5x" in out
    assert "export peak RSS:" in out and "target < 200 MB" in out


def test_the_broadcast_bench_prints_the_rate_and_reply_latency() -> None:
    # --quick is 300 trainers at 30/s, ~10 s of sending; 60 of them keep this run short.
    out = run_bench("broadcast_rate", "--quick", "--trainers", "60")
    assert "broadcast: 59 of 59 announcements" in out and "; finished" in out
    assert "steady rate:" in out and "of the configured 30/s" in out
    assert "/next -> item panel: p50" in out and "tap -> answer: p50" in out
    assert "kill: SIGKILL after" in out and "all among the deliveries given up: yes" in out


def test_the_assignment_bench_prints_latency_alone_and_busy_and_the_plans() -> None:
    out = run_bench("assignment_scale", "--quick", "--sizes", "10000", "--seconds", "1")
    assert "10,000 items: database built" in out
    assert re.search(r"^  alone, the pick \(assign_next_item\): p50 [\d.]+ ms, p99", out, re.M)
    assert re.search(r"^    one more trainer asking, next_item: p50 [\d.]+ ms", out, re.M)
    assert "SEARCH i USING COVERING INDEX items_open" in out
    assert re.search(r"^RESULT pick alone: p99 [\d.]+ ms at 10,000 items", out, re.M), out


def test_the_daily_check_bench_prints_the_idle_check_and_a_full_decision() -> None:
    out = run_bench("daily_check", "--quick")
    assert "SCAN trainers USING COVERING INDEX trainers_zone" in out
    assert re.search(r"^RESULT per-minute check, nothing due: p99 [\d.]+ ms with 500", out, re.M)
    assert "all due: 500 reminders decided for 500 trainers" in out
    assert "a second check a minute later decides 0 more" in out


def test_the_reminder_bench_sends_every_reminder_once_at_the_bulk_rate() -> None:
    out = run_bench("reminder_rate", "--quick")
    assert re.search(r"^reminders: 199 of 199 sent in [\d.]+ s .*; finished", out, re.M), out
    assert re.search(r"^steady rate: [\d.]+ msg/s = [\d.]+% of the configured 30/s", out, re.M)
    assert re.search(r"^duplicates: 0; misses: 0 \(of 196 reachable\)", out, re.M), out
    assert re.search(r"^  tap -> answer: p50 \d+ ms", out, re.M), out


def test_the_agreement_bench_prints_time_and_peak_rss() -> None:
    out = run_bench("agreement_speed", "--quick")
    assert "built: 5,000 items x 3 reviews (15,000) from 100 trainers" in out
    assert re.search(r"^  accuracy: alpha [\d.]+ on [\d,]+ items", out, re.M), out
    assert re.search(r"^RESULT alpha of every criterion: [\d.]+ s \(target < 2 s\)", out, re.M)
    assert re.search(r"^RESULT peak RSS: [\d.]+ MB \(target < 200 MB\)", out, re.M), out


def test_the_review_pick_bench_prints_the_pick_now_and_before() -> None:
    out = run_bench("review_pick_speed", "--quick")
    assert re.search(r"^RESULT open_next \(20 picks, in the write\): p50 [\d.]+ ms, p99", out, re.M)
    assert re.search(r"^RESULT before: the old pick's query alone: p50 [\d.]+ ms", out, re.M)


@pytest.mark.slow  # about 40 s: seven bot processes started and stopped
def test_the_scale_out_bench_compares_processes_on_postgresql_with_sqlite() -> None:
    from tests.conftest import postgres_server

    postgres_server()  # skips this test, with the reason, where there is no PostgreSQL
    result = subprocess.run(
        [sys.executable, "-m", "bench.scale_out", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,  # three configurations, up to six bot processes starting on two cores
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert re.search(r"^machine: nproc=\d+ ", out, re.M), out
    for config, processes in (("sqlite1", 1), ("pg1", 1), ("pg4", 4)):
        assert re.search(rf"^  run 1: {config} +x{processes} .* reviews/s .*bot CPU", out, re.M)
        assert re.search(
            rf"^CONFIG {config} +x{processes}: \S+ reviews/s .*tap->answer p50", out, re.M
        )
    assert re.search(r"^CONFIG pg4 .*PostgreSQL \S+% .*pool \d+ per process", out, re.M), out
    assert re.search(r"^RESULT cpu: bot CPU per review PostgreSQL x1 \S+ ms, SQLite x1", out, re.M)
    assert re.search(r"^RESULT contention: reviews per bot-CPU-second PostgreSQL x4", out, re.M)
    assert re.search(r"^EXPECTED on more cores: ", out, re.M), out
