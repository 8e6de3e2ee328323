"""Coordinators' batches in chat: uploads, the open/discard decision, /batches and its buttons."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.batch_format import BatchScan
from bot.batch_options import OptionError, QualityOptions, shown_rate
from bot.batches import BATCH_OPERATIONS, BatchProgress, ImportProgress
from bot.deadlines import DeadlineError
from bot.formatting import number, percent, weekday_date
from bot.i18n import Html, t, t_plain
from bot.rubric import DEFAULT_RUBRIC, Rubric, RubricError, load_rubric_file
from bot.streaks import local_date
from bot.upload_problems import html_text
from bot.uploads import (
    CHOICES,
    CaptionError,
    CheckedUpload,
    DeadlinePassedError,
    RubricTooNarrowError,
    UploadRequest,
    parse_caption,
)
from handlers import broadcasts
from handlers.callback_data import Action, decode, encode
from handlers.context import NilaiContext
from handlers.coordinator_guard import coordinators_only
from handlers.text_split import visible_len

log = logging.getLogger(__name__)

BATCH_FILES = (".jsonl", ".ndjson", ".jsonlines", ".json", ".csv")
RUBRIC_FILES = (".toml",)
MAX_REASONS = 10
EDIT_EVERY_SECONDS = 1.0
_STATUS_ICONS = {"open": "🟢", "paused": "⏸", "closed": "⚫"}


def handlers() -> list[BaseHandler]:
    """This feature's handlers, registered by the composition root before the catch-alls."""
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    return [
        MessageHandler(private & filters.Document.ALL, document_received),
        CommandHandler("batches", batches_command, filters=private),
        CallbackQueryHandler(upload_decided, pattern=rf"^1{Action.UPLOAD.value}:"),
        CallbackQueryHandler(batch_button, pattern=rf"^1{Action.BATCH.value}:"),
    ]


