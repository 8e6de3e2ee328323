"""What every benchmark prints the same way: the machine it ran on, and summary figures."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def code_version() -> str:
    """The commit measured (and whether the tree had changes), for comparing runs."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+changes" if dirty else "")


def machine_line() -> str:
    """One line naming the machine, the software and the commit measured, for comparing runs."""
    import telegram

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"machine: nproc={os.cpu_count()} ({cpu}), Python {platform.python_version()}, "
        f"python-telegram-bot {telegram.__version__}, sqlite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.release()}, "
        f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}, commit {code_version()}"
    )


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` 0.5 = median); NaN with no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def median_and_best(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} s"
    return f"median {statistics.median(values):.2f} s, best {min(values):.2f} s (of {len(values)})"


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """Stop a bot process as an operator would (SIGTERM), killing it if it has not ended in 30 s."""
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()
