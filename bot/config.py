"""Settings: read once from the environment (and an optional `.env` file), validated here only.

Nothing else in Nilai reads the environment, so every setting is documented in `.env.example`
and checked in one place, with one clear line per problem instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("id", "en")
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
_TOKEN_PATTERN = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_-]{10,}$")
_USER_ID_PATTERN = re.compile(r"[1-9][0-9]{0,19}")
_INT_PATTERN = re.compile(r"-?[0-9]{1,9}")
_CLOCK_PATTERN = re.compile(r"([0-9]{1,2}):([0-9]{2})")
# Telegram's broadcasting guidance: about 30 bulk messages a second; paid broadcasts
# (allow_paid_broadcast, each message beyond 30/s costs Stars) up to 1000.
MESSAGES_PER_SECOND = 30
PAID_MESSAGES_PER_SECOND = 1000
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Telegram's setWebhook: secret_token is 1-256 of these characters (we ask for 32 at least, so
# it cannot be guessed), and a webhook URL may use only these ports.
_WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,256}")
WEBHOOK_PORTS = (443, 80, 88, 8443)
_HOST_PATTERN = re.compile(r"[A-Za-z0-9.:-]{1,253}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line meant for the operator."""


@dataclass(frozen=True)
class Settings:
    """Validated settings; see `.env.example` for what each one means."""

    telegram_bot_token: str | None
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    telegram_api_file_url: str = "https://api.telegram.org/file/bot"
    database_path: Path = Path("data/nilai.db")
    database_url: str | None = None  # postgresql://...: PostgreSQL instead of the SQLite file
    database_pool_size: int = 10  # PostgreSQL connections each bot process keeps at most
    coordinator_ids: frozenset[int] = field(default_factory=frozenset)
    default_language: str = "id"
    timezone: str = "Asia/Jakarta"
    lease_minutes: int = 30
    edit_window_minutes: int = 10
    default_overlap: int = 3
    daily_quota: int = 20
    log_level: str = "INFO"
    poll_timeout: int = 10
    telegram_local_mode: bool = False
    broadcast_rate: int = 30
    paid_broadcast: bool = False
    pseudonym_secret: str | None = None
    backup_dir: Path = Path("data/backups")
    backup_keep: int = 7
    backup_time: time = time(3, 0)  # in TIMEZONE
    reminder_time: time = time(19, 0)  # in each trainer's own time zone
    summary_time: time | None = time(21, 0)  # in each trainer's own time zone; None: off
    report_time: time | None = time(21, 0)  # in TIMEZONE; None: off
    quiet_hours: tuple[time, time] | None = (time(21, 30), time(7, 0))  # [start, end), local
    gold_min_answers: int = 5  # gold answers in a batch before a trainer can be paused for them
    gold_pass_rate: float = 0.7  # gold accuracy below this pauses the trainer in that batch
    review_lock_minutes: int = 30  # a rewrite open in a reviewer's chat is theirs this long
    webhook_url: str | None = None  # the public https URL Telegram posts to; None: long polling
    webhook_listen: str = "127.0.0.1"  # where this process serves the webhook
    webhook_port: int = 8443
    webhook_secret: str | None = None  # Telegram's secret_token, required with webhook_url

    @property
    def webhook_path(self) -> str:
        """The path the webhook is served at: WEBHOOK_URL's path (a proxy forwards it as is)."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def database_target(self) -> Path | str:
        """What `Database.open` opens: the PostgreSQL address if set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def data_dir(self) -> Path:
        """Where files besides the database live (uploads waiting for a decision)."""
        return self.database_path.parent

    @property
    def download_limit_bytes(self) -> int:
        """Largest file the bot can fetch: 20 MB from the cloud Bot API, 2 GB from a local one."""
        return (2000 if self.telegram_local_mode else 20) * 1024 * 1024

    @property
    def upload_limit_bytes(self) -> int:
        """Largest file the bot can send: 50 MB to the cloud Bot API, 2 GB to a local one."""
        return (2000 if self.telegram_local_mode else 50) * 1024 * 1024

    def require_token(self) -> str:
        """The token, or a clear error for commands that must talk to Telegram."""
        if not self.telegram_bot_token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env "
                "(see .env.example)"
            )
        return self.telegram_bot_token


