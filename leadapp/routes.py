"""Every page route, in one place."""

HOME = "/"
FOR_BUSINESSES = "/for-businesses"
PRICING = "/pricing"
ABOUT = "/about"
CONTACT = "/contact"
LOGIN = "/login"
REGISTER = "/register"
PORTAL = "/portal"
PORTAL_TRACK = "/portal/track/[token]"
DASHBOARD = "/dashboard"
ADMIN = "/admin"
ADMIN_HEALTH = "/admin/health"
ADMIN_MESSAGES = "/admin/messages"
REQUEST = "/request"
INTERVIEW = "/request/interview"
DASHBOARD_SETTINGS = "/dashboard/settings"
DASHBOARD_STATS = "/dashboard/stats"
ADMIN_USERS = "/admin/users"
ADMIN_LEADS = "/admin/leads"
ADMIN_BUSINESSES = "/admin/businesses"
ADMIN_VERIFICATION = "/admin/verification"
ADMIN_API_KEYS = "/admin/api-keys"
ADMIN_RULES = "/admin/rules"
ADMIN_REPORTS = "/admin/reports"
ADMIN_OUTBOX = "/admin/outbox"
ADMIN_QUEUES = "/admin/queues"
ADMIN_DISCOVERY = "/admin/discovery"
ADMIN_CALLS = "/admin/calls"
ADMIN_DNC = "/admin/do-not-call"
ADMIN_AUDIT = "/admin/audit"
RESET_PASSWORD = "/reset-password/[token]"
FORGOT_PASSWORD = "/forgot-password"
VERIFY_EMAIL = "/verify-email/[token]"
# One page per thing a list, an email or an SMS names (the argument names are unique across the app: Reflex
# turns each into a var of the root state).
DASHBOARD_LEAD = "/dashboard/leads/[dashboard_lead]"
PORTAL_REQUEST = "/portal/requests/[portal_request]"
ADMIN_LEAD = "/admin/leads/[admin_lead]"
ADMIN_USER = "/admin/users/[admin_user]"
ADMIN_CALL = "/admin/calls/[admin_call]"
UNSUBSCRIBE = "/unsubscribe/[token]"
REVIEW = "/review/[token]"
# A business's public page: `/pros/<id>-<name in the address>` (the id decides; the words only read well).
PRO = "/pros/[pro]"


def dashboard_lead(lead_id: int | str) -> str:
    return f"/dashboard/leads/{lead_id}"


def portal_request(lead_id: int | str) -> str:
    return f"/portal/requests/{lead_id}"


def admin_lead(lead_id: int | str) -> str:
    return f"/admin/leads/{lead_id}"


def admin_user(user_id: int | str) -> str:
    return f"/admin/users/{user_id}"


def admin_call(call_id: int | str) -> str:
    return f"/admin/calls/{call_id}"


def pro(business_id: int | str, name: str = "") -> str:
    """The public page of a business, e.g. `/pros/12-carmel-plumbing`."""
    words = "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in name.lower()).split())[:60]
    return f"/pros/{business_id}-{words}" if words else f"/pros/{business_id}"


def pro_id_from_path(path: str) -> int:
    """The business id of a `/pros/<id>-<words>` address (any words, or none); 0 when it names no positive id."""
    return id_from_path(last_segment(path).split("-", 1)[0])


def last_segment(path: str) -> str:
    """The last segment of a path: the token of `/review/<token>`, `/portal/track/<token>`… (tokens are URL-safe:
    no decoding needed)."""
    return (path or "").rstrip("/").rsplit("/", 1)[-1]


def id_from_path(path: str) -> int:
    """The id that ends a detail page's path (`/dashboard/leads/12` → 12); 0 when it is not a positive number,
    so a page treats a malformed address exactly like a missing record."""
    last = last_segment(path)
    if not last.isascii() or not last.isdigit() or len(last) > 18:
        return 0
    return int(last)
