"""Which process sets Telegram's webhook: a claim in `bot_facts`, so only one calls setWebhook.

Several bot processes start with the same WEBHOOK_URL and WEBHOOK_SECRET on one database; each
serves the webhook, but Telegram needs to be told only once. Each process runs `claim_webhook`
through `db.write` at start. It stores the URL with a hash of the secret (never the secret) as
the fact 'webhook', and only the write that changed the stored value returns True: the first
process with these settings, or the first after they changed (a new URL, a new secret). The
database decides between processes starting at the same moment: on SQLite the writes take
turns, on PostgreSQL the second `INSERT ... ON CONFLICT` waits for the first and then finds the
value already there, so it changes no row.

Long polling (`run_polling` deletes the webhook) forgets the claim, so a later webhook start
claims and sets it again.

The trade-off: the claim is taken before setWebhook is called, and it is given back when the
call fails, but a process killed between the two (a few milliseconds) leaves the claim stored
and the webhook unset; the other processes, and later starts with the same settings, then
believe it set. Changing WEBHOOK_SECRET, or one start in polling mode, sets it again. Nor does
the claim notice a webhook changed behind the bot's back (setWebhook or deleteWebhook called
by hand): the same two remedies apply. What it buys is that one process, not every one, tells
Telegram, and that a restart of one of many processes does not touch the webhook at all.
"""

from __future__ import annotations

import hashlib

from storage.database import Transaction

FACT = "webhook"


def claim_value(url: str, secret: str) -> str:
    """What the claim stores: the URL and a hash of the secret, which a database reader cannot
    turn back into a secret that lets them post updates."""
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    return f"{url} sha256:{digest}"


async def claim_webhook(tx: Transaction, url: str, secret: str) -> bool:
    """True only to the caller whose write stored these settings: it is the one to call
    setWebhook. False when they are stored already (another process has set the webhook)."""
    changed = await tx.execute(
        "INSERT INTO bot_facts (name, value) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        " WHERE bot_facts.value <> excluded.value",
        (FACT, claim_value(url, secret)),
    )
    return changed > 0


async def forget_webhook(tx: Transaction) -> None:
    """No webhook is set (polling deleted it, or setWebhook failed): the next webhook start
    claims it again."""
    await tx.execute("DELETE FROM bot_facts WHERE name = ?", (FACT,))
