"""Privacy below Telegram: exports carry no identity, deletion keeps the pseudonym and forgets
the Telegram id everywhere, the notice's versions, and what /mydata holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.exports import FORMATS, export_batch, load_pseudonyms
from bot.onboarding import Onboarding
from bot.privacy import Consent, Privacy
from storage import export_claims, sittings
from storage import privacy as store
from storage.corrections import reopen
from storage.database import Database
from storage.team import set_status
from tests.factories import make_trainer
from tests.test_exports import ANA, BUDI, CITRA, NOTE_ID, REWRITE_ID, Reviewed, reviewed_pilot

DEWI = 1004
NAMES = {ANA: ("Ana Lestari", "ana_lestari"), BUDI: ("Budi Santoso", "budi_s")}


@pytest.fixture
async def pilot(db: Database, settings, clock, tmp_path: Path) -> Reviewed:
    case = await reviewed_pilot(db, settings, clock, tmp_path)
    for user_id, (name, username) in NAMES.items():
        await db.execute(
            "UPDATE trainers SET name = ?, username = ? WHERE user_id = ?",
            (name, username, user_id),
        )
    return case


def privacy_of(case: Reviewed) -> Privacy:
    return Privacy(case.db, case.settings, case.clock)


async def export_bytes(case: Reviewed, fmt: str, path: Path, **options) -> bytes:
    summary = await export_batch(case.db, case.settings, "pilot", fmt, path, **options)
    return summary.path.read_bytes()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_no_export_format_carries_a_name_username_or_telegram_id(
    pilot: Reviewed, tmp_path: Path, fmt: str
) -> None:
    data = (await export_bytes(pilot, fmt, tmp_path / f"pilot.{fmt}")).decode("utf-8")
    assert data.strip()  # something was exported
    for user_id, (name, username) in NAMES.items():
        assert name not in data and username not in data
        assert str(user_id) not in data


async def test_only_the_cli_option_adds_telegram_ids_and_only_to_raw(
    pilot: Reviewed, tmp_path: Path
) -> None:
    """The control for the test above: the check would see an id that is there."""
    raw = await export_bytes(pilot, "raw", tmp_path / "ids.jsonl", with_trainer_ids=True)
    assert str(ANA).encode() in raw and str(BUDI).encode() in raw
    assert not any(name.encode() in raw for name, _ in NAMES.values())


async def schema_tables(db: Database) -> list[str]:
    """Every table of the database's schema (each engine's catalog says it its own way)."""
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        if db.dialect == "sqlite"
        else "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    return [row[0] for row in await db.fetchall(sql)]


async def columns_pointing_at_trainers(db: Database) -> set[tuple[str, str]]:
    """(table, column) of every foreign key to `trainers`, from the engine's catalog."""
    if db.dialect == "sqlite":
        return {
            (table, row[3])
            for table in await schema_tables(db)
            for row in await db.fetchall(f"PRAGMA foreign_key_list({table})")
            if row[2] == "trainers"
        }
    rows = await db.fetchall(
        "SELECT CAST(c.conrelid::regclass AS TEXT), a.attname FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
        " WHERE c.contype = 'f' AND c.confrelid = CAST('trainers' AS regclass)"
    )
    return {(row[0], row[1]) for row in rows}


async def test_every_column_pointing_at_a_trainer_is_moved_on_deletion(db: Database) -> None:
    pointing = await columns_pointing_at_trainers(db)
    assert pointing  # assignments, deliveries, queue positions at least
    assert pointing <= set(store.TRAINER_ID_COLUMNS)


