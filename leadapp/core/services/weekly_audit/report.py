"""The report: its narrative (Claude's or the template's), its Markdown, and `run_weekly_audit`, which writes it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from leadapp.core import labels
from leadapp.core.models import AuditReport, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import llm
from leadapp.core.services import access, audit, audit_narrative
from leadapp.core.services.rules import current_rules
from leadapp.core.services.weekly_audit.figures import (
    AUDIT_PERIOD,
    LOW_RESPONSE_RATE,
    REPEATED_PHONE_MIN,
    REPEATED_TEXT_MIN,
    TOP_RESPONSE_RATE,
    _rate,
    compute_figures,
)
from leadapp.core.services.weekly_audit.findings import _percent, flags, recommendations

log = get_logger(__name__)


def _md(text: Any) -> str:
    """Text safe inside Markdown (and a table cell): no formatting, links, HTML or line breaks from it."""
    escaped = re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", " ".join(str(text).split()))
    return escaped.replace("<", "&lt;")


def as_plain_text(narrative: str) -> str:
    """A model's narrative as plain paragraphs: no link, image, HTML or other Markdown of its own.

    The model read figures that include consumer-written text (repeated texts, business names), so its answer
    may carry someone's `![](https://…/pixel?data=…)` or `[click](https://…)`: rendered, an image would load
    from a stranger's server the moment an admin opens the report, and a link would invite a click. Every
    paragraph is escaped like any other consumer text in the report (`_md`); the page also renders links and
    images of the report as text (leadapp/pages/admin/reports.py)."""
    paragraphs = re.split(r"\n\s*\n", narrative.strip())
    return "\n\n".join(_md(paragraph) for paragraph in paragraphs if paragraph.strip())


def _money(cents: int | None) -> str:
    return "—" if cents is None else f"${cents / 100:,.2f}"


def _day(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def template_narrative(figures: dict[str, Any], raised: list[dict[str, Any]], proposed: list[dict[str, Any]]) -> str:
    """The narrative written from the figures without Claude: the same facts in fixed sentences."""
    leads, spam, quality = figures["leads"], figures["spam"], figures["quality"]
    responses, conversions, patterns = figures["responses"], figures["conversions"], figures["patterns"]
    paragraphs = []
    if raised:
        paragraphs.append(" ".join(f"**{flag['severity'].upper()}:** {flag['message']}" for flag in raised))
    if leads["classified"]:
        paragraphs.append(
            f"LeadApp received {leads['total']} leads this week, {leads['classified']} of them classified. "
            f"The spam rate was {_percent(spam['rate'])} ({spam['count']} leads) and "
            f"{_percent(quality['low_quality_rate'])} of classified leads scored below "
            f"{quality['low_quality_below']:g} ({labels.count(quality['low_quality'], 'lead')})."
        )
    else:
        paragraphs.append(
            f"LeadApp received {leads['total']} leads this week and none was classified, "
            "so there is no spam or quality rate."
        )
    texts, numbers = len(patterns["repeated_texts"]), len(patterns["repeated_numbers"])
    if texts or numbers:
        paragraphs.append(
            f"{texts} text{'s were' if texts != 1 else ' was'} submitted {REPEATED_TEXT_MIN} or more times and "
            f"{numbers} phone number{'s' if numbers != 1 else ''} sent {REPEATED_PHONE_MIN} or more leads."
        )
    if responses["businesses"]:
        paragraphs.append(
            f"Of {responses['businesses']} businesses with matches, {responses['top_count']} answered at least "
            f"{TOP_RESPONSE_RATE * 100:.0f} % and {responses['under_50_count']} answered under "
            f"{LOW_RESPONSE_RATE * 100:.0f} %; overall response rate {_percent(responses['overall_rate'])}."
        )
    else:
        paragraphs.append("No business had a match old enough to judge its response rate.")
    paragraphs.append(
        f"{conversions['count']} conversions were recorded, worth {_money(conversions['value_cents'])} in total."
    )
    calls = figures.get("call_quality") or {}
    if calls.get("measured"):
        paragraphs.append(
            f"AI calls measured this week: {calls['measured']}; turn latency {calls['turn_latency_p50_ms']} ms "
            f"median and {calls['turn_latency_p95_ms']} ms p95; "
            f"{labels.count(calls['interruptions'], 'interruption')} in all."
        )
    if proposed:
        paragraphs.append(
            f"{len(proposed)} rule change{'s are' if len(proposed) != 1 else ' is'} proposed below; "
            "none applies until an admin accepts it."
        )
    return "\n\n".join(paragraphs)


def _minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _table(header: list[str], rows: list[list[Any]], align: str = "") -> list[str]:
    aligns = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:g} ms"


def _call_quality_lines(calls: dict[str, Any]) -> list[str]:
    """The section on the week's AI calls (an older report's figures have none)."""
    if not calls.get("measured"):
        return [f"{labels.count(calls.get('calls', 0), 'AI call')}; none measured."]
    ratio = calls["talk_ratio"]
    per_call = calls["interruptions_per_call"]
    lines = _table(
        ["", "Value"],
        [
            ["Calls (measured)", f"{calls['calls']} ({calls['measured']})"],
            ["Turns", calls["turns"]],
            ["Turn latency median", _ms(calls["turn_latency_p50_ms"])],
            ["Turn latency p95", _ms(calls["turn_latency_p95_ms"])],
            ["Interruptions", f"{calls['interruptions']} ({per_call:.1f} a call)"],
            ["Assistant's share of the talking", "–" if ratio is None else f"{ratio * 100:.0f} %"],
            ["Longest silence", _ms(calls["longest_silence_ms"])],
            ["Bridge latency p95 (worst call)", _ms(calls["bridge_latency_p95_ms"])],
            ["AI cost", f"{_money(calls['ai_cost_cents'])} ({calls['ai_cost_from_usage']} priced from reported usage)"],
            ["Carrier cost", f"{_money(calls['carrier_cost_cents'])} ({calls['carrier_reported']} Twilio's price)"],
        ],
    )
    if calls["slowest_businesses"]:
        lines += ["", "### Slowest turns by business", ""]
        lines += _table(
            ["Business", "Calls", "Turn latency p95", "Interruptions"],
            [
                [_md(b["name"]), b["calls"], _ms(b["turn_latency_p95_ms"]), b["interruptions"]]
                for b in calls["slowest_businesses"]
            ],
        )
    return lines


def render_markdown(
    figures: dict[str, Any],
    raised: list[dict[str, Any]],
    proposed: list[dict[str, Any]],
    narrative: str,
    narrator: str,
) -> str:
    """The report as Markdown: title, narrative, flags, then every figure in tables. Consumer text is escaped."""
    leads, quality, spam = figures["leads"], figures["quality"], figures["spam"]
    patterns, responses, conversions = figures["patterns"], figures["responses"], figures["conversions"]
    start, end = _day(figures["period"]["start"]), _day(figures["period"]["end"])
    by = "Claude, from the figures below" if narrator == "claude" else "the report template"
    out = [f"# Weekly audit: {start[:10]} to {end[:10]}", "", f"_Period {start} to {end}. Summary written by {by}._"]
    out += ["", "## Summary", "", narrative, "", "## Flags", ""]
    out += [f"- **{f['severity'].upper()}**: {f['message']}" for f in raised] or ["No flags this week."]

    out += ["", "## Lead volume", ""]
    out += _table(["", "Leads"], [["Received", leads["total"]], ["Classified", leads["classified"]]])
    if leads["by_status"]:
        out += [
            "",
            *_table(["Status", "Leads"], [[_md(labels.lead_status(s)), n] for s, n in leads["by_status"].items()]),
        ]
    if leads["by_category"]:
        rows = [[_md(labels.category(c)), n] for c, n in leads["by_category"].items()]
        out += ["", *_table(["Category", "Leads"], rows)]

    out += ["", "## Quality distribution", ""]
    classified = leads["classified"]
    out += _table(
        ["Score", "Leads", "Share"],
        [[name, n, _percent(_rate(n, classified))] for name, n in quality["buckets"].items()],
    )
    average = "—" if quality["average"] is None else f"{quality['average']:g}"
    out += [
        "",
        f"Average score {average}; low quality (below {quality['low_quality_below']:g}): "
        f"{labels.count(quality['low_quality'], 'lead')}, {_percent(quality['low_quality_rate'])}.",
    ]

    out += ["", "## Spam and patterns", "", f"Spam rate {_percent(spam['rate'])} ({spam['count']} leads)."]
    if spam["keyword_hits"]:
        out += ["", *_table(["Spam keyword", "Leads"], [[_md(k), n] for k, n in spam["keyword_hits"].items()])]
    signals = [[_md(s), n] for s, n in spam["signal_hits"].items() if n]
    if signals:
        out += ["", *_table(["Other spam signal", "Leads"], signals)]
    out += ["", f"### Same text {REPEATED_TEXT_MIN} or more times", ""]
    if patterns["repeated_texts"]:
        out += _table(
            ["Text", "Leads", "Already spam"],
            [[_md(t["text"][:120]), t["count"], t["spam"]] for t in patterns["repeated_texts"]],
        )
    else:
        out.append("None.")
    out += ["", f"### Same phone number on {REPEATED_PHONE_MIN} or more leads", ""]
    if patterns["repeated_numbers"]:
        out += _table(
            ["Number", "Leads", "Already spam", "Blocked"],
            [
                [_md(n["number"]), n["count"], n["spam"], "yes" if n["blocked"] else "no"]
                for n in patterns["repeated_numbers"]
            ],
        )
    else:
        out.append("None.")

    out += ["", "## Business response rates", ""]
    out.append(
        f"{responses['businesses']} businesses had matches; overall {responses['answered']} of "
        f"{responses['counted']} answered ({_percent(responses['overall_rate'])})."
    )
    for title, key in (
        (f"Top responders (≥ {TOP_RESPONSE_RATE * 100:.0f} %)", "top"),
        (f"Under {LOW_RESPONSE_RATE * 100:.0f} %", "under_50"),
    ):
        out += ["", f"### {title}", ""]
        if responses[key]:
            out += _table(
                ["Business", "Answered", "Rate"],
                [[_md(b["name"]), f"{b['answered']} of {b['counted']}", _percent(b["rate"])] for b in responses[key]],
            )
        else:
            out.append("None.")

    out += ["", "## Response times by routing", ""]
    routing = figures.get("routing") or {}
    if routing:
        out += _table(
            ["Routing", "Matches", "Answered", "Median min. to answer", "Leads accepted", "Median min. to accept"],
            [
                [
                    mode,
                    r["matches"],
                    r["answered"],
                    _minutes(r["median_answer_minutes"]),
                    r["accepted_leads"],
                    _minutes(r["median_minutes_to_acceptance"]),
                ]
                for mode, r in routing.items()
            ],
        )
    else:
        out.append("No matches in this period.")

    out += ["", "## Conversions", ""]
    out += _table(
        ["", "Value"],
        [
            ["Conversions recorded", conversions["count"]],
            ["Total job value", _money(conversions["value_cents"])],
            ["Average job value", _money(conversions["average_value_cents"])],
            ["Matches made", conversions["matches"]],
            ["Matches accepted", conversions["accepted_matches"]],
            ["Leads matched", conversions["matched_leads"]],
            ["Leads converted", conversions["converted_leads"]],
            ["Conversion rate", _percent(conversions["rate"])],
        ],
    )

    out += ["", "## AI call quality", "", *_call_quality_lines(figures.get("call_quality") or {})]

    out += ["", "## Recommended rule changes", ""]
    if proposed:
        out += [f"{i}. **{_md(r['summary'])}**: {_md(r['reason'])}" for i, r in enumerate(proposed, start=1)]
        out += ["", "_A change applies only when an admin accepts it on the reports page._"]
    else:
        out.append("None this week.")
    return "\n".join(out) + "\n"


def _narrative(
    figures: dict[str, Any], raised: list[dict[str, Any]], proposed: list[dict[str, Any]]
) -> tuple[str, str]:
    """(narrative, narrator): Claude's when ANTHROPIC_API_KEY is set and it answers, else the template's."""
    payload = {
        **figures,
        "flags": [{"severity": f["severity"], "message": f["message"]} for f in raised],
        "proposed_rule_changes": [r["summary"] for r in proposed],
    }
    narrative, source = llm.with_fallback(
        "audit_narrative",
        lambda: as_plain_text(audit_narrative.claude_audit_narrative(payload)),
        lambda: template_narrative(figures, raised, proposed),
    )
    return narrative, "claude" if source == "claude" else "template"


def run_weekly_audit(session: Session, actor: User | None = None, now: datetime | None = None) -> AuditReport:
    """Write the audit report for the 7 days before `now` (default: the current time) and return it.

    `actor` None is the scheduled job; an actor must be an admin ("Run now"). A scheduled run for a
    period that already has a scheduled report returns that report (the job is safe to run twice). The
    figures, flags and proposed changes are stored with the Markdown; Claude writes the narrative when
    ANTHROPIC_API_KEY is set (after one retry, the template does). Audited as `audit_report.run`.
    Flushes, does not commit.
    """
    if actor is not None:
        access.require_admin(actor)
    period_end = now or utcnow()
    period_start = period_end - AUDIT_PERIOD
    if actor is None:
        existing = session.exec(
            select(AuditReport).where(
                AuditReport.period_start == period_start,
                AuditReport.period_end == period_end,
                col(AuditReport.created_by_id).is_(None),
            )
        ).first()
        if existing is not None:
            return existing
    rules = current_rules(session)
    figures = compute_figures(session, period_start, period_end, rules=rules)
    raised = flags(figures)
    proposed = recommendations(figures, rules)
    narrative, narrator = _narrative(figures, raised, proposed)
    report = AuditReport(
        period_start=period_start,
        period_end=period_end,
        figures=figures,
        flags=raised,
        recommendations=proposed,
        markdown=render_markdown(figures, raised, proposed, narrative, narrator)[:100000],
        narrator=narrator,
        created_by_id=actor.id if actor else None,
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="audit_report.run",
        target=report,
        after={
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "flags": [f["code"] for f in raised],
            "recommendations": len(proposed),
            "narrator": narrator,
        },
    )
    log.info("weekly_audit_written", report_id=report.id, narrator=narrator, flags=[f["code"] for f in raised])
    return report
