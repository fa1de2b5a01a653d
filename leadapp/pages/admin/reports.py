"""Weekly audit reports: the list, "Run now", one report rendered from its Markdown with its flags and the
proposed rule changes (each applied only when an admin presses "Accept"), and a Markdown download.

The report is written by `services.weekly_audit` (the Sunday 02:00 cron job writes the same report); this
page only calls it and shows the result. Every handler re-checks that the tab belongs to an active admin.
"""

from __future__ import annotations

import asyncio

import reflex as rx
from sqlmodel import Session

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.cards import stacked_card
from leadapp.components.layout import guarded_page, page_header
from leadapp.components.pager import PagedState, pager
from leadapp.components.table import plain_table
from leadapp.components.text import note
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import AuditReport, User
from leadapp.core.services import access, weekly_audit
from leadapp.state.auth import AuthState

ROUTE = routes.ADMIN_REPORTS
LIST_PAGE = 20


# The report's Markdown tables, ruled like the app's own tables.
def _link_as_text(*children: rx.Component, **_props: object) -> rx.Component:
    return rx.text.span(*children, class_name="report-link-text")


def _image_as_text(*_children: rx.Component, **_props: object) -> rx.Component:
    return rx.text.span("[image not shown]", class_name="report-image-text")


def _heading(level: int, size: str):
    def render(*children: rx.Component, **_props: object) -> rx.Component:
        return rx.heading(*children, as_=f"h{level}", size=size)

    return render


NO_REMOTE_CONTENT = {
    "a": _link_as_text,
    "img": _image_as_text,
    # The report sits under the page's own title: its headings go one level down (one h1 a page).
    "h1": _heading(2, "6"),
    "h2": _heading(3, "5"),
    "h3": _heading(4, "4"),
}
"""The report's Markdown renders links as their text and images as a note: no request leaves for a URL in it."""

REPORT_STYLE = {
    "& table": {"borderCollapse": "collapse", "margin": "0.5em 0 1em"},
    "& th, & td": {"padding": "0.3em 0.9em", "borderBottom": "1px solid var(--gray-5)", "textAlign": "left"},
}


def _when(report: AuditReport) -> str:
    return report.created_at.strftime("%Y-%m-%d %H:%M UTC")


def _period(report: AuditReport) -> str:
    return f"{report.period_start:%Y-%m-%d %H:%M} to {report.period_end:%Y-%m-%d %H:%M} UTC"


def run_audit_now(user_id: int) -> int:
    """Write a report as the admin `user_id` (in its own transaction); returns the report's id."""
    with session_scope() as session:
        actor = session.get(User, user_id)
        access.enter(session, actor)
        report = weekly_audit.run_weekly_audit(session, actor=actor)
        session.flush()
        assert report.id is not None
        return report.id