def _read_dotenv(path: Path) -> dict[str, str]:
    """Parse simple KEY=VALUE lines; the process environment wins over the file."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    # utf-8-sig: editors on Windows save a byte-order mark that would stick to the first key.
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep:
            # The line is not echoed: it may hold the token.
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not _INT_PATTERN.fullmatch(raw):
        raise ConfigError(f"{name} must be a whole number, got {raw[:40]!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _rate(env: Mapping[str, str], name: str, default: float) -> float:
    """A share between 0 and 1, written 0.7 (or 70%)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    text = raw[:-1].strip() if raw.endswith("%") else raw
    try:
        value = float(text) / (100 if raw.endswith("%") else 1)
    except ValueError:
        raise ConfigError(f"{name} must be a share like 0.7 or 70%, got {raw[:40]!r}") from None
    if not 0 <= value <= 1 or value != value:
        raise ConfigError(f"{name} must be between 0 and 1 (or 0% and 100%), got {raw[:40]!r}")
    return value


def _parse_clock(raw: str) -> time | None:
    match = _CLOCK_PATTERN.fullmatch(raw.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return time(int(match[1]), int(match[2]))


def _clock_time(env: Mapping[str, str], name: str, default: str) -> time:
    """An `HH:MM` time of day (24-hour clock)."""
    raw = env.get(name, "").strip() or default
    parsed = _parse_clock(raw)
    if parsed is None:
        raise ConfigError(f"{name} must be a time of day as HH:MM (like 19:00), got {raw[:40]!r}")
    return parsed


def _clock_time_or_off(env: Mapping[str, str], name: str, default: str) -> time | None:
    """An `HH:MM` time of day, the default when unset; set but empty turns the message off."""
    if name not in env:
        return _clock_time(env, name, default)
    raw = env[name].strip()
    if not raw:
        return None
    parsed = _parse_clock(raw)
    if parsed is None:
        raise ConfigError(
            f"{name} must be a time of day as HH:MM (like 21:00), or empty to turn it off,"
            f" got {raw[:40]!r}"
        )
    return parsed


def _quiet_hours(env: Mapping[str, str]) -> tuple[time, time] | None:
    """`HH:MM-HH:MM`, a range [start, end) that may wrap past midnight; empty turns it off."""
    raw = env.get("QUIET_HOURS", "21:30-07:00").strip()
    if not raw:
        return None
    start, _, end = raw.partition("-")
    quiet = (_parse_clock(start), _parse_clock(end))
    if quiet[0] is None or quiet[1] is None:
        raise ConfigError(
            f"QUIET_HOURS must be a range HH:MM-HH:MM (like 21:30-07:00) or empty, got {raw[:40]!r}"
        )
    if quiet[0] == quiet[1]:
        raise ConfigError(f"QUIET_HOURS must not start and end at the same time, got {raw[:40]!r}")
    return quiet[0], quiet[1]


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{name} must be true or false, got {raw[:40]!r}")
    return raw in ("1", "true", "yes")


def _broadcast_rate(env: Mapping[str, str], paid: bool) -> int:
    """Bulk messages a second: Telegram's broadcasting limit, or up to 1000 paid ones."""
    rate = _int(env, "BROADCAST_RATE", MESSAGES_PER_SECOND, 1, PAID_MESSAGES_PER_SECOND)
    if rate > MESSAGES_PER_SECOND and not paid:
        raise ConfigError(
            f"BROADCAST_RATE above {MESSAGES_PER_SECOND} needs PAID_BROADCAST=true "
            f"(paid broadcasts, see .env.example), got {rate}"
        )
    return rate


def _coordinator_ids(raw: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not _USER_ID_PATTERN.fullmatch(part):
            raise ConfigError(
                f"COORDINATOR_IDS must be comma-separated Telegram user ids, got {part[:40]!r}"
            )
        ids.add(int(part))
    return frozenset(ids)


def _file_url_for(base_url: str) -> str:
    """Derive the file URL the way Telegram lays them out: `.../bot` -> `.../file/bot`."""
    if base_url.endswith("/bot"):
        return base_url[: -len("/bot")] + "/file/bot"
    raise ConfigError(
        "TELEGRAM_API_FILE_URL must be set when TELEGRAM_API_BASE_URL does not end in /bot"
    )


def _database_url(raw: str) -> str | None:
    """DATABASE_URL: empty (SQLite at DATABASE_PATH) or a PostgreSQL address."""
    url = raw.strip()
    if not url:
        return None
    parsed = urlsplit(url)
    if parsed.scheme not in ("postgresql", "postgres") or not (parsed.hostname or parsed.path):
        raise ConfigError(
            "DATABASE_URL must be a PostgreSQL address like "
            "postgresql://nilai:secret@127.0.0.1:5432/nilai (or empty for SQLite)"
        )
    return url


def _webhook_url(raw: str) -> str | None:
    """WEBHOOK_URL: empty (long polling) or the public https address Telegram posts to."""
    url = raw.strip()
    if not url:
        return None
    parsed = urlsplit(url)
    if parsed.scheme != "https" or not parsed.hostname or parsed.fragment or parsed.username:
        raise ConfigError(
            "WEBHOOK_URL must be the public https address Telegram posts updates to, like "
            "https://bot.example.org/telegram (or empty for long polling)"
        )
    try:
        port = parsed.port or 443
    except ValueError:
        port = -1
    if port not in WEBHOOK_PORTS:
        raise ConfigError(
            f"WEBHOOK_URL may use only the ports Telegram posts to "
            f"({', '.join(map(str, WEBHOOK_PORTS))}), got {parsed.netloc[:60]!r}"
        )
    return url


def _webhook_secret(raw: str, url: str | None) -> str | None:
    """WEBHOOK_SECRET: Telegram's secret_token, 32 to 256 of A-Z a-z 0-9 _ -."""
    secret = raw.strip() or None
    if secret is None:
        if url is not None:
            raise ConfigError(
                "WEBHOOK_SECRET must be set when WEBHOOK_URL is: 32 to 256 characters of "
                "A-Z, a-z, 0-9, _ and - (e.g. from `openssl rand -hex 32`)"
            )
        return None
    # The secret itself is never echoed: it is as good as the token for posting fake updates.
    if not re.fullmatch(r"[A-Za-z0-9_-]*", secret):
        raise ConfigError(
            "WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (what Telegram allows)"
        )
    if not _WEBHOOK_SECRET_PATTERN.fullmatch(secret):
        raise ConfigError(f"WEBHOOK_SECRET must be 32 to 256 characters long, got {len(secret)}")
    return secret


def _webhook_listen(raw: str) -> str:
    """WEBHOOK_LISTEN: the address to serve the webhook on (an IP address or a host name)."""
    listen = raw.strip() or "127.0.0.1"
    if not _HOST_PATTERN.fullmatch(listen):
        raise ConfigError(
            "WEBHOOK_LISTEN must be an address to listen on, like 127.0.0.1 (behind a proxy) "
            f"or 0.0.0.0 (every interface), got {listen[:40]!r}"
        )
    return listen


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> Settings:
    """Build Settings from the environment (plus `.env`), raising ConfigError on bad values."""
    env: dict[str, str] = _read_dotenv(dotenv) if dotenv is not None else {}
    env.update(os.environ if environ is None else environ)

    token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
    if token is not None and not _TOKEN_PATTERN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN looks malformed: a token from @BotFather is digits, a colon, "
            "then letters, digits, '-' and '_' (like 110201543:AAHdq...), with nothing around it"
        )

    base_url = env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError("TELEGRAM_API_BASE_URL must start with http:// or https://")
    file_url = env.get("TELEGRAM_API_FILE_URL", "").strip() or _file_url_for(base_url)

    language = env.get("DEFAULT_LANGUAGE", "").strip().lower() or "id"
    if language not in LANGUAGES:
        raise ConfigError(
            f"DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}, got {language[:40]!r}"
        )

    timezone = env.get("TIMEZONE", "").strip() or "Asia/Jakarta"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # tzdata raises OSError for folders
        raise ConfigError(
            f"TIMEZONE must be an IANA zone like Asia/Jakarta, got {timezone[:40]!r}"
        ) from None

    log_level = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
    if log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {log_level[:40]!r}"
        )

    local_mode = _bool(env, "TELEGRAM_LOCAL_MODE")
    paid_broadcast = _bool(env, "PAID_BROADCAST")
    secret = env.get("PSEUDONYM_SECRET", "").strip() or None
    if secret is not None and len(secret) < 16:
        raise ConfigError("PSEUDONYM_SECRET must be at least 16 characters long")
    database_path = Path(env.get("DATABASE_PATH", "").strip() or "data/nilai.db")
    database_url = _database_url(env.get("DATABASE_URL", ""))
    backup_dir = Path(env.get("BACKUP_DIR", "").strip() or "data/backups")
    webhook_url = _webhook_url(env.get("WEBHOOK_URL", ""))

    return Settings(
        telegram_bot_token=token,
        telegram_api_base_url=base_url,
        telegram_api_file_url=file_url,
        database_path=database_path,
        database_url=database_url,
        database_pool_size=_int(env, "DATABASE_POOL_SIZE", 10, 2, 1000),
        coordinator_ids=_coordinator_ids(env.get("COORDINATOR_IDS", "")),
        default_language=language,
        timezone=timezone,
        lease_minutes=_int(env, "LEASE_MINUTES", 30, 1, 24 * 60),
        edit_window_minutes=_int(env, "EDIT_WINDOW_MINUTES", 10, 0, 24 * 60),
        default_overlap=_int(env, "DEFAULT_OVERLAP", 3, 1, 100),
        daily_quota=_int(env, "DAILY_QUOTA", 20, 1, 10_000),
        log_level=log_level,
        poll_timeout=_int(env, "POLL_TIMEOUT", 10, 0, 60),
        telegram_local_mode=local_mode,
        broadcast_rate=_broadcast_rate(env, paid_broadcast),
        paid_broadcast=paid_broadcast,
        backup_dir=backup_dir,
        backup_keep=_int(env, "BACKUP_KEEP", 7, 1, 1000),
        backup_time=_clock_time(env, "BACKUP_TIME", "03:00"),
        reminder_time=_clock_time(env, "REMINDER_TIME", "19:00"),
        summary_time=_clock_time_or_off(env, "SUMMARY_TIME", "21:00"),
        report_time=_clock_time_or_off(env, "REPORT_TIME", "21:00"),
        quiet_hours=_quiet_hours(env),
        pseudonym_secret=secret,
        gold_min_answers=_int(env, "GOLD_MIN_ANSWERS", 5, 1, 1000),
        gold_pass_rate=_rate(env, "GOLD_PASS_RATE", 0.7),
        review_lock_minutes=_int(env, "REVIEW_LOCK_MINUTES", 30, 1, 24 * 60),
        webhook_url=webhook_url,
        webhook_listen=_webhook_listen(env.get("WEBHOOK_LISTEN", "")),
        webhook_port=_int(env, "WEBHOOK_PORT", 8443, 1, 65535),
        webhook_secret=_webhook_secret(env.get("WEBHOOK_SECRET", ""), webhook_url),
    )
