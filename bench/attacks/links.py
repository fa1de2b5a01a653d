"""Signed links: call recordings (`/api/v1/recordings/<token>`) forged, tampered, expired, or signed for a viewer
who may not hear the call. (Tracking links are opened through the page's socket: see `events`.)"""

from __future__ import annotations

import secrets

from bench.attacks import Outcome, Target, attack, breached, held


def _recording(t: Target, token: str):
    return t.web.get(f"/api/v1/recordings/{token}")


def _served(reply) -> bool:
    return reply.status_code in (200, 206) or reply.headers.get("content-type", "").startswith("audio/")


@attack("links", "recording-forged-token")
def recording_forged(t: Target) -> Outcome:
    for token in [secrets.token_urlsafe(40), "eyJjYWxsIjoxfQ", f"{t.world['call_completed']}", "a" * 3000]:
        reply = _recording(t, token)
        if _served(reply) or reply.status_code >= 500:
            return breached(f"a forged token answered {reply.status_code}")
    return held("every forged token: 403")


def _signed(t: Target, payload: dict, ttl: int) -> str:
    """A recording token signed with the stack's key: what a real link (or a stolen one) carries."""
    from leadapp.core import crypto
    from leadapp.core.services.calls import RECORDING_PURPOSE

    return crypto.sign(RECORDING_PURPOSE, payload, ttl)


@attack("links", "recording-tampered-token")
def recording_tampered(t: Target) -> Outcome:
    import time

    genuine = _signed(
        t, {"call": t.world["call_completed"], "viewer": t.world["user_plumber"], "exp": int(time.time()) + 600}, 600
    )
    # Flip one character in the middle (the payload) and one at the end (the signature).
    middle = len(genuine) // 2
    forged = [
        genuine[:middle] + ("A" if genuine[middle] != "A" else "B") + genuine[middle + 1 :],
        genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
    ]
    for token in forged:
        reply = _recording(t, token)
        if _served(reply) or reply.status_code != 403:
            return breached(f"a tampered token answered {reply.status_code}")
    return held("tampered tokens: 403")


@attack("links", "recording-expired-link")
def recording_expired(t: Target) -> Outcome:
    import time

    token = _signed(
        t, {"call": t.world["call_completed"], "viewer": t.world["user_plumber"], "exp": int(time.time()) - 60}, 3600
    )
    reply = _recording(t, token)
    if reply.status_code == 410:
        return held("410: the link has expired")
    return breached(f"an expired link answered {reply.status_code}")


@attack("links", "recording-link-of-a-viewer-without-rights")
def recording_wrong_viewer(t: Target) -> Outcome:
    """A genuine signature whose viewer (the rival business's owner) may not hear the call: checked on every
    request, not only when the link was made."""
    import time

    token = _signed(
        t,
        {"call": t.world["call_completed"], "viewer": t.world["user_electrician"], "exp": int(time.time()) + 600},
        600,
    )
    reply = _recording(t, token)
    if reply.status_code == 403 and not _served(reply):
        return held("403: the viewer may not hear this call")
    return breached(f"answered {reply.status_code}")
