"""The composition root: builds the PTB Application, opens storage, registers handlers and jobs.

The only module of `bot/` that knows `handlers/`. Handlers are registered in one place, in
order, so the routing of the whole bot reads top to bottom.
"""

from __future__ import annotations

import logging
import signal
from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.backups import make_backup
from bot.clock import Clock, stamp, utc_now
from bot.config import Settings
from bot.i18n import t_plain
from bot.services import Services
from bot.webhook import NilaiApplication, settle_webhook, webhook_arguments
from handlers import (
    batch_events,
    broadcasts,
    common,
    coordinator_batches,
    coordinator_progress,
    coordinator_team,
    corrections,
    daily_messages,
    exports,
    flagged,
    gold,
    guard,
    guidance,
    languages,
    leadership,
    lease_sweeper,
    privacy,
    quality_notices,
    reports,
    reviewers,
    rewrite_review,
    rewrites,
    scheduled,
    timezones,
    trainer,
)
from handlers.context import SERVICES_KEY, NilaiContext
from handlers.leadership import (
    LEADERSHIP_JOB,
    PICKUP_JOB,
    Leadership,
    keep_asking,
    leader_only,
)
from handlers.panel_edits import PanelEdits
from handlers.sending import TelegramBudget
from handlers.update_order import PerUserUpdateProcessor
from storage import bot_facts, daily_sends
from storage.database import Database

log = logging.getLogger(__name__)


def build_application(
    settings: Settings, db: Database | None = None, *, clock: Clock = utc_now
) -> Application:
    """The bot, ready to run. Without `db`, the database is opened when the bot starts."""

    async def post_init(application: Application) -> None:
        if SERVICES_KEY not in application.bot_data:
            opened = await open_database(settings)
            application.bot_data[SERVICES_KEY] = Services.build(settings, opened, clock)
            lock_users(application, opened)
        await on_start(application)

    async def post_stop(application: Application) -> None:
        # Edits of updates that finished while stopping: before the HTTP client closes.
        await PanelEdits.of(application).drain()

    async def post_shutdown(application: Application) -> None:
        if db is None and SERVICES_KEY in application.bot_data:
            await application.bot_data[SERVICES_KEY].db.close()
            log.info("database closed")

    # One trainer's updates one at a time, in this process and (on PostgreSQL) across processes.
    updates = PerUserUpdateProcessor()
    application = (
        ApplicationBuilder()
        .application_class(NilaiApplication)  # its Updater never sets the webhook: bot/webhook.py
        .token(settings.require_token())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_file_url)
        .local_mode(settings.telegram_local_mode)
        .context_types(ContextTypes(context=NilaiContext))
        .concurrent_updates(updates)
        # Interactive replies at once, bulk sends paced, every 429 honoured: handlers/sending.py
        .rate_limiter(TelegramBudget(settings.broadcast_rate))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    if db is not None:
        application.bot_data[SERVICES_KEY] = Services.build(settings, db, clock)
        lock_users(application, db)
    Leadership.install(application, take_over=take_over)
    register_handlers(application)
    register_jobs(application, settings)
    return application


def lock_users(application: Application, db: Database) -> None:
    """Each update holds its trainer's lock in `db` (handlers/update_order.py); where several
    processes may share it, until the panel edits it left are done too."""
    updates = application.update_processor
    assert isinstance(updates, PerUserUpdateProcessor)
    updates.user_lock = db.user_lock
    if db.shared:
        updates.settled = PanelEdits.of(application).settled  # a private chat's id is its user's


