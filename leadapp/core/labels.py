"""The plain words people read for every status, outcome, urgency and channel value in the code.

One table, used by pages, emails and SMS alike, so a value always reads the same word wherever it shows, and
no internal value (`goal_achieved`, `in_progress`, `no_match`) reaches a screen or a message. Imports no
Reflex and no domain service: the worker, the voice bridge and the web app all read it.
`tests/unit/test_labels.py` enumerates every value defined in `vocab` (and the few constants elsewhere) and
fails when one has no word here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from leadapp.core import vocab

LEAD_STATUS: dict[str, str] = {
    vocab.LeadStatus.RECEIVED: "Received",
    vocab.LeadStatus.CLASSIFIED: "Being matched",
    vocab.LeadStatus.MATCHED: "Matched",
    vocab.LeadStatus.NO_MATCH: "No match yet",
    vocab.LeadStatus.LOW_QUALITY: "Needs more detail",
    vocab.LeadStatus.FLAGGED: "Under review",
    vocab.LeadStatus.REJECTED: "Rejected",
    vocab.LeadStatus.ACCEPTED: "Accepted",
    vocab.LeadStatus.CONVERTED: "Done",
    vocab.LeadStatus.WITHDRAWN: "Withdrawn",
    vocab.LeadStatus.DELETED: "Deleted",
}

MATCH_STATUS: dict[str, str] = {
    vocab.MatchStatus.NEW: "New",
    vocab.MatchStatus.NOTIFIED: "Notified",
    vocab.MatchStatus.VIEWED: "Seen",
    vocab.MatchStatus.ACCEPTED: "Accepted",
    vocab.MatchStatus.DECLINED: "Declined",
    vocab.MatchStatus.CONVERTED: "Won",
    vocab.MatchStatus.EXPIRED: "Expired",
}

THREAD_SIDE: dict[str, str] = {
    vocab.ThreadSide.CONSUMER: "Consumer",
    vocab.ThreadSide.BUSINESS: "Business",
}

MESSAGE_CHANNEL: dict[str, str] = {
    vocab.MessageChannel.WEB: "Web",
    vocab.MessageChannel.EMAIL: "Email reply",
    vocab.MessageChannel.SMS: "Text reply",
}

QUOTE_STATUS: dict[str, str] = {
    vocab.QuoteStatus.SENT: "Open",
    vocab.QuoteStatus.ACCEPTED: "Accepted",
    vocab.QuoteStatus.DECLINED: "Declined",
    vocab.QuoteStatus.EXPIRED: "Expired",
}

URGENCY: dict[str, str] = {
    vocab.Urgency.EMERGENCY: "Emergency",
    vocab.Urgency.HIGH: "Urgent",
    vocab.Urgency.NORMAL: "Normal",
    vocab.Urgency.LOW: "Flexible timing",
}

CALL_STATUS: dict[str, str] = {
    vocab.CallStatus.REQUESTED: "Requested",
    vocab.CallStatus.SCHEDULED: "Scheduled",
    vocab.CallStatus.DIALING: "Dialling",
    vocab.CallStatus.RINGING: "Ringing",
    vocab.CallStatus.IN_PROGRESS: "On the call",
    vocab.CallStatus.COMPLETED: "Finished",
    vocab.CallStatus.CANCELED: "Canceled",
    vocab.CallStatus.FAILED: "Failed",
}

CALL_OUTCOME: dict[str, str] = {
    vocab.CallOutcome.GOAL_ACHIEVED: "Qualified",
    vocab.CallOutcome.NO_ANSWER: "No answer",
    vocab.CallOutcome.VOICEMAIL: "Voicemail",
    vocab.CallOutcome.DECLINED: "Declined",
    vocab.CallOutcome.ERROR: "Could not connect",
    vocab.CallOutcome.AI_FAILURE: "Assistant cut off",
    vocab.CallOutcome.TRANSFERRED: "Put through to you",
    vocab.CallOutcome.CALLBACK_BOOKED: "Callback booked",
}

CALL_TYPE: dict[str, str] = {
    vocab.CallType.QUALIFY_LEAD: "Qualifying call",
    vocab.CallType.CONSUMER_CALLBACK: "Callback",
    vocab.CallType.CONFIRM_APPOINTMENT: "Appointment confirmation",
    vocab.CallType.FOLLOW_UP: "Follow-up",
    vocab.CallType.INBOUND: "Incoming call",
}

CALL_DIRECTION: dict[str, str] = {
    vocab.CallDirection.OUTBOUND: "Outgoing",
    vocab.CallDirection.INBOUND: "Incoming",
}

CHANNEL: dict[str, str] = {
    vocab.Channel.EMAIL: "Email",
    vocab.Channel.SMS: "Text message (SMS)",
}

LANGUAGE: dict[str, str] = {
    vocab.Language.ENGLISH: "English",
    vocab.Language.SPANISH: "Spanish (Español)",
}

CONTACT_PREFERENCE: dict[str, str] = {
    vocab.ContactPreference.EMAIL: "Email",
    vocab.ContactPreference.PHONE: "Phone call",
    vocab.ContactPreference.SMS: "Text message (SMS)",
}

NOTIFICATION_STATUS: dict[str, str] = {
    vocab.NotificationStatus.PENDING: "Waiting",
    vocab.NotificationStatus.SENDING: "Sending",
    vocab.NotificationStatus.SENT: "Sent",
    vocab.NotificationStatus.FAILED: "Failed",
    vocab.NotificationStatus.SUPPRESSED: "Not sent (opted out)",
}

WEBHOOK_STATUS: dict[str, str] = {
    vocab.WebhookStatus.PENDING: "Waiting",
    vocab.WebhookStatus.SENDING: "Sending",
    vocab.WebhookStatus.DELIVERED: "Delivered",
    vocab.WebhookStatus.FAILED: "Failed",
}

WEBHOOK_EVENT: dict[str, str] = {
    vocab.WebhookEvent.LEAD_MATCHED: "Lead matched",
    vocab.WebhookEvent.LEAD_ACCEPTED: "Lead accepted",
    vocab.WebhookEvent.LEAD_CONVERTED: "Lead converted",
    vocab.WebhookEvent.LEAD_WITHDRAWN: "Lead withdrawn",
}

NOTIFICATION_KIND: dict[str, str] = {
    vocab.NotificationKind.BUSINESS_NEW_LEAD: "New lead for a business",
    vocab.NotificationKind.CONSUMER_MATCHED: "Request matched",
    vocab.NotificationKind.CONSUMER_NO_MATCH: "No match yet",
    vocab.NotificationKind.CONSUMER_ACCEPTED: "A business accepted",
    vocab.NotificationKind.CALL_SUMMARY: "Call summary",
    vocab.NotificationKind.CONTACT_MESSAGE: "Contact message",
    vocab.NotificationKind.INVITATION: "Invitation",
    vocab.NotificationKind.INVITATION_FOLLOWUP: "Invitation reminder",
    vocab.NotificationKind.PASSWORD_RESET: "Password reset",
    vocab.NotificationKind.EMAIL_VERIFICATION: "Email confirmation",
    vocab.NotificationKind.PHONE_CODE: "Phone code",
    vocab.NotificationKind.QUOTE_SENT: "Quote for the consumer",
    vocab.NotificationKind.QUOTE_ACCEPTED: "Quote accepted",
    vocab.NotificationKind.QUOTE_DECLINED: "Quote declined",
    vocab.NotificationKind.REVIEW_INVITE: "Review invitation",
    vocab.NotificationKind.THREAD_MESSAGE: "New message",
}

LEAD_SOURCE: dict[str, str] = {
    vocab.LeadSource.FORM: "Request form",
    vocab.LeadSource.INTERVIEW: "Guided interview",
    vocab.LeadSource.API: "API",
    vocab.LeadSource.PHONE: "Phone call",
}

ROLE: dict[str, str] = {
    vocab.Role.CONSUMER: "Consumer",
    vocab.Role.BUSINESS_OWNER: "Business owner",
    vocab.Role.ADMIN: "Admin",
}

PLAN: dict[str, str] = {plan.value: word for plan, word in vocab.PLAN_LABELS.items()}

PRICE_TIER: dict[str, str] = {
    vocab.PriceTier.BUDGET: "Budget",
    vocab.PriceTier.STANDARD: "Standard",
    vocab.PriceTier.PREMIUM: "Premium",
}

CATEGORY: dict[str, str] = {category.value: word for category, word in vocab.CATEGORY_LABELS.items()}

PROSPECT_STATUS: dict[str, str] = {
    vocab.ProspectStatus.FOUND: "Found",
    vocab.ProspectStatus.DISQUALIFIED: "Disqualified",
    vocab.ProspectStatus.INVITED: "Invited",
    vocab.ProspectStatus.CLICKED: "Opened the invitation",
    vocab.ProspectStatus.ACTIVATED: "Signed up",
    vocab.ProspectStatus.UNSUBSCRIBED: "Unsubscribed",
}

CONTACT_MESSAGE_STATUS: dict[str, str] = {
    vocab.ContactMessageStatus.NEW: "New",
    vocab.ContactMessageStatus.READ: "Read",
    vocab.ContactMessageStatus.ANSWERED: "Answered",
}

DNC_SOURCE: dict[str, str] = dict(vocab.DNC_SOURCE_LABELS)

SPEAKER: dict[str, str] = {
    vocab.Speaker.CALLER: "Caller",
    vocab.Speaker.ASSISTANT: "AI assistant",
    vocab.Speaker.SYSTEM: "Note",
    vocab.Speaker.HINT: "Your hint",
}

INTERVIEW_STATUS: dict[str, str] = {
    vocab.InterviewStatus.OPEN: "In progress",
    vocab.InterviewStatus.SUBMITTED: "Submitted",
}

SENTIMENT: dict[str, str] = {
    "positive": "Positive",
    "neutral": "Neutral",
    "negative": "Negative",
    "frustrated": "Frustrated",
}

PHONE_LINE_MODE: dict[str, str] = {
    "twilio": "Phone number",
    "local": "Simulated line",
}

TABLES: dict[str, Mapping[str, str]] = {
    "lead_status": LEAD_STATUS,
    "match_status": MATCH_STATUS,
    "urgency": URGENCY,
    "quote_status": QUOTE_STATUS,
    "thread_side": THREAD_SIDE,
    "message_channel": MESSAGE_CHANNEL,
    "call_status": CALL_STATUS,
    "call_outcome": CALL_OUTCOME,
    "call_type": CALL_TYPE,
    "call_direction": CALL_DIRECTION,
    "channel": CHANNEL,
    "language": LANGUAGE,
    "contact_preference": CONTACT_PREFERENCE,
    "notification_status": NOTIFICATION_STATUS,
    "notification_kind": NOTIFICATION_KIND,
    "webhook_status": WEBHOOK_STATUS,
    "webhook_event": WEBHOOK_EVENT,
    "lead_source": LEAD_SOURCE,
    "role": ROLE,
    "plan": PLAN,
    "price_tier": PRICE_TIER,
    "category": CATEGORY,
    "prospect_status": PROSPECT_STATUS,
    "contact_message_status": CONTACT_MESSAGE_STATUS,
    "dnc_source": DNC_SOURCE,
    "speaker": SPEAKER,
    "interview_status": INTERVIEW_STATUS,
    "sentiment": SENTIMENT,
    "phone_line_mode": PHONE_LINE_MODE,
}


def _word(table: Mapping[str, str], value: str | None, missing: str) -> str:
    if not value:
        return missing
    # An unknown value (an old row, a value added without its word) still reads as words, never as `a_b`.
    return table.get(str(value)) or str(value).replace("_", " ").capitalize()


def _reader(table: Mapping[str, str], missing: str = "") -> Callable[[str | None], str]:
    """The word for a value of one table (`missing` for no value)."""

    def read(value: str | None) -> str:
        return _word(table, value, missing)

    return read


lead_status = _reader(LEAD_STATUS)
match_status = _reader(MATCH_STATUS)
urgency = _reader(URGENCY, "Not stated")
call_status = _reader(CALL_STATUS)
call_outcome = _reader(CALL_OUTCOME)
call_type = _reader(CALL_TYPE)
channel = _reader(CHANNEL)
notification_status = _reader(NOTIFICATION_STATUS)
webhook_status = _reader(WEBHOOK_STATUS)
notification_kind = _reader(NOTIFICATION_KIND)
category = _reader(CATEGORY)


def word(table: str, value: str | None) -> str:
    """The word for `value` in the named table (`TABLES`); "" for no value."""
    return _word(TABLES[table], value, "")


def options(table: str) -> list[tuple[str, str]]:
    """(value, word) pairs for a filter's choices, in the table's order."""
    return [(str(value), text) for value, text in TABLES[table].items()]


_PLURALS = {
    "business": "businesses",
    "match": "matches",
    "person": "people",
    "reply": "replies",
    "company": "companies",
    "category": "categories",
    "entry": "entries",
    "inquiry": "inquiries",
}


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 lead", "2 leads", "0 leads", "1 business", "3 businesses": the number with its noun in the right form."""
    if n == 1:
        return f"{n} {singular}"
    if plural is None:
        plural = _PLURALS.get(singular, singular + "s")
    return f"{n:,} {plural}"
