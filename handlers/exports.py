"""Coordinators' exports in chat: /export <batch> <format> sends the file, then its manifest.

The export runs as a task (PTB's `Application.create_task`), so the coordinator can go on
using the bot meanwhile; one message, edited as it goes, shows the progress and the result.
The manifest (`bot/manifest.py`) follows the data as one more small document,
`<file>.manifest.json`, also when the data went compressed or in parts.

`sft` and `dpo` take accepted rewrites only. When that left unreviewed rewrites out, the
result says how many, with an "Include unreviewed" button (`Action.EXPORT_ALL`) that makes
the same export with them (rejected rewrites never come); with nothing accepted yet, that is
the whole answer instead of an empty file. A tapped button goes from its message and is
claimed in the database (`Exports.claim_button`) before its export starts, so a double tap or
a redelivered update runs one export whichever bot process gets it; should that export fail,
the claim is released and the tap may be made again.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.exports import (
    FORMATS,
    REWRITE_FORMATS,
    ExportSummary,
    Packed,
    UnknownBatch,
    default_file_name,
    human_size,
    pack_for_upload,
)
from bot.formatting import number, percent
from bot.i18n import t, t_plain
from bot.manifest import build_manifest, manifest_bytes, manifest_path
from bot.services import Services
from handlers.callback_data import Action, InvalidCallbackData, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.sending import answer_tap

log = logging.getLogger(__name__)

EDIT_EVERY_SECONDS = 2.0
SEND_TIMEOUT_SECONDS = 300  # up to 50 MB on a slow link
MAX_BATCHES_LISTED = 20


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        CommandHandler("export", export_command, filters=private),
        CallbackQueryHandler(include_unreviewed, pattern=rf"^1{Action.EXPORT_ALL.value}:"),
    ]


@coordinators_only
async def export_command(update: Update, context: NilaiContext) -> None:
    """Checks the batch and format, then sends the export as a document (or tells why not)."""
    message, language = update.message, context.language(update)
    assert message is not None
    args = context.args or []
    names = await context.services.exports.choices()
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
    all_rewrites: bool = False,
    upload_limit: int | None = None,
    edit_every: float = EDIT_EVERY_SECONDS,
    chunk_size: int | None = None,
    on_failure: Callable[[], Awaitable[None]] | None = None,
) -> ExportSummary | None:
    """Export into a temporary file and send it: compressed or split above `upload_limit`
    (Telegram's by default). Progress and the outcome show in one edited message.
    `all_rewrites`: sft/dpo take unreviewed rewrites too. `on_failure` runs when the export
    fails, before the failure shows (so what it undoes is undone once the coordinator sees it)."""
    params = {"batch": batch, "format": fmt}
    status = await bot.send_message(
        chat_id, t(language, "export.started", **params), parse_mode=ParseMode.HTML
    )
    progress = _ProgressMessage(status, language, params, edit_every)
    limit = upload_limit or services.settings.upload_limit_bytes
    extra: dict[str, int | bool] = {"all_rewrites": all_rewrites}
    if chunk_size:
        extra["chunk_size"] = chunk_size
    try:
        with tempfile.TemporaryDirectory(
            prefix="export-", dir=services.settings.database_path.parent
        ) as work:
            path = Path(work) / default_file_name(batch, fmt)
            summary, agreement = await services.exports.export(
                batch, fmt, path, on_progress=progress, **extra
            )
            if summary.rows == 0:
                await progress.show(*_empty_text(language, summary))
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
            done = _done_text(language, summary, packed, limit)
            if summary.unreviewed_left_out:
                done += "\n" + _left_out_text(language, "export.left_out", summary)
            await progress.show(done, _include_button(language, summary))
            return summary
    except UnknownBatch as error:  # removed between the command and the task
        listed = ", ".join(error.choices[:MAX_BATCHES_LISTED]) or t(language, "export.no_batches")
        await _undo(on_failure)
        await progress.show(t(language, "export.unknown_batch", name=batch, batches=listed))
    except Exception:
        log.exception("export of batch %r as %s failed", batch, fmt)
        await _undo(on_failure)
        await progress.show(t(language, "export.failed", **params))
    return None


async def _undo(on_failure: Callable[[], Awaitable[None]] | None) -> None:
    """`on_failure`, which must never keep the coordinator from being told of the failure
    (it writes to the database, which may be what failed)."""
    if on_failure is None:
        return
    try:
        await on_failure()
    except Exception:
        log.exception("could not undo after a failed export")


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


def _empty_text(language: str, summary: ExportSummary) -> tuple[str, InlineKeyboardMarkup | None]:
    """Why the export has no rows, from the counts of the rewrites its format chooses among;
    with the button when unreviewed rewrites were left out."""
    params = {"batch": summary.batch, "format": summary.format}
    if summary.format not in REWRITE_FORMATS:
        return t(language, "export.empty_reviews", **params), None
    counts, dpo = summary.exportable, "_dpo" if summary.format == "dpo" else ""
    if not (counts.rejected or counts.unreviewed):  # rows 0: none accepted either
        return t(language, f"export.no_rewrites{dpo}", **params), None
    tally = t(
        language,
        f"export.tally{dpo}",
        accepted=number(counts.accepted, language),
        rejected=number(counts.rejected, language),
        unreviewed=number(counts.unreviewed, language),
    )
    if summary.unreviewed_left_out:
        text = _left_out_text(language, "export.none_accepted", summary)
        return f"{text}\n{tally}", _include_button(language, summary)
    return f"{t(language, 'export.empty_rewrites', **params)}\n{tally}", None


def _left_out_text(language: str, key: str, summary: ExportSummary) -> str:
    left_out = summary.unreviewed_left_out
    return t(
        language,
        key,
        batch=summary.batch,
        format=summary.format,
        unreviewed=number(left_out, language),
        count=left_out,
    )


def _include_button(language: str, summary: ExportSummary) -> InlineKeyboardMarkup | None:
    """ "Include unreviewed" for an sft/dpo export that left unreviewed rewrites out."""
    if not summary.unreviewed_left_out:
        return None
    data = encode(Action.EXPORT_ALL, summary.batch_id, FORMATS.index(summary.format))
    label = t_plain(language, "export.include_unreviewed")
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])


@coordinators_only
async def include_unreviewed(update: Update, context: NilaiContext) -> None:
    """Makes the tapped sft/dpo export again with the unreviewed rewrites (once per button)."""
    query, me = update.callback_query, context.trainer
    assert query is not None and me is not None and query.message is not None
    try:
        batch_id, index = decode(query.data).args
    except InvalidCallbackData:
        batch_id, index = 0, len(FORMATS)  # a forged button: answered as a gone batch
    name = await context.services.exports.batch_name(batch_id)
    if name is None or index >= len(FORMATS) or FORMATS[index] not in REWRITE_FORMATS:
        await answer_tap(query, t_plain(me.language, "export.all_gone"), show_alert=True)
        return
    tapped = (query.message.chat.id, query.message.message_id)
    exports, claimed_at = context.services.exports, context.services.clock()
    if not await exports.claim_button(*tapped, claimed_at):
        # a double tap or a redelivered update, here or in another process: one export is enough
        await answer_tap(query, t_plain(me.language, "export.all_already"))
        return
    fmt = FORMATS[index]
    context.application.create_task(
        _export_all(context, tapped, claimed_at, me.language, name, fmt),
        update=update,
        name=f"export:{query.message.chat.id}",
    )
    try:  # the button is used: it goes, so nobody waits on one that can only say "on its way"
        await query.edit_message_reply_markup(None)
    except TelegramError as error:  # best effort: the claim above still stops a second export
        log.debug("include button not removed: %s", error)
    await answer_tap(query, t_plain(me.language, "export.all_started", format=fmt))


async def _export_all(
    context: NilaiContext,
    tapped: tuple[int, int],
    claimed_at: datetime,
    language: str,
    batch: str,
    fmt: str,
) -> None:
    """The export with the unreviewed rewrites; if it fails, its claim is released, so the
    tapped button may be used again (a stale copy of it, or the tap redelivered), instead of
    "on its way" forever."""
    released = False

    async def release() -> None:  # once, and only this export's claim (`claimed_at`)
        nonlocal released
        if not released:
            await context.services.exports.release_button(*tapped, claimed_at)
            released = True

    summary = None
    try:
        summary = await send_export(
            context.bot,
            tapped[0],
            language,
            context.services,
            batch,
            fmt,
            all_rewrites=True,
            on_failure=release,
        )
    finally:  # also when it ends before its status message, or is cancelled
        if summary is None:
            await release()


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

    async def show(self, text: str, buttons: InlineKeyboardMarkup | None = None) -> None:
        self._last = time.monotonic()
        try:
            await self.message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=buttons)
        except BadRequest as error:  # progress is best effort: a lost edit changes nothing
            log.debug("export status not edited: %s", error)