async def rows_holding(db: Database, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, value) anywhere in the database that contains one of `needles`."""
    found = []
    for table in await schema_tables(db):
        for row in await db.fetchall(f"SELECT * FROM {table}"):
            for column, value in dict(row).items():
                text = "" if value is None else str(value)
                if any(needle in text for needle in needles):
                    found.append((table, column, text[:80]))
    return found


async def test_deleting_an_identity_keeps_the_pseudonym_and_forgets_the_id_everywhere(
    pilot: Reviewed, tmp_path: Path
) -> None:
    before = {fmt: await export_bytes(pilot, fmt, tmp_path / f"before.{fmt}") for fmt in FORMATS}
    ana_pseudonym = (await load_pseudonyms(pilot.db, pilot.settings))(ANA)
    assert ana_pseudonym.encode() in before["raw"]
    privacy = privacy_of(pilot)
    await privacy.my_data(ANA)  # audited under her id: that entry must move too
    # Tables that name her without a foreign key (so the catalog check above cannot see them).
    now = "2026-11-25T03:00:00.000000+00:00"
    await pilot.db.execute(
        "INSERT INTO text_refusals (trainer_id, assignment_id, field, reason, refused_at)"
        " VALUES (?, 1, 'rewrite', 'closed', ?)",
        (ANA, now),
    )
    assert await export_claims.claim_button(pilot.db, ANA, 1, now, older_than=now)
    await sittings.mark_ended(pilot.db, ANA, now)
    needles = [str(ANA), *NAMES[ANA]]
    assert await rows_holding(pilot.db, needles)  # the check does see her

    assert await privacy.delete_identity(ANA)

    assert await rows_holding(pilot.db, needles) == []
    after = {fmt: await export_bytes(pilot, fmt, tmp_path / f"after.{fmt}") for fmt in FORMATS}
    assert after == before  # every judgment still there, under the same pseudonym
    tombstone = await pilot.db.fetchone("SELECT * FROM trainers WHERE pseudonym IS NOT NULL")
    assert tombstone["user_id"] < 0 and tombstone["chat_id"] < 0
    assert (tombstone["name"], tombstone["username"], tombstone["status"]) == ("", None, "blocked")
    assert await Onboarding(pilot.db, pilot.settings, pilot.clock).trainer(ANA) is None
    [entry] = await pilot.db.fetchall(
        "SELECT actor_id, target, detail FROM audit_log WHERE action = 'privacy.delete'"
    )
    assert tuple(entry) == (tombstone["user_id"], f"trainer:{tombstone['user_id']}", None)
    assert not await privacy.delete_identity(ANA)  # a second time: nobody to delete


async def test_an_open_item_of_a_deleted_trainer_goes_back_to_the_queue(pilot: Reviewed) -> None:
    assert await pilot.db.fetchval(
        "SELECT COUNT(*) FROM assignments WHERE trainer_id = ? AND status = 'active'", (CITRA,)
    )
    assert await privacy_of(pilot).delete_identity(CITRA)
    assert await pilot.db.fetchval("SELECT COUNT(*) FROM assignments WHERE status = 'active'") == 0
    two = await pilot.db.fetchval("SELECT MIN(user_id) FROM trainers")
    assert await privacy_of(pilot).delete_identity(BUDI)
    assert await pilot.db.fetchval("SELECT MIN(user_id) FROM trainers") == two - 1  # fresh ids


async def test_a_new_notice_is_a_new_version_everyone_agrees_to_again(pilot: Reviewed) -> None:
    privacy = privacy_of(pilot)
    await make_trainer(pilot.db, DEWI, agreed=False)
    assert (await privacy.notice("en")).version == 1
    assert not await privacy.has_agreed(DEWI) and not await privacy.agreed_before(DEWI)
    assert await privacy.agree(DEWI, 1) is Consent.AGREED
    assert await privacy.agree(DEWI, 1) is Consent.ALREADY
    assert await privacy.has_agreed(DEWI) and await privacy.has_agreed(ANA)
    version = await privacy.replace_notice(9000, "<b>Our notice</b>")
    notice = await privacy.notice("id")
    assert (version, notice.version, notice.text, notice.custom) == (
        2,
        2,
        "<b>Our notice</b>",
        True,
    )
    assert not await privacy.has_agreed(DEWI) and await privacy.agreed_before(DEWI)
    assert await privacy.agree(DEWI, 1) is Consent.OUTDATED
    assert await privacy.agree(DEWI, 2) is Consent.AGREED
    assert await privacy.replace_notice(9000, None) == 3
    assert not (await privacy.notice("en")).custom
    assert await privacy.replace_notice(9000, None) == 3  # already the catalog's: no new version
    assert await pilot.db.fetchval("SELECT COUNT(*) FROM privacy_notices") == 2
    assert await Privacy(pilot.db, pilot.settings, pilot.clock).has_agreed(DEWI) is False
    with pytest.raises(ValueError):
        await privacy.replace_notice(9000, "  ")
    log = await pilot.db.fetchall(
        "SELECT actor_id, action, target, detail FROM audit_log"
        " WHERE action LIKE 'privacy.%' AND actor_id NOT IN (?, ?, ?) ORDER BY id",
        (ANA, BUDI, CITRA),  # who agreed when the pilot was set up
    )
    assert [tuple(row) for row in log] == [
        (DEWI, "privacy.agree", f"trainer:{DEWI}", "version 1"),
        (9000, "privacy.notice_set", "privacy_notice:2", "17 characters"),
        (DEWI, "privacy.agree", f"trainer:{DEWI}", "version 2"),
        (9000, "privacy.notice_reset", "privacy_notice:3", None),
    ]


async def test_a_notice_published_through_one_process_is_seen_by_another(
    db: Database, settings, clock
) -> None:
    """Two processes on one database (two Privacy objects): neither keeps what the other
    changed, so a new version asks the trainer again everywhere at once."""
    await make_trainer(db, DEWI, agreed=False)
    first, second = Privacy(db, settings, clock), Privacy(db, settings, clock)
    assert not await first.has_agreed(DEWI) and not await second.has_agreed(DEWI)
    assert await first.agree(DEWI, 1) is Consent.AGREED
    assert await second.has_agreed(DEWI) and await first.has_agreed(DEWI)

    version = await first.replace_notice(9000, "<b>Our notice</b>")
    assert not await second.has_agreed(DEWI)  # the guard shows the new notice
    assert await second.agreed_before(DEWI)  # as "the notice changed"
    notice = await second.notice("en")
    assert (notice.version, notice.text, notice.custom) == (version, "<b>Our notice</b>", True)
    assert await second.agree(DEWI, 1) is Consent.OUTDATED  # the old notice's button
    assert await second.agree(DEWI, version) is Consent.AGREED
    assert await first.has_agreed(DEWI) and await second.has_agreed(DEWI)
    assert await first.agree(DEWI, version) is Consent.ALREADY  # a double tap elsewhere

    reset = await second.replace_notice(9000, None)  # back to the catalog's, elsewhere
    assert reset == version + 1
    assert not await first.has_agreed(DEWI)
    assert not (await first.notice("en")).custom
    assert await first.agree(DEWI, version) is Consent.OUTDATED
    assert await first.agree(DEWI, reset) is Consent.AGREED
    assert await second.has_agreed(DEWI)


async def test_who_joins_again_after_deleting_elsewhere_is_asked_to_agree_again(
    db: Database, settings, clock
) -> None:
    """The process that saw the trainer agree must not let the new registration pass."""
    await make_trainer(db, DEWI)
    first, second = Privacy(db, settings, clock), Privacy(db, settings, clock)
    assert await first.has_agreed(DEWI)
    assert await second.delete_identity(DEWI)
    await make_trainer(db, DEWI, agreed=False)  # the same Telegram account, a new invite
    assert not await first.has_agreed(DEWI) and not await second.has_agreed(DEWI)


async def test_my_data_holds_profile_reviews_texts_and_audit(pilot: Reviewed) -> None:
    privacy = privacy_of(pilot)
    document = json.loads(await privacy.my_data(ANA))
    assert document["profile"]["name"] == "Ana Lestari"
    assert document["profile"]["username"] == "ana_lestari"
    assert document["pseudonym_in_exports"] == (await load_pseudonyms(pilot.db, pilot.settings))(
        ANA
    )
    reviews = {review["item_external_id"]: review for review in document["reviews"]}
    assert set(reviews) == {"id-001", "en-003", "multi-001", "html-001"}
    first = reviews["id-001"]
    assert first["scores"] == {"accuracy": 2, "language": 4, "safety": 5, "helpfulness": 3}
    assert first["flags"] == ["factual_error"]
    assert (first["judgment"]["rewrite"], first["judgment"]["note"]) == (REWRITE_ID, NOTE_ID)
    assert reviews["html-001"]["status"] == "skipped"
    assert [entry["action"] for entry in document["audit"]] == ["privacy.agree"]
    again = json.loads(await privacy.my_data(ANA))
    assert "privacy.mydata" in [entry["action"] for entry in again["audit"]]
    assert await privacy.my_data(424242) is None


async def undo_one_of(case: Reviewed, user_id: int) -> int:
    """Reopen one of the trainer's submitted judgments as Undo does; its assignment id."""
    row = await case.db.fetchone(
        "SELECT id, submitted_at FROM assignments WHERE trainer_id = ? AND status = 'submitted'"
        " ORDER BY id LIMIT 1",
        (user_id,),
    )
    assert await reopen(case.db, row["id"], row["submitted_at"], "2026-11-25T09:00:00+00:00")
    return row["id"]