def register_handlers(application: Application) -> None:
    """All routing, in order: guards first, then commands, buttons, texts, and the record."""
    application.add_handler(TypeHandler(Update, guard.drop_redelivered), group=-2)
    application.add_handler(TypeHandler(Update, guard.load_trainer), group=-1)

    private = filters.ChatType.PRIVATE
    new_message = private & filters.UpdateType.MESSAGE
    edited = private & filters.UpdateType.EDITED_MESSAGE
    application.add_handlers(
        [
            CommandHandler("start", common.start, filters=new_message),
            CommandHandler("help", common.help_command, filters=new_message),
            CommandHandler("next", trainer.next_command, filters=new_message),
            CommandHandler("stats", trainer.stats_command, filters=new_message),
        ]
    )
    # Features, each in its own module, before the catch-all handlers below.
    # rewrite_review.comment_or_rewrite owns every text reply: a reply to its comment question
    # is a reviewer's comment, any other it hands to rewrites.text_reply (a rewrite or a note).
    features = (
        languages,
        timezones,
        privacy,
        guidance,
        corrections,
        daily_messages,
        rewrite_review,
    )
    coordinators = (
        coordinator_batches,
        broadcasts,
        coordinator_team,
        coordinator_progress,
        exports,
        reports,
        batch_events,
        flagged,
        reviewers,
        gold,
    )
    for feature in (*features, *coordinators):
        application.add_handlers(feature.handlers())
    application.add_handlers(
        [
            CallbackQueryHandler(trainer.review_button),
            MessageHandler(edited & filters.TEXT, rewrites.edited_text),
            MessageHandler(new_message & filters.TEXT, rewrites.plain_text),
            MessageHandler(new_message & ~filters.StatusUpdate.ALL, rewrites.not_text),
            ChatMemberHandler(common.chat_member_changed, ChatMemberHandler.MY_CHAT_MEMBER),
        ]
    )
    application.add_handler(TypeHandler(Update, guard.mark_handled), group=1)
    application.add_error_handler(common.error_handler)


def register_jobs(application: Application, settings: Settings) -> None:
    """Housekeeping on PTB's JobQueue (APScheduler), with stable names: they are built anew at
    each start, from the settings, so a restart never doubles one.

    Every process registers them; each runs only on the leader (handlers/leadership.py), so
    with several processes on one PostgreSQL database each runs once for the whole bot. On
    PostgreSQL two more ask for the leadership and pick up broadcasts stored elsewhere, and the
    daily backup is not registered (it copies the SQLite file; pg_dump is the operator's)."""
    jobs = application.job_queue
    assert jobs is not None
    once = leader_only
    jobs.run_repeating(
        once(_prune_update_log), interval=6 * 3600, first=60, name="prune-update-log"
    )
    jobs.run_repeating(
        once(batch_events.announce_completed_batches), interval=60, name="batch-events"
    )
    jobs.run_repeating(once(lease_sweeper.sweep_leases), interval=60, name="lease-sweeper")
    jobs.run_repeating(
        once(quality_notices.send_quality_notices), interval=60, name=quality_notices.JOB_NAME
    )
    if settings.database_url is None:
        at = settings.backup_time.replace(tzinfo=ZoneInfo(settings.timezone))
        jobs.run_daily(once(_daily_backup), time=at, name="daily-backup")
    jobs.run_repeating(once(scheduled.daily_check), interval=60, first=2, name=scheduled.JOB_NAME)
    if settings.database_url is not None:
        jobs.run_repeating(
            keep_asking, interval=leadership.LEADERSHIP_SECONDS, first=0, name=LEADERSHIP_JOB
        )
        jobs.run_repeating(
            once(broadcasts.pick_up_broadcasts),
            interval=leadership.PICKUP_SECONDS,
            first=leadership.PICKUP_SECONDS,
            name=PICKUP_JOB,
        )


async def _daily_backup(context: NilaiContext) -> None:
    """The database copied into BACKUP_DIR once a day, the newest BACKUP_KEEP kept."""
    services = context.services
    made = await make_backup(services.settings, services.clock)
    log.info("backed up the database to %s (%d bytes)", made.path, made.size)
    for gone in made.removed:
        log.info("removed the older backup %s", gone)


