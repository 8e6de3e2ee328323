"""Tests for bot.config: an operator fills in `.env`, and gets either settings or one clear line.

Every error is checked the way an operator meets it: a single line, naming the setting to fix,
and never echoing the bot token (logs and terminals are shared, the token is a password).
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import DEFAULT_API_BASE_URL, LANGUAGES, ConfigError, Settings, load_settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = TOKEN.split(":", 1)[1]


def load(**env: str) -> Settings:
    """Settings from exactly these variables, without any `.env` file."""
    return load_settings(env, dotenv=None)


def config_error(env: dict[str, str], dotenv: Path | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(env, dotenv=dotenv)
    return str(caught.value)


def assert_operator_friendly(message: str, setting: str | None) -> None:
    """One line, names the setting, and leaks nothing of the token."""
    assert message
    assert "\n" not in message and "\r" not in message
    if setting is not None:
        assert setting in message
    assert TOKEN not in message
    assert SECRET[:8] not in message


# --- defaults -----------------------------------------------------------------------------------

EXPECTED_DEFAULTS = {
    "telegram_bot_token": None,
    "telegram_api_base_url": "https://api.telegram.org/bot",
    "telegram_api_file_url": "https://api.telegram.org/file/bot",
    "database_path": Path("data/nilai.db"),
    "coordinator_ids": frozenset(),
    "default_language": "id",
    "timezone": "Asia/Jakarta",
    "lease_minutes": 30,
    "default_overlap": 3,
    "daily_quota": 20,
    "log_level": "INFO",
    "poll_timeout": 10,
}


@pytest.mark.parametrize(("field", "expected"), EXPECTED_DEFAULTS.items())
def test_an_empty_environment_gives_the_documented_defaults(field: str, expected: object) -> None:
    assert getattr(load(), field) == expected


def test_loaded_defaults_equal_the_dataclass_defaults() -> None:
    assert load() == Settings(telegram_bot_token=None)
    assert load().telegram_api_base_url == DEFAULT_API_BASE_URL
    assert LANGUAGES == ("id", "en")


@pytest.mark.parametrize(
    "name",
    [
        "DAILY_QUOTA",
        "LEASE_MINUTES",
        "DEFAULT_OVERLAP",
        "POLL_TIMEOUT",
        "DEFAULT_LANGUAGE",
        "TIMEZONE",
        "LOG_LEVEL",
        "DATABASE_PATH",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "TELEGRAM_API_FILE_URL",
        "COORDINATOR_IDS",
    ],
)
@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_setting_means_its_default(name: str, blank: str) -> None:
    assert load(**{name: blank}) == load()


# --- each setting read and normalised ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "field", "expected"),
    [
        ("TELEGRAM_BOT_TOKEN", TOKEN, "telegram_bot_token", TOKEN),
        ("TELEGRAM_BOT_TOKEN", f"  {TOKEN}  ", "telegram_bot_token", TOKEN),
        ("TELEGRAM_BOT_TOKEN", "123:abc-DEF_ghij", "telegram_bot_token", "123:abc-DEF_ghij"),
        ("DATABASE_PATH", "/srv/nilai/nilai.db", "database_path", Path("/srv/nilai/nilai.db")),
        ("DATABASE_PATH", " db.sqlite ", "database_path", Path("db.sqlite")),
        ("DEFAULT_LANGUAGE", "en", "default_language", "en"),
        ("DEFAULT_LANGUAGE", " EN ", "default_language", "en"),
        ("DEFAULT_LANGUAGE", "Id", "default_language", "id"),
        ("TIMEZONE", "UTC", "timezone", "UTC"),
        ("TIMEZONE", "Asia/Makassar", "timezone", "Asia/Makassar"),
        ("TIMEZONE", " Europe/Amsterdam ", "timezone", "Europe/Amsterdam"),
        ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("LOG_LEVEL", " Warning ", "log_level", "WARNING"),
        ("LOG_LEVEL", "CRITICAL", "log_level", "CRITICAL"),
        ("LEASE_MINUTES", "45", "lease_minutes", 45),
        ("LEASE_MINUTES", " 1 ", "lease_minutes", 1),
        ("LEASE_MINUTES", "1440", "lease_minutes", 1440),
        ("DEFAULT_OVERLAP", "1", "default_overlap", 1),
        ("DEFAULT_OVERLAP", "100", "default_overlap", 100),
        ("DAILY_QUOTA", "1", "daily_quota", 1),
        ("DAILY_QUOTA", "10000", "daily_quota", 10_000),
        ("POLL_TIMEOUT", "0", "poll_timeout", 0),
        ("POLL_TIMEOUT", "60", "poll_timeout", 60),
    ],
)
def test_an_operator_sets_one_value(name: str, raw: str, field: str, expected: object) -> None:
    settings = load(**{name: raw})
    assert getattr(settings, field) == expected
    untouched = {key: value for key, value in EXPECTED_DEFAULTS.items() if key != field}
    assert {key: getattr(settings, key) for key in untouched} == untouched


# --- Bot API URLs (a local Bot API server, or the fake one in tests) -----------------------------


@pytest.mark.parametrize(
    ("base", "file_url"),
    [
        ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ("http://localhost:8081/bot", "http://localhost:8081/file/bot"),
        ("https://proxy.example/telegram/bot", "https://proxy.example/telegram/file/bot"),
    ],
)
def test_the_file_url_is_derived_from_a_base_url_ending_in_bot(base: str, file_url: str) -> None:
    settings = load(TELEGRAM_API_BASE_URL=base)
    assert settings.telegram_api_base_url == base
    assert settings.telegram_api_file_url == file_url


@pytest.mark.parametrize(
    "base",
    [
        "https://api.telegram.org/bot",
        "http://127.0.0.1:8081/custom",
        "http://127.0.0.1:8081/bot/",
    ],
)
def test_an_explicit_file_url_wins_over_the_derived_one(base: str) -> None:
    settings = load(
        TELEGRAM_API_BASE_URL=base, TELEGRAM_API_FILE_URL="http://files.example/download/bot"
    )
    assert settings.telegram_api_base_url == base
    assert settings.telegram_api_file_url == "http://files.example/download/bot"


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:8081/custom",
        "http://127.0.0.1:8081/bot/",
        "https://api.telegram.org/",
        "https://api.telegram.org",
        "https://api.telegram.org/BOT",
    ],
)
def test_a_base_url_not_ending_in_bot_needs_an_explicit_file_url(base: str) -> None:
    message = config_error({"TELEGRAM_API_BASE_URL": base, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, "TELEGRAM_API_FILE_URL")


# --- coordinators --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", frozenset()),
        (" ", frozenset()),
        (",", frozenset()),
        (" , ;", frozenset()),
        ("123456789", frozenset({123456789})),
        ("12,34", frozenset({12, 34})),
        (" 12 , 34 ", frozenset({12, 34})),
        ("12;34", frozenset({12, 34})),
        ("12, 34; 56,", frozenset({12, 34, 56})),
        ("12,12,12", frozenset({12})),
        ("7000000000", frozenset({7_000_000_000})),
    ],
)
def test_coordinator_ids_are_a_comma_separated_list(raw: str, expected: frozenset[int]) -> None:
    assert load(COORDINATOR_IDS=raw).coordinator_ids == expected


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12,abc",
        "12 34",
        "1.5",
        "0x1F",
        "@coordinator",
        "12,,x",
        "-",
        "1e9",
        "--5",
        "5-",
        "²",
        "12,³",
        "١٢٣",
        "１２３",
        "1" * 21,
    ],
)
def test_a_garbled_coordinator_list_is_refused(raw: str) -> None:
    message = config_error({"COORDINATOR_IDS": raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, "COORDINATOR_IDS")


# --- refused values, one clear line each ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("LEASE_MINUTES", "thirty"),
        ("LEASE_MINUTES", "2.5"),
        ("LEASE_MINUTES", "30m"),
        ("LEASE_MINUTES", "1e3"),
        ("LEASE_MINUTES", "0x10"),
        ("DEFAULT_OVERLAP", "three"),
        ("DAILY_QUOTA", "20 items"),
        ("DAILY_QUOTA", "9" * 5000),
        ("POLL_TIMEOUT", "10s"),
        ("POLL_TIMEOUT", "--1"),
    ],
)
def test_a_setting_that_is_not_a_whole_number_is_refused(name: str, raw: str) -> None:
    message = config_error({name: raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, name)
    assert "whole number" in message
    assert len(message) < 200


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("LEASE_MINUTES", "0"),
        ("LEASE_MINUTES", "-5"),
        ("LEASE_MINUTES", "1441"),
        ("DEFAULT_OVERLAP", "0"),
        ("DEFAULT_OVERLAP", "101"),
        ("DAILY_QUOTA", "0"),
        ("DAILY_QUOTA", "10001"),
        ("POLL_TIMEOUT", "-1"),
        ("POLL_TIMEOUT", "61"),
        ("POLL_TIMEOUT", "3600"),
    ],
)
def test_a_number_out_of_range_is_refused_with_its_range(name: str, raw: str) -> None:
    message = config_error({name: raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, name)
    assert "between" in message
    assert raw.strip() in message


@pytest.mark.parametrize("raw", ["fr", "english", "id-ID", "ind", "jv", "1"])
def test_an_unknown_default_language_is_refused(raw: str) -> None:
    message = config_error({"DEFAULT_LANGUAGE": raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, "DEFAULT_LANGUAGE")
    assert "id" in message and "en" in message


@pytest.mark.parametrize(
    "raw",
    [
        "Jakarta",
        "Asia/Jakartaa",
        "Mars/Olympus_Mons",
        "WIB",
        "../etc/passwd",
        "/etc/localtime",
        "Asia/Jakarta\x00",
        "Asia",
        "zone.tab",
        "x" * 300,
    ],
)
def test_an_unknown_timezone_is_refused(raw: str) -> None:
    message = config_error({"TIMEZONE": raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, "TIMEZONE")


@pytest.mark.parametrize("raw", ["verbose", "TRACE", "10", "warn"])
def test_an_unknown_log_level_is_refused(raw: str) -> None:
    message = config_error({"LOG_LEVEL": raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, "LOG_LEVEL")


@pytest.mark.parametrize(
    "raw", ["api.telegram.org/bot", "ftp://api.telegram.org/bot", "//api.telegram.org/bot"]
)
def test_a_base_url_without_http_is_refused(raw: str) -> None:
    message = config_error({"TELEGRAM_API_BASE_URL": raw, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, "TELEGRAM_API_BASE_URL")


@pytest.mark.parametrize(
    "raw",
    [
        "123456789",
        "123456789:",
        ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "12:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "123456789:short",
        "bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "123456789:AAHdqTcvCH1v GWJxfSeofSAs0K5PALDsaw",
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw;",
        "123456789 AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "١٢٣٤٥٦٧٨٩:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "１２３４５６７８９:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ],
)
def test_a_malformed_token_is_refused_without_echoing_it(raw: str) -> None:
    message = config_error({"TELEGRAM_BOT_TOKEN": raw})
    assert_operator_friendly(message, "TELEGRAM_BOT_TOKEN")
    assert raw not in message
    assert "AAHdqTcv" not in message
    # It describes a real token's shape, so the operator can see what is wrong with theirs.
    assert "digits, a colon, then letters, digits, '-' and '_'" in message


@pytest.mark.parametrize(
    "bad",
    [
        {"DAILY_QUOTA": "x"},
        {"DAILY_QUOTA": "0"},
        {"DEFAULT_LANGUAGE": "fr"},
        {"TIMEZONE": "Nowhere"},
        {"LOG_LEVEL": "loud"},
        {"TELEGRAM_API_BASE_URL": "ftp://x/bot"},
        {"TELEGRAM_API_BASE_URL": "https://x/other"},
        {"TELEGRAM_API_BASE_URL": f"https://api.telegram.org/bot{TOKEN}"},
    ],
)
def test_no_error_ever_shows_a_valid_token(bad: dict[str, str]) -> None:
    message = config_error({"TELEGRAM_BOT_TOKEN": TOKEN, **bad})
    assert_operator_friendly(message, None)


# --- the token, for commands that talk to Telegram ------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"TELEGRAM_BOT_TOKEN": ""}, {"TELEGRAM_BOT_TOKEN": "   "}])
def test_commands_that_need_telegram_stop_clearly_without_a_token(env: dict[str, str]) -> None:
    settings = load_settings(env, dotenv=None)
    assert settings.telegram_bot_token is None
    with pytest.raises(ConfigError) as caught:
        settings.require_token()
    assert_operator_friendly(str(caught.value), "TELEGRAM_BOT_TOKEN")


def test_require_token_returns_the_token_when_set() -> None:
    assert load(TELEGRAM_BOT_TOKEN=TOKEN).require_token() == TOKEN


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# --- the .env file -------------------------------------------------------------------------------


def write_env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_come_from_the_env_file(tmp_path: Path) -> None:
    dotenv = write_env(
        tmp_path,
        "# Nilai settings\n"
        "\n"
        f"TELEGRAM_BOT_TOKEN={TOKEN}\n"
        "export DAILY_QUOTA=7\n"
        'TIMEZONE="Asia/Makassar"\n'
        "DEFAULT_LANGUAGE='en'\n"
        "  COORDINATOR_IDS = 11, 22  \n"
        'DATABASE_PATH="/srv/nilai/a=b.db"\n'
        "   # an indented comment\n",
    )
    settings = load_settings({}, dotenv=dotenv)
    assert settings.telegram_bot_token == TOKEN
    assert settings.daily_quota == 7
    assert settings.timezone == "Asia/Makassar"
    assert settings.default_language == "en"
    assert settings.coordinator_ids == frozenset({11, 22})
    assert settings.database_path == Path("/srv/nilai/a=b.db")


def test_an_env_file_with_windows_line_endings_is_read(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_bytes(b"DAILY_QUOTA=7\r\nLEASE_MINUTES=9\r\n")
    settings = load_settings({}, dotenv=dotenv)
    assert (settings.daily_quota, settings.lease_minutes) == (7, 9)


def test_an_env_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_bytes("\ufeffDAILY_QUOTA=7\nLEASE_MINUTES=9\n".encode())
    settings = load_settings({}, dotenv=dotenv)
    assert (settings.daily_quota, settings.lease_minutes) == (7, 9)


@pytest.mark.parametrize(
    ("file_value", "process_value", "expected"),
    [("7", "5", 5), ("7", " 9 ", 9), ("oops", "5", 5)],
)
def test_the_process_environment_wins_over_the_env_file(
    tmp_path: Path, file_value: str, process_value: str, expected: int
) -> None:
    dotenv = write_env(tmp_path, f"DAILY_QUOTA={file_value}\nLEASE_MINUTES=12\n")
    settings = load_settings({"DAILY_QUOTA": process_value}, dotenv=dotenv)
    assert settings.daily_quota == expected
    assert settings.lease_minutes == 12


def test_a_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert load_settings({}, dotenv=tmp_path / "absent.env") == load()


def test_a_folder_named_env_is_not_read(tmp_path: Path) -> None:
    (tmp_path / ".env").mkdir()
    assert load_settings({}, dotenv=tmp_path / ".env") == load()


def test_the_default_env_file_is_the_one_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(tmp_path, "DAILY_QUOTA=42\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).daily_quota == 42


def test_dotenv_none_ignores_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(tmp_path, "DAILY_QUOTA=42\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings({}, dotenv=None).daily_quota == 20


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("DAILY_QUOTA 7\n", 1),
        ("# ok\nDAILY_QUOTA=7\nLEASE_MINUTES: 30\n", 3),
        ("\n\njust some words\n", 3),
    ],
)
def test_a_line_that_is_not_key_value_is_refused_with_its_line_number(
    tmp_path: Path, text: str, line: int
) -> None:
    dotenv = write_env(tmp_path, text)
    message = config_error({}, dotenv=dotenv)
    assert_operator_friendly(message, None)
    assert f"{dotenv}:{line}:" in message


def test_a_bad_value_in_the_env_file_names_the_setting(tmp_path: Path) -> None:
    dotenv = write_env(tmp_path, f"TELEGRAM_BOT_TOKEN={TOKEN}\nDAILY_QUOTA=lots\n")
    assert_operator_friendly(config_error({}, dotenv=dotenv), "DAILY_QUOTA")


@pytest.mark.parametrize("separator", [" ", ": ", " : "])
def test_a_malformed_token_line_in_the_env_file_does_not_leak_the_token(
    tmp_path: Path, separator: str
) -> None:
    dotenv = write_env(tmp_path, f"TELEGRAM_BOT_TOKEN{separator}{TOKEN}\n")
    message = config_error({}, dotenv=dotenv)
    assert_operator_friendly(message, None)
    assert "123456789:AAH" not in message


@pytest.mark.parametrize(
    ("env", "rate", "paid"),
    [
        ({}, 30, False),
        ({"BROADCAST_RATE": "12"}, 12, False),
        ({"PAID_BROADCAST": "true"}, 30, True),
        ({"PAID_BROADCAST": "true", "BROADCAST_RATE": "1000"}, 1000, True),
        ({"PAID_BROADCAST": "no", "BROADCAST_RATE": "30"}, 30, False),
    ],
)
def test_paid_broadcasts_lift_the_bulk_rate_to_1000(
    env: dict[str, str], rate: int, paid: bool
) -> None:
    settings = load(**env)
    assert (settings.broadcast_rate, settings.paid_broadcast) == (rate, paid)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"BROADCAST_RATE": "31"}, "needs PAID_BROADCAST=true"),
        ({"BROADCAST_RATE": "1000"}, "needs PAID_BROADCAST=true"),
        ({"PAID_BROADCAST": "true", "BROADCAST_RATE": "1001"}, "between 1 and 1000"),
        ({"PAID_BROADCAST": "maybe"}, "true or false"),
    ],
)
def test_a_bulk_rate_beyond_what_telegram_allows_is_refused(env: dict[str, str], says: str) -> None:
    message = config_error({**env, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert says in message
    assert_operator_friendly(message, "PAID_BROADCAST" if "maybe" in str(env) else "BROADCAST_RATE")


# --- times of day (the scheduler, backups) ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "field", "expected"),
    [
        ("REMINDER_TIME", "", "reminder_time", time(19, 0)),
        ("REMINDER_TIME", "7:05", "reminder_time", time(7, 5)),
        ("SUMMARY_TIME", "23:59", "summary_time", time(23, 59)),
        ("REPORT_TIME", "00:00", "report_time", time(0, 0)),
        ("SUMMARY_TIME", "", "summary_time", None),  # set but empty: no summaries
        ("REPORT_TIME", " ", "report_time", None),  # set but empty: no daily report
        ("BACKUP_TIME", " 03:30 ", "backup_time", time(3, 30)),
        ("QUIET_HOURS", "", "quiet_hours", None),  # set but empty: off
        ("QUIET_HOURS", "22:00-06:30", "quiet_hours", (time(22, 0), time(6, 30))),
        ("QUIET_HOURS", "12:00-13:00", "quiet_hours", (time(12, 0), time(13, 0))),
    ],
)
def test_times_of_day_are_read_as_hh_mm(name: str, raw: str, field: str, expected: object) -> None:
    assert getattr(load(**{name: raw}), field) == expected


def test_quiet_hours_default_to_the_night() -> None:
    assert load().quiet_hours == (time(21, 30), time(7, 0))


def test_summaries_and_the_report_come_at_nine_when_their_times_are_unset() -> None:
    settings = load()
    assert (settings.summary_time, settings.report_time) == (time(21, 0), time(21, 0))


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("REMINDER_TIME", "19"),
        ("REMINDER_TIME", "24:00"),
        ("SUMMARY_TIME", "21:60"),
        ("REPORT_TIME", "9pm"),
        ("BACKUP_TIME", "03:00:00"),
        ("QUIET_HOURS", "21:30"),
        ("QUIET_HOURS", "21:30-25:00"),
        ("QUIET_HOURS", "08:00-08:00"),
        ("QUIET_HOURS", "night"),
    ],
)
def test_a_malformed_time_of_day_is_one_clear_line(name: str, raw: str) -> None:
    message = config_error({name: raw})
    assert_operator_friendly(message, name)
    assert "HH:MM" in message or "same time" in message


# --- webhook mode (several processes behind Telegram's webhook) ---------------------------------

HOOK_SECRET = "s3cret-Webhook_token-0123456789abcdef"  # 37 characters of Telegram's alphabet
HOOK = {"WEBHOOK_URL": "https://bot.example.org/telegram/nilai", "WEBHOOK_SECRET": HOOK_SECRET}


def test_without_a_webhook_url_the_bot_polls() -> None:
    settings = load()
    assert settings.webhook_url is None and settings.webhook_secret is None
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8443)


def test_a_webhook_is_served_at_the_path_of_its_url() -> None:
    settings = load(**HOOK, WEBHOOK_LISTEN=" 0.0.0.0 ", WEBHOOK_PORT="9000")
    assert settings.webhook_url == "https://bot.example.org/telegram/nilai"
    assert settings.webhook_secret == HOOK_SECRET
    assert (settings.webhook_listen, settings.webhook_port) == ("0.0.0.0", 9000)
    assert settings.webhook_path == "/telegram/nilai"
    bare = load(WEBHOOK_URL="https://bot.example.org:8443", WEBHOOK_SECRET="a" * 32)
    assert bare.webhook_path == "/"


@pytest.mark.parametrize("secret", ["a" * 32, "Z" * 256, "-_" * 16 + "0123456789"])
def test_a_webhook_secret_of_telegrams_alphabet_is_taken(secret: str) -> None:
    assert load(**{**HOOK, "WEBHOOK_SECRET": secret}).webhook_secret == secret


@pytest.mark.parametrize(
    ("env", "setting", "says"),
    [
        ({"WEBHOOK_URL": HOOK["WEBHOOK_URL"]}, "WEBHOOK_SECRET", "must be set when WEBHOOK_URL"),
        ({**HOOK, "WEBHOOK_SECRET": "a" * 31}, "WEBHOOK_SECRET", "32 to 256 characters long"),
        ({**HOOK, "WEBHOOK_SECRET": "a" * 257}, "WEBHOOK_SECRET", "32 to 256 characters long"),
        ({**HOOK, "WEBHOOK_SECRET": "a" * 40 + "!"}, "WEBHOOK_SECRET", "only A-Z"),
        ({**HOOK, "WEBHOOK_SECRET": "a" * 20 + " " + "b" * 20}, "WEBHOOK_SECRET", "only A-Z"),
        ({"WEBHOOK_SECRET": "too-short"}, "WEBHOOK_SECRET", "32 to 256"),
        ({**HOOK, "WEBHOOK_URL": "http://bot.example.org/hook"}, "WEBHOOK_URL", "https"),
        ({**HOOK, "WEBHOOK_URL": "bot.example.org/hook"}, "WEBHOOK_URL", "https"),
        ({**HOOK, "WEBHOOK_URL": "https:///hook"}, "WEBHOOK_URL", "https"),
        ({**HOOK, "WEBHOOK_URL": "https://bot.example.org/a#b"}, "WEBHOOK_URL", "https"),
        ({**HOOK, "WEBHOOK_URL": "https://bot.example.org:8080/"}, "WEBHOOK_URL", "443, 80"),
        ({**HOOK, "WEBHOOK_URL": "https://bot.example.org:x/"}, "WEBHOOK_URL", "443, 80"),
        ({**HOOK, "WEBHOOK_PORT": "0"}, "WEBHOOK_PORT", "between 1 and 65535"),
        ({**HOOK, "WEBHOOK_PORT": "65536"}, "WEBHOOK_PORT", "between 1 and 65535"),
        ({**HOOK, "WEBHOOK_PORT": "https"}, "WEBHOOK_PORT", "whole number"),
        ({**HOOK, "WEBHOOK_LISTEN": "my host"}, "WEBHOOK_LISTEN", "address to listen on"),
        ({**HOOK, "WEBHOOK_LISTEN": "http://0.0.0.0"}, "WEBHOOK_LISTEN", "address to listen on"),
    ],
)
def test_a_bad_webhook_setting_is_one_clear_line(
    env: dict[str, str], setting: str, says: str
) -> None:
    message = config_error({**env, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert_operator_friendly(message, setting)
    assert says in message
    assert env.get("WEBHOOK_SECRET", HOOK_SECRET) not in message  # the secret is never echoed
