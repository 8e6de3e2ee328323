"""The daily report's chart (bot/report_chart.py): a PNG of the expected size, made without a
display, one bar per trainer up to 30 and a distribution beyond, labels in the reader's
language."""

from __future__ import annotations

import struct
import subprocess
import sys
import warnings
from datetime import UTC, datetime

import pytest
from matplotlib.colors import to_hex

from bot.i18n import t_plain
from bot.report import Report, TrainerFigures
from bot.report_chart import (
    BELOW,
    HEIGHT,
    MAX_BARS,
    MET,
    WIDTH,
    chart_figure,
    draw_chart,
    render_chart,
)
from bot.streaks import Days
from storage.records import Trainer

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # Tuesday, 21:00 in Jakarta
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def team(size: int) -> Report:
    people = []
    for n in range(1, size + 1):
        trainer = Trainer(n, n, f"T{n}", None, "en", None, None, "trainer", "active", True)
        days = Days(NOW.date(), 5, (1, 2, 3, 4, 5, 6, n % 11), 0)
        people.append(TrainerFigures(trainer, days, 0, 0.0, 0.0, None))
    week = tuple(sum(f.days.week[i] for f in people) for i in range(7))
    return Report(NOW, tuple(people), (), week)


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.mark.parametrize("size", [0, 3, MAX_BARS + 1, 1000])
async def test_the_chart_is_a_png_of_the_expected_size(size: int) -> None:
    png = await render_chart(team(size), "id", "Asia/Jakarta")
    assert png_size(png) == (WIDTH, HEIGHT)


@pytest.mark.parametrize("language", ["en", "id"])
def test_up_to_30_trainers_get_a_bar_each_then_a_distribution(language: str) -> None:
    few = chart_figure(team(MAX_BARS), language, "Asia/Jakarta").axes[0]
    assert few.get_title(loc="left") == t_plain(language, "report.chart_today")
    assert len(few.patches) == MAX_BARS
    assert [label.get_text() for label in few.get_xticklabels()][:2] == ["T1", "T2"]
    many = chart_figure(team(MAX_BARS + 1), language, "Asia/Jakarta").axes[0]
    assert many.get_title(loc="left") == t_plain(language, "report.chart_distribution")
    assert len(many.patches) < MAX_BARS  # bins of counts (0 to 10 reviews), not trainers
    quota_line = many.get_lines()[0]
    assert list(quota_line.get_xdata()) == [5, 5]


@pytest.mark.parametrize(("language", "today"), [("en", "Tue\nDec 1"), ("id", "Selasa\n1 Des")])
def test_the_week_is_labelled_in_the_readers_language(language: str, today: str) -> None:
    week = chart_figure(team(3), language, "Asia/Jakarta").axes[1]
    labels = [label.get_text() for label in week.get_xticklabels()]
    assert len(labels) == 7 and labels[-1] == today
    assert [bar.get_height() for bar in week.patches] == list(team(3).team_week)


def test_it_is_drawn_without_a_display() -> None:
    """A fresh interpreter with no DISPLAY and no MPLBACKEND: Agg, not a window."""
    code = (
        "import sys; from tests.test_report_chart import team; "
        "from bot.report_chart import draw_chart; "
        "sys.stdout.buffer.write(draw_chart(team(5), 'en', 'Asia/Jakarta')); "
        "import matplotlib; assert 'pyplot' not in sys.modules, 'pyplot loaded'"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "MPLCONFIGDIR": "/tmp/nilai-mpl-test"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, check=True, cwd="."
    )
    assert png_size(done.stdout) == (WIDTH, HEIGHT)
    assert draw_chart(team(5), "en", "Asia/Jakarta") == draw_chart(team(5), "en", "Asia/Jakarta")


def named(*people: tuple[str, str | None]) -> Report:
    figures = []
    for n, (name, username) in enumerate(people, start=1):
        trainer = Trainer(n, n, name, username, "en", None, None, "trainer", "active", True)
        days = Days(NOW.date(), 5, (0, 0, 0, 0, 0, 0, 3 * n), 0)
        figures.append(TrainerFigures(trainer, days, 0, 0.0, 0.0, None))
    return Report(NOW, tuple(figures), (), (0, 0, 0, 0, 0, 0, 12))


def test_names_keep_only_what_the_font_draws_without_a_warning() -> None:
    """Emoji and CJK would be boxes and one warning each: they are left out, and a name with
    nothing left is shown as the @username, or "#id"."""
    report = named(("Ani 🌸✨", None), ("李小龙", "xiaolong"), ("李小龙", None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph's warning fails the test
        axes = chart_figure(report, "en", "Asia/Jakarta").axes[0]
        png = draw_chart(report, "id", "Asia/Jakarta")
    assert [label.get_text() for label in axes.get_xticklabels()] == ["Ani", "@xiaolong", "#3"]
    assert png_size(png) == (WIDTH, HEIGHT)


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_bars_legend_says_what_green_and_orange_mean(language: str) -> None:
    axes = chart_figure(named(("Ani", None), ("Budi", None)), language, "Asia/Jakarta").axes[0]
    legend = axes.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        t_plain(language, f"report.chart_{key}") for key in ("met", "below", "quota")
    ]
    met, below = legend.legend_handles[:2]
    assert (to_hex(met.get_facecolor()), to_hex(below.get_facecolor())) == (MET, BELOW)
