"""Who is looking: the session cookie, the current user, and the server-side page guard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import reflex as rx
from sqlmodel import Session

from leadapp import live, routes
from leadapp.components import feedback
from leadapp.core import client_ip, languages, rls
from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.models import User
from leadapp.core.observability import get_logger
from leadapp.core.services import access, account_links, accounts, notify
from leadapp.core.settings import get_settings
from leadapp.live import remember_tab

SESSION_COOKIE = "leadapp_session"

log = get_logger(__name__)


class AuthState(rx.State):
    """Root of every page state. The cookie holds a random token; the database decides what it is worth."""

    # SameSite=Lax, and Secure whenever the app is served over https (APP_URL). Not HttpOnly: Reflex keeps a
    # cookie var in step by reading and writing it from the page's script (see README, "Session cookie").
    session_token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        max_age=get_settings().session_ttl_hours * 3600,
        same_site="lax",
        secure=get_settings().app_url.startswith("https://"),
    )
    user_id: int = 0
    user_email: str = ""
    user_name: str = ""
    user_role: str = ""
    # False while a logged-in account's address is not proven (the banner with "resend" shows).
    email_verified: bool = True
    verify_notice: str = ""
    # The area the guard last admitted this tab to ("" while checking or when refused).
    allowed_area: str = ""
    denied: bool = False

    @rx.var
    def logged_in(self) -> bool:
        return self.user_id > 0

    @rx.var
    def display_name(self) -> str:
        return self.user_name or self.user_email

    def client_ip(self) -> str:
        """This tab's client IP (see `leadapp.core.client_ip`): the socket's peer as the ASGI server saw it, or
        the right-most untrusted X-Forwarded-For address when that peer is a trusted proxy."""
        headers = self.router.headers.raw_headers
        # Reflex writes the ASGI scope's peer into the headers itself (after the client's own headers, so a client
        # cannot set it); router.session.client_ip would be Reflex's own guess from `trusted_proxy_hops`.
        peer = headers.get("asgi-scope-client") or self.router.session.client_ip
        return client_ip.from_headers(peer, headers)

    def _visitor_language(self) -> str:
        """The language of a page before it knows the request (`languages.of_visitor`): the address's `lang` (a link
        in a Spanish message carries `?lang=es`), else the browser's Accept-Language, else English."""
        link_language = self.router.url.query_parameters.get(languages.LINK_PARAMETER)
        return languages.of_visitor(link_language, self.router.headers.accept_language)

    def _load_user(self, session: Session) -> User | None:
        """Re-read the user behind the cookie from the database (never cached), mirror it in the vars, and make
        `session` act for that user (or for an anonymous visitor) from now on."""
        user = accounts.user_for_token(session, self.session_token)
        access.enter(session, user)
        if user is None:
            self.user_id, self.user_email, self.user_name, self.user_role = 0, "", "", ""
            self.email_verified = True
        else:
            self.user_id, self.user_email = user.id or 0, user.email
            self.user_name, self.user_role = user.full_name, user.role
            self.email_verified = user.email_verified_at is not None
        return user

    def _require(self, session: Session, area: access.Area) -> User | None:
        """The current user if they may act in `area`; raises NotAllowed (or NotLoggedIn) otherwise."""
        user = self._load_user(session)
        access.require_area(user, area)
        return user

    def _attempt(
        self,
        area: access.Area,
        action: Callable[[Session, User], Any],
        *,
        refused: Callable[[NotAllowed], str] | None = None,
        fields: Callable[[FieldErrors], str] | None = None,
        failed: Callable[[UserError], str] | None = None,
        malformed: str = "",
    ) -> tuple[Any, str]:
        """`action(session, user)` as the user of this tab in `area`, in one transaction (committed when it went
        through): (its result, "") or (None, why not). Why not is the refusal's message, where the page answers
        otherwise: a refusal (NotAllowed, NotLoggedIn) says `refused(exc)` (which may also clear the page), a form
        refused field by field `fields(exc)`, any other UserError `failed(exc)`, and a malformed id from the page
        (ValueError) its error after `malformed`. The one place the pages run an action and tell a refusal from a
        success."""
        try:
            with session_scope() as session:
                user = self._require(session, area)
                assert user is not None
                return action(session, user), ""
        except NotAllowed as exc:
            return None, exc.message if refused is None else refused(exc)
        except FieldErrors as exc:
            return None, exc.message if fields is None else fields(exc)
        except UserError as exc:
            return None, exc.message if failed is None else failed(exc)
        except ValueError as exc:
            return None, f"{malformed}{exc}"

    def _act(
        self,
        area: access.Area,
        route: str,
        action: Callable[[Session, User], str],
        *,
        refused: Callable[[], None],
        failed: Callable[[UserError], str],
    ) -> Any:
        """A form's action: `action(session, user)` as the user of this tab in `area`, its message shown as done.
        Logged out: the login page, coming back to `route`; not allowed: `refused()`; a UserError: `failed(exc)`
        shows it on the page and says the error toast's message. Returns the events to send back."""
        try:
            with session_scope() as session:
                user = self._require(session, area)
                assert user is not None
                message = action(session, user)
        except access.NotLoggedIn:
            return rx.redirect(f"{routes.LOGIN}?next={quote(route)}")
        except NotAllowed:
            refused()
            return None
        except UserError as exc:
            return feedback.failed(failed(exc))
        return feedback.done(message)

    @rx.event
    def load_public(self):
        """on_load of public pages: refresh who is logged in (for the navigation)."""
        with session_scope() as session:
            self._load_user(session)
        self.allowed_area, self.denied = access.Area.PUBLIC.value, False

    @rx.event
    def guard(self, area: str):
        """on_load of every protected page: admit, refuse ("not allowed" page) or send to the login page."""
        self.allowed_area, self.denied = "", False
        with session_scope() as session:
            try:
                self._require(session, access.Area(area))
            except access.NotLoggedIn:
                target = self.router.url.path or "/"
                return rx.redirect(f"{routes.LOGIN}?next={quote(target)}")
            except NotAllowed:
                self.denied = True
                return None
        self.allowed_area = area
        remember_tab(self.user_id, self.router.session.client_token)
        return None

    @rx.event
    def resend_verification(self):
        """The banner's "resend" button: a new verification link to the account's address."""
        notification_id = 0
        try:
            with session_scope() as session:
                user = self._load_user(session)
                notification_id = account_links.resend_verification(session, user)
        except UserError as exc:
            self.verify_notice = exc.message
            return
        notify.enqueue_sends([notification_id])
        self.verify_notice = f"We sent a new link to {self.user_email}."

    @rx.event
    def logout(self):
        with session_scope(rls.ANONYMOUS_CONTEXT) as session:
            accounts.logout(session, self.session_token)
        self.session_token = ""
        self.user_id, self.user_email, self.user_name, self.user_role = 0, "", "", ""
        self.allowed_area, self.denied = "", False
        return rx.redirect(routes.HOME)


def field_errors(exc: UserError, default_field: str = "form") -> dict[str, str]:
    """A UserError as {field: message} for a form."""
    return {exc.field or default_field: exc.message}


@live.on("user_revoked")
async def sign_out_revoked_tabs(app: Any, event: dict[str, Any]) -> None:
    """A user's sessions were revoked: every tab of theirs is signed out at once. Never shared out between
    backends: each signs out every tab of the user (idempotent), so a backend that dies mid-loop cannot leave
    a revoked user's tab signed in."""
    user_id = int(event.get("user_id") or 0)
    if not user_id:
        return
    for token in await live.tokens_of(live.user_tabs_key(user_id)):
        try:
            async with app.modify_state(rx.BaseStateToken(ident=token, cls=AuthState)) as root:
                auth = await root.get_state(AuthState)
                if auth.user_id == user_id:
                    auth.session_token = ""
                    auth.user_id, auth.user_email, auth.user_name, auth.user_role = 0, "", "", ""
                    auth.allowed_area, auth.denied = "", True
        except Exception as exc:  # a tab that went away meanwhile
            log.info("revoke_tab_skipped", error=repr(exc))
