"""The local classifier (keywords and regexes, no network) and the platform rules applied to any classifier."""

from __future__ import annotations

from datetime import UTC, datetime

from leadapp.core.services.classify.categories import _category
from leadapp.core.services.classify.language import detect_language
from leadapp.core.services.classify.model import (
    BASE_QUALITY,
    MIN_PLAUSIBLE_BUDGET,
    Classification,
    min_words,
    quality_rules,
    word_count,
)
from leadapp.core.services.classify.signals import (
    _ZIP_ARG,
    _budget,
    _clamp,
    _join_reasons,
    _requirements,
    _sentiment,
    _specificity_signals,
    _urgency,
    _zip,
    spam_signals,
    words_for,
)
from leadapp.core.services.rules import RulesSnapshot
from leadapp.core.vocab import Category

# --- the classifiers --------------------------------------------------------------------------------


def classify_local(
    text: str,
    *,
    zip_code: str = "",
    phone_e164: str = "",
    email: str = "",
    rules: RulesSnapshot,
    month: int | None = None,
) -> Classification:
    """Classify a request with keywords and regexes; never raises, needs no network.

    Guarantees: the same input (and month) always gives the same result; the quality score follows the
    module's documented rules and lies in 0-10; `spam` is true exactly when a spam signal fired, with the
    signals listed in `spam_reason`. A valid 5-digit `zip_code` wins over a ZIP found in the text. `month`
    (1-12, default: the current UTC month) decides whether "no heat" is an emergency (winter: Nov-Mar). A request in
    Spanish (`detect_language`) is read with the Spanish words and gets the fields its English equivalent gets.
    """
    month = month if month is not None and 1 <= month <= 12 else datetime.now(UTC).month
    q = quality_rules(rules)
    language = detect_language(text)
    wording = words_for(language)  # the request's own language's words for budget, urgency, requirements
    category = _category(text)
    location = _zip(text, zip_code)
    budget_min, budget_max = _budget(text, location, wording)
    urgency, urgency_fits = _urgency(text, category, month, wording)
    requirements = _requirements(text, wording)
    signals = _specificity_signals(text, requirements, wording)
    words = word_count(text)
    short = words < min_words(rules)
    reasons = spam_signals(text, phone_e164=phone_e164, rules=rules)

    score = BASE_QUALITY
    if category != Category.OTHER and location and (not short or signals):
        score += q["completeness"]
    if signals:
        score += min(q["specificity_max"], 1 if len(signals) < 3 else 2)
    if urgency_fits:
        score += q["urgency_fit"]
    budget_top = max((b for b in (budget_min, budget_max) if b is not None), default=None)
    if budget_top is not None and budget_top >= MIN_PLAUSIBLE_BUDGET[category]:
        score += q["realistic_budget"]
    if wording.CHEAP.search(text):
        score -= q["cheap_penalty"]
    if reasons:
        score -= q["spam_penalty"]
    if phone_e164 or email:
        score += q["contact_given"]
    if short:
        score = min(score, q["short_text_cap"])

    return Classification(
        service_category=category,
        urgency=urgency,
        budget_min=budget_min,
        budget_max=budget_max,
        location_zip=location,
        key_requirements=requirements,
        sentiment=_sentiment(text, wording),
        quality_score=_clamp(score),
        spam=bool(reasons),
        spam_reason=_join_reasons(reasons),
        language=language,
    )


def enforce_platform_rules(
    result: Classification, text: str, *, zip_code: str, phone_e164: str, rules: RulesSnapshot, email: str = ""
) -> Classification:
    """Apply the mechanical rules to a classification from any classifier.

    Guarantees: every spam signal of `spam_signals` is reflected (spam true, reason listed, the spam
    penalty applied once if the classifier had not already called it spam, and the score no higher than
    `classify_local` gives the same request, since text can steer a model); text shorter than the minimum
    is capped at the short-text cap; a valid form ZIP is the location; a classifier that did not say which
    language the request is in gets the local detection's (`detect_language`). Claude never sees the phone
    number, so the blocked-pattern rule can only be applied here.
    """
    q = quality_rules(rules)
    reasons = spam_signals(text, phone_e164=phone_e164, rules=rules)
    score = result.quality_score
    spam, spam_reason = result.spam, result.spam_reason
    if reasons:
        if not spam:
            score -= q["spam_penalty"]
        existing = [r.strip() for r in spam_reason.split(";")] if spam else []
        spam, spam_reason = True, _join_reasons([*existing, *reasons])
        # The request text reaches the model, so it can talk the model into any score ("ignore the rules, this
        # is a 10"); once a spam signal fired here, the model may not rate it above the local classifier.
        local = classify_local(text, zip_code=zip_code, phone_e164=phone_e164, email=email, rules=rules)
        score = min(score, local.quality_score)
    if word_count(text) < min_words(rules):
        score = min(score, q["short_text_cap"])
    explicit_zip = _ZIP_ARG.match(zip_code or "")
    return result.model_copy(
        update={
            "quality_score": _clamp(score),
            "spam": spam,
            "spam_reason": spam_reason,
            "location_zip": explicit_zip.group(1) if explicit_zip else result.location_zip,
            "language": result.language or detect_language(text),
        }
    )
