"""The business dashboard: a live lead inbox (paged and filtered on the server), lead detail, actions.

This module holds its state, event handlers and live refresh; the page that shows them (the inbox table and
cards, filters, pager) is `leadapp.pages.business.inbox_page`, and a lead's own page is `lead`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import reflex as rx
from sqlmodel import Session

from leadapp import live, routes
from leadapp.components import feedback
from leadapp.components.pager import PagedState
from leadapp.components.threads import LEAD_PHOTO, NO_PHOTO, MessageView, message_views, read_photo
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import FieldErrors, NotAllowed, UserError
from leadapp.core.models import User
from leadapp.core.services import access, businesses, calls, inbound, inbox, messages, quotes, reviews
from leadapp.live import remember_business_tab
from leadapp.state.auth import AuthState


@dataclasses.dataclass
class TranscriptView:
    speaker: str = ""
    speaker_label: str = ""
    text: str = ""


@dataclasses.dataclass
class CallView:
    id: str = ""
    type: str = ""
    type_label: str = ""
    status: str = ""
    status_label: str = ""
    outcome: str = ""
    outcome_label: str = ""
    scheduled_for: str = ""
    summary: str = ""
    has_recording: str = ""
    simulated: str = ""
    quality: str = ""
    transcript: list[TranscriptView] = dataclasses.field(default_factory=list)


GONE = "That request is no longer in your inbox: the consumer withdrew or deleted it, or LeadApp closed it."


class DashboardState(PagedState, AuthState):
    """The inbox is the paged list (`rows`, `page`…, one page of `inbox.PAGE_SIZE` matches); the open lead beside it."""

    business_id: int = 0
    business_name: str = ""
    paused: bool = False
    page_size: int = inbox.PAGE_SIZE
    status_filter: str = ""
    urgency_filter: str = ""
    category_filter: str = ""
    search: str = ""
    # The date filter as typed (YYYY-MM-DD, UTC days, both included) and what is wrong with it.
    since_filter: str = ""
    until_filter: str = ""
    since_error: str = ""
    until_error: str = ""
    detail: dict[str, str] = {}
    reasons: list[str] = []
    points: list[dict[str, str]] = []
    # The kinds of AI call the business may ask for on the open lead ({"value", "label"}; qualify first).
    call_kinds: list[dict[str, str]] = []
    calls: list[CallView] = []
    # The quotes this business sent on the open lead (newest first), and the quote form's message per field.
    quotes: list[dict[str, str]] = []
    quote_errors: dict[str, str] = {}
    # The consumer's verified review of the open lead's job ({} before there is one; `can_reply` "yes" until the
    # one reply is written), and why the reply was refused.
    review: dict[str, str] = {}
    reply_error: str = ""
    # The conversation with the consumer of the open lead once accepted (oldest first), whether the owner may write
    # in it ("yes"), and why the last message was refused (under its field).
    thread: list[MessageView] = []
    thread_can_write: str = ""
    message_error: str = ""
    # Signed, expiring links to the recordings the owner chose to play, by call id (kept while the detail is
    # open, so a live refresh never reloads a playing recording).
    recording_links: dict[str, str] = {}
    # Why the hint typed under a live call was refused, by call id.
    hint_errors: dict[str, str] = {}
    error: str = ""
    # The form field the last refusal names ("call_when", "call_type", …; "" for none): its message goes under it.
    error_field: str = ""
    notice: str = ""
    # Why the open detail closed by itself (its request closed meanwhile); shown on the lead's page.
    gone: str = ""
    # The lead page (`/dashboard/leads/<id>`): "" until it looked, then "ok" or "refused" (one refusal for a
    # missing, foreign or closed lead).
    lead_view: str = ""
    # The filter sheet on a phone (on wider screens the filters are always shown).
    filters_open: bool = False

    @rx.var
    def total_label(self) -> str:
        return labels.count(self.total, "lead")

    @rx.var
    def quote_pending(self) -> bool:
        """The open lead has a quote of this business still open or accepted: no new quote until it is decided."""
        return any(q.get("status") in ("sent", "accepted") for q in self.quotes)

    def _filters(self) -> inbox.InboxFilters:
        first, last = inbox.received_days(self.since_filter, self.until_filter)
        return inbox.InboxFilters(
            status=self.status_filter,
            urgency=self.urgency_filter,
            category=self.category_filter,
            first_day=first,  # whole days of the business's own time zone
            last_day=last,
            search=self.search,
        )

    def _fetch(self) -> None:
        """Reload the visible page (and the open detail) from the database, as the current user."""
        with session_scope() as session:
            user = self._require(session, access.Area.BUSINESS)
            business = businesses.my_business(session, user)
            if business is None:
                self.business_id, self.business_name, self.rows, self.total = 0, "", [], 0
                return
            self.business_id, self.business_name, self.paused = business.id or 0, business.name, business.paused
            self._show_rows(*inbox.inbox(session, user, self.business_id, self._filters(), self.page))
            if self.detail.get("match_id"):
                try:
                    detail = inbox.lead_detail(session, user, int(self.detail["match_id"]))
                except (NotAllowed, ValueError):
                    # The request closed (withdrawn, rejected, deleted) while its detail was open: the detail
                    # goes, the rest of the inbox stays.
                    self.detail, self.reasons, self.points, self.calls = {}, [], [], []
                    self.gone = GONE
                    return
                self._show_detail(session, user, detail)

    def _show_detail(self, session, user, detail: dict) -> None:
        self.reasons = list(detail.pop("reasons", []))
        self.points = list(detail.pop("points", []))
        self.call_kinds = list(detail.pop("call_kinds", []))
        self.detail = {k: str(v) if not isinstance(v, bool) else ("yes" if v else "") for k, v in detail.items()}
        self.calls = [
            CallView(
                **{k: v for k, v in c.items() if k != "transcript"},
                transcript=[TranscriptView(**line) for line in c["transcript"]],
            )
            for c in inbox.calls_for_match(session, user, int(detail["match_id"]))
        ]
        self.quotes = quotes.quotes_for_match(session, user, int(detail["match_id"]))
        self.review = reviews.review_for_match(session, user, int(detail["match_id"])) or {}
        self.thread, self.thread_can_write = [], ""
        if detail.get("status") in access.TAKEN_MATCH_STATUSES:
            conversation = messages.thread(session, user, int(detail["match_id"]))
            self.thread = message_views(conversation["messages"])
            self.thread_can_write = str(conversation["can_write"])

    def refresh_from_event(self) -> None:
        """Called by the live listener when something changed for this business."""
        try:
            self._fetch()
        except (NotAllowed, UserError):
            self.rows, self.detail = [], {}

    @rx.event
    def load(self):
        self.error = ""
        # The inbox shows no detail: a lead opens on its own page.
        self.detail, self.reasons, self.points, self.calls, self.recording_links = {}, [], [], [], {}
        self.gone = ""
        try:
            self._fetch()
        except NotAllowed:
            self.rows, self.detail = [], {}
            return None
        remember_business_tab(self.business_id, self.router.session.client_token)
        return None

    @rx.event
    def open_lead(self):
        """on_load of `/dashboard/leads/<lead id>`: the lead's detail, or the one refusal (a missing lead, another
        business's, a closed one and a malformed address look the same)."""
        self.error = self.notice = self.gone = ""
        self.detail, self.reasons, self.points, self.calls, self.recording_links = {}, [], [], [], {}
        self.lead_view = ""
        self.quotes, self.quote_errors = [], {}
        self.review, self.reply_error = {}, ""
        self.thread, self.thread_can_write, self.message_error = [], "", ""
        lead_id = routes.id_from_path(self.router.url.path)
        try:
            with session_scope() as session:
                user = self._require(session, access.Area.BUSINESS)
                business = businesses.my_business(session, user)
                match_id = inbox.match_id_for_lead(session, user, lead_id)
                self._show_detail(session, user, inbox.lead_detail(session, user, match_id))
                self.business_id = (business.id or 0) if business is not None else 0
        except (UserError, ValueError):
            self.lead_view = "refused"
            return
        self.lead_view = "ok"
        remember_business_tab(self.business_id, self.router.session.client_token)

    @rx.event
    def toggle_filters(self):
        self.filters_open = not self.filters_open

    @rx.event
    def apply_filters(self, form_data: dict):
        since, until = str(form_data.get("since", ""))[:20], str(form_data.get("until", ""))[:20]
        self.since_error = self.until_error = ""
        try:
            inbox.received_days(since, until)
        except UserError as exc:
            # Keep showing the last good page; the message goes under the field that is wrong.
            if exc.field == "until":
                self.until_error = exc.message
            else:
                self.since_error = exc.message
            return None
        self.since_filter, self.until_filter = since, until
        self.status_filter = str(form_data.get("status", "")).replace("all", "")
        self.urgency_filter = str(form_data.get("urgency", "")).replace("all", "")
        self.category_filter = str(form_data.get("category", "")).replace("all", "")
        self.search = str(form_data.get("search", ""))[:100]
        self.page = 1
        self.filters_open = False
        return DashboardState.load

    def _turned(self):
        """Turning the inbox's page loads it as opening the dashboard does (`load`)."""
        return DashboardState.load

    @rx.event
    def open_detail(self, match_id: str):
        self.error = self.notice = self.gone = ""
        _, self.error = self._attempt(
            access.Area.BUSINESS, lambda s, u: self._show_detail(s, u, inbox.lead_detail(s, u, int(match_id)))
        )

    @rx.event
    def close_detail(self):
        self.detail, self.reasons, self.points, self.calls, self.notice = {}, [], [], [], ""
        self.recording_links = {}

    @rx.event
    def release(self):
        match_id = int(self.detail.get("match_id", "0"))
        return self._act_noting(
            lambda s, u: inbound.release_lead(s, u, match_id),
            "Released: other businesses nearby are offered this request too. It stays in your inbox.",
        )

    @rx.event
    def cancel_call(self, call_id: str):
        self._act(lambda s, u: calls.cancel_call(s, u, int(call_id)))
        return feedback.outcome("AI call cancelled.", self.error)

    @rx.event
    def send_hint(self, form_data: dict):
        """The owner's hint for the assistant of a call in progress (the form under its live transcript); it shows
        in the transcript once the bridge has handed it over. A refusal or a bad hint shows under the field."""
        call_id = str(form_data.get("call_id", ""))
        self.hint_errors = {k: v for k, v in self.hint_errors.items() if k != call_id}
        hint = str(form_data.get("hint", ""))[:4000]
        if message := self._on_call(call_id, lambda s, u: calls.send_hint(s, u, int(call_id or 0), hint)):
            return feedback.failed(message)
        return [
            rx.set_value(f"hint-{call_id}", ""),
            feedback.done("Hint sent: the assistant will use it in what it says next."),
        ]

    @rx.event
    def take_over(self, call_id: str):
        """ "Take over" on a call in progress: the assistant puts the caller through to the owner's phone."""
        if message := self._on_call(str(call_id), lambda s, u: calls.request_take_over(s, u, int(call_id or 0))):
            return feedback.failed(message)
        return feedback.done("Taking over: your phone will ring in a moment.")

    @rx.event
    def open_recording(self, call_id: str):
        """Put the call's recording in a player: a signed link streamed by the app, for this owner only."""
        link, self.error = self._attempt(access.Area.BUSINESS, lambda s, u: calls.recording_link(s, u, int(call_id)))
        if self.error:
            return
        self.recording_links = {**self.recording_links, str(int(call_id)): link}

    def _on_call(self, call_id: str, action) -> str:
        """Act on a live call (a hint, taking over): why it was refused ("" when it went through), also shown under
        that call's hint field."""
        _, message = self._attempt(access.Area.BUSINESS, action)
        if message:
            self.hint_errors = {**self.hint_errors, call_id: message}
        return message

    def _act_for(self, error_field: str, action) -> str:
        """`_act`, with what went wrong shown under one form (in `error_field`, e.g. the message box) instead of
        at the top of the page: the error, or "" when it went through."""
        setattr(self, error_field, "")
        self._act(action)
        error, self.error = self.error, ""
        setattr(self, error_field, error)
        return error

    def _act(self, action) -> None:
        """Run `action(session, user)` as this business, then show the inbox as it is now; why not in `error` (and
        the field it concerns in `error_field`), a quote's fields in `quote_errors`."""
        self.error, self.error_field = "", ""

        def act(session: Session, user: User) -> bool:
            action(session, user)
            return True

        done, self.error = self._attempt(
            access.Area.BUSINESS, act, refused=self._refused, fields=self._refused_fields, failed=self._failed
        )
        if done:
            self._fetch()

    def _answer_for(self, error_field: str, action, done: str):
        """`_act_for`, answered with its toast: why it was refused, else `done`."""
        if error := self._act_for(error_field, action):
            return feedback.failed(error)
        return feedback.done(done)

    def _act_noting(self, action, notice: str):
        """`_act`, then `notice` kept on the page (`notice`) when it went through; answers with the toast."""
        self._act(action)
        if not self.error:
            self.notice = notice
        return feedback.outcome(self.notice, self.error)

    def _refused(self, exc: NotAllowed) -> str:
        # Refused because the lead is no longer this business's to act on (e.g. withdrawn meanwhile): show the inbox
        # as it is now, which closes a detail that is gone.
        with contextlib.suppress(UserError):
            self._fetch()
        return exc.message

    def _refused_fields(self, exc: FieldErrors) -> str:
        """A form's fields (the quote's terms): each message under its field, none at the top."""
        self.quote_errors = dict(exc.errors)
        return ""

    def _failed(self, exc: UserError) -> str:
        self.error_field = exc.field or ""
        return exc.message

    @rx.event
    def accept(self):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbox.respond(s, u, match_id, accept=True))
        return feedback.outcome("Lead accepted: the consumer is told and their contact is shown.", self.error)

    @rx.event
    def decline(self, form_data: dict):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbox.respond(s, u, match_id, accept=False, message=str(form_data.get("message", ""))))
        return feedback.outcome("Lead declined.", self.error)

    @rx.event
    def request_call(self, form_data: dict):
        match_id = int(self.detail.get("match_id", "0"))
        form = {name: str(form_data.get(name, "") or "")[:1500] for name in ("objective", "call_type", "call_when")}
        kind = calls.KIND_LABELS.get(form["call_type"], "AI call")
        return self._act_noting(
            lambda s, u: calls.request_call(
                s, u, match_id, objective=form["objective"], call_type=form["call_type"], when_text=form["call_when"]
            ),
            f"{kind}: AI call scheduled for the time you picked."
            if form["call_when"].strip()
            else f"{kind}: AI call requested. It will be placed within the consumer's calling hours.",
        )

    @rx.event
    def mark_callback_handled(self):
        """The owner called the consumer back (they asked for a person on an AI call): clear the badge."""
        match_id = int(self.detail.get("match_id", "0") or 0)
        return self._act_noting(lambda s, u: inbox.mark_callback_handled(s, u, match_id), "Marked handled.")

    @rx.event
    def send_quote(self, form_data: dict):
        """The quote form of an accepted lead: bad terms show under their fields, and nothing is sent."""
        match_id = int(self.detail.get("match_id", "0") or 0)
        form = {name: str(form_data.get(name, ""))[:4000] for name in quotes.FIELDS}
        self.quote_errors = {}
        self._act(lambda s, u: quotes.send_quote(s, u, match_id, form))
        if self.quote_errors:
            return feedback.failed("Check the quote: " + " ".join(self.quote_errors.values()))
        return feedback.outcome("Quote sent: the consumer sees it in their portal.", self.error)

    @rx.event
    def send_message(self, form_data: dict):
        """Write to the consumer of the open lead (its match held server-side; the form's match id is not used)."""
        match_id = int(self.detail.get("match_id", "0") or 0)
        body = str(form_data.get("body", ""))[:4000]
        return self._answer_for(
            "message_error", lambda s, u: messages.post_message(s, u, match_id, body), "Message sent."
        )

    @rx.event
    async def send_photo(self, files: list[rx.UploadFile]):
        """Send the chosen photo to the consumer of the open lead (its bytes and size checked by the service)."""
        match_id = int(self.detail.get("match_id", "0") or 0)
        data = await read_photo(files)
        self.message_error = ""
        if data is None:
            self.message_error = NO_PHOTO
            return feedback.failed(NO_PHOTO)
        if self._act_for("message_error", lambda s, u: messages.post_message(s, u, match_id, "", photo=data)):
            return feedback.failed(self.message_error)
        return [feedback.done("Photo sent."), rx.clear_selected_files(LEAD_PHOTO)]

    @rx.event
    def reply_review(self, form_data: dict):
        """The business's one answer to the consumer's review of the open lead (the review held server-side)."""
        review_id = int(self.review.get("id", "0") or 0)
        text = str(form_data.get("reply", ""))[:4000]
        return self._answer_for(
            "reply_error",
            lambda s, u: reviews.reply_to_review(s, u, review_id, text),
            "Reply posted: the consumer sees it under their review.",
        )

    @rx.event
    def convert(self, form_data: dict):
        match_id = int(self.detail.get("match_id", "0"))
        self._act(lambda s, u: inbox.mark_converted(s, u, match_id, str(form_data.get("job_value", ""))))
        return feedback.outcome("Marked converted: the job counts in your stats.", self.error)


async def refresh_tab(app, token: str) -> None:
    """Push a fresh inbox page into one open dashboard tab (from the live listener)."""
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=DashboardState)) as root:
        dashboard = await root.get_state(DashboardState)
        if dashboard.business_id:
            await asyncio.to_thread(dashboard.refresh_from_event)


@live.on("match", "call", "transcript")
async def push_to_business_tabs(app, event: dict) -> None:
    """A lead, call or transcript of a business changed: its open dashboard tabs refresh."""
    if event.get("business_id"):
        tabs = live.business_tabs_key(int(event["business_id"]))
        await live.refresh_tabs(app, event, tabs, refresh_tab, "business")
