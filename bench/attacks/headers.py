"""What every answer of the web app and the bridge carries, and what it must not say."""

from __future__ import annotations

from bench.attacks import Outcome, Target, attack, breached, held


@attack("headers", "bridge-errors-and-docs")
def bridge_surface(t: Target) -> Outcome:
    """The bridge answers Twilio and health checks only: no interactive API docs, no stack traces."""
    assert t.bridge is not None
    found = []
    for path in ("/docs", "/redoc", "/openapi.json"):
        reply = t.bridge.get(path)
        if reply.status_code == 200:
            found.append(path)
    reply = t.bridge.post("/twilio/calls/not-a-number/status", data={"CallStatus": "completed"})
    if reply.status_code >= 500 or "Traceback" in reply.text:
        found.append(f"/twilio/calls/not-a-number/status → {reply.status_code}")
    if found:
        return breached(f"exposed: {found}")
    return held("no docs, no traces")


@attack("headers", "recording-answers-are-not-cached-or-sniffed")
def recording_headers(t: Target) -> Outcome:
    reply = t.web.get("/api/v1/recordings/not-a-token")
    missing = [
        name
        for name, value in (("cache-control", "no-store"), ("x-content-type-options", "nosniff"))
        if value not in reply.headers.get(name, "")
    ]
    if missing:
        return breached(f"without {missing}")
    return held("private, no-store; nosniff")
