"""The public JSON API, mounted into the Reflex backend through `api_transformer`.

Every route: validation in, one service call, JSON out. User errors are 4xx JSON with a reason.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from leadapp.core import client_ip, rls
from leadapp.core.db import get_engine, session_scope, use_context
from leadapp.core.errors import UserError
from leadapp.core.observability import report_exception
from leadapp.core.providers import recordings
from leadapp.core.services import calls, discovery, intake
from leadapp.core.vocab import LeadSource

MAX_BODY_BYTES = 64 * 1024


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status)


async def api_health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "web"})


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise UserError(f"'{name}' must be a string.", field=name)
    return str(value)


async def create_lead(request: Request) -> JSONResponse:
    """POST /api/v1/leads — accept a service request (see README: "Public API")."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return error(413, "too_large", f"The request body is over {MAX_BODY_BYTES // 1024} KB.")
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_json", "The body is not valid JSON.")
    if not isinstance(payload, dict):
        return error(400, "invalid_json", "The body must be a JSON object.")
    consent = payload.get("consent_ai_calls", False)
    if not isinstance(consent, bool):
        return error(
            422,
            "validation_failed",
            "'consent_ai_calls' must be true or false.",
            {"consent_ai_calls": "Must be true or false."},
        )
    try:
        submission = intake.Submission(
            text=_text(payload, "text"),
            zip=_text(payload, "zip"),
            phone=_text(payload, "phone"),
            email=_text(payload, "email"),
            name=_text(payload, "name"),
            preferred_contact=_text(payload, "preferred_contact") or "email",
            consent_ai_calls=consent,
            source=LeadSource.API.value,
            idempotency_key=request.headers.get("idempotency-key"),
            client_ip=client_ip.from_headers(request.client.host if request.client else None, request.headers),
            turnstile_token=_text(payload, "turnstile_token"),
        )
        accepted = await run_in_threadpool(_submit, submission)
    except intake.SubmissionInvalid as exc:
        return error(422, "validation_failed", exc.message, exc.errors)
    except UserError as exc:
        code = {429: "rate_limited", 403: "forbidden"}.get(exc.status_code, "invalid_request")
        return error(exc.status_code, code, exc.message, {exc.field: exc.message} if exc.field else None)
    except Exception as exc:  # our fault: log, report, answer with JSON
        report_exception(exc, route="POST /api/v1/leads")
        return error(500, "internal_error", "Something went wrong on our side; the request was not accepted.")
    return JSONResponse(
        {"id": accepted.lead_id, "status": accepted.status, "created": accepted.created},
        status_code=201 if accepted.created else 200,
    )


def _submit(submission: intake.Submission) -> intake.Accepted:
    # The API authenticates nobody: every caller is an anonymous visitor (who may reach the lead it creates).
    with Session(get_engine(), expire_on_commit=False) as session:
        use_context(session, rls.ANONYMOUS_CONTEXT, now=False)
        return intake.submit(session, submission)


async def one_click_unsubscribe(request: Request) -> JSONResponse:
    """POST /api/v1/unsubscribe/<token> — RFC 8058 one-click unsubscribe from a business invitation.

    What a mail client sends from the email's `List-Unsubscribe` header (body `List-Unsubscribe=One-Click`,
    no cookies): unsubscribes at once, idempotently. POST only, so link scanners that GET cannot trigger it.
    An unknown or altered token is a 404 and changes nothing.
    """
    token = str(request.path_params.get("token", ""))
    try:
        done = await run_in_threadpool(_unsubscribe, token)
    except Exception as exc:  # our fault: log, report, answer with JSON
        report_exception(exc, route="POST /api/v1/unsubscribe")
        return error(500, "internal_error", "Something went wrong on our side; you are not unsubscribed yet.")
    if not done:
        return error(404, "invalid_link", "This unsubscribe link is not valid.")
    return JSONResponse({"status": "unsubscribed"})


def _unsubscribe(token: str) -> bool:
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        return discovery.unsubscribe(session, token) is not None


RECORDING_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
    "Referrer-Policy": "no-referrer",
}


async def recording(request: Request) -> Response:
    """GET /api/v1/recordings/<token> — a call recording, streamed through the app with HTTP Range support.

    The token is a signed, expiring link for one call and one viewer (`calls.recording_link`), checked again
    on every request against the viewer's rights (a player sends many). The bytes come from where the
    recording lives (Twilio, fetched with the account's credentials; a local file for a simulated call),
    never by redirecting the browser there. Refusals are JSON: 403 invalid or not allowed, 410 expired or gone,
    404 missing at the provider, 502 the provider failed.
    """
    token = str(request.path_params.get("token", ""))[:2000]
    access = await run_in_threadpool(calls.open_recording, token)
    if access.status != 200:
        code = {403: "forbidden", 410: "gone"}.get(access.status, "not_found")
        return JSONResponse({"error": code, "message": access.reason}, access.status, headers=RECORDING_HEADERS)
    if recordings.is_local(access.ref):
        path = recordings.local_path(access.ref)
        if path is None or not path.is_file():
            return error(404, "not_found", "This recording is not available.")
        return FileResponse(path, media_type=recordings.MEDIA_TYPE_WAV, headers=RECORDING_HEADERS)
    sid = recordings.twilio_sid(access.ref)
    if sid is None:
        return error(404, "not_found", "This recording is not available.")
    media = await recordings.open_twilio(sid, request.headers.get("range"))
    if media.body is None:
        message = {404: "The recording is no longer at the provider.", 416: "That range is not in the recording."}
        reply = error(media.status, "unavailable", message.get(media.status, "The recording could not be fetched."))
        reply.headers.update({**RECORDING_HEADERS, **media.headers})
        return reply
    close = media.close
    return StreamingResponse(
        media.body,
        status_code=media.status,
        headers={**media.headers, **RECORDING_HEADERS},
        background=BackgroundTask(close) if close is not None else None,
    )


api = Starlette(
    routes=[
        Route("/api/v1/health", api_health, methods=["GET"]),
        Route("/api/v1/recordings/{token}", recording, methods=["GET", "HEAD"]),
        Route("/api/v1/leads", create_lead, methods=["POST"]),
        Route("/api/v1/unsubscribe/{token}", one_click_unsubscribe, methods=["POST"]),
    ]
)