class ReportsState(PagedState, AuthState):
    """The list of reports (`rows`, a page at a time) and the report on show."""

    page_size: int = LIST_PAGE
    # The report on show (0: none).
    report_id: int = 0
    title: str = ""
    markdown: str = ""
    narrator: str = ""
    flags: list[dict[str, str]] = []
    recommendations: list[dict[str, str]] = []
    running: bool = False
    message: str = ""
    error: str = ""

    def _refused(self) -> None:
        self.rows, self.report_id, self.markdown, self.flags, self.recommendations = [], 0, "", [], []
        self.allowed_area, self.denied = "", True

    def _list(self, session, user) -> None:
        rows, total = weekly_audit.list_reports(session, user, offset=self._offset(), limit=self.page_size)
        shown = [
            {
                "id": str(r.id),
                "created": _when(r),
                "period": _period(r),
                "by": "schedule" if r.created_by_id is None else "run now",
                "narrator": r.narrator,
                "flags": ", ".join(f["severity"] for f in r.flags) or "none",
            }
            for r in rows
        ]
        self._show_rows(shown, total)

    def _refusal(self, _exc: NotAllowed) -> str:
        """`_attempt`'s answer to a refused tab: the page is cleared and shows "not allowed"."""
        self._refused()
        return ""

    def _refusal_unless_logged_out(self, exc: NotAllowed) -> str:
        """Likewise, but a logged-out tab is left as it is: the guard (or the handler) sends it to log in."""
        return "" if isinstance(exc, access.NotLoggedIn) else self._refusal(exc)

    def _fetch(self) -> None:
        _, error = self._attempt(access.Area.ADMIN, self._list, refused=self._refusal)
        self.error = error or self.error

    def _show(self, report: AuditReport) -> None:
        self.report_id = report.id or 0
        self.title = f"Report #{report.id}: {_period(report)}"
        self.markdown = report.markdown
        self.narrator = report.narrator
        self.flags = [{"severity": f["severity"], "message": f["message"]} for f in report.flags]
        self.recommendations = [
            {
                "index": str(i),
                "summary": r.get("summary", ""),
                "reason": r.get("reason", ""),
                "status": r.get("status", "proposed"),
                "version": str(r.get("accepted_version", "")),
            }
            for i, r in enumerate(report.recommendations)
        ]

    @rx.event
    def load(self):
        """List the reports; show the one named by ?report=<id>, else the newest."""
        self.message, self.error, self.page, self.running = "", "", 1, False
        wanted = self.router.url.query_parameters.get("report", "")

        def show(session: Session, user: User) -> None:
            self._list(session, user)
            target = int(wanted) if wanted.isdigit() else int(self.rows[0]["id"]) if self.rows else 0
            self.report_id, self.markdown, self.flags, self.recommendations = 0, "", [], []
            if target:
                self._show(weekly_audit.get_report(session, user, target))

        _, self.error = self._attempt(access.Area.ADMIN, show, refused=self._refusal_unless_logged_out)

    @rx.event
    def open_report(self, report_id: str):
        self.message, self.error = "", ""

        def show(session: Session, user: User) -> None:
            self._show(weekly_audit.get_report(session, user, int(report_id)))

        _, error = self._attempt(access.Area.ADMIN, show, refused=self._refusal)
        # A report that is not there and an id that is not one read the same.
        self.error = "No such audit report." if error else ""

    @rx.event
    async def run_now(self):
        """Write a report for the last 7 days now (Claude writes the summary when configured: seconds)."""
        self.message, self.error = "", ""
        logged_out = []

        def refused(exc: NotAllowed) -> str:
            logged_out.append(isinstance(exc, access.NotLoggedIn))
            return self._refusal_unless_logged_out(exc)

        user_id, _ = self._attempt(access.Area.ADMIN, lambda _session, user: user.id or 0, refused=refused)
        if user_id is None:
            if logged_out == [True]:
                yield rx.redirect(f"{routes.LOGIN}?next={ROUTE}")
            return
        self.running = True
        yield
        try:
            report_id = await asyncio.to_thread(run_audit_now, user_id)
            with session_scope() as session:
                user = self._require(session, access.Area.ADMIN)
                self.page = 1
                self._list(session, user)
                self._show(weekly_audit.get_report(session, user, report_id))
        except NotAllowed:
            self._refused()
        except UserError as exc:
            self.error = exc.message
        else:
            self.message = f"Report #{report_id} written."
        finally:
            self.running = False
        yield feedback.outcome(self.message, self.error)

    @rx.event
    def accept(self, index: str):
        """Apply one proposed change as a new rules version."""
        self.message, self.error = "", ""

        def accept(session: Session, user: User) -> str:
            row = weekly_audit.accept_recommendation(session, user, self.report_id, int(index))
            self._show(weekly_audit.get_report(session, user, self.report_id))
            self.message = f"Accepted: rules version {row.version} is in force."
            return self.message

        return self._act(access.Area.ADMIN, ROUTE, accept, refused=self._refused, failed=self._failed)

    def _failed(self, exc: UserError) -> str:
        self.error = exc.message
        return self.error

    @rx.event
    def download(self):
        """The report on show as a Markdown file."""
        report, error = self._attempt(
            access.Area.ADMIN,
            lambda session, user: weekly_audit.get_report(session, user, self.report_id),
            refused=self._refusal,
        )
        if report is None:
            self.error = error or self.error
            return None
        return rx.download(
            data=report.markdown,
            filename=f"leadapp-weekly-audit-{report.id}-{report.period_end:%Y-%m-%d}.md",
            mime_type="text/markdown",
        )


