"""The weekly audit: a week's figures, the flags they raise, proposed rule changes, and the report.

`run_weekly_audit` is what the Sunday 02:00 cron job and the admins' "Run now" button call. It computes
the figures of the 7 days before `now` (`compute_figures`), raises flags (`flags`), proposes rule changes
(`recommendations`) and stores an `AuditReport` whose Markdown has a narrative (Claude's when
ANTHROPIC_API_KEY is set, the template's otherwise or when Claude fails) followed by the figures'
tables. Proposed changes never apply by themselves: `accept_recommendation` applies one as a new
rules version when an admin accepts it.

Definitions (the report shows exactly these):
- The period is half-open, [period_start, period_end), on each row's `created_at` (UTC).
- Leads: created in the period and not deleted by the consumer. "Classified" leads have a quality score;
  the quality distribution, the spam rate and the low-quality rate are shares of the classified leads.
- Quality buckets by score: 0-2 is [0, 3), 3-4 is [3, 5), 5-6 is [5, 7), 7-8 is [7, 9), 9-10 is [9, 10].
- Low quality: a score below the rules' `low_quality_below` (5 by default).
- Repeated text: the same normalized text (lowercase, every run of non-letters/digits as one space)
  in at least 3 leads. Repeated number: the same phone (its keyed hash) on at least 5 leads. Numbers are
  shown masked (+1•••••••0123) and the report never stores one in clear.
- Keyword hits: how many spam leads each spam keyword fired on, as recorded by the classifier in the
  lead's spam reason ("keyword 'crypto'"); "all caps" and "blocked phone pattern" are counted apart.
- Response rate of a business: of its matches created in the period, those answered (`responded_at`
  set) over those answered or created more than 24 h before the period's end (a newer unanswered match
  is not held against it yet, as in `match.refresh_response_rate`). Top: ≥ 70 %; under 50 %: < 50 %.
- Conversions: recorded in the period (count, total and average job value); conversion rate: of the
  period's leads that got at least one match, the share with a recorded conversion.
- Flags: spam rate > 10 % is critical; low-quality rate > 30 % is high.
- A rate is None when its denominator is 0.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from leadapp.core import crypto, labels
from leadapp.core.errors import NotFound, UserError
from leadapp.core.models import AuditReport, Business, Conversion, Lead, Match, PlatformRules, User, utcnow
from leadapp.core.observability import get_logger
from leadapp.core.providers import llm
from leadapp.core.services import access, audit, audit_narrative, classify
from leadapp.core.services.match import RESPONSE_WINDOW
from leadapp.core.services.rules import RulesSnapshot, current_rules, save_rules
from leadapp.core.vocab import Category, MatchStatus

log = get_logger(__name__)

AUDIT_PERIOD = timedelta(days=7)
REPEATED_TEXT_MIN = 3
REPEATED_PHONE_MIN = 5
SPAM_RATE_CRITICAL = 0.10
LOW_QUALITY_RATE_HIGH = 0.30
TOP_RESPONSE_RATE = 0.70
LOW_RESPONSE_RATE = 0.50
LIST_LIMIT = 20  # rows per list in the figures (repeated texts, businesses ...)
TEXT_SHOWN_CHARS = 200
DISTINCTIVE_WORDS = 3
DISTINCTIVE_MIN_LETTERS = 4
QUALITY_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("0-2", 0.0, 3.0),
    ("3-4", 3.0, 5.0),
    ("5-6", 5.0, 7.0),
    ("7-8", 7.0, 9.0),
    ("9-10", 9.0, 10.0),
)
_NON_WORD = re.compile(r"[^0-9a-z]+")
_KEYWORD_REASON = re.compile(r"keyword '([^']+)'")
_OTHER_SIGNALS = ("all caps", "blocked phone pattern")
# Words too common to tell a spam text apart from a real request.
_STOPWORDS = frozenset(
    """
    about above after again also always another anyone anything around because been before being below
    best between both call calling come could does doing done down each even every from have having here
    home house just know like looking make many more most much need needs needed only other over please
    really same service services should some someone something soon still such than that their them then
    there these they thing things this those through today very want wants week well were what when where
    which while will with within work would your yours quote quotes price help free cheap
    """.split()  # noqa: SIM905 (a word list reads best as words)
)


# --- figures ---------------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """Lowercase, every run of characters other than a-z and 0-9 as one space, trimmed."""
    return _NON_WORD.sub(" ", text.lower()).strip()


def _rate(part: int | float, whole: int | float) -> float | None:
    return round(part / whole, 4) if whole else None


def _in_period(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def _category_words() -> frozenset[str]:
    words: set[str] = set()
    for category in Category:
        for phrase in classify.category_keywords(category):
            words.update(normalize_text(phrase).split())
    return frozenset(words)


def _repeated_texts(session: Session, period: Any, keywords: set[str]) -> list[dict[str, Any]]:
    """Texts seen in ≥ REPEATED_TEXT_MIN leads, most frequent first, with up to 3 distinctive words each."""
    groups: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    rows = session.execute(select(Lead.id, Lead.raw_text, Lead.is_spam).where(period).execution_options(yield_per=500))
    for lead_id, raw_text, is_spam in rows:
        groups[normalize_text(raw_text or "")].append((lead_id, bool(is_spam)))
    groups.pop("", None)
    # In how many distinct texts each word appears: a word of a repeated text that no other text uses
    # tells that text apart.
    text_frequency: Counter[str] = Counter()
    for text in groups:
        text_frequency.update(set(text.split()))
    category_words = _category_words()
    repeated = []
    for text, leads in groups.items():
        if len(leads) < REPEATED_TEXT_MIN:
            continue
        distinctive: list[str] = []
        for word in text.split():
            if (
                len(word) >= DISTINCTIVE_MIN_LETTERS
                and word.isalpha()
                and word not in _STOPWORDS
                and word not in category_words
                and word not in keywords
                and text_frequency[word] == 1
                and word not in distinctive
            ):
                distinctive.append(word)
            if len(distinctive) == DISTINCTIVE_WORDS:
                break
        lead_ids = sorted(lead_id for lead_id, _ in leads)
        repeated.append(
            {
                "text": text[:TEXT_SHOWN_CHARS],
                "count": len(leads),
                "spam": sum(1 for _, is_spam in leads if is_spam),
                "lead_ids": lead_ids[:10],
                "distinctive_words": distinctive,
            }
        )
    repeated.sort(key=lambda item: (-item["count"], item["text"]))
    return repeated[:LIST_LIMIT]


def _repeated_numbers(session: Session, period: Any, rules: RulesSnapshot) -> list[dict[str, Any]]:
    """Phone numbers (by keyed hash) on ≥ REPEATED_PHONE_MIN leads, masked, most frequent first."""
    count = func.count()
    rows = session.exec(
        select(Lead.contact_phone_hash, count, func.sum(case((col(Lead.is_spam), 1), else_=0)))
        .where(period, Lead.contact_phone_hash != "")
        .group_by(Lead.contact_phone_hash)
        .having(count >= REPEATED_PHONE_MIN)
        .order_by(count.desc(), Lead.contact_phone_hash)
        .limit(LIST_LIMIT)
    ).all()
    numbers = []
    for phone_hash, leads, spam in rows:
        encrypted = session.exec(
            select(Lead.contact_phone_enc).where(Lead.contact_phone_hash == phone_hash, Lead.contact_phone_enc != "")
        ).first()
        phone = crypto.decrypt_phone(encrypted or "")
        numbers.append(
            {
                "number": crypto.mask_phone(phone) if phone else "(unreadable)",
                "hash": phone_hash,
                "count": int(leads),
                "spam": int(spam or 0),
                "blocked": bool(phone) and classify.phone_is_blocked(phone, rules),
            }
        )
    return numbers


def _keyword_hits(session: Session, period: Any) -> tuple[dict[str, int], dict[str, int]]:
    keywords: Counter[str] = Counter()
    signals: Counter[str] = Counter()
    reasons = session.execute(
        select(Lead.spam_reason).where(period, col(Lead.is_spam)).execution_options(yield_per=500)
    ).scalars()
    for reason in reasons:
        keywords.update(set(_KEYWORD_REASON.findall(reason or "")))
        signals.update(signal for signal in _OTHER_SIGNALS if signal in (reason or ""))
    ordered = dict(sorted(keywords.items(), key=lambda item: (-item[1], item[0])))
    return ordered, {signal: signals[signal] for signal in _OTHER_SIGNALS}


def _responses(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    answered = col(Match.responded_at).is_not(None)
    counted = or_(answered, col(Match.created_at) < end - RESPONSE_WINDOW)
    rows = session.exec(
        select(
            Match.business_id,
            Business.name,
            func.count(),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((counted, 1), else_=0)),
        )
        .join(Business, col(Business.id) == col(Match.business_id))
        .where(_in_period(col(Match.created_at), start, end))
        .group_by(Match.business_id, Business.name)
    ).all()
    businesses = []
    for business_id, name, matches, answered_count, counted_count in rows:
        answered_count, counted_count = int(answered_count or 0), int(counted_count or 0)
        if counted_count:
            businesses.append(
                {
                    "business_id": business_id,
                    "name": name,
                    "matches": int(matches),
                    "answered": answered_count,
                    "counted": counted_count,
                    "rate": _rate(answered_count, counted_count),
                }
            )
    top = sorted(
        (b for b in businesses if b["rate"] >= TOP_RESPONSE_RATE),
        key=lambda b: (-b["rate"], -b["counted"], b["business_id"]),
    )
    under = sorted(
        (b for b in businesses if b["rate"] < LOW_RESPONSE_RATE),
        key=lambda b: (b["rate"], -b["counted"], b["business_id"]),
    )
    total_answered = sum(b["answered"] for b in businesses)
    total_counted = sum(b["counted"] for b in businesses)
    return {
        "businesses": len(businesses),
        "answered": total_answered,
        "counted": total_counted,
        "overall_rate": _rate(total_answered, total_counted),
        "top": top[:LIST_LIMIT],
        "top_count": len(top),
        "under_50": under[:LIST_LIMIT],
        "under_50_count": len(under),
    }


def _conversions(session: Session, start: datetime, end: datetime, lead_period: Any) -> dict[str, Any]:
    count, value = session.exec(
        select(func.count(), func.coalesce(func.sum(Conversion.job_value_cents), 0)).where(
            _in_period(col(Conversion.created_at), start, end)
        )
    ).one()
    period_leads = select(Lead.id).where(lead_period)
    matched_leads = session.exec(
        select(func.count(func.distinct(Match.lead_id))).where(col(Match.lead_id).in_(period_leads))
    ).one()
    converted_leads = session.exec(
        select(func.count(func.distinct(Conversion.lead_id))).where(col(Conversion.lead_id).in_(period_leads))
    ).one()
    matches, accepted = session.exec(
        select(
            func.count(),
            func.sum(
                case(
                    (col(Match.status).in_([MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value]), 1),
                    else_=0,
                )
            ),
        ).where(_in_period(col(Match.created_at), start, end))
    ).one()
    return {
        "count": int(count),
        "value_cents": int(value or 0),
        "average_value_cents": round(int(value) / count) if count else None,
        "matches": int(matches),
        "accepted_matches": int(accepted or 0),
        "matched_leads": int(matched_leads),
        "converted_leads": int(converted_leads),
        "rate": _rate(converted_leads, matched_leads),
    }


def compute_figures(
    session: Session, period_start: datetime, period_end: datetime, *, rules: RulesSnapshot | None = None
) -> dict[str, Any]:
    """The audit's figures for [period_start, period_end), as plain JSON-ready values (see the module docstring).

    `rules` (default: the rules in force) give the low-quality threshold, the keywords that are not
    proposed again and whether a repeated number is already blocked. Reads only; counts in SQL where the
    database can, the text patterns in Python over one streamed pass of the period's leads.
    """
    rules = rules or current_rules(session)
    low_below = float(rules.get("quality")["low_quality_below"])
    period = and_(_in_period(col(Lead.created_at), period_start, period_end), col(Lead.deleted_at).is_(None))
    scored = col(Lead.quality_score).is_not(None)

    by_status = dict(session.exec(select(Lead.status, func.count()).where(period).group_by(Lead.status)).all())
    by_category = session.exec(
        select(Lead.category, func.count())
        .where(period, col(Lead.category).is_not(None))
        .group_by(Lead.category)
        .order_by(func.count().desc(), Lead.category)
    ).all()
    bucket_sums = [
        func.sum(case((and_(col(Lead.quality_score) >= low, col(Lead.quality_score) < high), 1), else_=0))
        if name != QUALITY_BUCKETS[-1][0]
        else func.sum(case((col(Lead.quality_score) >= low, 1), else_=0))
        for name, low, high in QUALITY_BUCKETS
    ]
    classified, spam, low_quality, average, *buckets = session.exec(
        select(
            func.count(),
            func.sum(case((col(Lead.is_spam), 1), else_=0)),
            func.sum(case((col(Lead.quality_score) < low_below, 1), else_=0)),
            func.avg(Lead.quality_score),
            *bucket_sums,
        ).where(period, scored)
    ).one()
    classified, spam, low_quality = int(classified), int(spam or 0), int(low_quality or 0)
    keyword_hits, signal_hits = _keyword_hits(session, period)
    keywords = {str(k).lower() for k in rules.get("spam_keywords") or []}
    return {
        "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
        "rules_version": rules.version,
        "leads": {
            "total": sum(by_status.values()),
            "classified": classified,
            "by_status": dict(sorted(by_status.items())),
            "by_category": {category: int(n) for category, n in by_category},
        },
        "quality": {
            "buckets": {name: int(n or 0) for (name, _, _), n in zip(QUALITY_BUCKETS, buckets, strict=True)},
            "average": round(float(average), 2) if average is not None else None,
            "low_quality_below": low_below,
            "low_quality": low_quality,
            "low_quality_rate": _rate(low_quality, classified),
        },
        "spam": {
            "count": spam,
            "rate": _rate(spam, classified),
            "keyword_hits": keyword_hits,
            "signal_hits": signal_hits,
        },
        "patterns": {
            "repeated_texts": _repeated_texts(session, period, keywords),
            "repeated_numbers": _repeated_numbers(session, period, rules),
        },
        "responses": _responses(session, period_start, period_end),
        "conversions": _conversions(session, period_start, period_end, period),
    }


# --- flags and recommendations --------------------------------------------------------------------


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def flags(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The flags the figures raise: spam rate > 10 % (critical), low-quality rate > 30 % (high)."""
    raised = []
    spam_rate = figures["spam"]["rate"]
    if spam_rate is not None and spam_rate > SPAM_RATE_CRITICAL:
        raised.append(
            {
                "severity": "critical",
                "code": "spam_rate",
                "value": spam_rate,
                "threshold": SPAM_RATE_CRITICAL,
                "message": f"Spam rate {_percent(spam_rate)} is above {_percent(SPAM_RATE_CRITICAL)} "
                f"({figures['spam']['count']} of {figures['leads']['classified']} classified leads).",
            }
        )
    low_rate = figures["quality"]["low_quality_rate"]
    if low_rate is not None and low_rate > LOW_QUALITY_RATE_HIGH:
        raised.append(
            {
                "severity": "high",
                "code": "low_quality_rate",
                "value": low_rate,
                "threshold": LOW_QUALITY_RATE_HIGH,
                "message": f"Low-quality rate {_percent(low_rate)} is above {_percent(LOW_QUALITY_RATE_HIGH)} "
                f"({figures['quality']['low_quality']} of {figures['leads']['classified']} classified leads "
                f"scored below {figures['quality']['low_quality_below']:g}).",
            }
        )
    return raised


