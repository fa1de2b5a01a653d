"""The week's figures: leads and their quality, spam and its patterns, responses, conversions (see the
package's definitions)."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, col, select

from leadapp.core import crypto
from leadapp.core.models import Business, Call, CallMetrics, Conversion, Lead, Match
from leadapp.core.services import call_quality, classify
from leadapp.core.services.match import RESPONSE_WINDOW
from leadapp.core.services.rules import RulesSnapshot, current_rules
from leadapp.core.vocab import Category, MatchStatus

AUDIT_PERIOD = timedelta(days=7)
REPEATED_TEXT_MIN = 3
REPEATED_PHONE_MIN = 5
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


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _routing(session: Session, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per routing mode (broadcast, waterfall), over the matches made in the period: how many, how many were
    answered and the median minutes to an answer; and per lead, the median minutes from matching to its first
    acceptance (what fastest-first routing is for)."""
    rows = session.exec(
        select(Lead.routing, Match.lead_id, Lead.matched_at, Match.created_at, Match.responded_at, Match.status)
        .join(Lead, col(Lead.id) == col(Match.lead_id))
        .where(_in_period(col(Match.created_at), start, end))
    )
    answers: dict[str, list[float]] = defaultdict(list)
    matches: Counter[str] = Counter()
    first_accept: dict[tuple[str, int], float] = {}
    for mode, lead_id, matched_at, created, responded, status in rows:
        matches[mode] += 1
        if responded is None:
            continue
        answers[mode].append(max(0.0, (responded - created).total_seconds() / 60))
        if status in (MatchStatus.ACCEPTED.value, MatchStatus.CONVERTED.value):
            minutes = max(0.0, (responded - (matched_at or created)).total_seconds() / 60)
            key = (mode, lead_id)
            first_accept[key] = min(minutes, first_accept.get(key, minutes))
    return {
        mode: {
            "matches": matches[mode],
            "answered": len(answers[mode]),
            "median_answer_minutes": _median(answers[mode]),
            "accepted_leads": sum(1 for m, _ in first_accept if m == mode),
            "median_minutes_to_acceptance": _median([v for (m, _), v in first_accept.items() if m == mode]),
        }
        for mode in sorted(matches)
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


def _call_quality(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The AI calls created in the period: their measured quality taken together (`call_quality.summarize`), the
    businesses with the slowest turns, and how much of their cost is the providers' reported figures."""
    calls = _in_period(col(Call.created_at), start, end)
    count, ai_cents, carrier_cents, carrier_reported = session.exec(
        select(
            func.count(),
            func.coalesce(func.sum(Call.cost_realtime_cents), 0.0),
            func.coalesce(func.sum(Call.cost_carrier_cents), 0.0),
            func.sum(case((col(Call.cost_carrier_reported), 1), else_=0)),
        ).where(calls)
    ).one()
    rows = session.exec(
        select(CallMetrics, Call.business_id, Business.name)
        .join(Call, col(Call.id) == col(CallMetrics.call_id))
        .join(Business, col(Business.id) == col(Call.business_id), isouter=True)
        .where(calls)
    ).all()
    overall = call_quality.summarize(metrics for metrics, _, _ in rows)
    by_business: dict[int, tuple[str, list[CallMetrics]]] = {}
    for metrics, business_id, name in rows:
        if business_id is not None:
            by_business.setdefault(int(business_id), (str(name or ""), []))[1].append(metrics)
    slowest = []
    for business_id, (name, measured) in by_business.items():
        summary = call_quality.summarize(measured)
        if summary.turn_latency_p95_ms is not None:
            slowest.append(
                {
                    "business_id": business_id,
                    "name": name,
                    "calls": summary.calls,
                    "turn_latency_p95_ms": summary.turn_latency_p95_ms,
                    "interruptions": summary.interruptions,
                }
            )
    slowest.sort(key=lambda b: (-b["turn_latency_p95_ms"], b["business_id"]))
    return {
        "calls": int(count),
        "measured": overall.calls,
        "turns": overall.turns,
        "turn_latency_p50_ms": overall.turn_latency_p50_ms,
        "turn_latency_p95_ms": overall.turn_latency_p95_ms,
        "interruptions": overall.interruptions,
        "interruptions_per_call": overall.interruptions_per_call,
        "talk_ratio": overall.talk_ratio,
        "longest_silence_ms": overall.longest_silence_ms,
        "bridge_latency_p95_ms": overall.bridge_latency_p95_ms,
        "ai_cost_cents": round(float(ai_cents), 4),
        "ai_cost_from_usage": sum(1 for metrics, _, _ in rows if metrics.ai_cost_from_usage),
        "carrier_cost_cents": round(float(carrier_cents), 4),
        "carrier_reported": int(carrier_reported or 0),
        "slowest_businesses": slowest[:LIST_LIMIT],
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
        "routing": _routing(session, period_start, period_end),
        "conversions": _conversions(session, period_start, period_end, period),
        "call_quality": _call_quality(session, period_start, period_end),
    }