@coordinators_only
async def document_received(update: Update, context: NilaiContext) -> None:
    """Checks an uploaded batch (or rubric) file and offers Open / Open quietly / Discard."""
    message, language = update.message, context.language(update)
    assert message is not None and message.document is not None
    document = message.document
    file_name = document.file_name or "upload"
    suffix = Path(file_name).suffix.lower()
    is_rubric = suffix in RUBRIC_FILES or (
        suffix == ".json" and "rubric" in (message.caption or "").lower()
    )
    if not is_rubric and suffix not in BATCH_FILES:
        await message.reply_html(t(language, "upload.wrong_type"))
        return
    limit = context.services.settings.download_limit_bytes
    if (document.file_size or 0) > limit:
        await message.reply_html(
            t(
                language,
                "upload.too_big",
                file=file_name,
                size=number((document.file_size or 0) / 2**20, language, decimals=1),
                limit=number(limit // 2**20, language),
            )
        )
        return
    status = await message.reply_html(t(language, "upload.checking", file=file_name))
    request = None
    if not is_rubric:
        request = await _caption_request(status, message.caption, file_name, language, context)
        if request is None:
            return
    uploads = context.services.uploads
    path = uploads.path_for(document.file_unique_id, file_name)
    await (await document.get_file()).download_to_drive(path)
    if request is None:
        await _rubric_received(status, path, context)
        return
    checked = await uploads.check(message.from_user.id, path, file_name, request)
    await status.edit_text(
        _check_text(checked, file_name, language, context),
        parse_mode=ParseMode.HTML,
        reply_markup=_decision_keyboard(checked.upload_id, language) if checked.upload_id else None,
    )


async def _caption_request(
    status: Message, caption: str | None, file_name: str, language: str, context: NilaiContext
) -> UploadRequest | None:
    """The caption's name, overlap, priority, deadline and quality options; None (the status
    says why, and the file is not even downloaded) when a part cannot be read or used."""
    settings = context.services.settings
    assert context.trainer is not None
    rubric = (
        await context.services.uploads.pending_rubric(context.trainer.user_id) or DEFAULT_RUBRIC
    )
    try:
        return parse_caption(
            caption,
            Path(file_name).stem,
            now=context.services.clock(),
            zone=settings.timezone,
            rubric=rubric,
        )
    except CaptionError as error:
        text = t(language, "upload.bad_caption", part=error.detail[:60])
    except DeadlineError as error:
        text = t(language, f"upload.deadline_{error.reason}", part=error.text[:60])
    except OptionError as error:
        params = {k: str(v)[:60] for k, v in error.params.items()}
        text = t(language, f"upload_option.{error.reason}", **params)
    await status.edit_text(text, parse_mode=ParseMode.HTML)
    return None


async def _rubric_received(status: Message, path: Path, context: NilaiContext) -> None:
    trainer = context.trainer
    assert trainer is not None
    language = trainer.language
    try:
        rubric = load_rubric_file(path)
    except RubricError as error:
        reason = Html(html_text(error.problem, language))
        await status.edit_text(
            t(language, "upload.rubric_bad", reason=reason), parse_mode=ParseMode.HTML
        )
        return
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    try:
        attached = await context.services.uploads.save_rubric(trainer.user_id, rubric)
    except RubricTooNarrowError as error:
        spread, most = number(error.disagreement, language), number(error.span, language)
        text = t(language, "upload.rubric_too_narrow", part=spread, most=most)
        await status.edit_text(text, parse_mode=ParseMode.HTML)
        return
    key = "upload.rubric_attached" if attached else "upload.rubric_saved_next"
    await status.edit_text(
        t(language, key, criteria=_criteria(rubric, language)), parse_mode=ParseMode.HTML
    )


def _criteria(rubric: Rubric, language: str) -> str:
    return ", ".join(rubric.label(key, language) for key in rubric.criteria)


def _check_text(
    checked: CheckedUpload, file_name: str, language: str, context: NilaiContext
) -> str:
    """The summary of a good file, or the reasons a bad one was refused."""
    request, scan = checked.request, checked.scan
    if checked.name_taken:
        return t(language, "upload.name_taken", name=request.name)
    if checked.upload_id is None:
        return _refusal_text(scan, file_name, language)
    languages = ", ".join(
        f"{code} {number(count, language)}" for code, count in sorted(scan.languages.items())
    )
    rubric = checked.rubric
    summary = t(
        language,
        "upload.summary",
        name=request.name,
        items=number(scan.items, language),
        longest=number(scan.longest_chars, language),
        languages=languages or Html(t(language, "upload.languages_unknown")),
        rubric=Html(t(language, "upload.rubric_default"))
        if rubric == DEFAULT_RUBRIC
        else Html(t(language, "upload.rubric_custom", criteria=_criteria(rubric, language))),
        overlap=request.overlap or context.services.settings.default_overlap,
        priority=request.priority,
    )
    summary += "\n" + "\n".join(_quality_lines(request.quality, scan.gold_count, language))
    if request.deadline is not None:
        summary += "\n" + t(
            language,
            "upload.deadline",
            day=weekday_date(request.deadline, language, today=_today(context)),
        )
    if scan.warning_count:
        first = Html(html_text(scan.warnings[0], language))
        summary += "\n" + t(language, "upload.warnings", count=scan.warning_count, first=first)
    return summary


def _quality_lines(quality: QualityOptions, gold: int, language: str) -> list[str]:
    """The gold items with their rate, and the dynamic overlap when it is on."""
    lines = [
        t(
            language,
            "upload.gold",
            count=number(gold, language),
            rate=shown_rate(quality.gold_rate, language),
        )
        if gold
        else t(language, "upload.gold_none")
    ]
    if quality.dynamic:
        lines.append(
            t(
                language,
                "upload.dynamic",
                count=number(quality.extra_reviews, language),
                spread=quality.disagreement,
            )
        )
    return lines


def _refusal_text(scan: BatchScan, file_name: str, language: str) -> str:
    """Why the file was refused: the first problems, each with its line, in `language`."""
    reasons = [f"• {html_text(problem, language)}" for problem in scan.errors[:MAX_REASONS]]
    rest = scan.error_count - len(reasons)
    if rest > 0:
        reasons.append(t(language, "upload.refused_more", count=rest))
    return t(
        language,
        "upload.refused",
        file=file_name,
        count=scan.error_count,
        reasons=Html("\n".join(reasons)),
    )


def _decision_keyboard(upload_id: int, language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t_plain(language, f"upload_button.{choice}"),
                    callback_data=encode(Action.UPLOAD, upload_id, index),
                )
            ]
            for index, choice in enumerate(CHOICES)
        ]
    )


