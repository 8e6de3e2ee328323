"""The scheduled jobs the composition root registers: stable names, each once, on the schedule
the settings give; built anew at each start, so a restart never doubles one."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import build_application
from bot.config import Settings

EVERY_MINUTE = ("daily-sends", "lease-sweeper", "batch-events", "quality-notices")


def _jobs(settings: Settings) -> dict[str, object]:
    application = build_application(settings)
    jobs = application.job_queue.jobs()
    names = [job.name for job in jobs]
    assert len(names) == len(set(names)), names
    return {job.name: job for job in jobs}


def test_the_per_minute_jobs_run_every_minute_by_their_names(settings: Settings) -> None:
    jobs = _jobs(settings)
    for name in EVERY_MINUTE:
        trigger = jobs[name].job.trigger
        assert isinstance(trigger, IntervalTrigger)
        assert trigger.interval == timedelta(minutes=1)
    assert set(jobs) == {*EVERY_MINUTE, "daily-backup", "prune-update-log"}


def test_each_start_builds_the_same_jobs_from_the_settings(settings: Settings) -> None:
    """Two Applications built from the settings have the same jobs, each once, with the times the
    settings give (the schedule lives in the settings, not in a job store)."""
    first = _jobs(settings)
    moved = replace(settings, backup_time=time(4, 30))
    second = _jobs(moved)
    assert set(first) == set(second)
    fields = {field.name: str(field) for field in second["daily-backup"].job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("4", "30")
    assert str(second["daily-backup"].job.trigger.timezone) == settings.timezone


def test_each_job_runs_on_the_leader_only(settings: Settings) -> None:
    """Every process registers the jobs; each asks for the leadership before its body
    (handlers/leadership.py), so several processes on one database run each once."""
    jobs = _jobs(settings)
    for name in (*EVERY_MINUTE, "daily-backup", "prune-update-log"):
        assert jobs[name].callback.__code__.co_name == "on_the_leader", name


def test_on_postgresql_leadership_is_asked_for_and_the_backup_is_the_operators(
    settings: Settings,
) -> None:
    """With several processes possible: the leadership is asked for every 15 s (it moves
    within a minute when the leader dies), the leader picks up broadcasts stored elsewhere, and
    the SQLite file's daily backup is not made (pg_dump is the operator's)."""
    jobs = _jobs(replace(settings, database_url="postgresql://nilai@localhost/nilai"))
    assert set(jobs) == {*EVERY_MINUTE, "prune-update-log", "leadership", "broadcast-pickup"}
    assert jobs["leadership"].job.trigger.interval == timedelta(seconds=15)
    assert jobs["broadcast-pickup"].job.trigger.interval <= timedelta(seconds=5)
