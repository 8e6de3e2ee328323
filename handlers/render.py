"""Texts and inline keyboards the trainer sees for an item, built from plain records.

An item is shown as one or more HTML messages (split so none passes Telegram's limit); the last
one is the "panel": the end of the item plus the rating status, with the buttons under it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.formatting import counts, duration, number
from bot.i18n import Html, t
from bot.onboarding import Trainer
from bot.review import Draft, ItemView, Refusal
from bot.rubric import Rubric
from bot.sittings import SittingSummary
from handlers.callback_data import Action, encode
from handlers.text_split import MESSAGE_LIMIT, RESERVED, pack_blocks, visible_len

SKIP_REASONS = ("expertise", "broken", "too_long", "none")
# Why a tap on an item changed nothing, as a toast.
REFUSAL_TOASTS = {
    Refusal.MISSING: "toast.invalid",
    Refusal.NOT_YOURS: "toast.not_yours",
    Refusal.SUBMITTED: "toast.already_submitted",
    Refusal.SKIPPED: "toast.already_skipped",
    Refusal.EXPIRED: "toast.lease_taken",  # handlers/lease_sweeper.py also edits the panel
}
NAME_SHOWN = 24  # characters of a trainer's name in coordinators' lists and answers
PART_MARK_ROOM = 40  # room for "(part 2/3)" under each part of a long text

Blocks = list[tuple[str, str | int]]  # what handlers/text_split.pack_blocks packs


def render_standing(view: ItemView, language: str) -> str:
    """Where the trainer stands: today against the quota, and how far the batch is."""
    return t(
        language,
        "panel.standing",
        **counts(
            language,
            done=view.done_today,
            quota=view.quota,
            batch_done=view.batch_done,
            batch_items=view.batch_items,
        ),
    )


def render_steps(rubric: Rubric, criterion: str, language: str) -> list[str]:
    """What the described scores of `criterion` mean, one line each ("1 · Wrong ...")."""
    return [
        f"<b>{score}</b> · {html.escape(meaning, quote=False)}"
        for score, meaning in rubric.steps_of(criterion, language)
    ]


def render_status(view: ItemView, language: str) -> str:
    """The rating panel: standing, scores so far, what to score now (and what its scores
    mean), flags, rewrite and note."""
    rubric, draft = view.rubric, view.draft
    missing = t(language, "panel.missing")
    given = t(language, "panel.given")
    scores = " · ".join(
        f"{rubric.label(key, language)} {draft.scores.get(key, missing)}" for key in rubric.criteria
    )
    lines = [render_standing(view, language), t(language, "panel.scores", scores=scores)]
    current = view.criterion
    if current is None:
        lines.append(t(language, "panel.all_scored"))
    else:
        low, high = rubric.scale
        label = rubric.label(current, language)
        lines.append(t(language, "panel.now_scoring", criterion=label, low=low, high=high))
        lines += render_steps(rubric, current, language)
    flags = ", ".join(rubric.label(f, language) for f in rubric.flags if f in draft.flags)
    lines.append(t(language, "panel.flags", flags=flags or t(language, "panel.no_flags")))
    lines.append(
        t(
            language,
            "panel.texts",
            rewrite=given if draft.rewrite else missing,
            note=given if draft.note else missing,
        )
    )
    return "\n".join(lines)


# (rubric's id, language, digits of today's count, quota, batch size) -> (rubric, length); the
# rubric is kept in the value, so its id cannot be reused while the entry lives.
_LONGEST: dict[tuple[int, str, int, int, int], tuple[Rubric, int]] = {}
_LONGEST_SIZE = 4096


def _longest_status(view: ItemView, language: str) -> int:
    """Visible length of the panel at its longest (any criterion being scored, with its
    steps), reserved so re-renders split the same way.

    It depends only on the rubric, the language and how wide the numbers are, and takes a
    render per criterion: kept, so a tap's re-render does not pay for it again.
    """
    rubric = view.rubric
    key = (id(rubric), language, len(str(view.done_today)), view.quota, view.batch_items)
    known = _LONGEST.get(key)
    if known is not None and known[0] is rubric:
        return known[1]
    full = Draft(
        scores={key: rubric.scale[1] for key in rubric.criteria},
        flags=frozenset(rubric.flags),
        note="x",
        rewrite="x",
    )
    samples = (
        ItemView(
            assignment=view.assignment,
            item=view.item,
            rubric=rubric,
            draft=full,
            done_today=view.done_today,
            quota=view.quota,
            criterion=criterion,
            batch_done=view.batch_items,  # as wide as the numbers get in this batch
            batch_items=view.batch_items,
        )
        for criterion in rubric.criteria
    )
    longest = max(visible_len(render_status(sample, language)) for sample in samples) + 120
    if len(_LONGEST) >= _LONGEST_SIZE:
        _LONGEST.clear()
    _LONGEST[key] = (rubric, longest)
    return longest


def render_item_messages(view: ItemView, language: str, *, status: str | None = None) -> list[str]:
    """All messages that show an item, the panel text last (its status, or `status`)."""
    item = view.item
    blocks: Blocks = [
        (
            "html",
            t(language, "item.title", batch=item.batch_name),
        ),
    ]
    blocks += context_blocks(item.context, language)
    blocks += [
        ("html", "\n" + t(language, "item.prompt")),
        ("text", item.prompt),
        ("html", "\n" + t(language, "item.response")),
        ("text", item.response),
        ("reserve", _longest_status(view, language)),
    ]
    parts = pack_in_parts(blocks, language)
    status = "\n" + (status or render_status(view, language))
    parts[-1] = parts[-1].replace(RESERVED, status)  # the mark under it holds no RESERVED
    return parts


def context_blocks(turns: Sequence[Mapping[str, str]], language: str) -> Blocks:
    """The earlier turns of a conversation (heading, then each turn's role and text), or none:
    shown the same way above an item, a flagged item and a rewrite under review."""
    if not turns:
        return []
    blocks: Blocks = [("html", "\n" + t(language, "item.context"))]
    for turn in turns:
        key = {"assistant": "item.turn_assistant", "system": "item.turn_system"}.get(
            turn.get("role", "user"), "item.turn_user"
        )
        blocks += [("html", t(language, key, text=Html(""))), ("text", turn.get("content", ""))]
    return blocks


def pack_in_parts(blocks: Blocks, language: str) -> list[str]:
    """`blocks` packed into messages under Telegram's limit, each marked "(part x/y)" when
    there is more than one, so a reader knows the text goes on."""
    parts = pack_blocks(blocks, MESSAGE_LIMIT - PART_MARK_ROOM)
    if len(parts) > 1:
        parts = [
            f"{text}\n{t(language, 'item.continued', part=index, parts=len(parts))}"
            for index, text in enumerate(parts, start=1)
        ]
    return parts


def render_panel_keyboard(view: ItemView, language: str) -> InlineKeyboardMarkup:
    """Scores for the current criterion, criteria to revisit, flags, texts, skip and submit."""
    rubric, draft, aid = view.rubric, view.draft, view.assignment.id
    rows: list[list[InlineKeyboardButton]] = []
    current = view.criterion
    if current is not None:
        index = rubric.criteria.index(current)
        chosen = draft.scores.get(current)
        rows.append(
            [
                InlineKeyboardButton(
                    f"• {score} •" if score == chosen else str(score),
                    callback_data=encode(Action.SCORE, aid, index, score),
                )
                for score in rubric.scores
            ]
        )
    criteria = [
        InlineKeyboardButton(
            ("▶ " if key == current else "")
            + f"{rubric.label(key, language)} {draft.scores.get(key, '–')}",
            callback_data=encode(Action.CRITERION, aid, index),
        )
        for index, key in enumerate(rubric.criteria)
    ]
    rows += _pairs(criteria)
    flags = [
        InlineKeyboardButton(
            ("☑ " if key in draft.flags else "☐ ") + rubric.label(key, language),
            callback_data=encode(Action.FLAG, aid, index, 0 if key in draft.flags else 1),
        )
        for index, key in enumerate(rubric.flags)
    ]
    rows += _pairs(flags)
    rows.append(
        [
            InlineKeyboardButton(
                t(language, "button.rewrite"), callback_data=encode(Action.REWRITE, aid)
            ),
            InlineKeyboardButton(
                t(language, "button.note"), callback_data=encode(Action.NOTE, aid)
            ),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                t(language, "button.guidelines"), callback_data=encode(Action.GUIDELINES, aid)
            ),
            InlineKeyboardButton(
                t(language, "button.skip"), callback_data=encode(Action.SKIP_MENU, aid)
            ),
            InlineKeyboardButton(
                t(language, "button.submit"), callback_data=encode(Action.SUBMIT, aid)
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


def render_skip_status(language: str) -> str:
    """The panel's text while the skip menu is shown: the question and every reason."""
    reasons = "\n".join(f"• {t(language, f'skip_reason.{reason}')}" for reason in SKIP_REASONS)
    return t(language, "panel.skip_menu", reasons=Html(reasons))


def render_skip_keyboard(assignment_id: int, language: str) -> InlineKeyboardMarkup:
    """Reasons to skip, and a way back to the rating buttons."""
    reasons = [
        InlineKeyboardButton(
            t(language, f"skip_reason.{reason}"),
            callback_data=encode(Action.SKIP, assignment_id, index),
        )
        for index, reason in enumerate(SKIP_REASONS)
    ]
    back = InlineKeyboardButton(
        t(language, "button.back"), callback_data=encode(Action.BACK, assignment_id)
    )
    return InlineKeyboardMarkup([*_pairs(reasons), [back]])


def next_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(language, "button.next"), callback_data=encode(Action.NEXT))]]
    )


