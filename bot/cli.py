"""`python -m bot ...`: run the bot, migrate, import a batch, make an invite, export.

Which folder a path is relative to (also in `--help` and the README's "Command line"):

* paths given on the command line (the file to import, `--rubric`, `export -o`) are relative to
  the folder the command is run from, as for any command; `export` without `-o` writes there;
* `.env` and a relative `DATABASE_PATH` (the data folder, uploads included) belong to the
  project: they are read from `--project DIR`, which `scripts/bot` sets to its own checkout, so
  it works from any folder. Without it, the project is the folder the command is run from (as a
  service unit or `python -m bot` in the checkout has it).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import socket
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.backups import Made, make_backup
from bot.batch_format import BatchFormatError
from bot.config import ConfigError, Settings, load_settings
from bot.copy_db import add_parser as add_copy_db_parser
from bot.copy_db import copy_db
from bot.logging_setup import setup_logging
from bot.upload_problems import plain
from storage.batches import BatchExistsError
from storage.database import Database
from storage.sqlite_backup import BackupError, RunLock, backup, restore

if TYPE_CHECKING:
    from bot.batch_options import QualityOptions
    from bot.batches import ImportProgress
    from bot.exports import ExportSummary

MAX_REASONS_SHOWN = 20


class ProgressBar:
    """A one-line progress bar on stderr for long imports and exports (only on a terminal)."""

    def __init__(self, label: str, width: int = 30, unit: str = ""):
        self.label = label
        self.width = width
        self.unit = f" {unit}" if unit else ""
        self.shown = sys.stderr.isatty()

    async def update(self, done: int, total: int) -> None:
        if not self.shown or total <= 0:
            return
        self._draw(done / total, f"{done:,}/{total:,}", done >= total)

    async def imported(self, progress: ImportProgress) -> None:
        """An import's progress: items stored, of the items in the file when that is known
        (a CSV's are not until it is read: the bar then follows the lines read)."""
        if not self.shown:
            return
        total = progress.total
        count = f"{progress.items:,}" + (f"/{total:,}" if total is not None else "")
        self._draw(progress.fraction, count, progress.fraction >= 1)

    def _draw(self, fraction: float, count: str, finished: bool) -> None:
        filled = min(self.width, int(self.width * fraction))
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if finished else ""
        line = f"\r{self.label} [{bar}] {count}{self.unit}"
        print(line, end=end, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Nilai: crowd-sourced review of AI answers on Telegram. Files named on the "
        "command line are relative to the folder you run it from; .env and a relative "
        "DATABASE_PATH are relative to the project folder (--project).",
    )
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="the project folder: .env is read from it and a relative DATABASE_PATH is inside "
        "it (default: the current folder; scripts/bot passes its own project folder)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run",
        help="start the bot (long polling, or webhook mode with WEBHOOK_URL); the default",
        description="Start the bot and poll Telegram until Ctrl+C / SIGTERM; with WEBHOOK_URL "
        "set, serve the webhook on WEBHOOK_LISTEN:WEBHOOK_PORT instead (README 'Webhook mode').",
    )
    commands.add_parser(
        "migrate",
        help="create or update the database, then exit",
        description="Apply database migrations and exit.",
    )
    importer = commands.add_parser(
        "import",
        help="import a JSONL or CSV batch",
        description="Import a batch file (JSONL or CSV, see README). A file with any bad line "
        "is refused whole, with line numbers; nothing of it is stored.",
    )
    importer.add_argument(
        "file", type=Path, help="the .jsonl or .csv file (relative to the current folder)"
    )
    importer.add_argument("--batch", required=True, help="name of the new batch")
    importer.add_argument(
        "--overlap", type=int, help="reviews wanted per item (default: DEFAULT_OVERLAP)"
    )
    importer.add_argument(
        "--priority", type=int, default=0, help="higher is reviewed first (default 0)"
    )
    importer.add_argument(
        "--deadline",
        metavar="YYYY-MM-DD",
        help="the last day the batch should be finished on, in TIMEZONE (shown in /batches and "
        "/progress, which warns when the batch falls behind it)",
    )
    importer.add_argument(
        "--rubric",
        type=Path,
        help="the batch's own rubric, a TOML or JSON file (see README; relative to the current "
        "folder)",
    )
    importer.add_argument(
        "--gold-rate",
        metavar="P",
        help="the chance (0 to 1, or 0%%-100%%) that a trainer's next item is a gold item while "
        "they have unseen gold items left (default 0.1)",
    )
    importer.add_argument(
        "--extra-reviews",
        type=int,
        metavar="N",
        help="dynamic overlap: give an item whose scores disagree up to N (1-10) extra reviews; "
        "needs --disagreement (off unless both are given)",
    )
    importer.add_argument(
        "--disagreement",
        type=int,
        metavar="SPREAD",
        help="dynamic overlap: scores on a criterion SPREAD or more points apart (1 to the "
        "rubric's scale span) get an item an extra review; needs --extra-reviews",
    )
    invite = commands.add_parser(
        "invite",
        help="create an invite link",
        description="Create an invite code and print its t.me link (or the code alone if the "
        "bot has not run yet). The code is the last word printed.",
    )
    invite.add_argument("--role", choices=("trainer", "coordinator"), default="trainer")
    invite.add_argument(
        "--uses", type=int, default=1, help="how many people may use it (default 1)"
    )
    invite.add_argument(
        "--days", type=int, default=7, help="days until it expires (default 7; 0 = never)"
    )
    exporter = commands.add_parser(
        "export",
        help="export a batch's results (raw, sft, dpo or ratings)",
        description="Write a batch's results to a file from one consistent snapshot: raw "
        "(JSONL, every submitted review), sft and dpo (JSONL training data from rewrites), "
        "ratings (CSV per item and criterion, with the median and flag counts). sft and dpo "
        "take only rewrites a reviewer accepted, unless --all-rewrites, and never a gold "
        "item's. Trainers appear only as pseudonyms. Exits 0 also when the file has no rows "
        "(it says why).",
    )
    exporter.add_argument("--batch", required=True, help="name of the batch")
    exporter.add_argument(
        "--format", required=True, choices=("raw", "sft", "dpo", "ratings"), dest="fmt"
    )
    exporter.add_argument(
        "-o",
        "--output",
        type=Path,
        help="file to write, relative to the current folder (default: <batch>-<format>.jsonl "
        "or .csv in the current folder)",
    )
    exporter.add_argument(
        "--with-trainer-ids",
        action="store_true",
        help="raw only: add each trainer's real Telegram id beside the pseudonym",
    )
    exporter.add_argument(
        "--all-rewrites",
        action="store_true",
        help="sft and dpo only: take unreviewed rewrites besides accepted ones (rejected "
        "ones never)",
    )
    backup_command = commands.add_parser(
        "backup",
        help="copy the database, also while the bot runs",
        description="Write a consistent copy of the database. Without FILE it goes into "
        "BACKUP_DIR, and only the newest BACKUP_KEEP of those are kept.",
    )
    backup_command.add_argument(
        "file", type=Path, nargs="?", help="where to write it (relative to the current folder)"
    )
    restore_command = commands.add_parser(
        "restore",
        help="put a backup back (stop the bot first)",
        description="Replace the database with a backup made by `backup`. Refused while the "
        "bot runs on this database, or if the file is not a whole Nilai database.",
    )
    restore_command.add_argument(
        "file", type=Path, help="the backup (relative to the current folder)"
    )
    add_copy_db_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = project_settings(args.project)
        secrets = [settings.telegram_bot_token, settings.pseudonym_secret, settings.webhook_secret]
        setup_logging(settings.log_level, secrets)
        command = args.command or "run"
        if command == "run":
            from bot.app import run  # imports PTB's whole stack only when needed

            settings.require_token()
            return _run(settings, run)
        return asyncio.run(_COMMANDS[command](settings, args))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def project_settings(project: Path | None) -> Settings:
    """Settings from the project's `.env` (and the environment), with a relative
    DATABASE_PATH taken inside the project folder (see the module docstring)."""
    folder = (project or Path.cwd()).resolve()
    if project is not None and not folder.is_dir():
        raise ConfigError(f"--project {project}: no such folder")
    settings = load_settings(dotenv=folder / ".env")
    return dataclasses.replace(
        settings,
        database_path=folder / settings.database_path,  # an absolute path stays as it is
        backup_dir=folder / settings.backup_dir,
    )