@coordinators_only
async def upload_decided(update: Update, context: NilaiContext) -> None:
    """Opens (imports, maybe announces) or discards a checked upload, showing progress."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None and query.message is not None
    language = trainer.language
    upload_id, index = decode(query.data).args
    if index >= len(CHOICES):
        await query.answer(t_plain(language, "toast.invalid"))
        return
    choice = CHOICES[index]
    uploads = context.services.uploads
    if not await uploads.claim(upload_id, trainer.user_id, choice):
        await query.answer(t_plain(language, "upload_toast.decided"))
        return
    toast = "upload_toast.discarding" if choice == "discard" else "upload_toast.importing"
    await query.answer(t_plain(language, toast))  # before a long import: the phone stops waiting
    name = await uploads.batch_name(upload_id) or ""
    progress = _ProgressEditor(query.message, language, name)
    try:
        opened = await uploads.carry_out(
            upload_id, trainer.user_id, choice, on_progress=progress.update
        )
    except DeadlinePassedError as passed:
        day = weekday_date(passed.deadline, language, today=_today(context))
        await query.edit_message_text(
            t(language, "upload.deadline_passed_open", name=name, day=day),
            parse_mode=ParseMode.HTML,
        )
        return
    except Exception:
        log.exception("import of upload %s failed", upload_id)
        await query.edit_message_text(
            t(language, "upload.failed", name=name),
            parse_mode=ParseMode.HTML,
            reply_markup=_decision_keyboard(upload_id, language),  # it is pending again
        )
        return
    key = {"discard": "upload.discarded", "broadcast": "upload.opened_broadcast"}.get(
        choice, "upload.opened"
    )
    await query.edit_message_text(
        t(language, key, name=opened.name, items=number(opened.items, language)),
        parse_mode=ParseMode.HTML,
    )
    if opened.broadcast:
        await broadcasts.start_batch_broadcast(
            context.application, opened.batch_id, trainer.user_id, query.message.chat.id
        )


class _ProgressEditor:
    """Edits the upload's message with the import's progress (items stored of the items
    checked), at most once a second: an edit of one chat more often would be throttled."""

    def __init__(self, message: Message, language: str, name: str):
        self.message = message
        self.language = language
        self.name = name
        self.last = 0.0

    async def update(self, progress: ImportProgress) -> None:
        now = time.monotonic()
        if now - self.last < EDIT_EVERY_SECONDS or progress.fraction >= 1:
            return
        self.last = now
        language = self.language
        total = progress.total
        text = t(
            language,
            "upload.importing",
            name=self.name,
            done=number(progress.items, language),
            total=number(total if total is not None else progress.items, language),
            count=total if total is not None else progress.items,
        )
        try:
            await self.message.edit_text(text, parse_mode=ParseMode.HTML)
        except BadRequest:
            log.debug("progress not shown", exc_info=True)


@coordinators_only
async def batches_command(update: Update, context: NilaiContext) -> None:
    """Lists every batch with its progress and buttons to pause, resume, close, re-prioritise."""
    assert update.message is not None
    text, markup = await _batches_view(context, context.language(update))
    await update.message.reply_html(text, reply_markup=markup)


@coordinators_only
async def batch_button(update: Update, context: NilaiContext) -> None:
    """Applies one batch operation, then refreshes the list."""
    query, trainer = update.callback_query, context.trainer
    assert query is not None and trainer is not None
    language = trainer.language
    batch_id, index = decode(query.data).args
    if index >= len(BATCH_OPERATIONS):
        await query.answer(t_plain(language, "toast.invalid"))
        return
    operation = BATCH_OPERATIONS[index]
    changed = await context.services.batches.change(batch_id, operation, actor_id=trainer.user_id)
    key = "batches_toast.unknown" if changed is None else f"batches_toast.{operation}"
    await query.answer(t_plain(language, key))
    text, markup = await _batches_view(context, language)
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest:
        log.debug("batch list unchanged")


MAX_BATCHES_WITH_BUTTONS = 15
LIST_BUDGET = 3900  # visible characters; Telegram allows 4096


async def _batches_view(
    context: NilaiContext, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The list, whole lines only up to Telegram's limit (then "and N more"), and buttons for
    the first batches (open and paused ones come first)."""
    batches = await context.services.batches.listing()
    if not batches:
        return t(language, "batches.empty"), None
    lines, rows = [t(language, "batches.title")], []
    used = visible_len(lines[0])
    today = _today(context)
    for shown, batch in enumerate(batches):
        line = _batch_line(batch, language, today)
        if used + visible_len(line) + 1 > LIST_BUDGET:
            lines.append(t(language, "batches.more", count=len(batches) - shown))
            break
        lines.append(line)
        used += visible_len(line) + 1
        if len(rows) < MAX_BATCHES_WITH_BUTTONS:
            rows.append(_batch_row(batch.id, batch.name, batch.status))
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _today(context: NilaiContext) -> date:
    """The coordinator's local date: a deadline in another year is written with its year."""
    assert context.trainer is not None
    zone = context.services.timezones.zone_of(context.trainer).name
    return local_date(context.services.clock(), zone)


def _batch_line(batch: BatchProgress, language: str, today: date) -> str:
    share = min(1.0, batch.reviews / batch.wanted) if batch.wanted else 1.0
    line = t(
        language,
        "batches.line",
        icon=_STATUS_ICONS[batch.status],
        name=batch.name,
        status=Html(t(language, f"batches.status_{batch.status}")),
        priority=batch.priority,
        items=number(batch.items, language),
        reviews=number(batch.reviews, language),
        wanted=number(batch.wanted, language),
        percent=percent(share, language),
    )
    if batch.deadline is not None:
        day = weekday_date(date.fromisoformat(batch.deadline), language, today=today)
        line += t(language, "batches.deadline", day=day)
    if batch.gold:
        rate = shown_rate(batch.gold_rate, language)
        line += t(language, "batches.gold", count=number(batch.gold, language), rate=rate)
    if batch.disagreement is not None and batch.extra_reviews:
        extra = number(batch.extra_reviews, language)
        line += t(language, "batches.dynamic", count=extra, spread=batch.disagreement)
    return line


def _batch_row(batch_id: int, name: str, status: str) -> list[InlineKeyboardButton]:
    def button(label: str, operation: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            label, callback_data=encode(Action.BATCH, batch_id, BATCH_OPERATIONS.index(operation))
        )

    short = name if len(name) <= 20 else name[:19] + "…"
    toggle = button(f"⏸ {short}", "pause") if status == "open" else button(f"▶ {short}", "resume")
    if status == "closed":
        return [toggle]
    return [toggle, button("⬆", "priority_up"), button("⬇", "priority_down"), button("✖", "close")]
