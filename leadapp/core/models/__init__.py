"""All tables; importing this package registers them on `SQLModel.metadata`."""

from leadapp.core.models.accounts import ApiKey, AuthSession, EmailVerification, PasswordReset, User
from leadapp.core.models.admin import AuditEvent, AuditReport, ContactMessage, Invitation, PlatformRules, Prospect
from leadapp.core.models.base import utcnow
from leadapp.core.models.businesses import Business
from leadapp.core.models.calls import Call, CallFigures, CallMetrics, DoNotCall, TranscriptLine
from leadapp.core.models.leads import Conversion, InterviewSession, Lead, Match
from leadapp.core.models.messages import ThreadMessage
from leadapp.core.models.notifications import Notification, SmsOptOut
from leadapp.core.models.quotes import Quote
from leadapp.core.models.reviews import Review
from leadapp.core.models.webhooks import WebhookDelivery

__all__ = [
    "ApiKey",
    "AuditEvent",
    "AuditReport",
    "AuthSession",
    "Business",
    "Call",
    "CallFigures",
    "CallMetrics",
    "ContactMessage",
    "Conversion",
    "DoNotCall",
    "EmailVerification",
    "InterviewSession",
    "Invitation",
    "Lead",
    "Match",
    "Notification",
    "PasswordReset",
    "PlatformRules",
    "Prospect",
    "Quote",
    "Review",
    "SmsOptOut",
    "ThreadMessage",
    "TranscriptLine",
    "User",
    "WebhookDelivery",
    "utcnow",
]