def recommendations(figures: dict[str, Any], rules: RulesSnapshot) -> list[dict[str, Any]]:
    """Proposed rule changes, each {"kind", "summary", "reason", "change", "status": "proposed"}.

    - A repeated text that the rules do not already catch every time (some of its leads are not spam)
      and that has distinctive words: add those words as spam keywords
      (change {"op": "add_spam_keywords", "keywords": [...]}).
    - A repeated number not blocked yet: block exactly that number
      (change {"op": "block_phone", "phone_hash": ..., "number": masked}; the number is looked up when
      the change is accepted, so the report holds no phone number in clear).
    Nothing here changes the rules: `accept_recommendation` does, when an admin accepts one.
    """
    keywords = {str(k).lower() for k in rules.get("spam_keywords") or []}
    proposed: list[dict[str, Any]] = []
    for repeated in figures["patterns"]["repeated_texts"]:
        words = [w for w in repeated["distinctive_words"] if w not in keywords]
        if not words or repeated["spam"] == repeated["count"]:
            continue
        keywords.update(words)
        quoted = ", ".join(f"'{w}'" for w in words)
        proposed.append(
            {
                "kind": "spam_keywords",
                "summary": f"Add {quoted} to the spam keywords",
                "reason": f"The same text was submitted {repeated['count']} times "
                f'({repeated["count"] - repeated["spam"]} not caught as spam): "{repeated["text"][:80]}".',
                "change": {"op": "add_spam_keywords", "keywords": words},
                "status": "proposed",
            }
        )
    for number in figures["patterns"]["repeated_numbers"]:
        if number["blocked"] or number["number"] == "(unreadable)":
            continue
        proposed.append(
            {
                "kind": "blocked_phone",
                "summary": f"Block the phone number {number['number']}",
                "reason": f"{labels.count(number['count'], 'lead')} came from this number "
                f"({number['spam']} already spam).",
                "change": {"op": "block_phone", "phone_hash": number["hash"], "number": number["number"]},
                "status": "proposed",
            }
        )
    return proposed


