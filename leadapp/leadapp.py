"""Creates the Reflex app and mounts its pages and the public API; nothing else."""

import reflex as rx

from leadapp import routes
from leadapp.api.app import api
from leadapp.api.headers import SecurityHeaders
from leadapp.core.observability import configure
from leadapp.core.settings import refuse_insecure_production
from leadapp.live import listen
from leadapp.pages.admin.api_keys import ApiKeysState, api_keys_page
from leadapp.pages.admin.audit import AuditState, audit_page
from leadapp.pages.admin.businesses import BusinessesState, businesses_page
from leadapp.pages.admin.calls import CallsState, calls_page
from leadapp.pages.admin.discovery import DiscoveryState, discovery_page
from leadapp.pages.admin.dnc import DncState, dnc_page
from leadapp.pages.admin.home import (
    AdminZoneState,
    HealthState,
    MessagesState,
    admin_home_page,
    health_page,
    messages_page,
)
from leadapp.pages.admin.leads import LeadsState, leads_page
from leadapp.pages.admin.outbox import OutboxState, outbox_page
from leadapp.pages.admin.queues import QueuesState, queues_page
from leadapp.pages.admin.records import AdminCallState, AdminLeadState, admin_call_page, admin_lead_page
from leadapp.pages.admin.reports import ReportsState, reports_page
from leadapp.pages.admin.rules import RulesState, rules_page
from leadapp.pages.admin.users import UsersState, user_page, users_page
from leadapp.pages.admin.verification import VerificationState, verification_page
from leadapp.pages.auth import ForgotPasswordState, forgot_password_page, login_page, register_page
from leadapp.pages.business.dashboard import DashboardState
from leadapp.pages.business.inbox_page import dashboard_page
from leadapp.pages.business.lead import lead_page
from leadapp.pages.business.phone_line import PhoneLineState
from leadapp.pages.business.settings import BusinessSettingsState, settings_page
from leadapp.pages.business.stats import StatsState, stats_page
from leadapp.pages.consumer.interview import InterviewState, interview_page
from leadapp.pages.consumer.portal import PortalState, portal_page, portal_request_page
from leadapp.pages.consumer.request import RequestState, request_page
from leadapp.pages.consumer.track import TrackState, track_page
from leadapp.pages.public.contact import contact_page
from leadapp.pages.public.marketing import about, for_businesses, home, pricing
from leadapp.pages.public.pro import ProState, pro_page
from leadapp.pages.public.reset_password import ResetPasswordState, reset_password_page
from leadapp.pages.public.review import ReviewState, review_page
from leadapp.pages.public.unsubscribe import InviteLinkState, UnsubscribeState, unsubscribe_page
from leadapp.pages.public.verify_email import VerifyEmailState, verify_email_page
from leadapp.state.auth import AuthState
from leadapp.tab_links import keep_alive

refuse_insecure_production("web")  # before anything is built or served
configure("web")

# The public API mounted into the backend, then security headers around everything it serves (pages included).
app = rx.App(api_transformer=[api, SecurityHeaders], stylesheets=["/theme.css"])
app.register_lifespan_task(listen)
app.register_lifespan_task(keep_alive)  # tabs keep their state when a scaled-out backend stops