def start_reviewing_keyboard(language: str) -> InlineKeyboardMarkup:
    """The "Start reviewing" button of messages that invite a trainer to review (a batch's
    announcement, a reminder, being resumed): a tap shows their open or next item."""
    label = t(language, "button.start_reviewing")
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=encode(Action.NEXT))]])


def render_submitted_summary(rubric: Rubric, draft: Draft, language: str) -> str:
    """One line recording what was submitted, shown in place of the buttons."""
    missing, given = t(language, "panel.missing"), t(language, "panel.given")
    scores = ", ".join(
        f"{rubric.label(key, language)} {draft.scores.get(key, missing)}" for key in rubric.criteria
    )
    flags = ", ".join(rubric.label(f, language) for f in rubric.flags if f in draft.flags)
    return t(
        language,
        "summary.submitted",
        scores=scores,
        flags=flags or t(language, "panel.no_flags"),
        rewrite=given if draft.rewrite else missing,
        note=given if draft.note else missing,
    )


def render_sitting_summary(summary: SittingSummary, language: str) -> str:
    """One line: items reviewed and skipped in the sitting, and the time it took ("1 hour 5
    minutes" rather than "65 minutes" for a long one)."""
    minutes, reviewed, skipped = summary.minutes, summary.reviewed, summary.skipped
    spent = duration(minutes * 60, language) if minutes else t(language, "sitting.under_a_minute")
    return t(
        language,
        "sitting.summary",
        reviewed=Html(
            t(language, "sitting.reviewed", count=reviewed, shown=number(reviewed, language))
        ),
        skipped=Html(
            t(language, "sitting.skipped", count=skipped, shown=number(skipped, language))
        ),
        spent=Html(spent),
    )


def trainer_name(trainer: Trainer, limit: int | None = NAME_SHOWN) -> str:
    """How a coordinator's message names a trainer: name, else @username, else the id; cut to
    `limit` characters with "…" (keeps a page of 20 trainers within one message), or whole
    when `limit` is None."""
    name = (
        trainer.name.strip()
        or (f"@{trainer.username}" if trainer.username else "")
        or str(trainer.user_id)
    )
    return name if limit is None or len(name) <= limit else name[: limit - 1] + "…"


def _pairs(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
