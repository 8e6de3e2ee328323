"""The wording of issue 8's texts (scheduled messages, report, batch events, leases, time zone)
as a reviewer asked for it: real plurals, no stiff word-for-word Indonesian, one style per
label, and no promise about a schedule the settings may change."""

from __future__ import annotations

import pytest

from bot.i18n import catalog, t, t_plain

LANGUAGES = ("en", "id")


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (1, "⏳ 1 more review today and your streak keeps going."),
        (3, "⏳ 3 more reviews today and your streak keeps going."),
    ],
)
def test_the_streak_cheer_agrees_with_its_count(count: int, shown: str) -> None:
    assert t("en", "daily.cheer.keep", count=count) == shown


def test_the_indonesian_reminder_states_the_quota_then_asks() -> None:
    text = t("id", "daily.reminder_none", name="Sari", quota=5)
    assert "Hari ini kamu belum menilai. Kuota hari ini 5. Ada waktu sebentar?" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_batch_complete_labels_are_capitalised_alike(language: str) -> None:
    text = t(
        language, "batch_complete.text", name="pilot", items=2, reviews=4, trainers=1, took="1"
    )
    totals = text.splitlines()[1]
    labels = [part.split(":")[0] for part in totals.split(" · ")]
    assert [label[:1].isupper() for label in labels] == [True, True], totals


def test_the_indonesian_batch_complete_says_sudah_once_and_exports_as_export_does() -> None:
    text = t("id", "batch_complete.text", name="pilot", items=2, reviews=4, trainers=1, took="1")
    first = text.splitlines()[0]
    assert first == "🎉 <b>pilot</b> selesai: semua item sudah cukup penilaiannya."
    assert t_plain("id", "batch_complete.exporting", format="raw") == "Mengekspor dalam format raw…"
    assert "dalam format" in catalog("id")["export.started"]


def test_an_expired_item_invites_to_carry_on() -> None:
    text = t("en", "leases.expired", lease="30 minutes")
    assert "Tap any button to carry on if it's still open for you." in text


@pytest.mark.parametrize("key", ["leases.taken", "toast.lease_taken"])
def test_indonesian_says_an_item_can_no_longer_be_reviewed(key: str) -> None:
    text = catalog("id")[key]
    assert "sudah tidak bisa kamu nilai" in text and "terbuka untukmu" not in text


def test_a_late_upload_asks_for_a_deadline_not_yet_passed() -> None:
    text = t("id", "upload.deadline_passed_open", name="pilot", day="Selasa, 1 Des")
    assert "tenggat yang belum lewat" in text and "lebih lama" not in text


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("en", "It's Dec 1, 9:30 PM for you now."),
        ("id", "Sekarang di zonamu: 1 Des 21.30."),
    ],
)
def test_a_new_time_zone_says_the_time_in_it(language: str, shown: str) -> None:
    now = "Dec 1, 9:30 PM" if language == "en" else "1 Des 21.30"
    assert shown in t(language, "timezone.set", zone="Asia/Jakarta", now=now)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("report.chart_distribution", "Sebaran trainer menurut jumlah penilaian hari ini"),
        ("report.chart_met", "Kuota tercapai"),
    ],
)
def test_indonesian_chart_labels(key: str, shown: str) -> None:
    assert t("id", key) == shown


@pytest.mark.parametrize(
    ("language", "said", "unsaid"),
    [("en", "by itself each day", "evening"), ("id", "otomatis tiap hari", "malam")],
)
def test_the_help_does_not_promise_an_evening_report(language: str, said: str, unsaid: str) -> None:
    """REPORT_TIME is a setting (and may be empty): the help only says it comes each day."""
    line = next(
        line for line in catalog(language)["help.coordinator"].splitlines() if "/report" in line
    )
    assert said in line and unsaid not in line
