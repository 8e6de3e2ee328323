"""Coordinators' exports in chat: /export <batch> <format> sends the file, then its manifest.

The export runs as a task (PTB's `Application.create_task`), so the coordinator can go on
using the bot meanwhile; one message, edited as it goes, shows the progress and the result.
The manifest (`bot/manifest.py`) follows the data as one more small document,
`<file>.manifest.json`, also when the data went compressed or in parts.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from telegram import Bot, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.exports import (
    FORMATS,
    ExportSummary,
    Packed,
    UnknownBatch,
    batch_choices,
    default_file_name,
    human_size,
    pack_for_upload,
)
from bot.formatting import number, percent
from bot.i18n import t
from bot.manifest import build_manifest, export_with_agreement, manifest_bytes, manifest_path
from bot.services import Services
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only

log = logging.getLogger(__name__)

EDIT_EVERY_SECONDS = 2.0
SEND_TIMEOUT_SECONDS = 300  # up to 50 MB on a slow link
MAX_BATCHES_LISTED = 20


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [CommandHandler("export", export_command, filters=private)]


@coordinators_only
async def export_command(update: Update, context: NilaiContext) -> None:
    """Checks the batch and format, then sends the export as a document (or tells why not)."""
    message, language = update.message, context.language(update)
    assert message is not None
    args = context.args or []
    names = await batch_choices(context.services.db)
    listed = ", ".join(names[:MAX_BATCHES_LISTED]) or t(language, "export.no_batches")
    if len(args) < 2:
        await message.reply_html(t(language, "export.usage", batches=listed))
        return
    batch, fmt = " ".join(args[:-1]), args[-1].lower()
    if fmt not in FORMATS:
        await message.reply_html(t(language, "export.unknown_format", name=args[-1]))
        return
    if batch not in names:
        await message.reply_html(t(language, "export.unknown_batch", name=batch, batches=listed))
        return
    context.application.create_task(
        send_export(context.bot, message.chat_id, language, context.services, batch, fmt),
        update=update,
        name=f"export:{message.chat_id}",
    )


async def send_export(
    bot: Bot,
    chat_id: int,
    language: str,
    services: Services,
    batch: str,
    fmt: str,
    *,
    upload_limit: int | None = None,
    edit_every: float = EDIT_EVERY_SECONDS,
    chunk_size: int | None = None,
) -> ExportSummary | None:
    """Export into a temporary file and send it: compressed or split above `upload_limit`
    (Telegram's by default). Progress and the outcome show in one edited message."""
    params = {"batch": batch, "format": fmt}
    status = await bot.send_message(
        chat_id, t(language, "export.started", **params), parse_mode=ParseMode.HTML
    )
    progress = _ProgressMessage(status, language, params, edit_every)
    limit = upload_limit or services.settings.upload_limit_bytes
    extra = {"chunk_size": chunk_size} if chunk_size else {}
    try:
        with tempfile.TemporaryDirectory(
            prefix="export-", dir=services.settings.database_path.parent
        ) as work:
            path = Path(work) / default_file_name(batch, fmt)
            summary, agreement = await export_with_agreement(
                services.db, services.settings, batch, fmt, path, on_progress=progress, **extra
            )
            if summary.rows == 0:
                empty = "reviews" if fmt in ("raw", "ratings") else "rewrites"
                await progress.show(t(language, f"export.empty_{empty}", **params))
                return summary
            if summary.size > limit:
                sizes = {
                    "size": human_size(summary.size, language),
                    "limit": human_size(limit, language),
                }
                await progress.show(t(language, "export.packing", **sizes))
            packed = await pack_for_upload(path, limit, header_lines=int(fmt == "ratings"))
            await _send_files(bot, chat_id, language, summary, packed)
            manifest = await build_manifest(
                summary,
                agreement,
                services.clock(),
                sent=packed.files if packed.compressed else None,
            )
            await _send_manifest(bot, chat_id, language, path, manifest)
            await progress.show(_done_text(language, summary, packed, limit))
            return summary
    except UnknownBatch as error:  # removed between the command and the task
        listed = ", ".join(error.choices[:MAX_BATCHES_LISTED]) or t(language, "export.no_batches")
        await progress.show(t(language, "export.unknown_batch", name=batch, batches=listed))
    except Exception:
        log.exception("export of batch %r as %s failed", batch, fmt)
        await progress.show(t(language, "export.failed", **params))
    return None


async def _send_files(
    bot: Bot, chat_id: int, language: str, summary: ExportSummary, packed: Packed
) -> None:
    count = len(packed.files)
    for part, file in enumerate(packed.files, start=1):
        params = {"batch": summary.batch, "format": summary.format}
        caption = (
            t(language, "export.caption_part", part=part, parts=count, **params)
            if packed.split
            else t(
                language,
                "export.caption",
                rows=number(summary.rows, language),
                count=summary.rows,
                **params,
            )
        )
        with file.open("rb") as handle:
            await bot.send_document(
                chat_id,
                document=handle,
                filename=file.name,
                caption=caption,
                parse_mode=ParseMode.HTML,
                write_timeout=SEND_TIMEOUT_SECONDS,
                read_timeout=SEND_TIMEOUT_SECONDS,
            )


async def _send_manifest(
    bot: Bot, chat_id: int, language: str, data: Path, manifest: dict[str, object]
) -> None:
    await bot.send_document(
        chat_id,
        document=manifest_bytes(manifest),
        filename=manifest_path(data).name,
        caption=t(language, "export.manifest_caption"),
        parse_mode=ParseMode.HTML,
    )


def _done_text(language: str, summary: ExportSummary, packed: Packed, limit: int) -> str:
    key = "export.done_split" if packed.split else "export.done_compressed"
    return t(
        language,
        key if packed.compressed else "export.done",
        batch=summary.batch,
        format=summary.format,
        rows=number(summary.rows, language),
        count=summary.rows,
        size=human_size(summary.size, language),
        limit=human_size(limit, language),
        parts=len(packed.files),
    )


class _ProgressMessage:
    """Edits the status message, at most every `every` seconds while the export runs."""

    def __init__(self, message: Message, language: str, params: dict[str, str], every: float):
        self.message, self.language, self.params, self.every = message, language, params, every
        self._last = time.monotonic()

    async def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self._last < self.every or done >= total:
            return
        await self.show(
            t(
                self.language,
                "export.progress",
                done=number(done, self.language),
                total=number(total, self.language),
                percent=percent(done / max(total, 1), self.language),
                **self.params,
            )
        )

    async def show(self, text: str) -> None:
        self._last = time.monotonic()
        try:
            await self.message.edit_text(text, parse_mode=ParseMode.HTML)
        except BadRequest as error:  # progress is best effort: a lost edit changes nothing
            log.debug("export status not edited: %s", error)
