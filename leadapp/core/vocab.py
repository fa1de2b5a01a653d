"""The one vocabulary of categories, urgencies, statuses and roles, used everywhere."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CONSUMER = "consumer"
    BUSINESS_OWNER = "business_owner"
    ADMIN = "admin"


class Category(StrEnum):
    PLUMBING = "plumbing"
    ELECTRICAL = "electrical"
    HVAC = "hvac"
    ROOFING = "roofing"
    APPLIANCE_REPAIR = "appliance_repair"
    HANDYMAN = "handyman"
    PAINTING = "painting"
    CARPENTRY = "carpentry"
    FLOORING = "flooring"
    LANDSCAPING = "landscaping"
    CLEANING = "cleaning"
    PEST_CONTROL = "pest_control"
    LOCKSMITH = "locksmith"
    GARAGE_DOOR = "garage_door"
    WINDOWS_DOORS = "windows_doors"
    GENERAL_CONTRACTOR = "general_contractor"
    MOVING = "moving"
    POOL_SPA = "pool_spa"
    OTHER = "other"


CATEGORY_LABELS: dict[Category, str] = {
    Category.PLUMBING: "Plumbing",
    Category.ELECTRICAL: "Electrical",
    Category.HVAC: "Heating & cooling (HVAC)",
    Category.ROOFING: "Roofing",
    Category.APPLIANCE_REPAIR: "Appliance repair",
    Category.HANDYMAN: "Handyman",
    Category.PAINTING: "Painting",
    Category.CARPENTRY: "Carpentry",
    Category.FLOORING: "Flooring",
    Category.LANDSCAPING: "Landscaping",
    Category.CLEANING: "Cleaning",
    Category.PEST_CONTROL: "Pest control",
    Category.LOCKSMITH: "Locksmith",
    Category.GARAGE_DOOR: "Garage doors",
    Category.WINDOWS_DOORS: "Windows & doors",
    Category.GENERAL_CONTRACTOR: "General contractor",
    Category.MOVING: "Moving",
    Category.POOL_SPA: "Pool & spa",
    Category.OTHER: "Other",
}

# Categories close enough that a business in one can often do the other (matcher: 12 of 20).
RELATED_CATEGORIES: dict[Category, frozenset[Category]] = {
    Category.PLUMBING: frozenset({Category.HANDYMAN, Category.APPLIANCE_REPAIR, Category.GENERAL_CONTRACTOR}),
    Category.ELECTRICAL: frozenset({Category.HANDYMAN, Category.HVAC, Category.GENERAL_CONTRACTOR}),
    Category.HVAC: frozenset({Category.ELECTRICAL, Category.APPLIANCE_REPAIR}),
    Category.ROOFING: frozenset({Category.GENERAL_CONTRACTOR, Category.CARPENTRY}),
    Category.APPLIANCE_REPAIR: frozenset({Category.HANDYMAN, Category.PLUMBING, Category.HVAC}),
    Category.HANDYMAN: frozenset(
        {Category.CARPENTRY, Category.PAINTING, Category.PLUMBING, Category.ELECTRICAL, Category.GENERAL_CONTRACTOR}
    ),
    Category.PAINTING: frozenset({Category.HANDYMAN, Category.GENERAL_CONTRACTOR}),
    Category.CARPENTRY: frozenset({Category.HANDYMAN, Category.FLOORING, Category.GENERAL_CONTRACTOR}),
    Category.FLOORING: frozenset({Category.CARPENTRY, Category.GENERAL_CONTRACTOR}),
    Category.LANDSCAPING: frozenset({Category.POOL_SPA}),
    Category.CLEANING: frozenset(),
    Category.PEST_CONTROL: frozenset(),
    Category.LOCKSMITH: frozenset({Category.WINDOWS_DOORS, Category.GARAGE_DOOR}),
    Category.GARAGE_DOOR: frozenset({Category.LOCKSMITH, Category.HANDYMAN}),
    Category.WINDOWS_DOORS: frozenset({Category.CARPENTRY, Category.LOCKSMITH, Category.GENERAL_CONTRACTOR}),
    Category.GENERAL_CONTRACTOR: frozenset(
        {Category.HANDYMAN, Category.CARPENTRY, Category.ROOFING, Category.FLOORING, Category.PAINTING}
    ),
    Category.MOVING: frozenset(),
    Category.POOL_SPA: frozenset({Category.LANDSCAPING}),
    Category.OTHER: frozenset(),
}


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class LeadStatus(StrEnum):
    RECEIVED = "received"
    CLASSIFIED = "classified"
    MATCHED = "matched"
    NO_MATCH = "no_match"
    LOW_QUALITY = "low_quality"
    FLAGGED = "flagged"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    CONVERTED = "converted"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"


class LeadSource(StrEnum):
    FORM = "form"
    INTERVIEW = "interview"
    API = "api"
    PHONE = "phone"


class ContactPreference(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    SMS = "sms"


class MatchStatus(StrEnum):
    NEW = "new"
    NOTIFIED = "notified"
    VIEWED = "viewed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONVERTED = "converted"
    EXPIRED = "expired"


class QuoteStatus(StrEnum):
    """A business's quote on a lead it accepted: open until the consumer accepts one (the others are declined)
    or its valid-until day passes."""

    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"


class ThreadSide(StrEnum):
    """Who wrote a message of a thread: the consumer who made the request, or the business that accepted it."""

    CONSUMER = "consumer"
    BUSINESS = "business"


class MessageChannel(StrEnum):
    """How a message of a thread came in: typed on a page, or a reply to its email or text."""

    WEB = "web"
    EMAIL = "email"
    SMS = "sms"


class Plan(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PRO = "pro"


# AI-call quotas per month; lead caps are per business (monthly_lead_cap).
PLAN_CALL_QUOTA: dict[Plan, int] = {Plan.FREE: 0, Plan.STARTER: 20, Plan.PRO: 100}
PLAN_LABELS: dict[Plan, str] = {Plan.FREE: "Free", Plan.STARTER: "Starter", Plan.PRO: "Pro"}
# The monthly lead cap an owner may set up to on each plan (admins may set more).
PLAN_LEAD_CAP: dict[Plan, int] = {Plan.FREE: 50, Plan.STARTER: 200, Plan.PRO: 1000}


class PriceTier(StrEnum):
    BUDGET = "budget"
    STANDARD = "standard"
    PREMIUM = "premium"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Language(StrEnum):
    """The languages LeadApp serves: a lead's (detected from its text or a caller's first words) and those a
    business takes leads in."""

    ENGLISH = "en"
    SPANISH = "es"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class WebhookStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEvent(StrEnum):
    """What a partner hears about the leads its API key created (Standard Webhooks `type`)."""

    LEAD_MATCHED = "lead.matched"
    LEAD_ACCEPTED = "lead.accepted"
    LEAD_CONVERTED = "lead.converted"
    LEAD_WITHDRAWN = "lead.withdrawn"


class NotificationKind(StrEnum):
    BUSINESS_NEW_LEAD = "business_new_lead"
    CONSUMER_MATCHED = "consumer_matched"
    CONSUMER_NO_MATCH = "consumer_no_match"
    CONSUMER_ACCEPTED = "consumer_accepted"
    CALL_SUMMARY = "call_summary"
    CONTACT_MESSAGE = "contact_message"
    INVITATION = "invitation"
    INVITATION_FOLLOWUP = "invitation_followup"
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION = "email_verification"
    PHONE_CODE = "phone_code"
    QUOTE_SENT = "quote_sent"
    QUOTE_ACCEPTED = "quote_accepted"
    QUOTE_DECLINED = "quote_declined"
    REVIEW_INVITE = "review_invite"
    THREAD_MESSAGE = "thread_message"


class CallType(StrEnum):
    QUALIFY_LEAD = "qualify_lead"
    CONSUMER_CALLBACK = "consumer_callback"
    CONFIRM_APPOINTMENT = "confirm_appointment"
    FOLLOW_UP = "follow_up"
    INBOUND = "inbound"


class CallDirection(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class CallStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    DIALING = "dialing"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELED = "canceled"
    FAILED = "failed"


class CallOutcome(StrEnum):
    GOAL_ACHIEVED = "goal_achieved"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    DECLINED = "declined"
    ERROR = "error"
    AI_FAILURE = "ai_failure"
    """The AI assistant dropped mid-call (its socket closed or expired): the caller heard an apology."""
    TRANSFERRED = "transferred"
    """The caller asked for a person (or the owner took over) and was put through to the owner's phone."""
    CALLBACK_BOOKED = "callback_booked"
    """A warm transfer the owner did not answer: the assistant booked a callback instead."""


