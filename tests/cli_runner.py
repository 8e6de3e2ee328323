"""Running `python -m bot ...` in a subprocess, as an operator would, with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    tmp_path: Path, *args: str, database: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `tmp_path` with only this test's settings (none leak from the shell)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "DATABASE_", "PSEUDONYM_"))
    }
    database = database or tmp_path / "data" / "nilai.db"
    environ.update({"DATABASE_PATH": str(database), "PYTHONPATH": str(ROOT)})
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