async def _prune_update_log(context: NilaiContext) -> None:
    """Forgets old update ids and finished daily sends older than KEEP_DAYS (the job keeps its
    stable name, `prune-update-log`, though it prunes both)."""
    services = context.services
    removed = await services.updates.prune()
    log.info("forgot %d old update ids", removed)
    before = services.clock() - timedelta(days=daily_sends.KEEP_DAYS)
    done = await daily_sends.forget_finished_before(services.db, stamp(before))
    log.info("forgot %d finished daily sends", done)


async def on_start(application: Application) -> None:
    """Work to do each time the bot starts: learn its name, recover interrupted imports, ask
    for the leadership (the leader resumes unfinished broadcasts and daily sends), and in
    webhook mode set the webhook if no other process has."""
    await remember_bot_username(application)
    await set_command_menu(application)
    services: Services = application.bot_data[SERVICES_KEY]
    recovered = await services.uploads.recover_interrupted()
    if recovered:
        log.info("%d interrupted import(s) can be opened again", recovered)
    if services.settings.database_url is not None:
        log.info("daily backup off: the database is PostgreSQL (back it up with pg_dump)")
    # The leader resumes broadcasts and the daily sends (take_over); the one SQLite process
    # always leads, so there this happens here, at every start.
    await Leadership.of(application).check()
    await settle_webhook(application.bot, services.db, services.settings)


async def take_over(application: Application) -> None:
    """What a process does on becoming the leader (at start on SQLite, or when the leader of
    several on PostgreSQL died): continue the broadcasts and the daily sends left unfinished."""
    await broadcasts.resume_broadcasts(application)
    await scheduled.DailySends.of(application).start_up()


async def open_database(settings: Settings) -> Database:
    """The database the settings name: PostgreSQL with its pool size, else the SQLite file."""
    return await Database.open(settings.database_target, pool_size=settings.database_pool_size)


MENU_COMMANDS = ("next", "stats", "reminders", "lang", "help", "privacy", "mydata")


async def set_command_menu(application: Application) -> None:
    """The "/" menu on phones, in Indonesian and English (other languages get the default)."""
    for language in ("id", "en"):
        commands = [BotCommand(name, t_plain(language, f"menu.{name}")) for name in MENU_COMMANDS]
        await application.bot.set_my_commands(commands, language_code=language)
    default = services_of(application).settings.default_language
    await application.bot.set_my_commands(
        [BotCommand(name, t_plain(default, f"menu.{name}")) for name in MENU_COMMANDS]
    )


def services_of(application: Application) -> Services:
    return application.bot_data[SERVICES_KEY]


async def remember_bot_username(application: Application) -> None:
    """Store @username so the CLI can print invite links; set the command menu."""
    me = await application.bot.get_me()
    services: Services = application.bot_data[SERVICES_KEY]
    await bot_facts.set_fact(services.db, "bot_username", me.username or "")
    log.info("running as @%s", me.username)


def run(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight updates and close the database: long
    polling, or webhook mode when WEBHOOK_URL is set."""
    if settings.webhook_url is None:
        run_polling(settings)
    else:
        run_webhook(settings)


def run_polling(settings: Settings) -> None:
    """Poll Telegram for updates (PTB deletes any webhook first)."""
    application = build_application(settings)
    application.run_polling(
        allowed_updates=Update.ALL_TYPES,
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        timeout=settings.poll_timeout,
        close_loop=False,
    )
    log.info("stopped")


def run_webhook(settings: Settings) -> None:
    """Serve the webhook Telegram posts updates to (bot/webhook.py)."""
    application = build_application(settings)
    log.info(
        "webhook mode: serving %s on %s:%d",
        settings.webhook_path,
        settings.webhook_listen,
        settings.webhook_port,
    )
    application.run_webhook(
        **webhook_arguments(settings),
        stop_signals=(signal.SIGINT, signal.SIGTERM),
        close_loop=False,
    )
    log.info("stopped")
