"""The public JSON API, mounted into the Reflex backend through `api_transformer`.

Every route: validation in, one service call, JSON out. User errors are 4xx JSON with a reason.

It is a FastAPI app (a Starlette app, so Reflex mounts its own backend under it and these routes win) only for
the OpenAPI document it serves at `/api/v1/openapi.json`: every answer, errors included, is declared there as a
response model (`ApiError` for every 4xx/5xx JSON body), and the fuzz suite (`tests/fuzz/`) checks each answer
against it. The bodies are still parsed by hand, so a hostile body gets this API's own 400/422 reasons (never
FastAPI's generic validation answer); the request body's schema is declared from `LeadRequest`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import FastAPI, Path
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from leadapp.core import client_ip, rls
from leadapp.core.db import get_engine, session_scope, use_context
from leadapp.core.errors import NotFound, UserError
from leadapp.core.observability import configure, report_exception
from leadapp.core.providers import recordings
from leadapp.core.services import api_keys, calls, discovery, intake, webhooks
from leadapp.core.services.messages import inbound as message_replies
from leadapp.core.services.messages import photos as message_photos
from leadapp.core.settings import get_settings
from leadapp.core.vocab import LeadSource

MAX_BODY_BYTES = 64 * 1024
OPENAPI_URL = "/api/v1/openapi.json"


# --- the schema: what each route takes and answers (documentation and the fuzz suite's oracle) ------------


class ApiError(BaseModel):
    """Every refusal and failure: a machine-readable code, a sentence fit to show, and the bad fields if any."""

    error: str = Field(description="A code: invalid_json, invalid_request, validation_failed, rate_limited, …")
    message: str = Field(description="What went wrong, in a sentence fit to show to a person")
    fields: dict[str, str] | None = Field(None, description="Each wrong field with its message (422)")


class LeadRequest(BaseModel):
    """A service request as the API takes it (an email or a phone number is needed to be reached)."""

    text: str = Field(description="The problem in the consumer's words (at least the platform's minimum words)")
    zip: str = Field(description="5-digit US ZIP code of the job", examples=["46032"])
    phone: str | None = Field(None, description="US phone number, any common format")
    email: str | None = Field(None, description="Email address")
    name: str | None = Field(None, max_length=200)
    preferred_contact: Literal["email", "phone", "sms"] = "email"
    consent_ai_calls: bool = Field(False, description="May an AI assistant phone the consumer about this request")
    turnstile_token: str | None = Field(None, description="Cloudflare Turnstile token, when Turnstile is enabled")


class LeadAccepted(BaseModel):
    id: int = Field(description="The lead's id")
    status: str = Field(description="The lead's status (received when just made)")
    created: bool = Field(description="False when the Idempotency-Key had already made this lead")


class LeadStatusAnswer(BaseModel):
    id: int = Field(description="The lead's id")
    status: str = Field(description="received, classified, matched, no_match, accepted, converted, withdrawn, …")
    created_at: str = Field(description="When the lead was made (ISO 8601)")
    updated_at: str = Field(description="When its status last changed (ISO 8601)")


class WebhookRequest(BaseModel):
    """Where the calling key's leads' status changes are POSTed."""

    url: str = Field(description="A public https URL; an empty string removes the webhook", max_length=2000)


class WebhookRegistered(BaseModel):
    url: str = Field(description="The webhook URL now registered ('' when removed)")
    secret: str = Field(
        description="The Standard Webhooks signing secret ('whsec_…'), shown only in this answer ('' when removed)"
    )


class Health(BaseModel):
    status: Literal["ok"]
    service: Literal["web"]


class Unsubscribed(BaseModel):
    status: Literal["unsubscribed"]


class ReplyStored(BaseModel):
    status: Literal["stored"]
    message_id: int = Field(description="The message in the conversation (the same one for a repeated delivery)")


def _errors(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries with the ApiError body for each status."""
    reasons = {
        400: "The body is not a JSON object, or a field has the wrong type",
        401: "The Authorization header holds no live partner API key (the message says why)",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        410: "Gone",
        413: "The body is too large",
        416: "The range is not in the file",
        422: "A field is invalid (`fields` names each one), or the Idempotency-Key came with another body "
        "(`idempotency_key_reused`)",
        429: "Too many requests from this client",
        500: "Our fault: logged and reported; nothing was accepted",
        502: "The provider failed",
        503: "A store or provider failed just now; nothing was done, try again later",
    }
    return {
        status: {"model": ApiError, "description": described.get(f"e{status}", reasons[status])} for status in statuses
    }


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return JSONResponse(body, status_code=status)