def _phone_for_hash(session: Session, phone_hash: str) -> str:
    encrypted = session.exec(
        select(Lead.contact_phone_enc).where(Lead.contact_phone_hash == phone_hash, Lead.contact_phone_enc != "")
    ).first()
    return crypto.decrypt_phone(encrypted or "")


def apply_change(session: Session, rules: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`rules` with one proposed change applied (a new dict); UserError if it cannot be applied."""
    updated = {**rules}
    if change.get("op") == "add_spam_keywords":
        existing = [str(k) for k in rules.get("spam_keywords") or []]
        updated["spam_keywords"] = existing + [k for k in change.get("keywords", []) if k not in existing]
    elif change.get("op") == "block_phone":
        phone = _phone_for_hash(session, str(change.get("phone_hash", "")))
        if not phone:
            raise UserError("The leads from this number are gone or unreadable; block it on the rules page instead.")
        pattern = f"^{re.escape(phone)}$"
        existing = [str(p) for p in rules.get("blocked_phone_patterns") or []]
        updated["blocked_phone_patterns"] = existing + ([pattern] if pattern not in existing else [])
    else:
        raise UserError("This recommendation cannot be applied automatically.")
    return updated


def accept_recommendation(session: Session, actor: User | None, report_id: int, index: int) -> PlatformRules:
    """Apply recommendation `index` of report `report_id` as a new rules version; admins only, audited.

    Raises NotFound (no such report or recommendation) and UserError (already accepted, or the rules in
    force already contain the change). The recommendation is marked accepted with the new version, the
    admin and the time; the audit trail gets `rules.edit` (from `save_rules`) and `audit_report.accept`.
    """
    access.require_admin(actor)
    assert actor is not None
    report = session.get(AuditReport, report_id)
    if report is None:
        raise NotFound("No such audit report.")
    items = [dict(item) for item in report.recommendations]
    if not 0 <= index < len(items):
        raise NotFound("No such recommendation in this report.")
    item = items[index]
    if item.get("status") == "accepted":
        raise UserError(f"Already accepted (rules version {item.get('accepted_version')}).")
    rules = current_rules(session)
    updated = apply_change(session, rules.rules, item.get("change") or {})
    if updated == rules.rules:
        raise UserError("The rules in force already contain this change.")
    row = save_rules(session, actor, updated, note=f"Weekly audit #{report_id}: {item.get('summary', '')}")
    item.update(
        status="accepted", accepted_version=row.version, accepted_by_id=actor.id, accepted_at=utcnow().isoformat()
    )
    items[index] = item
    report.recommendations = items
    flag_modified(report, "recommendations")
    session.add(report)
    audit.record(
        session,
        actor_id=actor.id,
        action="audit_report.accept",
        target=report,
        before={"index": index, "status": "proposed"},
        after={"index": index, "status": "accepted", "rules_version": row.version, "change": item.get("change")},
    )
    session.flush()
    return row


# --- the report ------------------------------------------------------------------------------------


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
    if proposed:
        paragraphs.append(
            f"{len(proposed)} rule change{'s are' if len(proposed) != 1 else ' is'} proposed below; "
            "none applies until an admin accepts it."
        )
    return "\n\n".join(paragraphs)


def _table(header: list[str], rows: list[list[Any]], align: str = "") -> list[str]:
    aligns = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
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


# --- reading reports --------------------------------------------------------------------------------


def list_reports(
    session: Session, actor: User | None, *, offset: int = 0, limit: int = 20
) -> tuple[list[AuditReport], int]:
    """(reports newest first, `limit` from `offset`, at most 100; the total number). Admins only."""
    access.require_admin(actor)
    total = session.exec(select(func.count()).select_from(AuditReport)).one()
    rows = session.exec(
        select(AuditReport)
        .order_by(col(AuditReport.created_at).desc(), col(AuditReport.id).desc())
        .offset(max(0, offset))
        .limit(max(1, min(limit, 100)))
    ).all()
    return list(rows), int(total)


def get_report(session: Session, actor: User | None, report_id: int) -> AuditReport:
    """One report; admins only; NotFound when there is no such report."""
    access.require_admin(actor)
    report = session.get(AuditReport, report_id)
    if report is None:
        raise NotFound("No such audit report.")
    return report
