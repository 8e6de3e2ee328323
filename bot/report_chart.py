"""The daily report's chart: one PNG, drawn large and plain so it stays legible after Telegram
recompresses it as a JPEG on a phone.

Top: today's reviews per trainer as bars against each one's quota (a thick mark on every bar);
for a team of more than `MAX_BARS`, the distribution of today's counts instead (how many
trainers did 0, 1-4, ... reviews) with the usual quota as a thick line, so a thousand trainers
read as one shape. Bottom: the team's reviews on each of the last 7 days, weekday labels in the
reader's language.

Names are drawn with the characters the font has: emoji or CJK would be boxes (and a warning
per glyph), so they are left out, and a name with nothing left is shown as the @username or
"#id".

Matplotlib's object API only (`Figure` + `FigureCanvasAgg`): no pyplot, no display, no global
state; drawing takes a few hundred milliseconds, so it runs off the event loop
(`render_chart`), one at a time (Matplotlib's font cache is shared).
"""

from __future__ import annotations

import asyncio
import io
import threading
import warnings
from collections import Counter
from collections.abc import Sequence
from functools import cache

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.formatting import number, weekday_date
from bot.i18n import t_plain
from bot.report import Report, TrainerFigures, trainer_label, week_days

WIDTH, HEIGHT, DPI = 1280, 960, 100
MAX_BARS = 30  # more trainers than this: a distribution instead of a bar each
LABEL_CHARS = 12  # a trainer's name under a bar, cut to this
MET, BELOW, QUOTA, WEEK_BAR = "#1b7837", "#d95f02", "#111111", "#2c5aa0"
TITLE, TEXT = 26, 20  # font sizes: a phone shows the image at about a third of its size
_drawing = threading.Lock()
# What the font lacks is left out of names (`drawable`); any glyph still missing (a catalog
# text, say) draws as a box without one warning per glyph in the log.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)


async def render_chart(report: Report, language: str, zone: str) -> bytes:
    """The chart as PNG bytes, drawn in a worker thread."""
    return await asyncio.to_thread(draw_chart, report, language, zone)


def draw_chart(report: Report, language: str, zone: str) -> bytes:
    """The chart as PNG bytes (`WIDTH` x `HEIGHT` pixels)."""
    with _drawing:
        figure = chart_figure(report, language, zone)
        buffer = io.BytesIO()
        figure.canvas.print_png(buffer)
        return buffer.getvalue()


def chart_figure(report: Report, language: str, zone: str) -> Figure:
    """The chart's figure: today's reviews above, the team's week below."""
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)  # Agg, whatever MPLBACKEND says: no display is ever needed
    today, week = figure.subplots(2, 1, height_ratios=(3, 2))
    if len(report.trainers) > MAX_BARS:
        _distribution(today, report.trainers, language)
    else:
        _bars(today, report.trainers, language)
    _week(week, report, language, zone)
    figure.tight_layout(pad=1.2, h_pad=2.0)
    return figure


def _style(axes: Axes, title: str, ylabel: str, language: str) -> None:
    axes.set_title(title, fontsize=TITLE, fontweight="bold", loc="left")
    axes.set_ylabel(ylabel, fontsize=TEXT)
    axes.tick_params(labelsize=TEXT, width=2, length=6)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: number(int(value), language)))
    axes.grid(axis="y", linewidth=1.5, color="#cccccc")
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_linewidth(2)


def _bars(axes: Axes, trainers: Sequence[TrainerFigures], language: str) -> None:
    _style(
        axes,
        t_plain(language, "report.chart_today"),
        t_plain(language, "report.chart_reviews"),
        language,
    )
    if not trainers:
        axes.set_xticks([])
        return
    positions = range(len(trainers))
    done = [f.days.done_today for f in trainers]
    colours = [MET if f.days.met_today else BELOW for f in trainers]
    axes.bar(positions, done, color=colours, width=0.7)
    axes.hlines(
        [f.days.quota for f in trainers],
        [p - 0.45 for p in positions],
        [p + 0.45 for p in positions],
        colors=QUOTA,
        linewidth=5,
        label=t_plain(language, "report.chart_quota"),
    )
    axes.set_ylim(0, max([*done, *(f.days.quota for f in trainers)]) * 1.15 + 0.5)
    axes.set_xticks(list(positions), [_label(f) for f in trainers], rotation=45, ha="right")
    legend = [
        Patch(color=MET, label=t_plain(language, "report.chart_met")),
        Patch(color=BELOW, label=t_plain(language, "report.chart_below")),
        Line2D([], [], color=QUOTA, linewidth=5, label=t_plain(language, "report.chart_quota")),
    ]
    axes.legend(handles=legend, fontsize=TEXT, loc="best", framealpha=0.9)


def _label(figures: TrainerFigures) -> str:
    name = trainer_label(figures.trainer, handle=False, clean=drawable)
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


@cache
def _font_characters() -> frozenset[int]:
    """The code points the chart's font (Matplotlib's default) can draw."""
    path = font_manager.findfont(font_manager.FontProperties())
    return frozenset(FT2Font(path).get_charmap())


def drawable(text: str) -> str:
    """`text` without the characters the font cannot draw, spaces tidied: "Ani 🌸✨" -> "Ani"."""
    known = _font_characters()
    return " ".join("".join(ch for ch in text if ord(ch) in known).split())


def _distribution(axes: Axes, trainers: Sequence[TrainerFigures], language: str) -> None:
    _style(
        axes,
        t_plain(language, "report.chart_distribution"),
        t_plain(language, "report.chart_trainers"),
        language,
    )
    done = [f.days.done_today for f in trainers]
    quota = Counter(f.days.quota for f in trainers).most_common(1)[0][0]
    top = max([*done, quota])
    bins = _bins(top)
    axes.hist(done, bins=bins, color=WEEK_BAR, edgecolor="white", linewidth=2)
    axes.axvline(quota, color=QUOTA, linewidth=5, label=t_plain(language, "report.chart_quota"))
    axes.set_xlabel(t_plain(language, "report.chart_reviews"), fontsize=TEXT)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10))
    axes.legend(fontsize=TEXT, loc="best", framealpha=0.9)


def _bins(top: int) -> list[float]:
    """Edges of at most about 25 bins of whole numbers of reviews, from 0 to past `top`."""
    width = max(1, -(-(top + 1) // 25))
    return [edge - 0.5 for edge in range(0, top + width + 1, width)]


def _week(axes: Axes, report: Report, language: str, zone: str) -> None:
    _style(
        axes,
        t_plain(language, "report.chart_week"),
        t_plain(language, "report.chart_reviews"),
        language,
    )
    days = week_days(report.moment, zone)
    positions = range(len(days))
    axes.bar(positions, report.team_week, color=WEEK_BAR, width=0.7)
    for position, count in zip(positions, report.team_week, strict=True):
        if count:
            axes.annotate(
                number(count, language),
                (position, count),
                ha="center",
                va="bottom",
                fontsize=TEXT,
                fontweight="bold",
                xytext=(0, 4),
                textcoords="offset points",
            )
    axes.set_ylim(0, max([*report.team_week, 1]) * 1.25)
    # "Selasa, 1 Des" on two lines: seven of them fit side by side at a readable size.
    labels = [weekday_date(day, language).replace(", ", "\n", 1) for day in days]
    axes.set_xticks(list(positions), labels)
