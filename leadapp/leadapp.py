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
from leadapp.pages.consumer.request import request_page
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

public = AuthState.load_public
guard = AuthState.guard
# (page, route, title, on_load): public pages refresh who is logged in; the others run their area's guard first.
PAGES = [
    (home, routes.HOME, "LeadApp — local help, fast", public),
    (for_businesses, routes.FOR_BUSINESSES, "LeadApp for businesses", public),
    (pricing, routes.PRICING, "Pricing — LeadApp", public),
    (about, routes.ABOUT, "About — LeadApp", public),
    (contact_page, routes.CONTACT, "Contact — LeadApp", public),
    (login_page, routes.LOGIN, "Log in — LeadApp", public),
    (register_page, routes.REGISTER, "Sign up — LeadApp", [public, InviteLinkState.record_click]),
    (portal_page, routes.PORTAL, "My requests — LeadApp", [guard("consumer"), PortalState.load]),
    (
        portal_request_page,
        routes.PORTAL_REQUEST,
        "Your request — LeadApp",
        [guard("consumer"), PortalState.open_request],
    ),
    (track_page, routes.PORTAL_TRACK, "Your request — LeadApp", [public, TrackState.open]),
    (request_page, routes.REQUEST, "Get help — LeadApp", public),
    (interview_page, routes.INTERVIEW, "Guided request — LeadApp", [public, InterviewState.open]),
    (dashboard_page, routes.DASHBOARD, "Dashboard — LeadApp", [guard("business"), DashboardState.load]),
    (lead_page, routes.DASHBOARD_LEAD, "Lead — LeadApp", [guard("business"), DashboardState.open_lead]),
    (
        settings_page,
        routes.DASHBOARD_SETTINGS,
        "Business settings — LeadApp",
        [guard("business"), BusinessSettingsState.load, PhoneLineState.load],
    ),
    (stats_page, routes.DASHBOARD_STATS, "Stats — LeadApp", [guard("business"), StatsState.load]),
    (admin_home_page, routes.ADMIN, "Admin — LeadApp", [guard("admin"), AdminZoneState.load]),
    (health_page, routes.ADMIN_HEALTH, "Health — LeadApp", [guard("admin"), HealthState.load]),
    (messages_page, routes.ADMIN_MESSAGES, "Messages — LeadApp", [guard("admin"), MessagesState.load]),
    (users_page, routes.ADMIN_USERS, "Users — LeadApp", [guard("admin"), UsersState.load]),
    (user_page, routes.ADMIN_USER, "User — LeadApp", [guard("admin"), UsersState.open_user_page]),
    (leads_page, routes.ADMIN_LEADS, "Leads — LeadApp", [guard("admin"), LeadsState.load]),
    (admin_lead_page, routes.ADMIN_LEAD, "Lead — LeadApp", [guard("admin"), AdminLeadState.open_lead]),
    (admin_call_page, routes.ADMIN_CALL, "Call — LeadApp", [guard("admin"), AdminCallState.open_call]),
    (businesses_page, routes.ADMIN_BUSINESSES, "Businesses — LeadApp", [guard("admin"), BusinessesState.load]),
    (reset_password_page, routes.RESET_PASSWORD, "Choose a new password — LeadApp", [public, ResetPasswordState.open]),
    (api_keys_page, routes.ADMIN_API_KEYS, "API keys — LeadApp", [guard("admin"), ApiKeysState.load]),
    (
        verification_page,
        routes.ADMIN_VERIFICATION,
        "Verification and plans — LeadApp",
        [guard("admin"), VerificationState.load],
    ),
    (
        forgot_password_page,
        routes.FORGOT_PASSWORD,
        "Forgot your password? — LeadApp",
        [public, ForgotPasswordState.clear],
    ),
    (verify_email_page, routes.VERIFY_EMAIL, "Confirm your email address — LeadApp", [public, VerifyEmailState.open]),
    (outbox_page, routes.ADMIN_OUTBOX, "Outbox — LeadApp", [guard("admin"), OutboxState.load]),
    (queues_page, routes.ADMIN_QUEUES, "Queues — LeadApp", [guard("admin"), QueuesState.load]),
    (calls_page, routes.ADMIN_CALLS, "Calls — LeadApp", [guard("admin"), CallsState.load]),
    (dnc_page, routes.ADMIN_DNC, "Do-not-call list — LeadApp", [guard("admin"), DncState.load]),
    (audit_page, routes.ADMIN_AUDIT, "Audit trail — LeadApp", [guard("admin"), AuditState.load]),
    (discovery_page, routes.ADMIN_DISCOVERY, "Business discovery — LeadApp", [guard("admin"), DiscoveryState.load]),
    (unsubscribe_page, routes.UNSUBSCRIBE, "Unsubscribe — LeadApp", [public, UnsubscribeState.open]),
    (review_page, routes.REVIEW, "Review the job — LeadApp", [public, ReviewState.open]),
    (pro_page, routes.PRO, "A business on LeadApp — LeadApp", [public, ProState.open]),
    (rules_page, routes.ADMIN_RULES, "Platform rules — LeadApp", [guard("admin"), RulesState.load]),
    (reports_page, routes.ADMIN_REPORTS, "Weekly audit — LeadApp", [guard("admin"), ReportsState.load]),
]
for component, route, title, on_load in PAGES:
    app.add_page(component, route=route, title=title, on_load=on_load)