# (page, route, title, *on_load): a public page first refreshes who is logged in, any other first runs its
# area's guard; then the page's own on_load handlers.
PUBLIC_PAGES = [
    (home, routes.HOME, "LeadApp — local help, fast"),
    (for_businesses, routes.FOR_BUSINESSES, "LeadApp for businesses"),
    (pricing, routes.PRICING, "Pricing — LeadApp"),
    (about, routes.ABOUT, "About — LeadApp"),
    (contact_page, routes.CONTACT, "Contact — LeadApp"),
    (login_page, routes.LOGIN, "Log in — LeadApp"),
    (register_page, routes.REGISTER, "Sign up — LeadApp", InviteLinkState.record_click),
    (track_page, routes.PORTAL_TRACK, "Your request — LeadApp", TrackState.open),
    (request_page, routes.REQUEST, "Get help — LeadApp", RequestState.open),
    (interview_page, routes.INTERVIEW, "Guided request — LeadApp", InterviewState.open),
    (reset_password_page, routes.RESET_PASSWORD, "Choose a new password — LeadApp", ResetPasswordState.open),
    (forgot_password_page, routes.FORGOT_PASSWORD, "Forgot your password? — LeadApp", ForgotPasswordState.clear),
    (verify_email_page, routes.VERIFY_EMAIL, "Confirm your email address — LeadApp", VerifyEmailState.open),
    (unsubscribe_page, routes.UNSUBSCRIBE, "Unsubscribe — LeadApp", UnsubscribeState.open),
    (review_page, routes.REVIEW, "Review the job — LeadApp", ReviewState.open),
    (pro_page, routes.PRO, "A business on LeadApp — LeadApp", ProState.open),
]
AREA_PAGES = {
    "consumer": [
        (portal_page, routes.PORTAL, "My requests — LeadApp", PortalState.load),
        (portal_request_page, routes.PORTAL_REQUEST, "Your request — LeadApp", PortalState.open_request),
    ],
    "business": [
        (dashboard_page, routes.DASHBOARD, "Dashboard — LeadApp", DashboardState.load),
        (lead_page, routes.DASHBOARD_LEAD, "Lead — LeadApp", DashboardState.open_lead),
        (
            settings_page,
            routes.DASHBOARD_SETTINGS,
            "Business settings — LeadApp",
            BusinessSettingsState.load,
            PhoneLineState.load,
        ),
        (stats_page, routes.DASHBOARD_STATS, "Stats — LeadApp", StatsState.load),
    ],
    "admin": [
        (admin_home_page, routes.ADMIN, "Admin — LeadApp", AdminZoneState.load),
        (health_page, routes.ADMIN_HEALTH, "Health — LeadApp", HealthState.load),
        (messages_page, routes.ADMIN_MESSAGES, "Messages — LeadApp", MessagesState.load),
        (users_page, routes.ADMIN_USERS, "Users — LeadApp", UsersState.load),
        (user_page, routes.ADMIN_USER, "User — LeadApp", UsersState.open_user_page),
        (leads_page, routes.ADMIN_LEADS, "Leads — LeadApp", LeadsState.load),
        (admin_lead_page, routes.ADMIN_LEAD, "Lead — LeadApp", AdminLeadState.open_lead),
        (admin_call_page, routes.ADMIN_CALL, "Call — LeadApp", AdminCallState.open_call),
        (businesses_page, routes.ADMIN_BUSINESSES, "Businesses — LeadApp", BusinessesState.load),
        (api_keys_page, routes.ADMIN_API_KEYS, "API keys — LeadApp", ApiKeysState.load),
        (verification_page, routes.ADMIN_VERIFICATION, "Verification and plans — LeadApp", VerificationState.load),
        (outbox_page, routes.ADMIN_OUTBOX, "Outbox — LeadApp", OutboxState.load),
        (queues_page, routes.ADMIN_QUEUES, "Queues — LeadApp", QueuesState.load),
        (calls_page, routes.ADMIN_CALLS, "Calls — LeadApp", CallsState.load),
        (dnc_page, routes.ADMIN_DNC, "Do-not-call list — LeadApp", DncState.load),
        (audit_page, routes.ADMIN_AUDIT, "Audit trail — LeadApp", AuditState.load),
        (discovery_page, routes.ADMIN_DISCOVERY, "Business discovery — LeadApp", DiscoveryState.load),
        (rules_page, routes.ADMIN_RULES, "Platform rules — LeadApp", RulesState.load),
        (reports_page, routes.ADMIN_REPORTS, "Weekly audit — LeadApp", ReportsState.load),
    ],
}
for component, route, title, *on_load in PUBLIC_PAGES:
    app.add_page(component, route=route, title=title, on_load=[AuthState.load_public, *on_load])
for area, pages in AREA_PAGES.items():
    for component, route, title, *on_load in pages:
        app.add_page(component, route=route, title=title, on_load=[AuthState.guard(area), *on_load])