S = ReportsState


def _report_row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.button(
                f"#{r['id']}", on_click=S.open_report(r["id"]), variant="ghost", size="1", class_name="report-link"
            )
        ),
        rx.table.cell(rx.text(r["period"], size="2")),
        rx.table.cell(rx.text(r["by"], size="2")),
        rx.table.cell(rx.text(r["narrator"], size="2")),
        rx.table.cell(rx.text(r["flags"], size="2")),
        data_id=r["id"],
    )


def _list() -> rx.Component:
    return rx.vstack(
        plain_table(
            ("Report", "Period", "Written by", "Summary", "Flags"),
            rx.foreach(S.rows, _report_row),
            table_id="reports-table",
        ),
        pager(S, "reports", "reports-count", back="Newer", forward="Older"),
        width="100%",
    )


def _flag(f: rx.Var) -> rx.Component:
    return rx.callout(
        f["message"],
        icon="triangle-alert",
        color_scheme=rx.cond(f["severity"] == "critical", "red", "orange"),
        width="100%",
        class_name="report-flag",
        data_severity=f["severity"],
    )


def _recommendation(r: rx.Var) -> rx.Component:
    accepted = r["status"] == "accepted"
    return stacked_card(
        rx.text(r["summary"], weight="bold"),
        note(r["reason"]),
        rx.cond(
            accepted,
            rx.badge(f"accepted: rules version {r['version']}", color_scheme="green"),
            rx.button(
                "Accept",
                on_click=S.accept(r["index"]),
                size="1",
                class_name="accept-recommendation",
                data_index=r["index"],
            ),
        ),
        class_name="recommendation",
        data_index=r["index"],
        data_status=r["status"],
    )


def _report() -> rx.Component:
    return rx.cond(
        S.report_id > 0,
        rx.vstack(
            rx.hstack(
                rx.heading(S.title, as_="h2", size="5", id="report-title"),
                rx.spacer(),
                rx.button(
                    rx.icon("download"), "Download Markdown", on_click=S.download, variant="soft", id="report-download"
                ),
                wrap="wrap",
                align="center",
                width="100%",
            ),
            rx.foreach(S.flags, _flag),
            rx.cond(
                S.recommendations.length() > 0,
                rx.vstack(
                    rx.heading("Proposed rule changes", as_="h2", size="4"),
                    rx.text("Nothing changes until you accept; each acceptance saves a new rules version.", size="2"),
                    rx.foreach(S.recommendations, _recommendation),
                    spacing="2",
                    width="100%",
                    id="report-recommendations",
                ),
            ),
            rx.card(
                # Consumer text in the report is escaped when it is written; raw HTML and math stay off, and
                # a link or image that got in anyway is shown as its text: nothing loads from elsewhere.
                rx.markdown(
                    S.markdown, use_raw=False, use_math=False, use_katex=False, component_map=NO_REMOTE_CONTENT
                ),
                width="100%",
                id="report-markdown",
                style=REPORT_STYLE,
            ),
            spacing="3",
            width="100%",
            margin_top="1em",
        ),
        rx.text('No report yet: press "Run now" or wait for Sunday 02:00.', color_scheme="gray", id="no-report"),
    )


def reports_page() -> rx.Component:
    return guarded_page(
        "admin",
        page_header(
            "Weekly audit",
            rx.button(
                rx.icon("play"),
                "Run now",
                on_click=S.run_now,
                loading=S.running,
                disabled=S.running,
                id="run-audit",
            ),
        ),
        rx.text(
            "Written every Sunday at 02:00 for the 7 days before; flags, patterns and proposed rule changes.",
            color_scheme="gray",
            margin_bottom="1em",
        ),
        rx.cond(
            S.message != "", rx.callout(S.message, icon="circle-check", color_scheme="green", id="reports-message")
        ),
        feedback.error_callout(S.error, "reports-error", icon="triangle-alert"),
        _list(),
        _report(),
    )