PROGRAM = "api"


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Served alone (`uvicorn leadapp.api.app:api`): logging (its level, the scrubbing of personal data) and error
    reporting set up as every program's. Mounted into the web backend this does not run: the web has set them up."""
    configure(PROGRAM)
    yield


api = FastAPI(
    lifespan=lifespan,
    title="LeadApp public API",
    version="1",
    description="Submit service requests, unsubscribe in one click, stream call recordings. "
    "Every error is JSON: `{error, message, fields?}`.",
    openapi_url=OPENAPI_URL,
    docs_url=None,
    redoc_url=None,
)


@api.exception_handler(RequestValidationError)
async def invalid_parameters(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """A parameter FastAPI itself checks (a path or a header) was wrong: the same ApiError as every refusal."""
    fields = {".".join(str(p) for p in e.get("loc", ())[1:]) or "request": str(e.get("msg", "")) for e in exc.errors()}
    return error(422, "validation_failed", "A parameter of the request is invalid.", fields)


@api.get("/api/v1/health", response_model=Health, responses=_errors())
async def api_health() -> JSONResponse:
    """Liveness of the web backend."""
    return JSONResponse({"status": "ok", "service": "web"})


async def _json_body(request: Request) -> Any:
    """The request's JSON body, or the 413/400 answer refusing it (over MAX_BODY_BYTES, not JSON)."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return error(413, "too_large", f"The request body is over {MAX_BODY_BYTES // 1024} KB.")
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalid_json", "The body is not valid JSON.")


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise UserError(f"'{name}' must be a string.", field=name)
    return str(value)


LEAD_BODY = {
    "required": True,
    "content": {"application/json": {"schema": LeadRequest.model_json_schema()}},
}
_IDEMPOTENCY_KEY = "1 to 200 characters: a retry with it answers the same lead"
IDEMPOTENCY_KEY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": _IDEMPOTENCY_KEY,
        "title": "Idempotency-Key",
    },
    "description": _IDEMPOTENCY_KEY,
}
"""`create_lead`'s optional header, declared here and read from the request: the same document as a FastAPI `Header`
parameter, without FastAPI's dependency solving on every submission."""
RETRY_LINK = {
    "RetryWithSameKey": {
        "operationId": "create_lead",
        "description": "Sending the same request again with the same Idempotency-Key answers the same lead (200); "
        "the same key with another body is refused (422 idempotency_key_reused).",
        "parameters": {"header.Idempotency-Key": "$request.header.Idempotency-Key"},
        "requestBody": "$request.body",
    }
}


@api.post(
    "/api/v1/leads",
    operation_id="create_lead",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": LeadAccepted, "description": "The lead was made", "links": RETRY_LINK},
        200: {"model": LeadAccepted, "description": "The Idempotency-Key had already made this lead"},
        **_errors(400, 401, 403, 413, 422, 429, 500),
    },
    openapi_extra={"requestBody": LEAD_BODY, "parameters": [IDEMPOTENCY_KEY_HEADER]},
)
async def create_lead(request: Request) -> JSONResponse:
    """POST /api/v1/leads — accept a service request (see README: "Public API").

    A partner sends `Authorization: Bearer <key>` (admin page "API keys"): then no Turnstile token is needed, the
    key's own rate limit applies, and its Idempotency-Keys are its own. A bad or revoked key is 401 JSON."""
    idempotency_key = request.headers.get("idempotency-key")
    payload = await _json_body(request)
    if isinstance(payload, JSONResponse):
        return payload
    if not isinstance(payload, dict):
        return error(400, "invalid_json", "The body must be a JSON object.")
    api_key_id: int | None = None
    if "authorization" in request.headers:
        try:
            api_key_id = await run_in_threadpool(_api_key, request.headers["authorization"])
        except api_keys.ApiKeyRefused as exc:
            return error(401, "invalid_api_key", exc.message)
        except UserError as exc:
            return error(exc.status_code, "rate_limited", exc.message)
    ip = client_ip.from_headers(request.client.host if request.client else None, request.headers)
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
            client_key=idempotency_key,
            client_scope=f"api-key:{api_key_id}" if api_key_id else f"ip:{ip}",
            api_key_id=api_key_id,
            client_ip=ip,
            turnstile_token=_text(payload, "turnstile_token"),
        )
        accepted = await run_in_threadpool(_submit, submission)
    except intake.SubmissionInvalid as exc:
        return error(422, "validation_failed", exc.message, exc.errors)
    except intake.IdempotencyKeyReused as exc:
        return error(422, "idempotency_key_reused", exc.message, {"idempotency_key": exc.message})
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