def _run(settings: Settings, run: Callable[[Settings], None]) -> int:
    """Run the bot; a refused token, an unreachable Bot API or a webhook address that cannot be
    served is one clear line, no traceback."""
    from telegram.error import InvalidToken, NetworkError

    # One process per SQLite file (a second refuses); on PostgreSQL several are the point.
    lock = RunLock(settings.database_path) if settings.database_url is None else None
    if lock is not None and not lock.acquire():
        print(
            f"error: {lock.path} is held: the bot is already running on this database",
            file=sys.stderr,
        )
        return 2
    try:
        run(settings)
    except InvalidToken:
        print(
            "error: Telegram refused TELEGRAM_BOT_TOKEN; copy it again from @BotFather",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:
        reason = str(error).replace(settings.telegram_bot_token or "", "<token>")
        print(
            f"error: cannot reach the Bot API at {settings.telegram_api_base_url}: {reason}",
            file=sys.stderr,
        )
        return 1
    except OSError as error:
        if settings.webhook_url is None or not _cannot_listen(error):
            raise
        print(
            f"error: cannot serve the webhook on WEBHOOK_LISTEN={settings.webhook_listen} "
            f"WEBHOOK_PORT={settings.webhook_port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 2
    finally:
        if lock is not None:
            lock.release()
    return 0


def _cannot_listen(error: OSError) -> bool:
    """The webhook server's bind failed: the port is taken or the address is not this host's."""
    return isinstance(error, socket.gaierror) or error.errno in (
        errno.EADDRINUSE,
        errno.EADDRNOTAVAIL,
    )


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    db = await Database.open(settings.database_target, migrate=False)
    try:
        applied = await db.migrate()
    finally:
        await db.close()
    print(
        f"database {settings.database_path}: "
        + (f"applied {', '.join(applied)}" if applied else "up to date")
    )
    return 0


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.batch_options import OptionError, quality_options
    from bot.batches import ParserFailed, import_batch_file
    from bot.rubric import DEFAULT_RUBRIC, RubricError, load_rubric_file

    if args.overlap is not None and args.overlap < 1:
        print("error: --overlap must be at least 1", file=sys.stderr)
        return 2
    try:
        deadline = _deadline(args.deadline, settings)
    except ValueError as error:
        print(f"error: {error}; nothing was imported", file=sys.stderr)
        return 2
    for path in (args.file, args.rubric):
        if path is not None and not path.is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
    try:
        rubric = load_rubric_file(args.rubric) if args.rubric else DEFAULT_RUBRIC
    except RubricError as error:
        print(f"error: rubric {args.rubric}: {error}", file=sys.stderr)
        return 2
    try:
        quality = quality_options(args.gold_rate, args.extra_reviews, args.disagreement, rubric)
    except OptionError as error:
        print(f"error: {error}; nothing was imported", file=sys.stderr)
        return 2
    db = await Database.open(settings.database_target)
    bar = ProgressBar("importing", unit="items")
    try:
        print(f"checking {args.file} ...", file=sys.stderr)
        result = await import_batch_file(
            db,
            settings,
            args.file,
            name=args.batch,
            overlap=args.overlap,
            priority=args.priority,
            deadline=deadline,
            rubric=rubric,
            quality=quality,
            on_progress=bar.imported,
        )
    except BatchFormatError as error:
        scan = error.scan
        problems = "problem" if scan.error_count == 1 else "problems"
        print(
            f"refused: {args.file} has {scan.error_count:,} {problems}; nothing was imported.",
            file=sys.stderr,
        )
        for problem in scan.errors[:MAX_REASONS_SHOWN]:
            print(f"  {plain(problem)}", file=sys.stderr)
        if scan.error_count > MAX_REASONS_SHOWN:
            print(f"  ... and {scan.error_count - MAX_REASONS_SHOWN:,} more", file=sys.stderr)
        return 1
    except BatchExistsError:
        print(
            f"error: a batch named {args.batch!r} exists already; choose another name",
            file=sys.stderr,
        )
        return 1
    except ParserFailed as error:
        print(f"error: {error}; nothing was imported, please try again", file=sys.stderr)
        return 1
    finally:
        await db.close()
    scan = result.scan
    print(f"imported {result.items:,} items into batch {result.name!r}")
    _print_quality(quality, scan.gold_count)
    if deadline is not None:
        print(f"  deadline: {deadline.isoformat()} (the end of that day, {settings.timezone})")
    if scan.languages:
        languages = ", ".join(f"{code} {count:,}" for code, count in sorted(scan.languages.items()))
        print(f"  languages: {languages}")
    for problem in scan.warnings[:MAX_REASONS_SHOWN]:
        print(f"  warning: {plain(problem)}")
    return 0


def _print_quality(quality: QualityOptions, gold: int) -> None:
    """The import summary's gold items and rate, and the dynamic overlap when it is on."""
    if gold:
        items = "item" if gold == 1 else "items"
        rate = f"{quality.gold_rate * 100:.1f}".removesuffix(".0")
        print(f"  gold: {gold:,} {items}, mixed into each trainer's items at {rate}%")
    else:
        print("  gold: none (no item has a gold expectation)")
    if quality.dynamic:
        extra = "review" if quality.extra_reviews == 1 else "reviews"
        print(
            f"  dynamic overlap: up to {quality.extra_reviews} extra {extra} when scores are"
            f" {quality.disagreement}+ points apart"
        )


def _deadline(text: str | None, settings: Settings) -> date | None:
    """--deadline as a date; ValueError with the one line to print when it cannot be used."""
    from bot.clock import utc_now
    from bot.deadlines import DeadlineError, parse_deadline

    if text is None:
        return None
    try:
        return parse_deadline(text, utc_now(), settings.timezone)
    except DeadlineError as error:
        if error.reason == "past":
            raise ValueError(
                f"--deadline {error.text} has passed already (a deadline ends with its day in"
                f" TIMEZONE, {settings.timezone}); give today or a later day"
            ) from None
        raise ValueError(
            f"--deadline must be a date written YYYY-MM-DD, like 2026-12-20, not {error.text!r}"
        ) from None


async def _invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.onboarding import Onboarding
    from storage.bot_facts import get_fact

    if args.uses < 1 or args.days < 0:
        print("error: --uses must be at least 1 and --days 0 or more", file=sys.stderr)
        return 2
    db = await Database.open(settings.database_target)
    try:
        invite = await Onboarding(db, settings).create_invite(
            role=args.role, uses=args.uses, days=args.days or None
        )
        username = await get_fact(db, "bot_username")
    finally:
        await db.close()
    expiry = f", expires {invite.expires_at[:10]}" if invite.expires_at else ""
    uses = f"{invite.uses_left} use" + ("" if invite.uses_left == 1 else "s")
    print(f"invite for a {invite.role} ({uses}{expiry}):")
    print(f"https://t.me/{username}?start={invite.code}" if username else invite.code)
    return 0


async def _export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.exports import UnknownBatch, default_file_name, human_size
    from bot.manifest import build_manifest, export_with_agreement, write_manifest

    path: Path = args.output or Path(default_file_name(args.batch, args.fmt))
    if args.with_trainer_ids and args.fmt != "raw":
        print("note: --with-trainer-ids only changes the raw format", file=sys.stderr)
    if args.all_rewrites and args.fmt not in ("sft", "dpo"):
        print("note: --all-rewrites only changes the sft and dpo formats", file=sys.stderr)
    partial = path.with_name(path.name + ".partial")  # a failed export leaves no torn file
    db = await Database.open(settings.database_target)
    try:
        summary, agreement = await export_with_agreement(
            db,
            settings,
            args.batch,
            args.fmt,
            partial,
            with_trainer_ids=args.with_trainer_ids,
            all_rewrites=args.all_rewrites,
            on_progress=ProgressBar(f"exporting {args.fmt}").update,
        )
        manifest = await build_manifest(summary, agreement, datetime.now(UTC), file_name=path.name)
    except UnknownBatch as error:
        choices = ", ".join(error.choices) or "none yet"
        print(f"error: no batch named {args.batch!r}; batches: {choices}", file=sys.stderr)
        return 2
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        await db.close()
    partial.replace(path)
    written = write_manifest(manifest, path)
    unit = ("row" if args.fmt == "ratings" else "line") + ("" if summary.rows == 1 else "s")
    print(
        f"exported batch {summary.batch!r} as {summary.format}: {summary.rows:,} {unit}"
        f" ({human_size(summary.size)}) to {path}"
    )
    print(f"  manifest (counts, agreement, rubric version, SHA-256): {written}")
    for line in _export_notes(summary):
        print(f"  {line}")
    return 0


def _export_notes(summary: ExportSummary) -> list[str]:
    """What an export left out, and why it is empty, from the counts of its own format."""
    left_out = summary.unreviewed_left_out
    rewrites = f"{left_out:,} unreviewed rewrite" + ("" if left_out == 1 else "s")
    if summary.rows and left_out:
        return [f"{rewrites} left out (--all-rewrites includes them)"]
    if summary.rows:
        return []
    if summary.format not in ("sft", "dpo"):
        return ["nothing submitted yet"]
    counts = summary.exportable
    which = "rewrites that differ from their answer" if summary.format == "dpo" else "rewrites"
    tally = (
        f"{which}: {counts.accepted:,} accepted, {counts.rejected:,} rejected (never exported),"
        f" {counts.unreviewed:,} unreviewed"
    )
    if left_out:
        return [
            f"no accepted rewrite yet: {rewrites} left out;"
            " add --all-rewrites to include them (rejected ones never are)",
            tally,
        ]
    if counts.rejected or counts.unreviewed:
        return [f"nothing to export: {tally}"]
    if summary.format == "dpo":
        return ["no rewrite that differs from its answer yet"]
    return ["no rewrite written yet"]


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    """A consistent copy of the database, also while the bot runs."""
    try:
        if args.file is not None:
            size = await asyncio.to_thread(backup, settings.database_path, args.file)
            made = Made(args.file, size, [])
        else:
            made = await make_backup(settings)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"backed up {settings.database_path} to {made.path} ({made.size:,} bytes)")
    for gone in made.removed:
        print(f"removed the older backup {gone} (BACKUP_KEEP={settings.backup_keep})")
    return 0


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    """Put a backup back; refused while the bot runs on this database."""
    try:
        size = await asyncio.to_thread(restore, args.file, settings.database_path)
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"restored {settings.database_path} from {args.file} ({size:,} bytes)")
    return 0


_COMMANDS = {
    "migrate": _migrate,
    "import": _import,
    "invite": _invite,
    "export": _export,
    "backup": _backup,
    "restore": _restore,
    "copy-db": copy_db,
}
