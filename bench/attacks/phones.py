"""Calls and texts to anyone (issue 11, item 5): numbers outside the supported countries, consent given for a
stranger's number, guessing the code that verifies a number, verifying someone else's request."""

from __future__ import annotations

from bench.attacks import Outcome, Target, attack, breached, held
from bench.attacks.events import PORTAL, _db
from bench.attacks.reflex_tab import ReflexTab

TEXT = "The bathroom faucet is dripping constantly and the handle is loose, need a plumber this week please"


@attack("phones", "foreign-number-through-the-api")
def foreign_number(t: Target) -> Outcome:
    accepted = []
    for number in ["+44 20 7183 8750", "+234 803 123 4567", "+7 912 345-67-89"]:
        body = {"text": TEXT, "zip": "46032", "phone": number, "preferred_contact": "sms", "consent_ai_calls": True}
        reply = t.web.post("/api/v1/leads", json=body)
        if reply.status_code != 422 or "phone" not in reply.json().get("fields", {}):
            accepted.append(f"{number}: {reply.status_code}")
    if accepted:
        return breached(f"accepted: {accepted}")
    return held("422 on the phone field: only US and Canadian numbers")


@attack("phones", "api-body-claims-a-verified-number")
def api_claims_verified(t: Target) -> Outcome:
    from leadapp.core import crypto
    from leadapp.core.models import Lead

    body = {
        "text": TEXT + " (claims verified)",
        "zip": "46032",
        "phone": "+13178462288",
        "preferred_contact": "phone",
        "consent_ai_calls": True,
        "phone_verified_hash": crypto.phone_hash("+13178462288"),
        "phone_verified_at": "2026-01-01T00:00:00Z",
    }
    reply = t.web.post("/api/v1/leads", json=body)
    if reply.status_code not in (200, 201):
        return held(f"refused ({reply.status_code})")
    verified = _db(t, lambda s: s.get(Lead, reply.json()["id"]).phone_verified_at)
    if verified is not None:
        return breached("the request's number counts as verified")
    return held("stored, but the number is not verified: no AI call goes to it")


@attack("phones", "callback-to-an-unverified-number")
def unverified_callback(t: Target) -> Outcome:
    from sqlmodel import select

    from leadapp.core.models import Call

    def callbacks(s) -> int:
        query = select(Call).where(Call.lead_id == t.world["lead_a"], Call.call_type == "consumer_callback")
        return len(s.exec(query).all())

    before = _db(t, callbacks)
    with ReflexTab(t.web_url, t.world["session_consumer"]) as tab:
        tab.handler(PORTAL, "request_callback", "/portal", lead_id=str(t.world["lead_a"]))
    after = _db(t, callbacks)
    if after != before:
        return breached("a callback was queued to a number nobody verified")
    return held("refused until the number is verified")


def _verified(t: Target) -> bool:
    from leadapp.core.models import Lead

    return _db(t, lambda s: s.get(Lead, t.world["lead_a"]).phone_verified_at) is not None


def _texted_code(t: Target) -> str:
    """The code the bench's victim received (to show that even the right one fails after too many guesses)."""
    import re

    from sqlmodel import col, select

    from leadapp.core.models import Notification

    row = _db(
        t,
        lambda s: s.exec(
            select(Notification)
            .where(Notification.kind == "phone_code", Notification.lead_id == t.world["lead_a"])
            .order_by(col(Notification.id).desc())
        ).first(),
    )
    found = re.search(r"\b([0-9]{6})\b", row.body_text if row else "")
    return found.group(1) if found else "000000"


@attack("phones", "guess-the-verification-code")
def guess_code(t: Target) -> Outcome:
    lead = str(t.world["lead_a"])
    with ReflexTab(t.web_url, t.world["session_consumer"]) as tab:
        tab.handler(PORTAL, "send_phone_code", "/portal", lead_id=lead)
        right = _texted_code(t)
        guesses = [f"{(int(right) + n) % 10**6:06d}" for n in range(1, 9)] + [right]
        for code in guesses:
            tab.handler(PORTAL, "verify_phone_code", "/portal", form_data={"lead": lead, "code": code})
    if _verified(t):
        return breached("verified after 8 wrong guesses")
    return held("after too many wrong codes even the right one is refused")


@attack("phones", "verify-another-consumers-number")
def verify_foreign(t: Target) -> Outcome:
    lead = str(t.world["lead_a"])
    with ReflexTab(t.web_url, t.world["session_consumer"]) as victim:
        victim.handler(PORTAL, "send_phone_code", "/portal", lead_id=lead)
    code = _texted_code(t)  # even holding the code (say, read over the victim's shoulder)
    with ReflexTab(t.web_url, t.world["session_attacker"]) as tab:
        tab.handler(PORTAL, "send_phone_code", "/portal", lead_id=lead)
        tab.handler(PORTAL, "verify_phone_code", "/portal", form_data={"lead": lead, "code": code})
    if _verified(t):
        return breached("another consumer verified the request's number")
    return held("refused: not the attacker's request")