@api.get(
    "/api/v1/leads/{lead_id}",
    operation_id="lead_status",
    response_model=LeadStatusAnswer,
    responses=_errors(
        401,
        404,
        422,
        429,
        500,
        e404="No lead with this id was made with the key presented, or no key was presented: the same answer "
        "whether or not such a lead exists",
    ),
)
async def lead_status(request: Request, lead_id: int = Path(ge=1, le=2**31 - 1)) -> JSONResponse:
    """GET /api/v1/leads/<id> — the status of a lead, for the partner's key that created it (`Authorization:
    Bearer <key>`). A lead of another key, one made without a key, or no key at all: 404, never telling whether
    the lead exists. A bad or revoked key is 401 JSON, past the key's rate limit 429."""
    authorization = request.headers.get("authorization", "")
    if not authorization.strip():
        return error(404, "not_found", webhooks.NOT_YOURS)
    try:
        answer = await run_in_threadpool(_lead_status, authorization, lead_id)
    except api_keys.ApiKeyRefused as exc:
        return error(401, "invalid_api_key", exc.message)
    except NotFound as exc:
        return error(404, "not_found", exc.message)
    except UserError as exc:
        return error(exc.status_code, "rate_limited" if exc.status_code == 429 else "invalid_request", exc.message)
    except Exception as exc:  # our fault: log, report, answer with JSON
        report_exception(exc, route="GET /api/v1/leads/{id}")
        return error(500, "internal_error", "Something went wrong on our side; try again.")
    return JSONResponse(answer)


WEBHOOK_BODY = {
    "required": True,
    "content": {"application/json": {"schema": WebhookRequest.model_json_schema()}},
}


@api.put(
    "/api/v1/webhook",
    operation_id="register_webhook",
    response_model=WebhookRegistered,
    responses=_errors(400, 401, 413, 422, 429, 500),
    openapi_extra={"requestBody": WEBHOOK_BODY},
)
async def register_webhook(request: Request) -> JSONResponse:
    """PUT /api/v1/webhook — the calling key (`Authorization: Bearer <key>`) sets where its leads' status changes
    (`lead.matched`, `lead.accepted`, `lead.converted`, `lead.withdrawn`) are POSTed, signed per Standard Webhooks
    with the secret in this answer (a new one each time; never shown again). A public https URL only; an empty
    `url` removes the webhook."""
    payload = await _json_body(request)
    if isinstance(payload, JSONResponse):
        return payload
    if not isinstance(payload, dict) or not isinstance(payload.get("url"), str):
        return error(400, "invalid_request", "Send a JSON object with 'url' (a string).", {"url": "Must be a string."})
    try:
        answer = await run_in_threadpool(_register_webhook, request.headers.get("authorization", ""), payload["url"])
    except api_keys.ApiKeyRefused as exc:
        return error(401, "invalid_api_key", exc.message)
    except UserError as exc:
        if exc.status_code == 429:
            return error(429, "rate_limited", exc.message)
        return error(422, "validation_failed", exc.message, {"url": exc.message})
    except Exception as exc:  # our fault: log, report, answer with JSON
        report_exception(exc, route="PUT /api/v1/webhook")
        return error(500, "internal_error", "Something went wrong on our side; the webhook was not changed.")
    return JSONResponse(answer)


