"""Running the command line in a subprocess, as an operator would, with a clean environment.

`run_cli` runs `python -m bot ...` in a folder of the test's; `run_script` runs `scripts/bot`
itself, from a copy of the project (its `.venv` is this test run's Python, already installed, so
nothing is downloaded), from whatever folder the test names.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_OUR_SETTINGS = ("TELEGRAM_", "DATABASE_", "PSEUDONYM_", "NILAI_")


def clean_environment(**env: str) -> dict[str, str]:
    """The environment without any of Nilai's settings from the shell, plus `env`."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith(_OUR_SETTINGS)}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env)
    return environ


def run_cli(
    tmp_path: Path, *args: str, database: Path | None = None, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in `cwd` (default `tmp_path`) with only this test's settings."""
    database = database or tmp_path / "data" / "nilai.db"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd or tmp_path,
        env=clean_environment(DATABASE_PATH=str(database), **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_project(folder: Path, dotenv: str = "") -> Path:
    """A copy of the project's scripts in `folder`, whose `.venv` is this test's Python, marked
    as installed for the copied pyproject.toml (so `_venv.sh` installs nothing), and `.env`."""
    (folder / "scripts").mkdir(parents=True)
    for script in ("bot", "_venv.sh"):
        shutil.copy2(ROOT / "scripts" / script, folder / "scripts" / script)
    shutil.copy2(ROOT / "pyproject.toml", folder / "pyproject.toml")
    python = folder / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
    python.chmod(0o755)
    digest = hashlib.sha1((folder / "pyproject.toml").read_bytes()).hexdigest()[:12]
    (folder / ".venv" / f".installed-{digest}").touch()
    (folder / ".env").write_text(dotenv, encoding="utf-8")
    return folder


def run_script(
    project: Path, cwd: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `project/scripts/bot ARGS` from `cwd`, by a relative path when there is one."""
    script = Path(os.path.relpath(project / "scripts" / "bot", cwd))
    return subprocess.run(
        ["bash", str(script), *args],
        cwd=cwd,
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
