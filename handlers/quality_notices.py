"""The `quality-notices` job: every minute, the quality-control notices a crash left unsent.

A gold pause (handlers/gold.py) and a rewrite's decision (handlers/rewrite_review.py) are told at
once by the handler that made them; each notice is claimed in the database before it is sent.
When the process stops between the commit and the claim, nobody would hear of it: this job
sends what is unclaimed and over a minute old (the immediate path had its chance), so each
notice goes out once, and a crash after a claim loses that one message rather than doubling it.
"""

from __future__ import annotations

import logging

from handlers import gold, rewrite_review
from handlers.context import NilaiContext

log = logging.getLogger(__name__)

JOB_NAME = "quality-notices"


async def send_quality_notices(context: NilaiContext) -> None:
    """Every minute: the unsent gold-pause notices, then the rewrite decisions."""
    services = context.services
    now = services.clock()
    sent = await gold.send_pending_notices(context.bot, services, now)
    sent += await rewrite_review.send_pending_notices(context.bot, services, now)
    if sent:
        log.info("sent %d quality-control notices left unsent", sent)