def _register_webhook(authorization: str, url: str) -> dict[str, str]:
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        key = api_keys.authenticate(session, authorization)
        secret = webhooks.register_own_webhook(session, key, url)
        return {"url": key.webhook_url, "secret": secret}


def _lead_status(authorization: str, lead_id: int) -> dict[str, Any]:
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        key = api_keys.authenticate(session, authorization)
        return webhooks.lead_status_for_key(session, key, lead_id)


def _api_key(authorization: str) -> int:
    """The id of the partner key in an Authorization header (ApiKeyRefused / TooManyAttempts otherwise)."""
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        return int(api_keys.authenticate(session, authorization).id)  # type: ignore[arg-type]


def _submit(submission: intake.Submission) -> intake.Accepted:
    # The API authenticates nobody: every caller is an anonymous visitor (who may reach the lead it creates).
    with Session(get_engine(), expire_on_commit=False) as session:
        use_context(session, rls.ANONYMOUS_CONTEXT, now=False)
        return intake.submit(session, submission)


@api.post(
    "/api/v1/unsubscribe/{token}",
    operation_id="one_click_unsubscribe",
    response_model=Unsubscribed,
    responses=_errors(404, 422, 500, e404="The link is not valid (nothing changed)"),
)
async def one_click_unsubscribe(token: str) -> JSONResponse:
    """POST /api/v1/unsubscribe/<token> — RFC 8058 one-click unsubscribe from a business invitation.

    What a mail client sends from the email's `List-Unsubscribe` header (body `List-Unsubscribe=One-Click`,
    no cookies): unsubscribes at once, idempotently. POST only, so link scanners that GET cannot trigger it.
    An unknown or altered token is a 404 and changes nothing.
    """
    try:
        done = await run_in_threadpool(_unsubscribe, token)
    except Exception as exc:  # our fault: log, report, answer with JSON
        report_exception(exc, route="POST /api/v1/unsubscribe")
        return error(500, "internal_error", "Something went wrong on our side; you are not unsubscribed yet.")
    if not done:
        return error(404, "invalid_link", "This unsubscribe link is not valid.")
    return JSONResponse({"status": "unsubscribed"})


MAX_INBOUND_EMAIL_BYTES = 10 * 1024 * 1024
"""An Inbound Parse post is the whole email; attachments are not kept, so a larger one is refused (413)."""
INBOUND_FIELD_CHARS = 100_000


@api.post(
    "/api/inbound/email/{secret}",
    operation_id="inbound_email",
    response_model=ReplyStored,
    responses=_errors(
        400,
        403,
        404,
        409,
        413,
        422,
        500,
        503,
        e400="Not a multipart form",
        e403="The path's secret is not the configured one (or none is configured): nothing changed",
        e404="No genuine reply address of a conversation among the recipients",
        e409="The conversation is closed",
        e422="The reply is empty or too long",
        e503="Its photo could not be stored just now: nothing was, post it again later",
    ),
)
async def inbound_email(request: Request, secret: str) -> JSONResponse:
    """POST /api/inbound/email/<secret> — SendGrid Inbound Parse: a reply to a message email lands in its
    conversation.

    Verified by the secret in the path (INBOUND_EMAIL_SECRET, compared in constant time; none configured refuses
    every post). The thread and side come from the signed reply address among the recipients; the quoted earlier
    mail is cut off; the first attachment that is a photo comes with it (other files are left out); a repeated
    delivery stores nothing more and answers the same message id."""
    expected = get_settings().inbound_email_secret
    if not expected or not hmac.compare_digest(secret.encode()[:200], expected.encode()):
        return error(403, "forbidden", "This inbound address is not valid.")
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > MAX_INBOUND_EMAIL_BYTES:
        return error(413, "too_large", "The email is too large.")
    if not request.headers.get("content-type", "").lower().startswith(("multipart/form-data", "application/x-www")):
        return error(400, "invalid_request", "Expected the email as a multipart form.")
    try:
        form = await request.form(max_files=50, max_fields=100)
    except Exception:  # a malformed multipart body
        return error(400, "invalid_request", "The form could not be read.")

    def field(name: str) -> str:
        value = form.get(name)
        return value[:INBOUND_FIELD_CHARS] if isinstance(value, str) else ""

    # The first few attachments, each read one byte past the photo limit (a larger one is left out anyway); the
    # body's size is capped above.
    uploads = [value for _, value in form.multi_items() if not isinstance(value, str)][:5]
    attachments = [await upload.read(message_photos.PHOTO_MAX_BYTES + 1) for upload in uploads]
    try:
        outcome = await run_in_threadpool(
            lambda: message_replies.email_reply(
                to=field("to"),
                cc=field("cc"),
                envelope=field("envelope"),
                text=field("text"),
                headers=field("headers"),
                sender=field("from"),
                attachments=attachments,
            )
        )
    except Exception as exc:  # our fault: log, report, answer with JSON (SendGrid posts it again later)
        report_exception(exc, route="POST /api/inbound/email")
        return error(500, "internal_error", "Something went wrong on our side; the reply is not stored yet.")
    finally:
        await form.close()
    statuses = {
        "no_thread": (404, "no_thread"),
        "closed": (409, "closed"),
        "invalid": (422, "validation_failed"),
        "unavailable": (503, "unavailable"),  # SendGrid posts it again later
    }
    if outcome.status in statuses:
        status, code = statuses[outcome.status]
        return error(status, code, outcome.reason)
    return JSONResponse({"status": "stored", "message_id": outcome.message_id})


