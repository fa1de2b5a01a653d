"""The public JSON API (`POST /api/v1/leads`, `POST /api/v1/unsubscribe/<token>`): bodies no form would send."""

from __future__ import annotations

import secrets

from bench.attacks import Outcome, Target, attack, breached, held

GOOD = {
    "text": "The kitchen sink drain is blocked and the water backs up into the dishwasher, need a plumber soon",
    "zip": "46032",
    "email": "bench-api@example.com",
    "preferred_contact": "email",
}


def _json_refusal(reply, *statuses: int) -> bool:
    """A refusal with one of `statuses` and a JSON reason (never a 500 or an HTML page)."""
    try:
        body = reply.json()
    except ValueError:
        return False
    return reply.status_code in statuses and isinstance(body, dict) and bool(body.get("error"))


@attack("api", "oversized-body")
def oversized_body(t: Target) -> Outcome:
    body = {**GOOD, "text": "leak " * 400_000}  # 2 MB
    reply = t.web.post("/api/v1/leads", json=body)
    if _json_refusal(reply, 413):
        return held("413 before the body was read")
    return breached(f"answered {reply.status_code}: {reply.text[:120]}")


@attack("api", "oversized-body-without-length")
def oversized_streamed(t: Target) -> Outcome:
    def chunks():
        yield b'{"text": "'
        for _ in range(64):
            yield b"x" * 32_768
        yield b'"}'

    reply = t.web.post("/api/v1/leads", content=chunks(), headers={"Content-Type": "application/json"})
    if _json_refusal(reply, 413, 400, 422):
        return held(f"{reply.status_code}: a streamed body without Content-Length is cut off")
    return breached(f"answered {reply.status_code}")


@attack("api", "malformed-json")
def malformed_json(t: Target) -> Outcome:
    replies = [
        t.web.post("/api/v1/leads", content=b'{"text": "unterminated', headers={"Content-Type": "application/json"}),
        t.web.post("/api/v1/leads", content=b"\xff\xfe\x00garbage", headers={"Content-Type": "application/json"}),
        t.web.post("/api/v1/leads", content=b"[1, 2, 3]", headers={"Content-Type": "application/json"}),
        t.web.post("/api/v1/leads", content=b"null", headers={"Content-Type": "application/json"}),
    ]
    bad = [r.status_code for r in replies if not _json_refusal(r, 400, 415, 422)]
    if bad:
        return breached(f"answers {bad} instead of a JSON 4xx")
    return held("each answered a JSON 4xx with a reason")


@attack("api", "wrong-types")
def wrong_types(t: Target) -> Outcome:
    bodies = [
        {**GOOD, "text": ["a", "list"]},
        {**GOOD, "zip": {"$ne": None}},
        {**GOOD, "consent_ai_calls": "yes"},
        {**GOOD, "email": 12345},
        {**GOOD, "text": None},
    ]
    bad = []
    for body in bodies:
        reply = t.web.post("/api/v1/leads", json=body)
        if not _json_refusal(reply, 400, 422):
            bad.append(reply.status_code)
    if bad:
        return breached(f"answers {bad} instead of 422 with the field")
    return held("every wrongly typed field refused with 422")


@attack("api", "sql-injection")
def sql_injection(t: Target) -> Outcome:
    probes = ["46032' OR '1'='1", "46032; DROP TABLE leads; --", "' UNION SELECT email FROM users --"]
    for zip_code in probes:
        reply = t.web.post("/api/v1/leads", json={**GOOD, "zip": zip_code})
        if reply.status_code != 422:
            return breached(f"zip {zip_code!r} answered {reply.status_code}")
    for email in ["x'--@example.com", "a@b.c' OR 1=1 --"]:
        reply = t.web.post("/api/v1/leads", json={**GOOD, "email": email})
        if reply.status_code >= 500:
            return breached(f"email {email!r} answered {reply.status_code}")
    health = t.web.get("/api/v1/health")
    if health.status_code != 200:
        return breached("the API stopped answering after the probes")
    return held("refused as invalid input; the database answered as before")


@attack("api", "unsubscribe-forged-token")
def unsubscribe_forged(t: Target) -> Outcome:
    tokens = [secrets.token_urlsafe(32), "1", "../../api/v1/health", "' OR 1=1 --"]
    for token in tokens:
        reply = t.web.post(f"/api/v1/unsubscribe/{token}")
        if reply.status_code not in (404, 405) or reply.status_code >= 500:
            return breached(f"token {token!r} answered {reply.status_code}")
    return held("every forged unsubscribe token: 404")


@attack("api", "intake-rate-limit", late=True)
def intake_rate_limit(t: Target) -> Outcome:
    """More than INTAKE_PER_IP_PER_HOUR (5) requests from one client in an hour behind the deployment's proxy, each
    with a forwarding header the client wrote itself (a made-up address, or an empty one) before the address the
    proxy appends: a client that writes X-Forwarded-For must not get fresh buckets (issue 11, item 1)."""
    accepted = 0
    for n in range(9):
        body = {**GOOD, "text": f"{GOOD['text']} (bench request {n} {secrets.token_hex(3)})"}
        forged = f"203.0.113.{n}" if n % 2 else ","
        reply = t.web.post(
            "/api/v1/leads",
            json=body,
            headers={"X-Forwarded-For": f"{forged}, 198.51.100.77", "X-Real-IP": f"198.51.100.{n}"},
        )
        if reply.status_code == 429:
            return held(f"429 after {accepted} accepted")
        if reply.status_code in (200, 201):
            accepted += 1
    return breached(f"{accepted} of 9 accepted from one client without a 429")