@pytest.mark.parametrize("leaves", ["deleteme", "removed"])
async def test_a_judgment_reopened_by_undo_stays_in_the_datasets_when_its_trainer_leaves(
    pilot: Reviewed, tmp_path: Path, leaves: str
) -> None:
    """Undo turns a review back into a lease; leaving must not expire it out of every export."""
    before = await export_bytes(pilot, "raw", tmp_path / "before.jsonl")
    assignment = await undo_one_of(pilot, ANA)
    assert await export_bytes(pilot, "raw", tmp_path / "reopened.jsonl") != before
    if leaves == "deleteme":
        assert await privacy_of(pilot).delete_identity(ANA)
    else:
        now = "2026-11-25T09:01:00+00:00"
        await set_status(
            pilot.db,
            ANA,
            "blocked",
            action="trainer.remove",
            actor_id=9,
            now=now,
            release_items=True,
        )
    assert await export_bytes(pilot, "raw", tmp_path / "after.jsonl") == before
    row = await pilot.db.fetchone(
        "SELECT status, reopened_at FROM assignments WHERE id = ?", (assignment,)
    )
    assert (row["status"], row["reopened_at"]) == ("submitted", None)


async def test_someone_who_joins_again_after_deleting_is_not_linked_to_the_deleted_reviews(
    pilot: Reviewed,
) -> None:
    old = (await load_pseudonyms(pilot.db, pilot.settings))(ANA)
    assert await privacy_of(pilot).delete_identity(ANA)
    await make_trainer(pilot.db, ANA)  # the same Telegram account, with a new invite
    names = await load_pseudonyms(pilot.db, pilot.settings)
    assert names(ANA) != old
    assert old in set((await store.kept_pseudonyms(pilot.db)).values())  # the old ones keep it
    assert await privacy_of(pilot).delete_identity(ANA)  # and a second deletion works too
    assert len(set((await store.kept_pseudonyms(pilot.db)).values())) == 2


async def test_my_data_names_no_one_else(pilot: Reviewed) -> None:
    """Audit entries about the trainer carry the coordinator's id; /mydata must not."""
    coordinator = 8_800_555_3535
    await pilot.db.execute(
        "INSERT INTO audit_log (actor_id, action, target, detail, created_at)"
        " VALUES (?, 'trainer.pause', ?, 'active -> paused', '2026-11-25T09:00:00+00:00')",
        (coordinator, f"trainer:{ANA}"),
    )
    await pilot.db.execute(
        "INSERT INTO audit_log (actor_id, action, target, detail, created_at)"
        " VALUES (?, 'trainer.quota', ?, '20 -> 30', '2026-11-25T09:00:00+00:00')",
        (ANA, f"trainer:{BUDI}"),
    )
    document = (await privacy_of(pilot).my_data(ANA)).decode("utf-8")
    assert str(coordinator) not in document and str(BUDI) not in document
    audit = json.loads(document)["audit"]
    paused = next(entry for entry in audit if entry["action"] == "trainer.pause")
    assert (paused["by"], paused["target"]) == ("a coordinator", "you")
    quota = next(entry for entry in audit if entry["action"] == "trainer.quota")
    assert (quota["by"], quota["target"]) == ("you", "another trainer")
