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
from leadapp.pages.public.reset_password import ResetPasswordState, reset_password_page
from leadapp.pages.public.review import ReviewState, review_page
from leadapp.pages.public.unsubscribe import InviteLinkState, UnsubscribeState, unsubscribe_page
from leadapp.pages.public.verify_email import VerifyEmailState, verify_email_page
from leadapp.state.auth import AuthState

refuse_insecure_production("web")  # before anything is built or served
configure("web")

# The public API mounted into the backend, then security headers around everything it serves (pages included).
app = rx.App(api_transformer=[api, SecurityHeaders], stylesheets=["/theme.css"])
app.register_lifespan_task(listen)

public = AuthState.load_public
app.add_page(home, route=routes.HOME, title="LeadApp — local help, fast", on_load=public)
app.add_page(for_businesses, route=routes.FOR_BUSINESSES, title="LeadApp for businesses", on_load=public)
app.add_page(pricing, route=routes.PRICING, title="Pricing — LeadApp", on_load=public)
app.add_page(about, route=routes.ABOUT, title="About — LeadApp", on_load=public)
app.add_page(contact_page, route=routes.CONTACT, title="Contact — LeadApp", on_load=public)
app.add_page(login_page, route=routes.LOGIN, title="Log in — LeadApp", on_load=public)
app.add_page(
    register_page, route=routes.REGISTER, title="Sign up — LeadApp", on_load=[public, InviteLinkState.record_click]
)
app.add_page(
    portal_page,
    route=routes.PORTAL,
    title="My requests — LeadApp",
    on_load=[AuthState.guard("consumer"), PortalState.load],
)
app.add_page(
    portal_request_page,
    route=routes.PORTAL_REQUEST,
    title="Your request — LeadApp",
    on_load=[AuthState.guard("consumer"), PortalState.open_request],
)
app.add_page(
    track_page,
    route=routes.PORTAL_TRACK,
    title="Your request — LeadApp",
    on_load=[public, TrackState.open],
)
app.add_page(request_page, route=routes.REQUEST, title="Get help — LeadApp", on_load=public)
app.add_page(
    interview_page,
    route=routes.INTERVIEW,
    title="Guided request — LeadApp",
    on_load=[public, InterviewState.open],
)
app.add_page(
    dashboard_page,
    route=routes.DASHBOARD,
    title="Dashboard — LeadApp",
    on_load=[AuthState.guard("business"), DashboardState.load],
)
app.add_page(
    lead_page,
    route=routes.DASHBOARD_LEAD,
    title="Lead — LeadApp",
    on_load=[AuthState.guard("business"), DashboardState.open_lead],
)
app.add_page(
    settings_page,
    route=routes.DASHBOARD_SETTINGS,
    title="Business settings — LeadApp",
    on_load=[AuthState.guard("business"), BusinessSettingsState.load, PhoneLineState.load],
)
app.add_page(
    stats_page,
    route=routes.DASHBOARD_STATS,
    title="Stats — LeadApp",
    on_load=[AuthState.guard("business"), StatsState.load],
)
app.add_page(
    admin_home_page,
    route=routes.ADMIN,
    title="Admin — LeadApp",
    on_load=[AuthState.guard("admin"), AdminZoneState.load],
)
app.add_page(
    health_page,
    route=routes.ADMIN_HEALTH,
    title="Health — LeadApp",
    on_load=[AuthState.guard("admin"), HealthState.load],
)
app.add_page(
    messages_page,
    route=routes.ADMIN_MESSAGES,
    title="Messages — LeadApp",
    on_load=[AuthState.guard("admin"), MessagesState.load],
)
app.add_page(
    users_page, route=routes.ADMIN_USERS, title="Users — LeadApp", on_load=[AuthState.guard("admin"), UsersState.load]
)
app.add_page(
    user_page,
    route=routes.ADMIN_USER,
    title="User — LeadApp",
    on_load=[AuthState.guard("admin"), UsersState.open_user_page],
)
app.add_page(
    leads_page, route=routes.ADMIN_LEADS, title="Leads — LeadApp", on_load=[AuthState.guard("admin"), LeadsState.load]
)
app.add_page(
    admin_lead_page,
    route=routes.ADMIN_LEAD,
    title="Lead — LeadApp",
    on_load=[AuthState.guard("admin"), AdminLeadState.open_lead],
)
app.add_page(
    admin_call_page,
    route=routes.ADMIN_CALL,
    title="Call — LeadApp",
    on_load=[AuthState.guard("admin"), AdminCallState.open_call],
)
app.add_page(
    businesses_page,
    route=routes.ADMIN_BUSINESSES,
    title="Businesses — LeadApp",
    on_load=[AuthState.guard("admin"), BusinessesState.load],
)
app.add_page(
    reset_password_page,
    route=routes.RESET_PASSWORD,
    title="Choose a new password — LeadApp",
    on_load=[public, ResetPasswordState.open],
)
app.add_page(
    api_keys_page,
    route=routes.ADMIN_API_KEYS,
    title="API keys — LeadApp",
    on_load=[AuthState.guard("admin"), ApiKeysState.load],
)
app.add_page(
    verification_page,
    route=routes.ADMIN_VERIFICATION,
    title="Verification and plans — LeadApp",
    on_load=[AuthState.guard("admin"), VerificationState.load],
)
app.add_page(
    forgot_password_page,
    route=routes.FORGOT_PASSWORD,
    title="Forgot your password? — LeadApp",
    on_load=[public, ForgotPasswordState.clear],
)
app.add_page(
    verify_email_page,
    route=routes.VERIFY_EMAIL,
    title="Confirm your email address — LeadApp",
    on_load=[public, VerifyEmailState.open],
)
app.add_page(
    outbox_page,
    route=routes.ADMIN_OUTBOX,
    title="Outbox — LeadApp",
    on_load=[AuthState.guard("admin"), OutboxState.load],
)
app.add_page(
    queues_page,
    route=routes.ADMIN_QUEUES,
    title="Queues — LeadApp",
    on_load=[AuthState.guard("admin"), QueuesState.load],
)
app.add_page(
    calls_page, route=routes.ADMIN_CALLS, title="Calls — LeadApp", on_load=[AuthState.guard("admin"), CallsState.load]
)
app.add_page(
    dnc_page,
    route=routes.ADMIN_DNC,
    title="Do-not-call list — LeadApp",
    on_load=[AuthState.guard("admin"), DncState.load],
)
app.add_page(
    audit_page,
    route=routes.ADMIN_AUDIT,
    title="Audit trail — LeadApp",
    on_load=[AuthState.guard("admin"), AuditState.load],
)
app.add_page(
    discovery_page,
    route=routes.ADMIN_DISCOVERY,
    title="Business discovery — LeadApp",
    on_load=[AuthState.guard("admin"), DiscoveryState.load],
)
app.add_page(
    unsubscribe_page, route=routes.UNSUBSCRIBE, title="Unsubscribe — LeadApp", on_load=[public, UnsubscribeState.open]
)
app.add_page(review_page, route=routes.REVIEW, title="Review the job — LeadApp", on_load=[public, ReviewState.open])
app.add_page(
    rules_page,
    route=routes.ADMIN_RULES,
    title="Platform rules — LeadApp",
    on_load=[AuthState.guard("admin"), RulesState.load],
)
app.add_page(
    reports_page,
    route=routes.ADMIN_REPORTS,
    title="Weekly audit — LeadApp",
    on_load=[AuthState.guard("admin"), ReportsState.load],
)