class DncSource(StrEnum):
    """Where a do-not-call entry came from (its channel)."""

    ADMIN = "admin"
    IMPORT = "import"
    CALL = "call"
    """The person told the AI assistant on a call (the realtime `do_not_call` tool)."""
    SMS = "sms"
    """A text reply: STOP (texts and AI calls) or STOP CALLS (AI calls only)."""
    PORTAL = "portal"
    """The consumer's "No AI calls" switch."""


DNC_SOURCE_LABELS: dict[str, str] = {
    DncSource.ADMIN.value: "Added by an admin",
    DncSource.IMPORT.value: "Imported by an admin",
    DncSource.CALL.value: "Asked on an AI call",
    DncSource.SMS.value: "Text reply",
    DncSource.PORTAL.value: "Consumer portal switch",
}


class Speaker(StrEnum):
    CALLER = "caller"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    HINT = "hint"
    """A hint the business's owner typed while watching the call (sent to the assistant as a system message)."""


# The realtime voices a business may choose for its AI agent.
REALTIME_VOICES: tuple[str, ...] = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)


class ProspectStatus(StrEnum):
    FOUND = "found"
    DISQUALIFIED = "disqualified"
    INVITED = "invited"
    CLICKED = "clicked"
    ACTIVATED = "activated"
    UNSUBSCRIBED = "unsubscribed"


class InterviewStatus(StrEnum):
    OPEN = "open"
    SUBMITTED = "submitted"


class ContactMessageStatus(StrEnum):
    NEW = "new"
    READ = "read"
    ANSWERED = "answered"
