"""Messages (issue 15, item 1): once a business accepts a lead, the consumer and that business share a thread (one
per match), live in the portal and on the lead's page; each new message also goes out by email and text per the
recipient's preference, and a reply to either lands back in the thread.

Modules: `service` (writing, reading, storing a reply), `notices` (the other side's email and text), `replies`
(reading a thread's reply address back; `links.reply_address` makes it), `inbound` (the email and SMS replies).
"""

from __future__ import annotations

from leadapp.core.services.messages.service import (
    THREAD_LIMIT,
    message_view,
    post_message,
    purge_leads,
    read_body,
    record_reply,
    thread,
    threads_by_lead,
)

__all__ = [
    "THREAD_LIMIT",
    "message_view",
    "post_message",
    "purge_leads",
    "read_body",
    "record_reply",
    "thread",
    "threads_by_lead",
]