PHOTO_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
}


@api.get(
    "/api/v1/photos/{token}",
    operation_id="thread_photo",
    response_model=None,
    responses={
        200: {"description": "The photo", "content": {"image/*": {"schema": {"type": "string"}}}},
        **_errors(
            403,
            404,
            422,
            503,
            e403="The link is invalid or expired, or its viewer may not see this conversation",
            e404="The photo is no longer in the store",
            e503="The photo store failed just now",
        ),
    },
)
async def thread_photo(token: str) -> Response:
    """GET /api/v1/photos/<token> — a photo sent in a conversation, for the one viewer its signed link names, checked
    again against that viewer's right to read the conversation on every request. The bytes come from the
    attachments store through here (never a redirect to the bucket)."""
    found = await run_in_threadpool(message_photos.open_photo, token[:2000])
    if found.status != 200 or found.data is None:
        code = {404: "not_found", 503: "unavailable"}.get(found.status, "forbidden")
        return JSONResponse({"error": code, "message": found.reason}, found.status, headers=PHOTO_HEADERS)
    return Response(found.data, media_type=found.content_type, headers=PHOTO_HEADERS)


def _unsubscribe(token: str) -> bool:
    with session_scope(rls.ANONYMOUS_CONTEXT) as session:
        return discovery.unsubscribe(session, token) is not None


RECORDING_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
    "Referrer-Policy": "no-referrer",
}


RECORDING_ROUTE: dict[str, Any] = {
    "path": "/api/v1/recordings/{token}",
    "response_model": None,
    "responses": {
        200: {"description": "The whole recording", "content": {"audio/wav": {"schema": {"type": "string"}}}},
        206: {"description": "The range asked for", "content": {"audio/wav": {"schema": {"type": "string"}}}},
        **_errors(403, 404, 410, 416, 422, 502, e403="The link is invalid, or its viewer may not hear this call"),
    },
}


@api.get(operation_id="recording", **RECORDING_ROUTE)
@api.head(operation_id="recording_head", **RECORDING_ROUTE)
async def recording(request: Request, token: str) -> Response:
    """GET /api/v1/recordings/<token> — a call recording, streamed through the app with HTTP Range support.

    The token is a signed, expiring link for one call and one viewer (`calls.recording_link`), checked again
    on every request against the viewer's rights (a player sends many). The bytes come from where the
    recording lives (Twilio, fetched with the account's credentials; a local file for a simulated call),
    never by redirecting the browser there. Refusals are JSON: 403 invalid or not allowed, 410 expired or gone,
    404 missing at the provider, 502 the provider failed.
    """
    access = await run_in_threadpool(calls.open_recording, token[:2000])
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
