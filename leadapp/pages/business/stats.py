"""A business's stats: leads per week, acceptance and conversion, response time, job value, calls by outcome.

The figures come from `services.stats` (counted in SQL); this page only picks the period and formats them.
An admin may open any business's stats with `?business=<id>`.
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx

from leadapp import routes
from leadapp.components import feedback
from leadapp.components.filters import instant_select, labelled
from leadapp.components.layout import guarded_page, titled
from leadapp.components.text import note
from leadapp.core import labels
from leadapp.core.db import session_scope
from leadapp.core.errors import NotAllowed, UserError
from leadapp.core.models import utcnow
from leadapp.core.services import access, businesses, stats
from leadapp.state.auth import AuthState

ROUTE = routes.DASHBOARD_STATS
DEFAULT_WEEKS = "12"
PERIOD_OPTIONS = [(str(weeks), f"Last {weeks} weeks") for weeks in stats.WEEK_CHOICES]
OUTCOME_LABELS = labels.CALL_OUTCOME
NO_FIGURE = "—"


def percent(rate: float | None) -> str:
    return NO_FIGURE if rate is None else f"{rate * 100:.0f}%"


def dollars(cents: float) -> str:
    return f"${cents / 100:,.2f}"


def duration(minutes: float | None) -> str:
    """A response time for people: "under 1 min", "42 min", "3 h 05 min", "2 d 4 h"."""
    if minutes is None:
        return NO_FIGURE
    if minutes < 1:
        return "under 1 min"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    if whole < 24 * 60:
        return f"{whole // 60} h {whole % 60:02d} min"
    return f"{whole // (24 * 60)} d {whole % (24 * 60) // 60} h"


class StatsState(AuthState):
    weeks: str = DEFAULT_WEEKS
    loaded: bool = False
    business_id: int = 0
    business_name: str = ""
    period_label: str = ""
    leads_total: int = 0
    accepted: int = 0
    decided: int = 0
    converted: int = 0
    acceptance: str = NO_FIGURE
    conversion: str = NO_FIGURE
    median_response: str = NO_FIGURE
    job_value: str = dollars(0)
    calls_total: int = 0
    call_cost: str = dollars(0)
    # Chart data: one point per ISO week (at most 54) and one per call outcome (at most 6).
    week_points: list[dict[str, str | int]] = []
    outcome_points: list[dict[str, str | int]] = []
    # One point per week: p95 turn latency (ms; absent in a week without measured calls) and interruptions.
    quality_points: list[dict[str, str | int]] = []
    measured_calls: int = 0
    error: str = ""

    def _clear(self) -> None:
        self.business_id, self.business_name, self.period_label = 0, "", ""
        self.leads_total = self.accepted = self.decided = self.converted = self.calls_total = 0
        self.acceptance = self.conversion = self.median_response = NO_FIGURE
        self.job_value = self.call_cost = dollars(0)
        self.week_points, self.outcome_points, self.quality_points, self.measured_calls = [], [], [], 0

    def _show(self, figures: stats.BusinessStats) -> None:
        self.business_id, self.business_name = figures.business_id, figures.business_name
        self.period_label = f"{figures.since:%b} {figures.since.day}, {figures.since.year} – today"
        self.leads_total, self.accepted, self.converted = figures.leads, figures.accepted, figures.converted
        self.decided = figures.decided
        self.acceptance, self.conversion = percent(figures.acceptance_rate), percent(figures.conversion_rate)
        self.median_response = duration(figures.median_response_minutes)
        self.job_value = dollars(figures.job_value_cents)
        self.calls_total, self.call_cost = figures.calls_total, dollars(figures.call_cost_cents)
        self.week_points = [
            {
                "week": f"{w.week_start:%b} {w.week_start.day}",
                "iso_week": w.label,
                "leads": w.leads,
                "accepted": w.accepted,
            }
            for w in figures.weeks
        ]
        self.outcome_points = [
            {"outcome": OUTCOME_LABELS.get(outcome, outcome), "calls": count}
            for outcome, count in figures.calls_by_outcome.items()
        ]
        if figures.calls_without_outcome:
            self.outcome_points.append({"outcome": "No outcome yet", "calls": figures.calls_without_outcome})
        self.quality_points = [
            {
                "week": f"{w.week_start:%b} {w.week_start.day}",
                "iso_week": w.label,
                "calls": w.calls,
                "interruptions": w.interruptions,
                # recharts leaves a gap for a missing value: a week without measured calls has no latency
                **({"turn_p95": w.turn_latency_p95_ms} if w.turn_latency_p95_ms is not None else {}),
            }
            for w in figures.quality_weeks
        ]
        self.measured_calls = sum(w.calls for w in figures.quality_weeks)

    def _fetch(self) -> None:
        """Reload the figures of the chosen period, as the current user (the service checks the business)."""
        with session_scope() as session:
            user = self._require(session, access.Area.BUSINESS)
            wanted = self.router.url.query_parameters.get("business", "")
            if wanted:
                business_id = int(wanted) if wanted.isdigit() else 0
            else:
                business = businesses.my_business(session, user)
                business_id = business.id if business is not None and business.id is not None else 0
                if not business_id:
                    self._clear()
                    return
            since, until = stats.period_of_weeks(int(self.weeks), utcnow().date())
            self._show(stats.business_stats(session, user, business_id, since, until))

    def _reload(self, *, redirect_when_logged_out: bool):
        self.error = ""
        try:
            self._fetch()
        except access.NotLoggedIn:
            self._clear()
            # On page load the guard has already sent the visitor to the login page.
            return rx.redirect(f"{routes.LOGIN}?next={quote(ROUTE)}") if redirect_when_logged_out else None
        except NotAllowed:
            self._clear()
            self.allowed_area, self.denied = "", True
        except UserError as exc:
            self.error = exc.message
        self.loaded = True
        return None

    @rx.event
    def load(self):
        self.loaded = False
        return self._reload(redirect_when_logged_out=False)

    @rx.event
    def set_period(self, weeks: str):
        if weeks not in {value for value, _ in PERIOD_OPTIONS}:
            self.error = "Choose one of the listed periods."
            return None
        self.weeks = weeks
        return self._reload(redirect_when_logged_out=True)


S = StatsState


def _kpi(label: str, value: rx.Var | str, element_id: str, caption: rx.Var | str = "") -> rx.Component:
    return rx.card(
        rx.vstack(
            note(label, weight="medium"),
            rx.text(value, size="7", weight="bold", id=element_id),
            note(caption, size="1"),
            spacing="1",
        ),
        width="100%",
    )


def _period_chooser() -> rx.Component:
    return labelled(
        "Period",
        "stats-period",
        instant_select("stats-period", PERIOD_OPTIONS, S.weeks, S.set_period),
    )


def _kpis() -> rx.Component:
    return rx.grid(
        _kpi("Leads", S.leads_total, "stats-leads-total", S.period_label),
        _kpi("Acceptance", S.acceptance, "stats-acceptance", f"{S.accepted} of {S.decided} answered leads"),
        _kpi("Conversion", S.conversion, "stats-conversion", f"{S.converted} of {S.accepted} accepted leads"),
        _kpi("Median response", S.median_response, "stats-median-response", "from arrival to your answer"),
        _kpi("Job value", S.job_value, "stats-job-value", "converted leads of the period"),
        _kpi("AI calls", S.calls_total, "stats-calls-total", f"cost {S.call_cost}"),
        columns=rx.breakpoints(initial="1", xs="2", md="3"),
        spacing="3",
        width="100%",
    )


def _chart_card(
    title: str,
    chart: rx.Component,
    chart_id: str,
    label: str,
    height: int,
    empty: tuple[rx.Var, str, str] | None = None,
) -> rx.Component:
    """A chart under its heading, described for screen readers by `label`; with `empty` = (has data, sentence,
    id) the sentence stands in for the chart when there is nothing to draw."""
    box = rx.box(chart, id=chart_id, role="img", aria_label=label, width="100%", height=f"{height}px")
    if empty is not None:
        has_data, sentence, empty_id = empty
        box = rx.cond(has_data, box, rx.text(sentence, color_scheme="gray", id=empty_id))
    return rx.card(rx.heading(title, as_="h2", size="4", margin_bottom="0.5em"), box, width="100%")


def _weeks_chart() -> rx.Component:
    return _chart_card(
        "Leads per week",
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key="week"),
            rx.recharts.y_axis(allow_decimals=False, width=40),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            rx.recharts.bar(data_key="leads", name="Leads", fill=rx.color("accent", 9)),
            rx.recharts.bar(data_key="accepted", name="Accepted", fill=rx.color("grass", 9)),
            data=S.week_points,
            height=280,
        ),
        "stats-chart-weeks",
        "Bar chart of leads and accepted leads per week",
        280,
    )


def _calls_chart() -> rx.Component:
    return _chart_card(
        "AI calls by outcome",
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", horizontal=False),
            rx.recharts.x_axis(type_="number", allow_decimals=False),
            rx.recharts.y_axis(data_key="outcome", type_="category", width=110),
            rx.recharts.graphing_tooltip(),
            rx.recharts.bar(data_key="calls", name="Calls", fill=rx.color("accent", 9)),
            data=S.outcome_points,
            layout="vertical",
            height=240,
        ),
        "stats-chart-calls",
        "Bar chart of AI calls by outcome",
        240,
        empty=(S.calls_total > 0, "No AI calls in this period.", "stats-calls-empty"),
    )


def _quality_chart() -> rx.Component:
    return _chart_card(
        "Call quality per week",
        rx.recharts.composed_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
            rx.recharts.x_axis(data_key="week"),
            rx.recharts.y_axis(y_axis_id="ms", width=50, unit=" ms"),
            rx.recharts.y_axis(y_axis_id="count", orientation="right", allow_decimals=False, width=40),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(),
            rx.recharts.bar(
                data_key="interruptions", name="Interruptions", y_axis_id="count", fill=rx.color("amber", 9)
            ),
            rx.recharts.line(
                data_key="turn_p95",
                name="Turn latency p95 (ms)",
                y_axis_id="ms",
                stroke=rx.color("accent", 10),
                connect_nulls=False,
            ),
            data=S.quality_points,
            height=260,
        ),
        "stats-chart-quality",
        "Chart of the p95 turn latency of AI calls and their interruptions per week",
        260,
        empty=(S.measured_calls > 0, "No measured AI calls in this period.", "stats-quality-empty"),
    )


def stats_page() -> rx.Component:
    return guarded_page(
        "business",
        rx.flex(
            titled("Stats", "stats-heading", S.business_name),
            rx.hstack(
                _period_chooser(),
                rx.link(rx.button("Lead inbox", variant="soft"), href=routes.DASHBOARD),
                align="end",
                spacing="3",
            ),
            justify="between",
            align="end",
            wrap="wrap",
            gap="3",
            width="100%",
        ),
        feedback.error_callout(S.error, margin_top="1em"),
        rx.cond(
            ~S.loaded,
            rx.center(rx.spinner(size="3"), padding="3em"),
            rx.cond(
                S.business_id > 0,
                rx.vstack(
                    _kpis(),
                    _weeks_chart(),
                    _calls_chart(),
                    _quality_chart(),
                    spacing="4",
                    width="100%",
                    margin_top="1em",
                ),
                rx.card(
                    rx.cond(
                        S.user_role == "admin",
                        rx.text("Add ?business=<id> to this page's address to see that business's stats."),
                        rx.fragment(
                            rx.text("Create your business profile to see its stats. "),
                            rx.link("Set up your business", href=routes.DASHBOARD + "/settings"),
                        ),
                    ),
                    margin_top="1em",
                    id="stats-no-business",
                ),
            ),
        ),
    )
